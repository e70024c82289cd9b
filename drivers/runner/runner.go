// Package runner is the device runtime: it reads the device configuration
// (appliance/device), starts one driver per serial port, connects the lane
// readers to the appliance's gate.Decider and the Decider's answers to the
// lane's relay, and reports each device's health back to the pages.
//
//	scanner line ──► gate.Presentation (lane, direction from the role) ──► Decider
//	                                                                         │
//	lane relay (Modbus coil / USB relay) ◄── Pulse(Action.Pulse) ◄───────────┘
//	Modbus door contacts ──► Poller ──► gate.DoorWatcher
//	MRZ reader ──► latest Document (walk-in form)
//	enrolment reader ──► latest Read, WaitRead (card pages)
//
// One goroutine, the supervisor, owns the drivers: it starts them, and when
// the configuration changes it stops and restarts the ports whose devices
// changed, leaving the others running. Readers find their lane's relay at
// pulse time, so a relay board restarted under a running scanner is picked
// up at the next grant. Close stops everything and waits.
package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"gatehouse/appliance/access"
	"gatehouse/appliance/clock"
	"gatehouse/appliance/device"
	"gatehouse/appliance/gate"
	"gatehouse/drivers/fault"
	"gatehouse/drivers/osdp"
	"gatehouse/drivers/serial"
)

// ErrNoRelay: a grant or a manual open on a lane with no running relay. It
// is access.ErrNoRelay, so the guard station can say so.
var ErrNoRelay = fmt.Errorf("runner: no running relay: %w", access.ErrNoRelay)

// Source is the device configuration (*device.Service).
type Source interface {
	Devices() ([]device.Device, error)
	// Changes is closed when the configuration changes.
	Changes() <-chan struct{}
}

// Lanes gives the lanes' pulse lengths for relay tests (*access.Service).
type Lanes interface {
	Lanes() ([]access.Lane, error)
}

// Relay opens a lane.
type Relay interface {
	Pulse(ctx context.Context, d time.Duration) error
}

// Config configures a Runner.
type Config struct {
	Source Source
	// Decider decides lane readers' reads (*access.Service). Nil: reads
	// are recorded and never decided, as `gatehouse devices test` wants.
	Decider gate.Decider
	Lanes   Lanes            // optional
	Doors   gate.DoorWatcher // door contacts; default: log the changes
	// Slots hears key cabinets' slot changes (*keys.Sensors); nil: the
	// changes are logged only (devices test).
	Slots SlotWatcher
	// Fire hears the fire-alarm input change (*access.Service: the guard
	// station's alarm); nil: the change is logged only (devices test).
	Fire gate.FireWatcher
	// OnDocument is called with every document read (optional). It must
	// not block: the reader waits.
	OnDocument func(device.Document)

	Clock  clock.Clock
	Logger *slog.Logger

	// Line settings, mostly for tests: backoff between attempts to open
	// a port, the Modbus reply timeout, the door-contact poll interval.
	MinBackoff, MaxBackoff time.Duration
	ModbusTimeout          time.Duration
	PollInterval           time.Duration
	// Resync re-reads the configuration this often even without a change
	// signal (changes made by another process, a cluster peer). Default 30 s.
	Resync time.Duration

	// Keys keeps the OSDP readers' secure channel keys (*device.ReaderKeys).
	// Nil: in memory, for tests only (a key drawn then is lost with the
	// process, and the reader that got it is locked out).
	Keys KeyStore
	// OSDP, if set, adjusts each OSDP bus's control panel configuration
	// before it starts: timing in tests.
	OSDP func(*osdp.Config)
	// Base is the appliance's public address, for links in SMS.
	Base string
	// Reconciled, if set, is called by the supervisor after every look at
	// the configuration: serve tells the notification outbox whether a
	// modem runs.
	Reconciled func(*Runner)
	// Observer, if set, hears how long each grant took from the wire to
	// its relay (metrics).
	Observer Observer

	// Face terminals (face.go): who they should hold (*access.Service;
	// nil: persons are not synced), the opener of their sealed passwords
	// (*secret.Keys; nil: the password is used as stored, tests only),
	// the appliance's address as the terminals reach it (default Base),
	// the reconcile period (default 30 s), the zone their validity is
	// written in (default time.Local), and each request's timeout.
	Faces       FaceSource
	Secrets     SecretOpener
	EventBase   string
	FaceSync    time.Duration
	Location    *time.Location
	FaceTimeout time.Duration
	// FaceRate is the events per second a terminal may push (default 20,
	// bursts of twice as many); benchmarks raise it.
	FaceRate float64
}

