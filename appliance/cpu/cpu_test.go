package cpu

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// At most Slots() heavy jobs run at once; the others wait their turn and
// all of them run.
func TestHeavyRunsAtMostSlotsAtOnce(t *testing.T) {
	var running, peak atomic.Int64
	var wg sync.WaitGroup
	for range 4 * Slots() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := Do(context.Background(), func() error {
				n := running.Add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				time.Sleep(5 * time.Millisecond)
				running.Add(-1)
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if p := peak.Load(); p != int64(Slots()) {
		t.Fatalf("peak %d heavy jobs at once, want %d", p, Slots())
	}
	if s := Now(); s.Busy != 0 || s.Waiting != 0 {
		t.Fatalf("after: %+v", s)
	}
}

// A job that waits for a slot gives up with its context.
func TestHeavyWaitEndsWithContext(t *testing.T) {
	var releases []func()
	for range Slots() {
		r, err := Heavy(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		releases = append(releases, r)
	}
	defer func() {
		for _, r := range releases {
			r()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := Heavy(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Heavy with every slot taken: %v", err)
	}
}
