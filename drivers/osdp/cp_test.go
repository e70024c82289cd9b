package osdp_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/appliance/clock"
	"gatehouse/appliance/gate"
	"gatehouse/drivers/fault"
	"gatehouse/drivers/osdp"
	"gatehouse/drivers/osdp/internal/pty"
	"gatehouse/drivers/osdp/sim"
)

// The tests here run a real CP against simulated readers on the two ends
// of a pseudo-terminal. They wait for behaviour with a generous limit
// against hangs and never assert how long anything took.

const patience = 30 * time.Second

// decider grants the values in allow and records every presentation.
type decider struct {
	mu    sync.Mutex
	allow map[string]bool
	fail  bool
	seen  chan gate.Presentation
}

func newDecider(allow ...string) *decider {
	d := &decider{allow: map[string]bool{}, seen: make(chan gate.Presentation, 64)}
	for _, v := range allow {
		d.allow[v] = true
	}
	return d
}

func (d *decider) Decide(_ context.Context, p gate.Presentation) (gate.Action, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.seen <- p
	if d.fail {
		return gate.Action{}, errors.New("store unavailable")
	}
	if d.allow[p.Value] {
		return gate.Action{Open: true, Pulse: 1500 * time.Millisecond, Feedback: gate.Grant, Reason: "ok"}, nil
	}
	return gate.Action{Feedback: gate.Deny, Reason: "unknown"}, nil
}

func (d *decider) next(t *testing.T) gate.Presentation {
	t.Helper()
	select {
	case p := <-d.seen:
		return p
	case <-time.After(patience):
		t.Fatal("no presentation reached the decider")
		return gate.Presentation{}
	}
}

type rig struct {
	cp     *osdp.CP
	bus    *sim.Bus
	keys   *osdp.MemoryKeys
	dec    *decider
	cancel context.CancelFunc
	wg     sync.WaitGroup
	files  []*os.File
}

// start puts pds on the slave end of a fresh pty and a CP for readers on
// the master end.
func start(t *testing.T, cfg osdp.Config, pds ...*sim.PD) *rig {
	t.Helper()
	master, slave, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	r := &rig{bus: sim.NewBus(pds...), files: []*os.File{master, slave}}
	r.keys, _ = cfg.Keys.(*osdp.MemoryKeys)
	if cfg.Keys == nil {
		r.keys = new(osdp.MemoryKeys)
		cfg.Keys = r.keys
	}
	r.dec, _ = cfg.Decider.(*decider)
	if cfg.Decider == nil {
		r.dec = newDecider()
		cfg.Decider = r.dec
	}
	cfg.Line = master
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
		if os.Getenv("OSDP_TEST_LOG") != "" {
			cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
		}
	}
	if cfg.ProbeEvery == 0 {
		cfg.ProbeEvery = 20 * time.Millisecond
	}
	if cfg.PollEvery == 0 {
		cfg.PollEvery = 2 * time.Millisecond
	}
	r.cp, err = osdp.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.wg.Go(func() {
		if err := r.bus.Serve(ctx, slave); err != nil {
			t.Errorf("simulator: %v", err)
		}
	})
	r.wg.Go(func() {
		if err := r.cp.Run(ctx); err != nil {
			t.Errorf("CP: %v", err)
		}
	})
	t.Cleanup(r.stop)
	return r
}

func (r *rig) stop() {
	r.cancel()
	r.wg.Wait()
	for _, f := range r.files {
		f.Close()
	}
	r.files = nil
}

func (r *rig) health(name string) osdp.Health {
	hs, _ := r.cp.Health()
	for _, h := range hs {
		if h.Name == name {
			return h
		}
	}
	return osdp.Health{}
}

// waitFor polls cond until it holds; the limit only guards against hangs.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (r *rig) waitOnline(t *testing.T, name string, secure bool) {
	t.Helper()
	waitFor(t, name+" online", func() bool {
		h := r.health(name)
		return h.Online && h.Secure == secure && !h.DefaultKey
	})
}

// waitCommands waits until pd has handled n more commands: enough poll
// rounds for anything queued to have happened.
func waitCommands(t *testing.T, pd *sim.PD, n uint64) {
	t.Helper()
	base := pd.Stats().Commands
	waitFor(t, "more commands", func() bool { return pd.Stats().Commands >= base+n })
}

func lastLED(pd *sim.PD) (osdp.LEDControl, bool) {
	ls := pd.LEDs()
	if len(ls) == 0 {
		return osdp.LEDControl{}, false
	}
	return ls[len(ls)-1], true
}

