// Package clock gives the appliance its time through an interface, so tests
// can stand at midnight, on a holiday or across a daylight-saving change.
package clock

import (
	"sync"
	"time"
)

// Clock tells the time.
type Clock interface {
	Now() time.Time
}

// System is the machine's clock.
type System struct{}

// Now returns time.Now().
func (System) Now() time.Time { return time.Now() }

// Fake is a settable clock for tests.
type Fake struct {
	mu sync.Mutex
	t  time.Time
}

// NewFake returns a Fake standing at t.
func NewFake(t time.Time) *Fake { return &Fake{t: t} }

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

// Set moves the clock to t.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t = t
}

// Advance moves the clock forward by d.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t = f.t.Add(d)
}

// Held tells the machine's time, except while it is held at a time of the
// caller's choosing: the demo opens its data directory on a Held clock,
// writes four weeks of history through the ordinary services at the times
// it sets, then lets go, and the same services run on from the machine's
// time. The zero value tells the machine's time.
type Held struct {
	mu   sync.Mutex
	t    time.Time
	held bool
}

// Now returns the held time, or time.Now() when not held.
func (h *Held) Now() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.held {
		return h.t
	}
	return time.Now()
}

// Set holds the clock at t.
func (h *Held) Set(t time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.t, h.held = t, true
}

// Release lets the clock tell the machine's time again.
func (h *Held) Release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.held = false
}
