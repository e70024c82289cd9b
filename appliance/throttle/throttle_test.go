package throttle

import (
	"fmt"
	"testing"
	"time"
)

func TestBurstThenRefill(t *testing.T) {
	l := New(10*time.Second, 3, 100)
	t0 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	for i := range 3 {
		if !l.Allow("a", t0) {
			t.Fatalf("event %d of the burst refused", i+1)
		}
	}
	ok, wait := l.Take("a", t0)
	if ok || wait != 10*time.Second {
		t.Fatalf("fourth event: ok=%v wait=%v, want refused for 10s", ok, wait)
	}
	if !l.Allow("b", t0) {
		t.Fatal("another key shares the bucket")
	}
	if l.Allow("a", t0.Add(9*time.Second)) {
		t.Fatal("token back before its time")
	}
	if !l.Allow("a", t0.Add(10*time.Second)) {
		t.Fatal("token not back after its time")
	}
	if l.Peek("a", t0.Add(10*time.Second)) {
		t.Fatal("peek sees a token that was just taken")
	}
}

func TestKeysAreBounded(t *testing.T) {
	l := New(time.Minute, 2, 50)
	t0 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	for i := range 10000 {
		l.Allow(fmt.Sprint("k", i), t0.Add(time.Duration(i)*time.Millisecond))
	}
	if n := l.Len(); n > 50 {
		t.Fatalf("%d keys kept, bound is 50", n)
	}
	// Refilled buckets are forgotten first.
	l2 := New(time.Second, 1, 2)
	l2.Allow("x", t0)
	l2.Allow("y", t0.Add(time.Hour))
	l2.Allow("z", t0.Add(time.Hour))
	if l2.Peek("y", t0.Add(time.Hour)) {
		t.Fatal("the spent bucket y was forgotten instead of the refilled x")
	}
}