func identity(serial uint32) osdp.PDID {
	return osdp.PDID{Vendor: [3]byte{0x0A, 0x0B, 0x0C}, Model: 1, Version: 1, Serial: serial, Firmware: [3]byte{1, 0, 0}}
}

func out(n byte) *byte { return &n }

// The journey of a new secure reader: install mode on SCBK-D, a key of its
// own with osdp_KEYSET, the channel again on that key, then cards granted
// and denied with the right feedback on the reader.
func TestSecureReaderIsKeyedAndServesTheLane(t *testing.T) {
	pd := sim.New(sim.Config{Address: 3, ID: identity(1001), Install: true, Secure: true})
	dec := newDecider("12:345")
	r := start(t, osdp.Config{
		Decider: dec,
		Readers: []osdp.Reader{{Name: "lane1-in", Address: 3, Lane: "lane1", Direction: gate.In,
			Secure: true, Install: true, Output: out(0)}},
	}, pd)
	r.waitOnline(t, "lane1-in", true)

	stored, err := r.keys.LoadKey(context.Background(), "lane1-in")
	if err != nil {
		t.Fatal(err)
	}
	if stored.IsDefault() || !stored.Equal(pd.Key()) {
		t.Fatal("the reader and the key store should hold the same new key")
	}
	if pd.InstallMode() {
		t.Error("the reader should have left install mode")
	}
	if active, onDefault := pd.Secure(); !active || onDefault {
		t.Errorf("reader session active=%v onDefault=%v", active, onDefault)
	}
	if got := pd.Stats().Handshakes; got != 2 {
		t.Errorf("%d handshakes, want 2 (SCBK-D, then the new key)", got)
	}
	if h := r.health("lane1-in"); h.ID.Serial != 1001 {
		t.Errorf("identity not read: %+v", h.ID)
	}

	// Granted card: relay output pulsed, green LED, short beep.
	if err := pd.PresentWiegand(26, 12, 345); err != nil {
		t.Fatal(err)
	}
	p := dec.next(t)
	if p.Kind != gate.Card || p.Value != "12:345" || p.Lane != "lane1" || p.Direction != gate.In || p.Device != "lane1-in" {
		t.Errorf("presentation %+v", p)
	}
	waitFor(t, "grant feedback", func() bool { return len(pd.Buzzers()) == 1 })
	if l, _ := lastLED(pd); l.Temporary.OnColor != osdp.ColorGreen || l.Temporary.Code != osdp.LEDTempSet {
		t.Errorf("grant LED %+v", l)
	}
	if b := pd.Buzzers()[0]; b.Tone != osdp.ToneDefault || b.OnTime != 2 || b.Count != 1 {
		t.Errorf("grant beep %+v", b)
	}
	if o := pd.Outputs(); len(o) != 1 || o[0].Output != 0 || o[0].Code != osdp.OutTempOn || o[0].Timer != 15 {
		t.Errorf("relay output %+v", o)
	}

	// Denied card: red LED, long beep, no output.
	pd.PresentUID([]byte{0xDE, 0xAD, 0xBE, 0xEF})
	if p := dec.next(t); p.Value != "DEADBEEF" {
		t.Errorf("presentation %+v", p)
	}
	waitFor(t, "deny feedback", func() bool { return len(pd.Buzzers()) == 2 })
	if l, _ := lastLED(pd); l.Temporary.OnColor != osdp.ColorRed {
		t.Errorf("deny LED %+v", l)
	}
	if b := pd.Buzzers()[1]; b.OnTime != 10 {
		t.Errorf("deny beep %+v", b)
	}
	if o := pd.Outputs(); len(o) != 1 {
		t.Errorf("a deny pulsed the relay: %+v", o)
	}
	if h := r.health("lane1-in"); h.Reads != 2 || h.MACErrors != 0 {
		t.Errorf("health %+v", h)
	}

	// A new CP (a restart) with install mode off finds the key in the store.
	r.stop()
	r2 := start(t, osdp.Config{
		Keys:    r.keys,
		Decider: dec,
		Readers: []osdp.Reader{{Name: "lane1-in", Address: 3, Secure: true}},
	}, pd)
	r2.waitOnline(t, "lane1-in", true)
	if got := pd.Stats().Handshakes; got != 3 {
		t.Errorf("%d handshakes, want 3", got)
	}
	pd.PresentWiegand(26, 12, 345)
	if p := dec.next(t); p.Value != "12:345" {
		t.Errorf("after restart: %+v", p)
	}
}