// Observer hears of relay pulses made for a read: wire is the time from
// the read's last byte (Presentation.At, on Config.Clock) to the moment
// the relay is driven, the lane's turn waited for included. Manual opens,
// tests, and OSDP readers that drive the lock themselves are not timed.
// It must be quick.
type Observer interface {
	Pulsed(lane string, wire time.Duration)
}

// Runner runs the configured devices. It implements device.Monitor.
type Runner struct {
	cfg    Config
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu        sync.Mutex
	groups    map[string]*group          // running drivers by port path
	devices   map[string]device.Device   // configuration as last read, by ID
	notes     map[string]string          // devices without a running driver: why
	failures  map[string]string          // a port's start error, by device ID
	relays    map[string]Relay           // lane ID → its relay
	elevators map[string]*elevator       // lane ID → its car's board (elevator.go)
	fire      map[string]bool            // fire input device ID → active
	turns     map[string]chan struct{}   // lane ID → held while its relay pulses
	reads     map[string]device.Read     // latest read per reader
	docs      map[string]device.Document // latest document per document reader
	decisions map[string]decision        // latest decision per lane reader
	seq       uint64
	wake      chan struct{} // closed and replaced on every read and document

	memKeys *memKeys // Config.Keys when none is given

	// The supervisor's: failures to read the configuration and to start
	// a port's drivers, both tried again at every resync, logged by state.
	configFaults *fault.Log
	startFaults  map[string]*fault.Log // by port path
}

type decision struct {
	seq    uint64
	at     time.Time
	open   bool
	reason string
}

// Start reads the configuration and starts the drivers. It returns once
// they are started (not once the devices are online: a device may be
// unplugged), and keeps following the configuration until Close or ctx.
func Start(ctx context.Context, cfg Config) (*Runner, error) {
	if cfg.Source == nil {
		return nil, errors.New("runner: no device configuration")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Doors == nil {
		cfg.Doors = logDoors{cfg.Logger}
	}
	if cfg.Resync <= 0 {
		cfg.Resync = 30 * time.Second
	}
	r := &Runner{
		cfg: cfg, log: cfg.Logger, done: make(chan struct{}),
		groups: map[string]*group{}, devices: map[string]device.Device{}, notes: map[string]string{},
		failures: map[string]string{}, relays: map[string]Relay{}, elevators: map[string]*elevator{}, fire: map[string]bool{}, turns: map[string]chan struct{}{}, reads: map[string]device.Read{},
		docs: map[string]device.Document{}, decisions: map[string]decision{}, wake: make(chan struct{}),
		memKeys:      &memKeys{},
		configFaults: fault.NewAt(cfg.Logger, cfg.Clock, slog.LevelError),
		startFaults:  map[string]*fault.Log{},
	}
	r.ctx, r.cancel = context.WithCancel(ctx)
	changes := cfg.Source.Changes()
	if err := r.reconcile(); err != nil {
		r.cancel()
		r.stopAll()
		return nil, err
	}
	go r.supervise(changes)
	return r, nil
}

// Close stops every driver and waits for them. A pulse under way is
// finished with its relay switched off.
func (r *Runner) Close() error {
	r.cancel()
	<-r.done
	return nil
}

func (r *Runner) supervise(changes <-chan struct{}) {
	defer close(r.done)
	defer r.stopAll()
	t := time.NewTicker(r.cfg.Resync)
	defer t.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-changes:
		case <-t.C:
		}
		changes = r.cfg.Source.Changes()
		if err := r.reconcile(); err != nil {
			r.configFaults.Fail("devices: reading the configuration failed", err.Error())
		} else {
			r.configFaults.OK("devices: configuration read again")
		}
	}
}

