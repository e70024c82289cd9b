package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"gatehouse/appliance/access"
	"gatehouse/appliance/clock"
	"gatehouse/appliance/device"
	"gatehouse/appliance/gate"
	"gatehouse/drivers/modbus"
)

// ErrNoElevator: a grant at an elevator lane with no running elevator
// board. It is access.ErrNoRelay, as for a gate without its relay.
var ErrNoElevator = fmt.Errorf("runner: no running elevator board: %w", access.ErrNoRelay)

// elevator drives a lift car's board (device.ElevatorBoard): its coils,
// from the device's address on, enable the floor buttons of the lane's
// floor map (output k is coil first+k-1). Every change writes every mapped
// output in one request (function 0x0F): the floors to release on, the
// others off, so the board never shows half a state.
//
// One goroutine (run) owns the board's state: grants, the end of a
// release and the fire input's changes come to it in turn. A grant adds
// its floors to those still released and restarts the release time; the
// time out switches all off. While the fire input is active every output
// is on and grants change nothing; when it clears, all go off. A write
// that fails (the board offline) is tried again every retryEvery until
// the board takes the state wanted then.
type elevator struct {
	dev    device.Device
	lane   string
	m      *modbus.Master
	slave  byte
	first  uint16
	lanes  Lanes
	clock  clock.Clock
	log    *slog.Logger
	health *point

	grants chan elevatorGrant
	fireCh chan struct{} // a change of fireOn is waiting

	mu     sync.Mutex
	fireOn bool     // wanted: the fire input is active (set by the runner)
	floors []string // released now (floor IDs)
	until  time.Time
	fire   bool // the board shows the fire state
	ok     bool // the last write was taken
}

// elevatorGrant is one grant's floors, or a test's (done hears the write).
type elevatorGrant struct {
	floors []string
	all    bool // every mapped floor (devices test)
	off    bool // every floor off now (devices test, its end)
	dur    time.Duration
	done   chan error
}

const retryEvery = time.Second

func newElevator(r *Runner, m *modbus.Master, d device.Device, pt device.Point, health *point) *elevator {
	return &elevator{dev: d, lane: d.LaneID, m: m, slave: pt.Slave, first: pt.N, lanes: r.cfg.Lanes, clock: r.cfg.Clock,
		log: r.log.With("device", d.Name), health: health, grants: make(chan elevatorGrant, 16), fireCh: make(chan struct{}, 1),
		fireOn: r.fireActive()}
}

// setFire tells the car the fire input's state; run acts on it.
func (e *elevator) setFire(on bool) {
	e.mu.Lock()
	e.fireOn = on
	e.mu.Unlock()
	select {
	case e.fireCh <- struct{}{}:
	default:
	}
}

// laneMap is the car's floor map as it is now (the lane's page may have
// changed it since the port started); nil when unknown.
func (e *elevator) laneMap() []access.FloorCoil {
	if e.lanes == nil {
		return nil
	}
	ls, err := e.lanes.Lanes()
	if err != nil {
		return nil
	}
	for _, l := range ls {
		if l.ID == e.lane && l.Kind == access.LaneElevator {
			return l.Floors
		}
	}
	return nil
}

// write switches the mapped outputs: on for the floors in on (every one
// when all), off for the others, in one request.
func (e *elevator) write(ctx context.Context, on []string, all bool) error {
	fm := e.laneMap()
	n := 0
	for _, fc := range fm {
		n = max(n, fc.Coil)
	}
	if n == 0 {
		return errors.New("runner: elevator lane has no floor map")
	}
	vals := make([]bool, n)
	for _, fc := range fm {
		vals[fc.Coil-1] = all || slices.Contains(on, fc.Floor)
	}
	err := e.m.WriteCoils(ctx, e.slave, e.first, vals)
	e.health.note(err)
	return err
}