// A reader that was factory-reset comes back on SCBK-D while the store
// holds its old key: install mode lets the CP fall back and re-key it.
func TestFactoryResetReaderIsReKeyed(t *testing.T) {
	keys := new(osdp.MemoryKeys)
	old, _ := osdp.RandomKey(randReader{})
	keys.SaveKey(context.Background(), "r1", old)
	pd := sim.New(sim.Config{Address: 1, ID: identity(7), Install: true})
	r := start(t, osdp.Config{Keys: keys, Readers: []osdp.Reader{{Name: "r1", Address: 1, Secure: true, Install: true}}}, pd)
	r.waitOnline(t, "r1", true)
	now, _ := keys.LoadKey(context.Background(), "r1")
	if now.Equal(old) || !now.Equal(pd.Key()) {
		t.Error("the reader should have been given a new key")
	}
}

type randReader struct{}

func (randReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(i*7 + 3)
	}
	return len(p), nil
}

// Without install mode a reader on another key is refused, not downgraded.
func TestWrongKeyWithoutInstallModeIsRefused(t *testing.T) {
	keys := new(osdp.MemoryKeys)
	mine, _ := osdp.NewKey([]byte("0123456789abcdef"))
	theirs, _ := osdp.NewKey([]byte("fedcba9876543210"))
	keys.SaveKey(context.Background(), "r1", mine)
	pd := sim.New(sim.Config{Address: 1, ID: identity(8), Key: theirs, Secure: true})
	r := start(t, osdp.Config{Keys: keys, Readers: []osdp.Reader{{Name: "r1", Address: 1, Secure: true}}}, pd)
	waitFor(t, "a refusal", func() bool { return r.health("r1").LastError != "" })
	if h := r.health("r1"); h.Online || h.Secure {
		t.Errorf("health %+v", h)
	}
	waitCommands(t, pd, 10)
	if pd.Stats().Handshakes != 0 || r.health("r1").Online {
		t.Error("a reader on the wrong key must never come online")
	}
}

// logLines is what a slog text handler wrote, readable while the CP
// writes.
type logLines struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logLines) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.FieldsFunc(l.b.String(), func(r rune) bool { return r == '\n' })
}

func (l *logLines) count(msg string) int {
	n := 0
	for _, line := range l.lines() {
		if strings.Contains(line, "msg=\""+msg+"\"") {
			n++
		}
	}
	return n
}