// plan is the drivers the configuration asks for: devices by port.
func plan(devs []device.Device) (ports map[string][]device.Device, notes map[string]string) {
	ports, notes = map[string][]device.Device{}, map[string]string{}
	for _, d := range devs {
		switch {
		case !d.Enabled:
			notes[d.ID] = device.NoteDisabled
		case !supported(d):
			notes[d.ID] = device.NoteNotSupported
		default:
			ports[d.Port] = append(ports[d.Port], d)
		}
	}
	for _, ds := range ports {
		slices.SortFunc(ds, func(a, b device.Device) int { return strings.Compare(a.ID, b.ID) })
	}
	return ports, notes
}

// supported reports whether this runtime has a driver for d.
func supported(d device.Device) bool {
	switch d.Protocol {
	case device.Scanner:
		return d.Role.Reader()
	case device.Modbus:
		return d.Role == device.Relay || d.Role == device.DoorContact || d.Role == device.KeyCabinet ||
			d.Role == device.ElevatorBoard || d.Role == device.FireInput
	case device.USBRelay:
		return d.Role == device.Relay
	case device.MRZ, device.IDCard:
		return d.Role == device.DocumentReader
	case device.OSDP:
		return d.Role.Reader()
	case device.ESCPOS:
		return d.Role == device.Printer
	case device.Modem:
		return d.Role == device.ModemRole
	case device.ISAPI:
		return d.Role == device.EntryReader || d.Role == device.ExitReader
	}
	return false
}

// fingerprint is what makes a port's drivers what they are: when it
// changes, the port is restarted.
func fingerprint(ds []device.Device) string {
	type key struct {
		ID, Name, Port, Address, LaneID string
		Baud                            int
		Protocol                        device.Protocol
		Role                            device.Role
		Options                         device.Options
	}
	ks := make([]key, len(ds))
	for i, d := range ds {
		ks[i] = key{d.ID, d.Name, d.Port, d.Address, d.LaneID, d.Baud, d.Protocol, d.Role, d.Options}
	}
	b, _ := json.Marshal(ks)
	return string(b)
}

// reconcile brings the running drivers in line with the configuration.
// Only the supervisor (and Start, before it) calls it.
func (r *Runner) reconcile() error {
	devs, err := r.cfg.Source.Devices()
	if err != nil {
		return err
	}
	want, notes := plan(devs)
	r.mu.Lock()
	var stop []*group
	for port, g := range r.groups {
		if ds, ok := want[port]; !ok || fingerprint(ds) != g.key {
			stop = append(stop, g)
			delete(r.groups, port)
			for lane, rl := range g.relays {
				if r.relays[lane] == Relay(rl) {
					delete(r.relays, lane)
				}
			}
			for lane, e := range g.elevators {
				if r.elevators[lane] == e {
					delete(r.elevators, lane)
				}
			}
		}
	}
	r.devices = map[string]device.Device{}
	for _, d := range devs {
		r.devices[d.ID] = d
	}
	r.notes = notes
	r.failures = map[string]string{} // every port not running is tried again
	var start [][]device.Device
	for port, ds := range want {
		if _, running := r.groups[port]; !running {
			start = append(start, ds)
		}
	}
	r.mu.Unlock()

	// Drivers stop and start outside the lock: a reader stopping may be
	// waiting for a decision that notes a read under it.
	for _, g := range stop {
		g.close()
	}
	for port := range r.startFaults {
		if _, ok := want[port]; !ok {
			delete(r.startFaults, port)
		}
	}
	for _, ds := range start {
		g, err := r.startGroup(ds)
		faults := r.startFaults[ds[0].Port]
		if faults == nil {
			faults = fault.NewAt(r.log.With("port", ds[0].Port), r.cfg.Clock, slog.LevelError)
			r.startFaults[ds[0].Port] = faults
		}
		if err != nil {
			faults.Fail("devices: driver failed to start", err.Error())
		} else {
			faults.OK("devices: driver started")
		}
		r.mu.Lock()
		if err != nil {
			for _, d := range ds {
				r.failures[d.ID] = err.Error()
			}
		} else {
			r.groups[g.port] = g
			for lane, rl := range g.relays {
				r.relays[lane] = rl
			}
			for lane, e := range g.elevators {
				r.elevators[lane] = e
			}
		}
		r.mu.Unlock()
	}
	if r.cfg.Reconciled != nil {
		r.cfg.Reconciled(r)
	}
	return nil
}

