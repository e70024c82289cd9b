package modbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"gatehouse/appliance/clock"
	"gatehouse/appliance/gate"
)

// Contact is a door contact wired to a discrete input.
type Contact struct {
	Input uint16 // 0-based input number
	Lane  string
	// Invert for contacts whose input is on while the door is shut
	// (normally-closed wiring, which also reads "open" when a wire is cut).
	Invert bool
}

// PollerConfig configures a door-contact poller.
type PollerConfig struct {
	Slave    byte
	Contacts []Contact
	Interval time.Duration // default 200 ms
	Device   string        // for the event record
	Watcher  gate.DoorWatcher
	Clock    clock.Clock // default the system clock
	Logger   *slog.Logger
	// Report, if set, hears every poll's outcome from Run (nil: a good
	// one): the runtime keeps each contact's own health with it.
	Report func(error)
}

// Poller reads door contacts and reports changes. The first good read
// reports every contact, so the appliance learns the doors' state at start.
// A Poller is driven by one goroutine: Run, or Poll calls one at a time.
type Poller struct {
	m     *Master
	cfg   PollerConfig
	first uint16
	count uint16
	last  []bool // per contact; nil until the first good read
}

// NewPoller makes a poller for contacts on one slave of m.
func NewPoller(m *Master, cfg PollerConfig) (*Poller, error) {
	if len(cfg.Contacts) == 0 || cfg.Watcher == nil {
		return nil, errors.New("modbus: poller needs contacts and a watcher")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 200 * time.Millisecond
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	lo, hi := cfg.Contacts[0].Input, cfg.Contacts[0].Input
	for _, c := range cfg.Contacts {
		lo, hi = min(lo, c.Input), max(hi, c.Input)
	}
	if int(hi)-int(lo)+1 > MaxReadBits {
		return nil, fmt.Errorf("modbus: contacts span more than %d inputs", MaxReadBits)
	}
	return &Poller{m: m, cfg: cfg, first: lo, count: hi - lo + 1}, nil
}

// Run polls until ctx ends. Failed polls are left to the line's health;
// the door states are kept, so a contact that changed during an outage is
// reported when the board answers again.
func (p *Poller) Run(ctx context.Context) error {
	t := time.NewTicker(p.cfg.Interval)
	defer t.Stop()
	for {
		err := p.Poll(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			p.cfg.Logger.Debug("modbus: door poll failed", "device", p.cfg.Device, "err", err)
		}
		if p.cfg.Report != nil {
			p.cfg.Report(err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Poll reads the contacts once and reports what changed.
func (p *Poller) Poll(ctx context.Context) error {
	in, err := p.m.ReadDiscreteInputs(ctx, p.cfg.Slave, p.first, p.count)
	if err != nil {
		return err
	}
	at := p.cfg.Clock.Now()
	initial := p.last == nil
	if initial {
		p.last = make([]bool, len(p.cfg.Contacts))
	}
	for i, c := range p.cfg.Contacts {
		open := in[c.Input-p.first] != c.Invert
		if !initial && open == p.last[i] {
			continue
		}
		p.last[i] = open
		p.cfg.Watcher.DoorChanged(ctx, gate.DoorState{Lane: c.Lane, Open: open, Device: p.cfg.Device, At: at})
	}
	return nil
}