// A reader on the wrong key fails at every probe. The log says so once,
// then every 15 minutes how often since when — not a warning a probe,
// 86,000 a day at one a second — and says when the reader is back. No
// key reaches it.
func TestFailingReaderIsLoggedByState(t *testing.T) {
	keys := new(osdp.MemoryKeys)
	mine, _ := osdp.NewKey([]byte("0123456789abcdef"))
	theirs, _ := osdp.NewKey([]byte("fedcba9876543210"))
	keys.SaveKey(context.Background(), "r1", mine)
	pd := sim.New(sim.Config{Address: 1, ID: identity(8), Key: theirs, Secure: true})
	var logged logLines
	clk := clock.NewFake(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	r := start(t, osdp.Config{Keys: keys, Clock: clk, Log: slog.New(slog.NewTextHandler(&logged, nil)),
		Readers: []osdp.Reader{{Name: "r1", Address: 1, Secure: true}}}, pd)

	waitCommands(t, pd, 60) // twenty probes or more, each refused
	if r.health("r1").Online {
		t.Fatal("a reader on the wrong key came online")
	}
	if n := len(logged.lines()); n > 3 || logged.count("osdp reader not usable") != 1 {
		t.Fatalf("%d lines for twenty refusals:\n%s", n, strings.Join(logged.lines(), "\n"))
	}

	clk.Advance(fault.SummaryEvery)
	waitFor(t, "a summary", func() bool { return logged.count("osdp reader not usable") == 2 })
	waitCommands(t, pd, 30)
	if n := logged.count("osdp reader not usable"); n != 2 {
		t.Fatalf("%d lines in the second quarter of an hour", n)
	}
	if last := logged.lines()[len(logged.lines())-1]; !strings.Contains(last, "failures=") || !strings.Contains(last, "since=") {
		t.Errorf("summary %q", last)
	}

	keys.SaveKey(context.Background(), "r1", theirs) // the administrator puts the right key on file
	r.waitOnline(t, "r1", true)
	waitFor(t, "the recovery logged", func() bool { return logged.count("osdp reader online") == 1 })
	lines := logged.lines()
	if len(lines) > 4 || !strings.Contains(lines[len(lines)-1], "failures=") {
		t.Errorf("log:\n%s", strings.Join(lines, "\n"))
	}
	all := strings.Join(lines, "\n")
	for _, secret := range []string{"0123456789abcdef", "fedcba9876543210", "30313233343536373839616263646566", "66656463626139383736353433323130"} {
		if strings.Contains(all, secret) {
			t.Errorf("a key reached the log:\n%s", all)
		}
	}
	t.Logf("log:\n%s", all)
}

// A secure reader that does not offer the secure channel is not used in clear.
func TestReaderWithoutSecureChannelIsRefused(t *testing.T) {
	pd := sim.New(sim.Config{Address: 1, ID: identity(9), NoSecureChannel: true})
	r := start(t, osdp.Config{Readers: []osdp.Reader{{Name: "r1", Address: 1, Secure: true, Install: true}}}, pd)
	waitFor(t, "a refusal", func() bool { return r.health("r1").LastError != "" })
	if h := r.health("r1"); h.Online {
		t.Errorf("health %+v", h)
	}
}

// Two readers share the bus; each read reaches the decider with its own
// lane and direction, and the feedback goes to the reader that read.
func TestTwoReadersOnOneBus(t *testing.T) {
	in := sim.New(sim.Config{Address: 1, ID: identity(1)})
	outPD := sim.New(sim.Config{Address: 2, ID: identity(2), Install: true})
	dec := newDecider("1:1")
	r := start(t, osdp.Config{Decider: dec, Readers: []osdp.Reader{
		{Name: "in", Address: 1, Lane: "l1", Direction: gate.In},
		{Name: "out", Address: 2, Lane: "l1", Direction: gate.Out, Secure: true, Install: true},
	}}, in, outPD)
	r.waitOnline(t, "in", false)
	r.waitOnline(t, "out", true)

	outPD.PresentWiegand(26, 1, 1)
	if p := dec.next(t); p.Device != "out" || p.Direction != gate.Out || p.Value != "1:1" {
		t.Errorf("presentation %+v", p)
	}
	waitFor(t, "feedback at the exit reader", func() bool { return len(outPD.Buzzers()) == 1 })
	in.PresentWiegand(26, 9, 9)
	if p := dec.next(t); p.Device != "in" || p.Direction != gate.In {
		t.Errorf("presentation %+v", p)
	}
	waitFor(t, "feedback at the entry reader", func() bool { return len(in.Buzzers()) == 1 })
	if l, _ := lastLED(in); l.Temporary.OnColor != osdp.ColorRed {
		t.Errorf("entry reader LED %+v", l)
	}
	if l, _ := lastLED(outPD); l.Temporary.OnColor != osdp.ColorGreen || len(outPD.Buzzers()) != 1 {
		t.Errorf("exit reader LED %+v", l)
	}
}

// A reader that goes silent is marked offline while the other keeps
// working; when it answers again it is brought back, secure channel and all.
func TestSilentReaderGoesOfflineAndComesBack(t *testing.T) {
	a := sim.New(sim.Config{Address: 1, ID: identity(1), Install: true})
	b := sim.New(sim.Config{Address: 2, ID: identity(2)})
	dec := newDecider()
	r := start(t, osdp.Config{Decider: dec, OfflineAfter: 3, Readers: []osdp.Reader{
		{Name: "a", Address: 1, Secure: true, Install: true},
		{Name: "b", Address: 2},
	}}, a, b)
	r.waitOnline(t, "a", true)
	r.waitOnline(t, "b", false)

	a.SetSilent(true)
	waitFor(t, "a offline", func() bool { return !r.health("a").Online })
	h := r.health("a")
	if h.Offlines != 1 || h.Timeouts < 3 || h.Secure {
		t.Errorf("health of the silent reader %+v", h)
	}
	b.PresentUID([]byte{1, 2, 3, 4})
	if p := dec.next(t); p.Device != "b" {
		t.Errorf("presentation %+v", p)
	}

	a.SetSilent(false)
	r.waitOnline(t, "a", true)
	if h := r.health("a"); !h.LastSeen.After(h.Since.Add(-time.Hour)) || h.LastError != "" {
		t.Errorf("health after coming back %+v", h)
	}
	a.PresentUID([]byte{5, 6, 7, 8})
	if p := dec.next(t); p.Device != "a" {
		t.Errorf("presentation %+v", p)
	}
}

// A lost reply makes the CP send the same command with the same sequence
// number; the reader answers with its last reply and does not act twice.
// Over the secure channel the MAC chain survives it.
func TestLostReplyIsRepeatedNotRedone(t *testing.T) {
	pd := sim.New(sim.Config{Address: 1, ID: identity(1), Install: true})
	dec := newDecider()
	r := start(t, osdp.Config{Decider: dec, Readers: []osdp.Reader{
		{Name: "r1", Address: 1, Secure: true, Install: true},
	}}, pd)
	r.waitOnline(t, "r1", true)

	pd.DropReplies(1)
	pd.PresentUID([]byte{0xCA, 0xFE})
	if p := dec.next(t); p.Value != "CAFE" {
		t.Errorf("presentation %+v", p)
	}
	waitFor(t, "deny feedback", func() bool { return len(pd.Buzzers()) == 1 })
	waitCommands(t, pd, 30)
	select {
	case p := <-dec.seen:
		t.Fatalf("the card was presented twice: %+v", p)
	default:
	}
	if n := len(pd.LEDs()); n != 1 {
		t.Errorf("%d LED commands acted on, want 1", n)
	}
	st := pd.Stats()
	if st.Repeats < 1 || st.Dropped != 1 || st.MACErrors != 0 {
		t.Errorf("reader stats %+v", st)
	}
	if h := r.health("r1"); !h.Online || !h.Secure || h.Timeouts < 1 || h.MACErrors != 0 {
		t.Errorf("health %+v", h)
	}
}

// Garbage on the line is counted, skipped, and survived.
func TestGarbageRepliesAreCountedAndSurvived(t *testing.T) {
	pd := sim.New(sim.Config{Address: 1, ID: identity(1)})
	dec := newDecider()
	r := start(t, osdp.Config{Decider: dec, Readers: []osdp.Reader{{Name: "r1", Address: 1}}}, pd)
	r.waitOnline(t, "r1", false)
	pd.SendGarbage(5)
	waitFor(t, "garbage sent", func() bool { return pd.Stats().Garbage == 5 })
	r.waitOnline(t, "r1", false)
	pd.PresentUID([]byte{1})
	if p := dec.next(t); p.Value != "01" {
		t.Errorf("presentation %+v", p)
	}
	_, bus := r.cp.Health()
	if bus.Garbage+bus.BadLength+bus.BadCheck+bus.BadFormat == 0 {
		t.Errorf("garbage not counted: %+v", bus)
	}
	if h := r.health("r1"); h.Timeouts < 1 {
		t.Errorf("health %+v", h)
	}
}

// Keypad input becomes a PIN at '#'; '*' starts over. Formatted card reads
// (osdp_FMT) are cards.
func TestKeypadAndFormattedReads(t *testing.T) {
	pd := sim.New(sim.Config{Address: 1, ID: identity(1)})
	dec := newDecider("1234")
	r := start(t, osdp.Config{Decider: dec, Readers: []osdp.Reader{{Name: "r1", Address: 1, Checksum: true}}}, pd)
	r.waitOnline(t, "r1", false)
	pd.PressKeys("99*12")
	pd.PressKeys("34#")
	if p := dec.next(t); p.Kind != gate.PIN || p.Value != "1234" {
		t.Errorf("presentation %+v", p)
	}
	waitFor(t, "grant feedback", func() bool { return len(pd.Buzzers()) == 1 })
	pd.PresentText("00042")
	if p := dec.next(t); p.Kind != gate.Card || p.Value != "00042" {
		t.Errorf("presentation %+v", p)
	}
}

// A broken decider means deny, never open; a bad Wiegand read is counted
// and not decided on.
func TestFailuresDenyAndBadReadsAreCounted(t *testing.T) {
	pd := sim.New(sim.Config{Address: 1, ID: identity(1)})
	dec := newDecider("1:1")
	dec.fail = true
	r := start(t, osdp.Config{Decider: dec, Readers: []osdp.Reader{{Name: "r1", Address: 1, Output: out(1)}}}, pd)
	r.waitOnline(t, "r1", false)
	pd.PresentWiegand(26, 1, 1)
	dec.next(t)
	waitFor(t, "feedback", func() bool { return len(pd.Buzzers()) == 1 })
	if l, _ := lastLED(pd); l.Temporary.OnColor != osdp.ColorRed || len(pd.Outputs()) != 0 {
		t.Errorf("a failed decision must deny: LED %+v outputs %+v", l, pd.Outputs())
	}
	pd.PresentCard(osdp.CardRaw{Format: osdp.RawFormatWiegand, Bits: 26, Data: []byte{0, 0x80, 0, 0x80}})
	waitFor(t, "bad read counted", func() bool { return r.health("r1").BadReads == 1 })
	select {
	case p := <-dec.seen:
		t.Errorf("a bad read was decided: %+v", p)
	default:
	}
}

// Signal drives a reader's feedback from outside (devices test, a QR lane).
func TestSignal(t *testing.T) {
	pd := sim.New(sim.Config{Address: 1, ID: identity(1)})
	r := start(t, osdp.Config{Readers: []osdp.Reader{{Name: "r1", Address: 1}}}, pd)
	if err := r.cp.Signal("nope", gate.Grant); !errors.Is(err, osdp.ErrUnknownReader) {
		t.Errorf("unknown reader: %v", err)
	}
	r.waitOnline(t, "r1", false)
	if err := r.cp.Signal("r1", gate.Grant); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "feedback", func() bool { return len(pd.Buzzers()) == 1 })
	if l, _ := lastLED(pd); l.Temporary.OnColor != osdp.ColorGreen {
		t.Errorf("LED %+v", l)
	}
}

