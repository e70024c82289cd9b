package notify

import (
	"context"
	"testing"
)

func TestHubDeliversToTheAccountsPagesOnly(t *testing.T) {
	h := NewHub(4)
	a1, a2, b := h.Subscribe("a"), h.Subscribe("a"), h.Subscribe("b")
	defer a1.Close()
	defer a2.Close()
	defer b.Close()
	if n := h.Publish(Message{To: "a", Subject: "hi"}); n != 2 {
		t.Fatalf("published to %d pages, want 2", n)
	}
	for _, s := range []*Subscription{a1, a2} {
		if m := <-s.C; m.Subject != "hi" {
			t.Errorf("got %+v", m)
		}
	}
	select {
	case m := <-b.C:
		t.Errorf("b got a's message %+v", m)
	default:
	}
	if err := h.Send(context.Background(), Message{To: "nobody"}); err != nil {
		t.Errorf("Send to no page: %v", err)
	}
}

func TestHubDropsASlowPageWithoutBlocking(t *testing.T) {
	h := NewHub(2)
	slow, fast := h.Subscribe("a"), h.Subscribe("a")
	defer fast.Close()
	for i := range 3 {
		h.Publish(Message{To: "a", Subject: string(rune('0' + i))})
		<-fast.C // the fast page keeps up
	}
	// The slow page got its buffer's worth, then was dropped: its channel
	// is closed after the buffered messages.
	var got []string
	for m := range slow.C {
		got = append(got, m.Subject)
	}
	if len(got) != 2 || got[0] != "0" || got[1] != "1" {
		t.Errorf("slow page got %v, want [0 1] then closed", got)
	}
	if n := h.Subscribers("a"); n != 1 {
		t.Errorf("%d subscribers left, want 1", n)
	}
	slow.Close() // closing a dropped subscription is harmless
	if n := h.Publish(Message{To: "a"}); n != 1 {
		t.Errorf("published to %d, want 1", n)
	}
}

func TestHubLimitsPagesPerAccount(t *testing.T) {
	h := NewHub(1)
	first := h.Subscribe("a")
	for range MaxSubscriptions {
		defer h.Subscribe("a").Close()
	}
	if _, open := <-first.C; open {
		t.Error("oldest page not dropped when one too many opened")
	}
	if n := h.Subscribers("a"); n != MaxSubscriptions {
		t.Errorf("%d subscribers, want %d", n, MaxSubscriptions)
	}
}
