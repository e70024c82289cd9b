package notify

import (
	"context"
	"sync"
)

// MaxSubscriptions is how many live pages one account may have open; the
// oldest is dropped when another opens.
const MaxSubscriptions = 8

// Hub hands in-page messages to the pages their account has open. Each
// subscription has a small buffer; a page that falls that far behind is
// dropped (its channel closed) rather than holding up the others — the
// browser reconnects and catches up from the outbox (Service.Missed).
//
// Hub is the in-page Channel: Send never blocks.
type Hub struct {
	buffer int
	mu     sync.Mutex
	subs   map[string][]*Subscription // by account ID, oldest first
}

// Subscription is one open page's feed.
type Subscription struct {
	C       <-chan Message
	c       chan Message
	hub     *Hub
	account string
	closed  bool // guarded by hub.mu
}

// NewHub returns a hub whose subscribers may fall buffer messages behind
// (16 when buffer <= 0).
func NewHub(buffer int) *Hub {
	if buffer <= 0 {
		buffer = 16
	}
	return &Hub{buffer: buffer, subs: make(map[string][]*Subscription)}
}

// Subscribe opens a feed of account's messages. Close it when the page
// goes.
func (h *Hub) Subscribe(account string) *Subscription {
	c := make(chan Message, h.buffer)
	s := &Subscription{C: c, c: c, hub: h, account: account}
	h.mu.Lock()
	defer h.mu.Unlock()
	subs := h.subs[account]
	if len(subs) >= MaxSubscriptions {
		h.drop(subs[0])
		subs = h.subs[account]
	}
	h.subs[account] = append(subs, s)
	return s
}

// Close ends the feed; closing twice is harmless.
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	s.hub.drop(s)
}

// drop removes s and closes its channel; h.mu is held.
func (h *Hub) drop(s *Subscription) {
	if s.closed {
		return
	}
	s.closed = true
	close(s.c)
	subs := h.subs[s.account]
	for i, x := range subs {
		if x == s {
			subs = append(subs[:i:i], subs[i+1:]...)
			break
		}
	}
	if len(subs) == 0 {
		delete(h.subs, s.account)
	} else {
		h.subs[s.account] = subs
	}
}

// Publish hands m to every open page of m.To and returns how many took it.
// A page whose buffer is full is dropped.
func (h *Hub) Publish(m Message) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, s := range append([]*Subscription(nil), h.subs[m.To]...) {
		select {
		case s.c <- m:
			n++
		default:
			h.drop(s)
		}
	}
	return n
}

// Subscribers returns how many pages account has open.
func (h *Hub) Subscribers(account string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs[account])
}

// Send publishes m. An in-page message for someone with no page open
// counts as delivered: it stays in the outbox, and a page that reconnects
// after losing its stream catches up with Service.Missed.
func (h *Hub) Send(_ context.Context, m Message) error {
	h.Publish(m)
	return nil
}
