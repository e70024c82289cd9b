package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"gatehouse/appliance"
	"gatehouse/appliance/access"
	"gatehouse/appliance/config"
	"gatehouse/appliance/directory"
	"gatehouse/appliance/gate"
	"gatehouse/appliance/visit"
	"gatehouse/drivers/modbus"
	"gatehouse/drivers/osdp"
	osdpsim "gatehouse/drivers/osdp/sim"
	"gatehouse/drivers/scanner"
	"gatehouse/drivers/serial"
	"gatehouse/drivers/sim"
	"gatehouse/drivers/sim/pty"
)

// patience only stops a broken test from hanging; nothing here asserts how
// long anything took.
const patience = 30 * time.Second

func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func quiet() *slog.Logger {
	if os.Getenv("E2E_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// The card enrolled for the host, as the reader sends its UID.
var cardBytes = []byte{0x04, 0xA2, 0x3B, 0x1C}

// lobby is the real appliance on a fresh data directory with one lane
// ("Gate 1") into a zone with hard anti-passback, and an employee with an
// enrolled card whose access group covers the zone.
type lobby struct {
	app  *appliance.App
	zone access.Zone
	lane access.Lane
	host directory.Person
	card access.Credential
}

func newLobby(t testing.TB) *lobby {
	t.Helper()
	l := newLobbyIn(t, t.TempDir())
	t.Cleanup(func() { l.app.Close() })
	return l
}

// openApp opens the appliance on dir.
func openApp(t testing.TB, dir string) *appliance.App {
	t.Helper()
	cfg, err := config.Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	app, err := appliance.Open(context.Background(), dir, cfg, nil, quiet())
	if err != nil {
		t.Fatal(err)
	}
	return app
}

// newLobbyIn sets the lobby up in dir; the caller closes its app.
func newLobbyIn(t testing.TB, dir string) *lobby {
	t.Helper()
	ctx := context.Background()
	app := openApp(t, dir)
	l := &lobby{app: app}
	var err error
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	fl, err := app.Directory.SaveFloor(ctx, "setup", directory.Floor{Name: "1F", Level: 1})
	must(err)
	co, err := app.Directory.SaveCompany(ctx, "setup", directory.Company{Name: "Acme", FloorIDs: []string{fl.ID}})
	must(err)
	l.host, err = app.Directory.SavePerson(ctx, "setup", directory.Person{Kind: directory.Employee, Name: "Host",
		Mobile: "13800138000", CompanyID: co.ID, FloorID: fl.ID, EmployeeNo: "1", CanHost: true})
	must(err)
	l.zone, err = app.Access.SaveZone(ctx, "setup", access.Zone{Name: "Lobby", Passback: access.PassbackHard})
	must(err)
	l.lane, err = app.Access.SaveLane(ctx, "setup", access.Lane{Name: "Gate 1", ZoneID: l.zone.ID, Visitors: true, PulseMs: 100})
	must(err)
	g, err := app.Access.SaveGroup(ctx, "setup", access.Group{Name: "Staff", ZoneIDs: []string{l.zone.ID}})
	must(err)
	l.card, err = app.Access.Enrol(ctx, "setup", access.Credential{Kind: access.Card, Number: "04:a2:3b:1c",
		HolderKind: access.HolderEmployee, HolderID: l.host.ID, HolderName: "Host", GroupIDs: []string{g.ID}})
	must(err)
	return l
}

// invite records a visitor invited by the host for the coming hour and
// returns the visit and its QR pass.
func (l *lobby) invite(t testing.TB) (visit.Visit, string) {
	t.Helper()
	return l.inviteAs(t, "Guest", "13700137000")
}

// inviteNo invites the n-th of many visitors and returns the pass.
func (l *lobby) inviteNo(t testing.TB, n int) string {
	t.Helper()
	_, pass := l.inviteAs(t, fmt.Sprintf("Guest %d", n), fmt.Sprintf("137%08d", n))
	return pass
}

func (l *lobby) inviteAs(t testing.TB, name, mobile string) (visit.Visit, string) {
	t.Helper()
	now := l.app.Clock.Now()
	v, _, err := l.app.Visits.Invite(context.Background(), "host", visit.Request{Name: name, Mobile: mobile,
		HostID: l.host.ID, Reason: "meeting", From: now.Add(-time.Minute), Until: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := l.app.Visits.Token(v)
	if err != nil {
		t.Fatal(err)
	}
	return v, tok
}

// events returns the stored events, newest first.
func (l *lobby) events(t testing.TB) []access.Event {
	t.Helper()
	es, err := l.app.Access.Recent(100)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func fastLine(path, name string) serial.LineConfig {
	return serial.LineConfig{Port: serial.Config{Path: path, Baud: 9600}, Name: name,
		MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}
}

// relayCoil is the lane's relay: coil 1 of the Modbus board at slave 3.
const (
	relaySlave = 3
	relayCoil  = 1
)

// openRelay starts the real Modbus master on path and returns the lane's
// relay. The reply timeout is generous: on a loaded machine a slow reply
// must not become a retry, which would write the coil twice.
func openRelay(t testing.TB, path string) modbus.Relay {
	t.Helper()
	m, err := modbus.Open(context.Background(), modbus.Config{Line: fastLine(path, "relay"), Timeout: 3 * time.Second, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	eventually(t, "relay board online", func() bool { return m.Health().Online })
	return modbus.Relay{Master: m, Slave: relaySlave, Coil: relayCoil}
}

// simBoard plugs the project's Modbus relay board simulator in.
func simBoard(t testing.TB) *sim.ModbusBoard {
	t.Helper()
	b, err := sim.NewModbusBoard(filepath.Join(t.TempDir(), "ttyRELAY"), sim.ModbusBoardConfig{Address: relaySlave, Coils: 4, Inputs: 4})
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// pulseOnGrant is the glue an OSDP lane needs until drivers/runner wires
// lanes: the appliance decides, and a grant pulses the lane's Modbus relay
// from a goroutine of its own, one pulse at a time and in order, so the CP
// sends the reader its LED and beep without waiting for the pulse to end.
type pulseOnGrant struct {
	next   gate.Decider
	relay  scanner.Relay
	fixed  time.Duration // when set, every pulse lasts this long
	pulses chan time.Duration
	cancel context.CancelFunc
	done   chan struct{}
}

func newPulseOnGrant(t testing.TB, next gate.Decider, relay scanner.Relay, fixed time.Duration) *pulseOnGrant {
	ctx, cancel := context.WithCancel(context.Background())
	p := &pulseOnGrant{next: next, relay: relay, fixed: fixed, pulses: make(chan time.Duration, 16), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for {
			select {
			case d := <-p.pulses:
				// Pulse switches the relay off even when ctx ends.
				if err := p.relay.Pulse(ctx, d); err != nil && ctx.Err() == nil {
					t.Errorf("relay pulse: %v", err)
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-p.done })
	return p
}

func (p *pulseOnGrant) Decide(ctx context.Context, pr gate.Presentation) (gate.Action, error) {
	a, err := p.next.Decide(ctx, pr)
	if err != nil || !a.Open {
		return a, err
	}
	d := a.Pulse
	if p.fixed > 0 {
		d = p.fixed
	}
	select {
	case p.pulses <- d:
		return a, nil
	case <-ctx.Done():
		return gate.Action{Feedback: gate.Deny, Reason: "error"}, ctx.Err()
	}
}

// showOnReader lets a QR scanner's decision show on the lane's card
// reader (green and a short beep, or red and a long beep): what CP.Signal
// is for.
type showOnReader struct {
	next   gate.Decider
	cp     *osdp.CP
	reader string
}

func (s showOnReader) Decide(ctx context.Context, p gate.Presentation) (gate.Action, error) {
	a, err := s.next.Decide(ctx, p)
	fb := a.Feedback
	if err != nil {
		fb = gate.Deny
	}
	if fb != "" {
		_ = s.cp.Signal(s.reader, fb) // a reader offline shows nothing; the lane still works
	}
	return a, err
}

// simLine is the simulators' end of a pty.Device as an osdp.Line. Bytes
// written while the device is unplugged are lost, as on a cut wire.
// onWrite, if set, sees every frame written once the write returned, with
// the time taken just before the write began: an upper bound on the time
// of the last byte on the wire that a descheduled goroutine cannot push
// past the reaction to it.
type simLine struct {
	dev     *pty.Device
	onWrite func(b []byte, at time.Time)

	mu       sync.Mutex
	deadline time.Time
}

func (l *simLine) SetReadDeadline(t time.Time) error {
	l.mu.Lock()
	l.deadline = t
	l.mu.Unlock()
	return nil
}

func (l *simLine) Read(b []byte) (int, error) {
	l.mu.Lock()
	d := l.deadline
	l.mu.Unlock()
	if d.IsZero() {
		return l.dev.Read(b)
	}
	return l.dev.ReadTimeout(b, time.Until(d))
}

func (l *simLine) Write(b []byte) (int, error) {
	at := time.Now()
	n, err := l.dev.Write(b)
	if errors.Is(err, pty.ErrUnplugged) {
		return len(b), nil
	}
	if err == nil && l.onWrite != nil {
		l.onWrite(b, at)
	}
	return n, err
}

// readerBus is an RS-485 bus with the lane's entry reader (address 1) and
// exit reader (address 2), simulated on a pseudo-terminal, and the real CP
// on the terminal's path through osdp.SerialLine. Both readers start in
// install mode with the secure channel required; the CP keys them.
type readerBus struct {
	cp          *osdp.CP
	line        *osdp.SerialLine
	keys        *osdp.MemoryKeys
	entry, exit *osdpsim.PD
	// cardAt receives the time a simulated reader wrote a card read
	// (osdp_RAW): its last byte on the wire (see simLine).
	cardAt chan time.Time
}

const (
	entryReader = "gate1-in"
	exitReader  = "gate1-out"
)

type busOptions struct {
	pollEvery    time.Duration // default 2 ms
	replyTimeout time.Duration // default 2 s: patient on a loaded machine
}

func newReaderBus(t testing.TB, lane string, dec gate.Decider, o busOptions) *readerBus {
	t.Helper()
	if o.pollEvery == 0 {
		o.pollEvery = 2 * time.Millisecond
	}
	if o.replyTimeout == 0 {
		o.replyTimeout = 2 * time.Second
	}
	dev, err := pty.New(filepath.Join(t.TempDir(), "ttyOSDP"))
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	id := func(serial uint32) osdp.PDID {
		return osdp.PDID{Vendor: [3]byte{0x0A, 0x0B, 0x0C}, Model: 1, Version: 1, Serial: serial}
	}
	b := &readerBus{
		keys:   new(osdp.MemoryKeys),
		entry:  osdpsim.New(osdpsim.Config{Address: 1, ID: id(101), Install: true, Secure: true}),
		exit:   osdpsim.New(osdpsim.Config{Address: 2, ID: id(102), Install: true, Secure: true}),
		cardAt: make(chan time.Time, 16),
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.line, err = osdp.OpenSerialLine(ctx, fastLine(dev.Path(), "osdp-bus"))
	if err != nil {
		t.Fatal(err)
	}
	b.cp, err = osdp.New(osdp.Config{
		Line: b.line,
		Readers: []osdp.Reader{
			{Name: entryReader, Address: 1, Lane: lane, Direction: gate.In, Secure: true, Install: true},
			{Name: exitReader, Address: 2, Lane: lane, Direction: gate.Out, Secure: true, Install: true},
		},
		Decider:       dec,
		Keys:          b.keys,
		Log:           quiet(),
		ProbeEvery:    20 * time.Millisecond,
		PollEvery:     o.pollEvery,
		ReplyTimeout:  o.replyTimeout,
		DecideTimeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	var dec2 osdp.Decoder // the tap's own decoder, used by Serve's goroutine only
	tap := func(wire []byte, at time.Time) {
		dec2.Feed(wire)
		for {
			f, err := dec2.Next()
			if errors.Is(err, osdp.ErrIncomplete) {
				return
			}
			if err == nil && f.Code == osdp.ReplyRaw {
				select {
				case b.cardAt <- at:
				default:
				}
			}
		}
	}
	bus := osdpsim.NewBus(b.entry, b.exit)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := bus.Serve(ctx, &simLine{dev: dev, onWrite: tap}); err != nil {
			t.Errorf("reader simulators: %v", err)
		}
	})
	wg.Go(func() {
		if err := b.cp.Run(ctx); err != nil {
			t.Errorf("CP: %v", err)
		}
	})
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		b.line.Close()
		dev.Close()
	})
	for _, name := range []string{entryReader, exitReader} {
		eventually(t, name+" online on a key of its own", func() bool {
			h := b.health(name)
			return h.Online && h.Secure && !h.DefaultKey
		})
	}
	return b
}

func (b *readerBus) health(name string) osdp.Health {
	hs, _ := b.cp.Health()
	for _, h := range hs {
		if h.Name == name {
			return h
		}
	}
	return osdp.Health{}
}

// openScanner starts the real scanner driver on a simulated scanner for
// the lane, pulsing relay on a grant.
func openScanner(t testing.TB, name, lane string, dir gate.Direction, dec gate.Decider, relay scanner.Relay) *sim.Scanner {
	t.Helper()
	s, err := sim.NewScanner(filepath.Join(t.TempDir(), "tty"+name))
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	drv, err := scanner.Open(context.Background(), scanner.Config{
		Line: fastLine(s.Path(), name), Lane: lane, Direction: dir, Device: name,
		Decider: dec, Relay: relay, DecideTimeout: 10 * time.Second, Logger: quiet(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { drv.Close() })
	eventually(t, name+" online", func() bool { return drv.Health().Online })
	return s
}