func (r *Runner) stopAll() {
	r.mu.Lock()
	gs := make([]*group, 0, len(r.groups))
	for _, g := range r.groups {
		gs = append(gs, g)
	}
	r.groups = map[string]*group{}
	r.relays = map[string]Relay{}
	r.elevators = map[string]*elevator{}
	r.mu.Unlock()
	for _, g := range gs {
		g.close()
	}
}

func (r *Runner) lineConfig(d device.Device) serial.LineConfig {
	name := d.Name
	if d.Protocol.Bus() {
		name = filepath.Base(d.Port) // a bus is no one device's line
	}
	return serial.LineConfig{
		Port:       serial.Config{Path: d.Port, Baud: d.Baud},
		Name:       name,
		MinBackoff: r.cfg.MinBackoff,
		MaxBackoff: r.cfg.MaxBackoff,
		Clock:      r.cfg.Clock,
		Logger:     r.log,
	}
}

// laneRelay is what a reader pulses: the lane's relay as it is when the
// grant comes, so restarting the relay's port does not strand the reader.
type laneRelay struct {
	r    *Runner
	lane string
}

func (l laneRelay) Pulse(ctx context.Context, d time.Duration) error {
	return l.r.OpenLane(ctx, l.lane, d)
}

// OpenLane pulses the lane's relay for pulse (1 s if not given): a grant's
// pulse, or the guard station's manual open. It implements access.Opener.
// Pulses on one lane run one after the other — the entry scanner, the card
// reader and the exit scanner of a turnstile share its relay, and a
// turnstile passes one person per pulse; overlapping pulses would switch
// the relay off under the later one. The relay is switched off even if ctx
// ends during the pulse.
func (r *Runner) OpenLane(ctx context.Context, lane string, pulse time.Duration) error {
	r.mu.Lock()
	rl := r.relays[lane]
	r.mu.Unlock()
	if rl == nil {
		return ErrNoRelay
	}
	return r.pulse(ctx, lane, rl, pulse)
}

// pulse pulses rl, the relay of lane, when the lane's turn comes.
func (r *Runner) pulse(ctx context.Context, lane string, rl Relay, pulse time.Duration) error {
	if pulse <= 0 {
		pulse = time.Second
	}
	r.mu.Lock()
	turn := r.turns[lane]
	if turn == nil {
		turn = make(chan struct{}, 1)
		r.turns[lane] = turn
	}
	r.mu.Unlock()
	select {
	case turn <- struct{}{}:
		defer func() { <-turn }()
	case <-ctx.Done():
		return ctx.Err()
	}
	if at, ok := gate.ReadAt(ctx); ok && r.cfg.Observer != nil {
		r.cfg.Observer.Pulsed(lane, max(r.cfg.Clock.Now().Sub(at), 0))
	}
	return rl.Pulse(ctx, pulse)
}

// reader sits between a reader's driver and the Decider: it gives the read
// its kind (a card reader in serial mode delivers lines as a scanner does),
// notes it for enrolment and tests, and notes the decision for the pages.
type reader struct {
	r    *Runner
	dev  device.Device
	next gate.Decider // nil: record only
}

