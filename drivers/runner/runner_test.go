package runner_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"reflect"
	"runtime"
	"sync"
	"testing"
	"time"

	"gatehouse/appliance"
	"gatehouse/appliance/access"
	"gatehouse/appliance/clock"
	"gatehouse/appliance/config"
	"gatehouse/appliance/device"
	"gatehouse/appliance/directory"
	"gatehouse/appliance/gate"
	"gatehouse/appliance/visit"
	"gatehouse/drivers/osdp"
	"gatehouse/drivers/runner"
)

// eventually waits for cond. The deadline only stops a broken test from
// hanging; nothing here measures time.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// doors records door-contact changes.
type doors struct {
	mu     sync.Mutex
	states []gate.DoorState
}

func (d *doors) DoorChanged(_ context.Context, s gate.DoorState) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.states = append(d.states, s)
}

func (d *doors) last() (gate.DoorState, int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.states) == 0 {
		return gate.DoorState{}, 0
	}
	return d.states[len(d.states)-1], len(d.states)
}

// rig is a lobby with one lane: a real appliance (store, access, visits),
// its devices configured on simulators, and the runtime between them.
type rig struct {
	app   *appliance.App
	bench *runner.Bench
	run   *runner.Runner
	doors *doors
	host  directory.Person
	lane  access.Lane
	group access.Group
	prof  access.Profile
	dev   map[string]device.Device // by short name
}

