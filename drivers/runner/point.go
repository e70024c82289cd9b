package runner

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"gatehouse/appliance/clock"
	"gatehouse/appliance/device"
	"gatehouse/drivers/fault"
	"gatehouse/drivers/modbus"
)

// refusedAfter is how many refusals in a row (Modbus exceptions, and
// nothing else) make a device failing, and silentAfter how many reply
// timeouts make it offline though the bus answers for its other devices:
// the same three as the line's own SilentAfter. One good reply ends both.
const (
	refusedAfter = 3
	silentAfter  = 3
)

// point is the health of one device on a Modbus bus: a relay's coil or a
// door contact's input. The bus's line says whether the board answers at
// all; a point says whether it answers this device: a contact configured
// at an address the board lacks gets an exception at every poll while the
// relay beside it works, and must not show "Online, errors 0".
//
// A point logs through its own fault.Log, so a line is written when its
// state changes (failing, offline, working again) and, while it stays
// bad, a summary every 15 minutes — never one per poll.
type point struct {
	clock  clock.Clock
	faults *fault.Log

	mu        sync.Mutex
	state     device.State // "" until the first outcome
	since     time.Time
	refused   int // refusals in a row
	silent    int // timeouts in a row
	errs      uint64
	timeouts  uint64
	lastErr   string
	lastErrAt time.Time
	recovered time.Time
}

func newPoint(log *slog.Logger, clk clock.Clock, d device.Device) *point {
	return &point{clock: clk, faults: fault.New(log.With("device", d.Name, "address", d.Address), clk)}
}

// note records one request's outcome for the device.
func (p *point) note(err error) {
	var ex modbus.Exception
	switch {
	case err == nil:
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return // the caller gave up: nothing learnt about the device
	case errors.As(err, &ex), errors.Is(err, modbus.ErrTimeout), errors.Is(err, modbus.ErrGarbled):
	default:
		return // the port is offline or closed: the line's health says so
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock.Now()
	next := p.state
	switch {
	case err == nil:
		p.refused, p.silent = 0, 0
		if !p.lastErrAt.IsZero() && p.recovered.IsZero() {
			p.recovered = now
		}
		next = device.StateOnline
	case errors.As(err, &ex):
		p.errs++
		p.refused, p.silent = p.refused+1, 0
		if p.refused >= refusedAfter {
			next = device.StateFailing
		}
	case errors.Is(err, modbus.ErrTimeout):
		p.timeouts++
		p.silent, p.refused = p.silent+1, 0
		if p.silent >= silentAfter {
			next = device.StateOffline
		}
	default: // garbled after every attempt: noise, not this device's doing
		p.errs++
	}
	if err != nil {
		p.lastErr, p.lastErrAt, p.recovered = err.Error(), now, time.Time{}
	}
	if next != p.state {
		p.state, p.since = next, now
	}
	switch {
	case p.state == device.StateFailing && err != nil:
		p.faults.Fail("modbus device failing: it answers only with exceptions", p.lastErr)
	case p.state == device.StateOffline && err != nil:
		p.faults.Fail("modbus device not answering", p.lastErr)
	case p.state == device.StateOnline && err == nil:
		p.faults.OK("modbus device working")
	}
}

// health lays the device's own state over its bus's: offline or failing
// by itself, its own counters, and its own last error — the bus's only
// while the bus is down (it says why), since on a working bus the line's
// last error may be another device's refusal.
func (p *point) health(h device.Health) device.Health {
	p.mu.Lock()
	defer p.mu.Unlock()
	if h.Online {
		h.LastError, h.LastErrorAt, h.Recovered = p.lastErr, p.lastErrAt, p.recovered
	}
	switch p.state {
	case device.StateOffline:
		if h.Online {
			h.Online, h.Changed = false, p.since
		}
	case device.StateFailing:
		if h.Online {
			h.Failing, h.Changed = true, p.since
		}
	case device.StateOnline:
		if h.Online && p.since.After(h.Changed) {
			h.Changed = p.since
		}
	}
	h.Errors, h.Timeouts = p.errs, p.timeouts
	return h
}

// trackedRelay is a Modbus relay whose pulses tell its point how it went.
type trackedRelay struct {
	modbus.Relay
	pt *point
}

func (t trackedRelay) Pulse(ctx context.Context, d time.Duration) error {
	err := t.Relay.Pulse(ctx, d)
	t.pt.note(err)
	return err
}