func (e *elevator) run(ctx context.Context) {
	released := []string{}
	var expire <-chan time.Time
	var timer *time.Timer
	stopTimer := func() {
		if timer != nil {
			timer.Stop()
		}
		timer, expire = nil, nil
	}
	defer stopTimer()
	var retry <-chan time.Time
	fire := false
	// apply writes the state wanted now and notes it for the pages.
	apply := func() error {
		err := e.write(ctx, released, fire)
		e.mu.Lock()
		e.floors, e.fire, e.ok = slices.Clone(released), fire, err == nil
		if len(released) == 0 {
			e.until = time.Time{}
		}
		e.mu.Unlock()
		retry = nil
		if err != nil && ctx.Err() == nil {
			e.log.Debug("devices: elevator board write failed", "err", err)
			retry = time.After(retryEvery)
		}
		return err
	}
	// The car starts in its normal state (or the fire state): no floor
	// left released by a previous run. The first write waits for the port
	// to open (grants queue meanwhile), or it would only fail.
	for !e.m.Health().Online {
		select {
		case <-ctx.Done():
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
	e.mu.Lock()
	fire = e.fireOn
	e.mu.Unlock()
	_ = apply()
	for {
		select {
		case <-ctx.Done():
			return
		case g := <-e.grants:
			if fire {
				// Every floor is released already; the grant changes nothing.
				if g.done != nil {
					g.done <- nil
				}
				continue
			}
			for _, f := range g.floors {
				if !slices.Contains(released, f) {
					released = append(released, f)
				}
			}
			if g.off {
				e.mu.Lock()
				done := len(released) == 0 && e.ok // the release ended already
				e.mu.Unlock()
				if done {
					g.done <- nil
					continue
				}
				stopTimer()
				released = released[:0]
				g.done <- apply()
				continue
			}
			if g.all {
				released = released[:0]
				for _, fc := range e.laneMap() {
					released = append(released, fc.Floor)
				}
			}
			stopTimer()
			timer = time.NewTimer(g.dur)
			expire = timer.C
			e.mu.Lock()
			e.until = e.clock.Now().Add(g.dur)
			e.mu.Unlock()
			err := apply()
			if g.done != nil {
				g.done <- err
			}
		case <-expire:
			timer, expire = nil, nil
			released = released[:0]
			_ = apply()
		case <-e.fireCh:
			e.mu.Lock()
			want := e.fireOn
			e.mu.Unlock()
			if want == fire {
				continue
			}
			fire = want
			// On fire every floor; after it, the normal state: all off,
			// releases under way included.
			stopTimer()
			released = released[:0]
			_ = apply()
		case <-retry:
			_ = apply()
		}
	}
}

// grant queues a grant's floors; it does not wait for the board.
func (e *elevator) grant(floors []string, d time.Duration) bool {
	select {
	case e.grants <- elevatorGrant{floors: floors, dur: d}:
		return true
	default:
		return false // a burst the car cannot take: the reader may be presented again
	}
}

// test releases every mapped floor for d, then switches them off, and
// waits for both writes: a test leaves no floor released behind it.
func (e *elevator) test(ctx context.Context, d time.Duration) error {
	send := func(g elevatorGrant) error {
		g.done = make(chan error, 1)
		select {
		case e.grants <- g:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case err := <-g.done:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := send(elevatorGrant{all: true, dur: d}); err != nil {
		return err
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	return send(elevatorGrant{off: true})
}

// state is the car's state for the pages.
func (e *elevator) state() device.ElevatorState {
	e.mu.Lock()
	defer e.mu.Unlock()
	return device.ElevatorState{Device: e.dev.ID, Floors: slices.Clone(e.floors), Until: e.until, Fire: e.fire, Written: e.ok}
}

// release hands an elevator grant to the lane's car.
func (r *Runner) release(lane string, a gate.Action) error {
	r.mu.Lock()
	e := r.elevators[lane]
	r.mu.Unlock()
	if e == nil {
		return ErrNoElevator
	}
	if !e.grant(a.Floors, a.Release) {
		return errors.New("runner: elevator busy")
	}
	return nil
}

// Elevator implements device.ElevatorReader: the lane's car as last
// written; false when no board runs for the lane.
func (r *Runner) Elevator(lane string) (device.ElevatorState, bool) {
	r.mu.Lock()
	e := r.elevators[lane]
	r.mu.Unlock()
	if e == nil {
		return device.ElevatorState{}, false
	}
	return e.state(), true
}

// Fire implements device.ElevatorReader: the fire inputs active now (their
// device names), none when there is no fire.
func (r *Runner) Fire() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for id, on := range r.fire {
		if on {
			out = append(out, r.devices[id].Name)
		}
	}
	slices.Sort(out)
	return out
}

// fireActive reports whether any fire input is active.
func (r *Runner) fireActive() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, on := range r.fire {
		if on {
			return true
		}
	}
	return false
}

// setFire records a fire input's state and tells every car. gone is a
// fire input whose port stopped: its state is forgotten.
func (r *Runner) setFire(id string, on, gone bool) {
	r.mu.Lock()
	if gone {
		delete(r.fire, id)
	} else {
		r.fire[id] = on
	}
	any := false
	for _, v := range r.fire {
		any = any || v
	}
	es := make([]*elevator, 0, len(r.elevators))
	for _, e := range r.elevators {
		es = append(es, e)
	}
	r.mu.Unlock()
	for _, e := range es {
		e.setFire(any)
	}
}

// fireInput polls the fire-alarm panel's contact, like a key cabinet's
// inputs: every change between two good reads is reported, and a first
// good read that finds it active too (a fire under way when the port
// starts must release the lifts).
type fireInput struct {
	dev    device.Device
	m      *modbus.Master
	slave  byte
	n      uint16
	every  time.Duration
	r      *Runner
	watch  gate.FireWatcher
	log    *slog.Logger
	health *point

	mu    sync.Mutex
	known bool
	on    bool
}

func newFireInput(r *Runner, m *modbus.Master, d device.Device, pt device.Point, health *point) *fireInput {
	every := r.cfg.PollInterval
	if every <= 0 {
		every = device.DefaultCabinetPoll
	}
	return &fireInput{dev: d, m: m, slave: pt.Slave, n: pt.N, every: every, r: r, watch: r.cfg.Fire,
		log: r.log.With("device", d.Name), health: health}
}

func (f *fireInput) run(ctx context.Context) {
	defer f.r.setFire(f.dev.ID, false, true)
	t := time.NewTicker(f.every)
	defer t.Stop()
	for {
		f.poll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// read reads the input once: active is the fire panel's alarm.
func (f *fireInput) read(ctx context.Context) (bool, error) {
	in, err := f.m.ReadDiscreteInputs(ctx, f.slave, f.n, 1)
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	f.health.note(err)
	if err != nil {
		return false, err
	}
	return in[0] != f.dev.Options.Invert, nil
}

func (f *fireInput) poll(ctx context.Context) {
	on, err := f.read(ctx)
	if err != nil {
		// The last state stands while the input cannot be read: the
		// lifts are neither released nor locked by a silent board.
		return
	}
	f.mu.Lock()
	changed := (!f.known && on) || (f.known && on != f.on)
	f.known, f.on = true, on
	f.mu.Unlock()
	if !changed {
		return
	}
	f.r.setFire(f.dev.ID, on, false)
	if on {
		f.log.Warn("devices: fire alarm input active: every lift floor released")
	} else {
		f.log.Info("devices: fire alarm input cleared: lifts back to normal")
	}
	if f.watch != nil {
		f.watch.FireChanged(ctx, gate.FireState{Active: on, Device: f.dev.Name, At: f.r.cfg.Clock.Now()})
	}
}