func newRig(t *testing.T) *rig {
	t.Helper()
	ctx := context.Background()
	cfg, err := config.Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 11, 23, 10, 0, 0, 0, cfg.Location)) // a Monday morning
	dir := t.TempDir()
	app, err := appliance.Open(ctx, dir, cfg, clk, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	r := &rig{app: app, doors: &doors{}, dev: map[string]device.Device{}}

	f, _ := app.Directory.SaveFloor(ctx, "t", directory.Floor{Name: "1F", Level: 1})
	co, _ := app.Directory.SaveCompany(ctx, "t", directory.Company{Name: "Acme", FloorIDs: []string{f.ID}})
	if r.host, err = app.Directory.SavePerson(ctx, "t", directory.Person{Kind: directory.Employee, Name: "Host", Mobile: "13800138000",
		CompanyID: co.ID, FloorID: f.ID, EmployeeNo: "1", CanHost: true}); err != nil {
		t.Fatal(err)
	}
	z, err := app.Access.SaveZone(ctx, "t", access.Zone{Name: "Lobby", Passback: access.PassbackSoft})
	if err != nil {
		t.Fatal(err)
	}
	if r.lane, err = app.Access.SaveLane(ctx, "t", access.Lane{Name: "Gate A", ZoneID: z.ID, Visitors: true, PulseMs: 100}); err != nil {
		t.Fatal(err)
	}
	if r.group, err = app.Access.SaveGroup(ctx, "t", access.Group{Name: "Staff", LaneIDs: []string{r.lane.ID}}); err != nil {
		t.Fatal(err)
	}
	wd := []access.Range{{From: 8 * 60, To: 18 * 60}}
	if r.prof, err = app.Access.SaveProfile(ctx, "t", access.Profile{Name: "Working hours", Week: [7][]access.Range{1: wd, 2: wd, 3: wd, 4: wd, 5: wd}}); err != nil {
		t.Fatal(err)
	}

	sims := filepath.Join(dir, "sim")
	for short, d := range map[string]device.Device{
		"entry":  {Name: "Gate A entry scanner", Port: filepath.Join(sims, "gate-a-in"), Protocol: device.Scanner, Role: device.EntryReader, LaneID: r.lane.ID},
		"exit":   {Name: "Gate A exit scanner", Port: filepath.Join(sims, "gate-a-out"), Protocol: device.Scanner, Role: device.ExitReader, LaneID: r.lane.ID},
		"card":   {Name: "Gate A card reader", Port: filepath.Join(sims, "gate-a-card"), Protocol: device.Scanner, Role: device.EntryReader, LaneID: r.lane.ID, Options: device.Options{Reads: gate.Card}},
		"enrol":  {Name: "Desk enrolment reader", Port: filepath.Join(sims, "desk-card"), Protocol: device.Scanner, Role: device.EnrolmentReader, Options: device.Options{Reads: gate.Card}},
		"relay":  {Name: "Gate A relay", Port: filepath.Join(sims, "relays"), Protocol: device.Modbus, Address: "1:0", Role: device.Relay, LaneID: r.lane.ID},
		"door":   {Name: "Gate A door", Port: filepath.Join(sims, "relays"), Protocol: device.Modbus, Address: "1:2", Role: device.DoorContact, LaneID: r.lane.ID},
		"osdp":   {Name: "Gate A OSDP reader", Port: filepath.Join(sims, "rs485"), Protocol: device.OSDP, Address: "1", Role: device.EntryReader, LaneID: r.lane.ID, Options: device.Options{Secure: true}},
		"osdp2":  {Name: "Desk OSDP reader", Port: filepath.Join(sims, "rs485"), Protocol: device.OSDP, Address: "2", Role: device.EnrolmentReader},
		"print":  {Name: "Desk printer", Port: filepath.Join(sims, "printer"), Protocol: device.ESCPOS, Role: device.Printer},
		"modem":  {Name: "SMS modem", Port: filepath.Join(sims, "modem"), Protocol: device.Modem, Role: device.ModemRole, Baud: 115200},
		"docs":   {Name: "Desk passport reader", Port: filepath.Join(sims, "desk-mrz"), Protocol: device.MRZ, Role: device.DocumentReader},
		"unused": {Name: "Spare scanner", Port: filepath.Join(sims, "spare"), Protocol: device.Scanner, Role: device.EntryReader, LaneID: r.lane.ID, Enabled: false},
	} {
		if short != "unused" {
			d.Enabled = true
		}
		if r.dev[short], err = app.Devices.Save(ctx, "t", d); err != nil {
			t.Fatalf("%s: %v", short, err)
		}
	}
	ds, _ := app.Devices.Devices()
	if r.bench, err = runner.NewBench(sims, ds); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.bench.Close() })
	if r.run, err = runner.Start(ctx, runner.Config{
		Source: app.Devices, Decider: app.Access, Lanes: app.Access, Doors: r.doors, Clock: clk,
		MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		// A generous reply timeout: on a loaded machine a slow reply must
		// not become a retry, which would write the coil twice.
		ModbusTimeout: 3 * time.Second, PollInterval: 10 * time.Millisecond,
		Keys: device.NewReaderKeys(app.Store, clk, app.Keys),
		OSDP: func(c *osdp.Config) {
			// Quick rounds, patient replies: a loaded machine must not
			// take a slow reply for a lost one.
			c.PollEvery, c.ProbeEvery, c.ReplyTimeout = 5*time.Millisecond, 20*time.Millisecond, 3*time.Second
		},
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.run.Close() })
	t.Cleanup(app.Devices.Attach(r.run))
	for _, short := range []string{"entry", "exit", "card", "enrol", "relay", "door", "docs", "osdp", "osdp2", "print", "modem"} {
		eventually(t, short+" online", func() bool { h, _ := r.run.Health(r.dev[short].ID); return h.Running && h.Online })
	}
	return r
}

func (r *rig) present(t *testing.T, short, text string) {
	t.Helper()
	if err := r.bench.Present(r.dev[short], text); err != nil {
		t.Fatal(err)
	}
}

func (r *rig) coils() []device.Switch { return r.bench.Boards()[0].Log }