func (rd reader) Decide(ctx context.Context, p gate.Presentation) (gate.Action, error) {
	if rd.dev.Protocol != device.OSDP { // an OSDP reader tells a card from a PIN itself
		p.Kind = rd.dev.Reads()
	}
	seq := rd.r.noteRead(rd.dev.ID, p)
	if rd.next == nil {
		return gate.Action{Reason: "recorded"}, nil
	}
	a, err := rd.next.Decide(ctx, p)
	reason := a.Reason
	if err != nil {
		reason = "error"
	}
	rd.r.mu.Lock()
	rd.r.decisions[rd.dev.ID] = decision{seq: seq, at: rd.r.cfg.Clock.Now(), open: a.Open && err == nil, reason: reason}
	rd.r.mu.Unlock()
	if err == nil && a.Open && a.Floors != nil {
		// A lift car: its board releases the floors; there is no relay
		// to pulse, and the reader's driver must not look for one.
		a.Open = false
		if rerr := rd.r.release(rd.dev.LaneID, a); rerr != nil {
			rd.r.log.Error("devices: elevator grant released no floor", "device", rd.dev.Name, "lane", rd.dev.LaneID, "err", rerr)
		}
	}
	if rd.dev.Protocol != device.OSDP {
		fb := a.Feedback
		if err != nil {
			fb = gate.Deny
		}
		rd.r.showOnReaders(rd.dev, fb)
	}
	return a, err
}

// showOnReaders shows a scanner's decision on the OSDP readers of the same
// lane and direction — the card reader of a turnstile whose QR window sits
// beside it: green and a short beep, or red and a long one.
func (r *Runner) showOnReaders(d device.Device, fb gate.Feedback) {
	if fb == "" || d.LaneID == "" {
		return
	}
	type target struct {
		cp   *osdp.CP
		name string
	}
	var ts []target
	r.mu.Lock()
	for _, g := range r.groups {
		if g.cp == nil {
			continue
		}
		for _, o := range g.devs {
			if o.LaneID == d.LaneID && o.Role == d.Role {
				ts = append(ts, target{g.cp, o.Name})
			}
		}
	}
	r.mu.Unlock()
	for _, t := range ts {
		_ = t.cp.Signal(t.name, fb) // a reader offline shows nothing; the lane still works
	}
}

func (r *Runner) noteRead(id string, p gate.Presentation) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	r.reads[id] = device.Read{Device: id, Kind: p.Kind, Value: p.Value, At: p.At, Seq: r.seq}
	r.signal()
	return r.seq
}

func (r *Runner) noteDocument(doc device.Document) {
	r.mu.Lock()
	r.seq++
	doc.Seq = r.seq
	r.docs[doc.Device] = doc
	r.signal()
	r.mu.Unlock()
	if r.cfg.OnDocument != nil {
		r.cfg.OnDocument(doc)
	}
}

// signal wakes the waiters; called with mu held.
func (r *Runner) signal() {
	close(r.wake)
	r.wake = make(chan struct{})
}

// Health implements device.Monitor.
func (r *Runner) Health(id string) (device.Health, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.devices[id]
	if !ok {
		return device.Health{}, false
	}
	var h device.Health
	if dec, ok := r.decisions[id]; ok {
		h.Decided, h.Open, h.Reason, h.ReadSeq = dec.at, dec.open, dec.reason, dec.seq
	}
	if note, ok := r.notes[id]; ok {
		h.Note = note
		return h, true
	}
	if msg, ok := r.failures[id]; ok {
		h.Note, h.LastError = device.NoteFailed, msg
		return h, true
	}
	g := r.groups[d.Port]
	if g == nil || !g.has(id) {
		h.Note = device.NoteNotRunning // starting, or between a change and its restart
		return h, true
	}
	lh := g.health()
	h.Running = true
	h.Online, h.Changed, h.LastSeen = lh.Online, lh.Changed, lh.LastSeen
	h.Opens, h.Reconnects, h.Errors, h.Timeouts, h.LastError = lh.Opens, lh.Reconnects, lh.Errors, lh.Timeouts, lh.LastError
	h.LastErrorAt, h.Recovered = lh.LastErrorAt, lh.Recovered
	if g.cp != nil {
		h = readerHealth(g.cp, d.Name, h)
	}
	if pt := g.points[id]; pt != nil {
		h = pt.health(h)
	}
	return h, true
}

// LastRead implements device.Monitor.
func (r *Runner) LastRead(id string) (device.Read, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rd, ok := r.reads[id]
	return rd, ok
}

// LastDocument implements device.Monitor.
func (r *Runner) LastDocument(id string) (device.Document, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	doc, ok := r.docs[id]
	return doc, ok
}

// Seq implements device.Monitor.
func (r *Runner) Seq() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seq
}