// Tamper reported with osdp_LSTATR shows in the health.
func TestTamperShowsInHealth(t *testing.T) {
	pd := sim.New(sim.Config{Address: 1, ID: identity(1)})
	r := start(t, osdp.Config{Readers: []osdp.Reader{{Name: "r1", Address: 1}}}, pd)
	r.waitOnline(t, "r1", false)
	pd.SetTamper(true)
	waitFor(t, "tamper", func() bool { return r.health("r1").Tamper })
}

func TestConfigIsChecked(t *testing.T) {
	line, _, err := pty.Open()
	if err != nil {
		t.Skip(err)
	}
	defer line.Close()
	dec := newDecider()
	for name, cfg := range map[string]osdp.Config{
		"no readers":        {Line: line, Decider: dec},
		"no decider":        {Line: line, Readers: []osdp.Reader{{Name: "a"}}},
		"no name":           {Line: line, Decider: dec, Readers: []osdp.Reader{{}}},
		"broadcast address": {Line: line, Decider: dec, Readers: []osdp.Reader{{Name: "a", Address: 0x7F}}},
		"same address":      {Line: line, Decider: dec, Readers: []osdp.Reader{{Name: "a"}, {Name: "b"}}},
		"secure, no keys":   {Line: line, Decider: dec, Readers: []osdp.Reader{{Name: "a", Secure: true}}},
	} {
		if _, err := osdp.New(cfg); !errors.Is(err, osdp.ErrConfig) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// A reader that labels its sealed replies with a command's security block
// type is refused, never used: the CP stays strict. It fails again at
// every session (restarted three times, then failed until the next probe);
// the log says so once, not at every attempt, and names the fault, not a
// key.
func TestWrongSecurityBlockTypeIsRefusedAndLoggedOnce(t *testing.T) {
	keys := new(osdp.MemoryKeys)
	k, _ := osdp.NewKey([]byte("0123456789abcdef"))
	keys.SaveKey(context.Background(), "r1", k)
	pd := sim.New(sim.Config{Address: 1, ID: identity(8), Key: k, Secure: true})
	pd.SetWrongSCB(true)
	var logged logLines
	clk := clock.NewFake(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	r := start(t, osdp.Config{Keys: keys, Clock: clk, Log: slog.New(slog.NewTextHandler(&logged, nil)),
		Readers: []osdp.Reader{{Name: "r1", Address: 1, Secure: true}}}, pd)

	waitFor(t, "twenty handshakes", func() bool { return pd.Stats().Handshakes >= 20 })
	h := r.health("r1")
	if h.Online || h.MACErrors == 0 || !strings.Contains(h.LastError, "security block type") {
		t.Fatalf("health %+v", h)
	}
	lines := logged.lines()
	if len(lines) != 1 || logged.count("osdp reader out of step; restarting") != 1 {
		t.Fatalf("%d lines for twenty refused sessions:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	for _, l := range lines {
		if !strings.Contains(l, "security block type does not fit the message") || strings.Contains(l, "30313233") {
			t.Errorf("log line %q", l)
		}
	}

	// Fixed firmware: the reader comes online, and that is logged once.
	pd.SetWrongSCB(false)
	r.waitOnline(t, "r1", true)
	waitFor(t, "the recovery logged", func() bool { return logged.count("osdp reader online") == 1 })
}
