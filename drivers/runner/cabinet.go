package runner

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"gatehouse/appliance/clock"
	"gatehouse/appliance/device"
	"gatehouse/appliance/keys"
	"gatehouse/drivers/modbus"
)

// SlotWatcher hears a key cabinet's slot changes (*keys.Sensors): it turns
// each into a key-room command on the key mapped to the input.
type SlotWatcher interface {
	SlotChanged(ctx context.Context, ch keys.SlotChange) (keys.Sensing, error)
}

// cabinet polls a key cabinet's presence switches — discrete inputs on a
// Modbus board, read in one request through the bus's master, as door
// contacts are — and reports every slot that changed between two good
// reads. The first good read only sets what the slots hold: a restart does
// not raise an alarm for every key already out. A slot that changed while
// the board was not answering is reported when it answers again, as the
// reads before and after differ.
type cabinet struct {
	dev    device.Device
	m      *modbus.Master
	slave  byte
	first  uint16
	count  uint16
	every  time.Duration
	watch  SlotWatcher
	clock  clock.Clock
	log    *slog.Logger
	health *point

	mu   sync.Mutex
	last []bool // nil until the first good read
	ok   bool   // the last poll was answered
}

func newCabinet(r *Runner, m *modbus.Master, d device.Device, health *point) (*cabinet, error) {
	slave, first, count, ok := d.Inputs()
	if !ok {
		return nil, errors.New("runner: key cabinet without slots")
	}
	return &cabinet{dev: d, m: m, slave: slave, first: first, count: count, every: d.PollInterval(), watch: r.cfg.Slots,
		clock: r.cfg.Clock, log: r.log.With("device", d.Name), health: health}, nil
}

// run polls until ctx ends.
func (c *cabinet) run(ctx context.Context) {
	t := time.NewTicker(c.every)
	defer t.Stop()
	for {
		c.poll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// poll reads the slots once and reports what changed.
func (c *cabinet) poll(ctx context.Context) {
	in, err := c.m.ReadDiscreteInputs(ctx, c.slave, c.first, c.count)
	if ctx.Err() != nil {
		return
	}
	c.health.note(err)
	c.mu.Lock()
	c.ok = err == nil
	prev := c.last
	if err == nil {
		c.last = in
	}
	c.mu.Unlock()
	if err != nil {
		c.log.Debug("devices: key cabinet poll failed", "err", err)
		return
	}
	at := c.clock.Now()
	for _, ch := range slotChanges(prev, in) {
		c.report(ctx, keys.SlotChange{Device: c.dev.ID, Name: c.dev.Name, Input: int(c.first) + ch, Present: in[ch], At: at})
	}
}

// slotChanges lists the slots (indexes) whose state differs between two
// reads; none on the first read (prev nil).
func slotChanges(prev, now []bool) []int {
	if prev == nil {
		return nil
	}
	var out []int
	for i := range now {
		if i < len(prev) && prev[i] != now[i] {
			out = append(out, i)
		}
	}
	return out
}

func (c *cabinet) report(ctx context.Context, ch keys.SlotChange) {
	if c.watch == nil {
		c.log.Info("devices: key cabinet slot", "input", ch.Input, "present", ch.Present)
		return
	}
	sn, err := c.watch.SlotChanged(ctx, ch)
	switch {
	case errors.Is(err, keys.ErrNoSensor):
		c.log.Debug("devices: key cabinet slot with no key mapped", "input", ch.Input, "present", ch.Present)
	case err != nil:
		c.log.Error("devices: key cabinet slot change not recorded", "input", ch.Input, "present", ch.Present, "err", err)
	default:
		c.log.Info("devices: key cabinet slot", "input", ch.Input, "present", ch.Present, "sensed", sn.Note)
	}
}

// slots is what the last poll read, and whether the last poll was answered.
func (c *cabinet) slots() (first int, present []bool, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return int(c.first), append([]bool(nil), c.last...), c.ok && c.last != nil
}

// read reads the slots now (devices test).
func (c *cabinet) read(ctx context.Context) ([]bool, error) {
	in, err := c.m.ReadDiscreteInputs(ctx, c.slave, c.first, c.count)
	c.health.note(err)
	return in, err
}

// Slots implements device.SlotReader: a key cabinet's slots as last polled
// (present = switch closed), from its first input; ok is false while the
// cabinet is not answering or not running.
func (r *Runner) Slots(id string) (first int, present []bool, ok bool) {
	r.mu.Lock()
	d := r.devices[id]
	g := r.groups[d.Port]
	r.mu.Unlock()
	if g == nil || g.cabinets[id] == nil {
		return 0, nil, false
	}
	return g.cabinets[id].slots()
}