// WaitDocument implements device.Monitor: the next document with Seq >
// after at one of the readers ids, or at any document reader.
func (r *Runner) WaitDocument(ctx context.Context, ids []string, after uint64) (device.Document, error) {
	for {
		r.mu.Lock()
		best, found := device.Document{}, false
		for did, doc := range r.docs {
			if doc.Seq <= after || (len(ids) > 0 && !slices.Contains(ids, did)) {
				continue
			}
			if !found || doc.Seq < best.Seq {
				best, found = doc, true
			}
		}
		wake := r.wake
		r.mu.Unlock()
		if found {
			return best, nil
		}
		select {
		case <-ctx.Done():
			return device.Document{}, ctx.Err()
		case <-wake:
		}
	}
}

// WaitRead implements device.Monitor: the next read with Seq > after at
// reader id, or at any enrolment reader when id is "".
func (r *Runner) WaitRead(ctx context.Context, id string, after uint64) (device.Read, error) {
	for {
		r.mu.Lock()
		best, found := device.Read{}, false
		for did, rd := range r.reads {
			if rd.Seq <= after {
				continue
			}
			if id == "" {
				if r.devices[did].Role != device.EnrolmentReader {
					continue
				}
			} else if did != id {
				continue
			}
			if !found || rd.Seq < best.Seq {
				best, found = rd, true
			}
		}
		wake := r.wake
		r.mu.Unlock()
		if found {
			return best, nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return device.Read{}, ctx.Err()
		case <-r.ctx.Done():
			return device.Read{}, device.ErrNotRunning
		}
	}
}

// waitDocument waits for a document with Seq > after at reader id.
func (r *Runner) waitDocument(ctx context.Context, id string, after uint64) (device.Document, error) {
	for {
		r.mu.Lock()
		doc, ok := r.docs[id]
		wake := r.wake
		r.mu.Unlock()
		if ok && doc.Seq > after {
			return doc, nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return device.Document{}, ctx.Err()
		case <-r.ctx.Done():
			return device.Document{}, device.ErrNotRunning
		}
	}
}