// decided waits for the n-th decision at a reader (counted by reads) and
// returns its health.
func (r *rig) decided(t *testing.T, short string, after uint64) device.Health {
	t.Helper()
	rd, err := r.run.WaitRead(ctxT(t), r.dev[short].ID, after)
	if err != nil {
		t.Fatal(err)
	}
	var h device.Health
	eventually(t, "the decision", func() bool {
		h, _ = r.run.Health(r.dev[short].ID)
		return h.ReadSeq == rd.Seq
	})
	return h
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func pulse(coil int) []device.Switch {
	return []device.Switch{{Point: coil, On: true}, {Point: coil, On: false}}
}

func TestVisitorPassOpensTheLaneAndGarbageDoesNot(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	now := r.app.Clock.Now()
	v, _, err := r.app.Visits.Invite(ctx, "t", visit.Request{Name: "Guest", Mobile: "13700137000", HostID: r.host.ID, Reason: "Meeting",
		From: now.Add(-time.Minute), Until: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := r.app.Visits.Token(v)
	if err != nil {
		t.Fatal(err)
	}

	// Deny first: a garbage pass is decided, and the relay hears nothing.
	r.present(t, "entry", "GH1.not-a-pass")
	if h := r.decided(t, "entry", 0); h.Open || h.Reason != string(access.PassInvalid) {
		t.Fatalf("garbage QR: %+v", h)
	}
	r.present(t, "entry", "hello, world")
	if h := r.decided(t, "entry", 1); h.Open || h.Reason != string(access.Unknown) {
		t.Fatalf("not a pass at all: %+v", h)
	}
	if got := r.coils(); len(got) != 0 {
		t.Fatalf("denies moved the relay: %v", got)
	}

	// The visitor's pass: granted, the relay pulsed on and off, the visit in.
	r.present(t, "entry", tok)
	eventually(t, "coil on then off", func() bool { return len(r.coils()) == 2 })
	if got := r.coils(); !reflect.DeepEqual(got, pulse(0)) {
		t.Fatalf("coil writes %v, want %v", got, pulse(0))
	}
	if got, _ := r.app.Visits.Get(v.ID); got.State != visit.In {
		t.Fatalf("visit %s after the gate", got.State)
	}
	if h, _ := r.run.Health(r.dev["entry"].ID); !h.Open || h.Reason != string(access.Granted) {
		t.Fatalf("entry health after the grant: %+v", h)
	}

	// Out through the exit scanner: the lane's relay again, the visit out.
	r.present(t, "exit", tok)
	eventually(t, "second pulse", func() bool { return len(r.coils()) == 4 })
	if got, _ := r.app.Visits.Get(v.ID); got.State != visit.Out {
		t.Fatalf("visit %s after leaving", got.State)
	}
}

func TestCardReaderAndEnrolmentReader(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	if _, err := r.app.Access.Enrol(ctx, "t", access.Credential{Kind: access.Card, Number: "04A23B1C", HolderKind: access.HolderEmployee,
		HolderID: r.host.ID, HolderName: "Host", ProfileID: r.prof.ID, GroupIDs: []string{r.group.ID}}); err != nil {
		t.Fatal(err)
	}
	// A card reader in serial mode: the line is a card number, as typed
	// with separators by some readers.
	r.present(t, "card", "04:a2:3b:1c")
	eventually(t, "pulse for the card", func() bool { return len(r.coils()) == 2 })
	if rd, ok := r.run.LastRead(r.dev["card"].ID); !ok || rd.Kind != gate.Card {
		t.Fatalf("card read %+v", rd)
	}
	r.present(t, "card", "DEADBEEF")
	if h := r.decided(t, "card", 1); h.Open || h.Reason != string(access.Unknown) {
		t.Fatalf("unknown card: %+v", h)
	}

	// The enrolment reader records; it neither decides nor opens. A page
	// waiting for any enrolment read gets it.
	got := make(chan device.Read, 1)
	go func() {
		rd, err := r.app.Devices.Live().WaitRead(ctxT(t), "", 0)
		if err != nil {
			t.Error(err)
		}
		got <- rd
	}()
	r.present(t, "enrol", "04A23B1C")
	rd := <-got
	if rd.Device != r.dev["enrol"].ID || rd.Kind != gate.Card || rd.Value != "04A23B1C" {
		t.Fatalf("enrolment read %+v", rd)
	}
	if h, _ := r.run.Health(r.dev["enrol"].ID); !h.Decided.IsZero() {
		t.Fatalf("enrolment read decided: %+v", h)
	}
	if n := len(r.coils()); n != 2 {
		t.Fatalf("%d coil writes: the enrolment read or the unknown card moved the relay", n)
	}
}

func TestPulsesOnALaneTakeTurns(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	if _, err := r.app.Access.Enrol(ctx, "t", access.Credential{Kind: access.Card, Number: "04A23B1C", HolderKind: access.HolderEmployee,
		HolderName: "Host", GroupIDs: []string{r.group.ID}}); err != nil {
		t.Fatal(err)
	}
	now := r.app.Clock.Now()
	v, _, err := r.app.Visits.Invite(ctx, "t", visit.Request{Name: "Guest", Mobile: "13700137000", HostID: r.host.ID, Reason: "Meeting",
		From: now.Add(-time.Minute), Until: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := r.app.Visits.Token(v)
	// Two people at the two readers of one turnstile at once, and the
	// guard opening it: three whole pulses, one after the other.
	r.present(t, "entry", tok)
	r.present(t, "card", "04A23B1C")
	if err := r.run.OpenLane(ctxT(t), r.lane.ID, 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	eventually(t, "three pulses", func() bool { return len(r.coils()) == 6 })
	if got, want := r.coils(), append(append(pulse(0), pulse(0)...), pulse(0)...); !reflect.DeepEqual(got, want) {
		t.Fatalf("coil writes %v, want %v", got, want)
	}
	if err := r.run.OpenLane(ctx, "0000000000000000", 0); !errors.Is(err, access.ErrNoRelay) {
		t.Fatalf("open a lane without relay: %v", err)
	}
}

func TestDeviceTestsAndDoorContact(t *testing.T) {
	r := newRig(t)
	ctx := ctxT(t)
	live := r.app.Devices.Live()

	res, err := live.Test(ctx, r.dev["relay"].ID)
	if err != nil || res.Did != "pulsed" || res.Pulse != 100*time.Millisecond {
		t.Fatalf("relay test: %+v %v", res, err)
	}
	if got := r.coils(); !reflect.DeepEqual(got, pulse(0)) {
		t.Fatalf("relay test wrote %v", got)
	}

	// The poller reported the door shut at start; opening it is reported.
	eventually(t, "initial door state", func() bool { _, n := r.doors.last(); return n >= 1 })
	if err := r.bench.SetInput(r.dev["door"], true); err != nil {
		t.Fatal(err)
	}
	eventually(t, "door open reported", func() bool { s, _ := r.doors.last(); return s.Open })
	if s, _ := r.doors.last(); s.Lane != r.lane.ID || s.Device != "Gate A door" {
		t.Fatalf("door state %+v", s)
	}
	res, err = live.Test(ctx, r.dev["door"].ID)
	if err != nil || res.Did != "door" || !res.DoorOpen {
		t.Fatalf("door test: %+v %v", res, err)
	}

	// A reader test waits for the next read.
	done := make(chan device.TestResult, 1)
	go func() {
		res, err := live.Test(ctx, r.dev["exit"].ID)
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	eventually(t, "test waiting", func() bool {
		r.present(t, "exit", "TEST-CODE")
		select {
		case res = <-done:
			return true
		case <-time.After(20 * time.Millisecond):
			return false
		}
	})
	if res.Did != "read" || res.Read.Value != "TEST-CODE" || res.Read.Kind != gate.QR {
		t.Fatalf("reader test: %+v", res)
	}

	// A document reader test waits for the next document.
	go func() {
		res, err := live.Test(ctx, r.dev["docs"].ID)
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	const (
		l1 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<"
		l2 = "L898902C36UTO7408122F1204159ZE184226B<<<<<10"
	)
	eventually(t, "document test", func() bool {
		r.present(t, "docs", l1+"\n"+l2)
		select {
		case res = <-done:
			return true
		case <-time.After(20 * time.Millisecond):
			return false
		}
	})
	if res.Did != "document" || res.Document.Surname != "ERIKSSON" || res.Document.Number != "L898902C3" || res.Document.Problem != "" {
		t.Fatalf("document test: %+v", res.Document)
	}
	if doc, ok := live.LastDocument(r.dev["docs"].ID); !ok || doc.Given != "ANNA MARIA" {
		t.Fatalf("last document %+v", doc)
	}

	// Not running: disabled, unknown.
	if h, _ := live.Health(r.dev["unused"].ID); h.Running || h.Note != device.NoteDisabled {
		t.Fatalf("disabled health %+v", h)
	}
	if _, ok := live.Health("0000000000000000"); ok {
		t.Fatal("health of an unknown device")
	}
	if _, err := live.Test(ctx, r.dev["unused"].ID); !errors.Is(err, device.ErrNotRunning) {
		t.Fatalf("test of a disabled device: %v", err)
	}
}

func TestConfigurationChangesRestartOnlyWhatChanged(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	before, _ := r.run.Health(r.dev["entry"].ID)

	// Move the relay to coil 3: the Modbus port restarts, the scanners
	// keep running and pulse the new coil at the next grant.
	relay := r.dev["relay"]
	relay.Address = "1:3"
	if _, err := r.app.Devices.Save(ctx, "t", relay); err != nil {
		t.Fatal(err)
	}
	eventually(t, "relay restarted on coil 3", func() bool {
		res, err := r.run.Test(ctxT(t), relay.ID)
		return err == nil && res.Did == "pulsed" && reflect.DeepEqual(r.coils()[len(r.coils())-2:], pulse(3))
	})
	if h, _ := r.run.Health(r.dev["entry"].ID); h.Opens != before.Opens || h.Reconnects != 0 {
		t.Fatalf("the entry scanner was restarted: %+v, before %+v", h, before)
	}

	// Disable the card reader: its driver stops.
	card := r.dev["card"]
	card.Enabled = false
	if _, err := r.app.Devices.Save(ctx, "t", card); err != nil {
		t.Fatal(err)
	}
	eventually(t, "card reader stopped", func() bool { h, _ := r.run.Health(card.ID); return h.Note == device.NoteDisabled })

	// Delete the relay: a grant finds no relay, and nothing hangs.
	if err := r.app.Devices.Delete(ctx, "t", relay.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "relay gone", func() bool { _, ok := r.run.Health(relay.ID); return !ok })
	n := len(r.coils())
	if _, err := r.app.Access.Enrol(ctx, "t", access.Credential{Kind: access.Card, Number: "0A0B0C0D", HolderKind: access.HolderContractor,
		HolderName: "Fixer", GroupIDs: []string{r.group.ID}}); err != nil {
		t.Fatal(err)
	}
	r.present(t, "enrol", "x") // still running
	r.present(t, "entry", "GH1.x")
	if h := r.decided(t, "entry", 0); h.Open {
		t.Fatalf("garbage granted: %+v", h)
	}
	if len(r.coils()) != n {
		t.Fatal("a board with no configured relay was written")
	}
}

// TestCloseStopsEverything checks that every goroutine the runtime and the
// bench start has an owner that stops it.
func TestCloseStopsEverything(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		r := newRig(t)
		r.present(t, "entry", "GH1.x")
		r.decided(t, "entry", 0)
		r.run.Close()
		r.bench.Close()
		if _, err := r.run.WaitRead(context.Background(), "", 1000); !errors.Is(err, device.ErrNotRunning) {
			t.Fatalf("wait on a closed runtime: %v", err)
		}
		r.app.Close() // the store's own goroutines (closing twice is harmless)
	}()
	eventually(t, "goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
}