// Test implements device.Monitor: a relay is pulsed for its lane's pulse
// length, a door contact read, a reader or document reader waits for the
// next read until ctx ends.
func (r *Runner) Test(ctx context.Context, id string) (device.TestResult, error) {
	r.mu.Lock()
	d, known := r.devices[id]
	g := r.groups[d.Port]
	seq := r.seq
	r.mu.Unlock()
	switch {
	case !known:
		return device.TestResult{}, device.ErrNotFound
	case g == nil || !g.has(id):
		return device.TestResult{}, device.ErrNotRunning
	}
	switch d.Role {
	case device.Relay:
		rl := g.byDev[id]
		if rl == nil {
			return device.TestResult{}, device.ErrNotSupported
		}
		if err := g.waitOnline(ctx); err != nil {
			return device.TestResult{}, err
		}
		p := r.pulseFor(d.LaneID)
		if err := r.pulse(ctx, d.LaneID, rl, p); err != nil {
			return device.TestResult{}, err
		}
		return device.TestResult{Did: "pulsed", Pulse: p}, nil
	case device.DoorContact:
		if err := g.waitOnline(ctx); err != nil {
			return device.TestResult{}, err
		}
		open, err := g.readContact(ctx, d)
		if err != nil {
			return device.TestResult{}, err
		}
		return device.TestResult{Did: "door", DoorOpen: open}, nil
	case device.ElevatorBoard:
		e := g.elevators[d.LaneID]
		if e == nil {
			return device.TestResult{}, device.ErrNotSupported
		}
		if err := g.waitOnline(ctx); err != nil {
			return device.TestResult{}, err
		}
		p := r.pulseFor(d.LaneID)
		if err := e.test(ctx, p); err != nil {
			return device.TestResult{}, err
		}
		return device.TestResult{Did: "floors", Pulse: p, Floors: len(e.laneMap())}, nil
	case device.FireInput:
		f := g.fires[id]
		if f == nil {
			return device.TestResult{}, device.ErrNotSupported
		}
		if err := g.waitOnline(ctx); err != nil {
			return device.TestResult{}, err
		}
		on, err := f.read(ctx)
		if err != nil {
			return device.TestResult{}, err
		}
		return device.TestResult{Did: "fire", Fire: on}, nil
	case device.KeyCabinet:
		c := g.cabinets[id]
		if c == nil {
			return device.TestResult{}, device.ErrNotSupported
		}
		if err := g.waitOnline(ctx); err != nil {
			return device.TestResult{}, err
		}
		in, err := c.read(ctx)
		if err != nil {
			return device.TestResult{}, err
		}
		return device.TestResult{Did: "slots", Slots: in, FirstInput: int(c.first)}, nil
	case device.EntryReader, device.ExitReader, device.EnrolmentReader:
		if g.face != nil {
			// A face terminal says who it is (GET /ISAPI/System/deviceInfo):
			// address, account and password are right.
			info, err := g.face.c.DeviceInfo(ctx)
			g.face.note("device info", err)
			if err != nil {
				return device.TestResult{}, err
			}
			return device.TestResult{Did: "terminal", Terminal: fmt.Sprintf("%s, serial %s, firmware %s", info.Model, info.SerialNumber, info.FirmwareVersion)}, nil
		}
		beeped := false
		if g.cp != nil {
			// An OSDP reader shows it is alive first: green and a beep.
			if err := r.waitReader(ctx, g, d); err != nil {
				return device.TestResult{}, err
			}
			if err := g.cp.Signal(d.Name, gate.Grant); err != nil {
				return device.TestResult{}, err
			}
			beeped = true
		}
		rd, err := r.WaitRead(ctx, id, seq)
		if err != nil {
			return device.TestResult{Beeped: beeped}, err
		}
		return device.TestResult{Did: "read", Read: rd, Beeped: beeped}, nil
	case device.DocumentReader:
		doc, err := r.waitDocument(ctx, id, seq)
		if err != nil {
			return device.TestResult{}, err
		}
		return device.TestResult{Did: "document", Document: doc}, nil
	case device.Printer:
		if g.print == nil {
			return device.TestResult{}, device.ErrNotSupported
		}
		if err := g.waitOnline(ctx); err != nil {
			return device.TestResult{}, err
		}
		if err := g.print.PrintSlip(ctx, testSlip(r.cfg.Clock.Now())); err != nil {
			return device.TestResult{}, err
		}
		return device.TestResult{Did: "printed"}, nil
	case device.ModemRole:
		if g.modem == nil {
			return device.TestResult{}, device.ErrNotSupported
		}
		if err := g.waitOnline(ctx); err != nil {
			return device.TestResult{}, err
		}
		sig, err := g.modem.Signal(ctx) // AT+CSQ: the modem answers AT and says how it hears the network
		if err != nil {
			return device.TestResult{}, err
		}
		return device.TestResult{Did: "signal", Signal: sig}, nil
	}
	return device.TestResult{}, device.ErrNotSupported
}

// waitReader waits until an OSDP reader is online, or ctx ends.
func (r *Runner) waitReader(ctx context.Context, g *group, d device.Device) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		if h := readerHealth(g.cp, d.Name, device.Health{Online: true}); h.Online {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (%w)", serial.ErrOffline, ctx.Err())
		case <-t.C:
		}
	}
}

// pulseFor is the lane's pulse length, 1 s when unknown.
func (r *Runner) pulseFor(lane string) time.Duration {
	if r.cfg.Lanes != nil {
		if ls, err := r.cfg.Lanes.Lanes(); err == nil {
			for _, l := range ls {
				if l.ID == lane && l.PulseMs > 0 {
					return time.Duration(l.PulseMs) * time.Millisecond
				}
			}
		}
	}
	return time.Second
}

// logDoors is the door watcher until the gate issue raises the alarms.
type logDoors struct{ log *slog.Logger }

func (l logDoors) DoorChanged(_ context.Context, s gate.DoorState) {
	l.log.Info("devices: door contact", "lane", s.Lane, "open", s.Open, "device", s.Device)
}

// errorf wraps a driver error with the device's name.
func errorf(d device.Device, err error) error {
	return fmt.Errorf("device %s: %w", d.Name, err)
}
