package osdp_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"gatehouse/appliance/gate"
	"gatehouse/drivers/osdp"
	"gatehouse/drivers/osdp/sim"
	"gatehouse/drivers/serial"
	"gatehouse/drivers/sim/pty"
)

// The tests here run the CP over a real serial.Line (tarm/serial on the
// slave side of a pseudo-terminal, opened by path like /dev/ttyUSB0) and the
// simulated readers on the master side.

// simLine is the simulator's end of a pty.Device as an osdp.Line. Bytes
// written while the device is unplugged are lost, as on a cut wire.
type simLine struct {
	dev *pty.Device

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
	n, err := l.dev.Write(b)
	if errors.Is(err, pty.ErrUnplugged) {
		return len(b), nil
	}
	return n, err
}

type serialRig struct {
	dev    *pty.Device
	line   *osdp.SerialLine
	cp     *osdp.CP
	keys   *osdp.MemoryKeys
	dec    *decider
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// startSerial plugs a simulated bus with pds in at a path and runs a CP on
// that path through a SerialLine.
func startSerial(t *testing.T, readers []osdp.Reader, dec *decider, pds ...*sim.PD) *serialRig {
	t.Helper()
	dev, err := pty.New(filepath.Join(t.TempDir(), "ttyUSB0"))
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &serialRig{dev: dev, keys: new(osdp.MemoryKeys), dec: dec, cancel: cancel}
	r.line, err = osdp.OpenSerialLine(ctx, serial.LineConfig{
		Port:       serial.Config{Path: dev.Path(), Baud: 9600},
		Name:       "osdp-bus",
		MinBackoff: 5 * time.Millisecond,
		MaxBackoff: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("OSDP_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	r.cp, err = osdp.New(osdp.Config{
		Line: r.line, Readers: readers, Decider: dec, Keys: r.keys, Log: log,
		ProbeEvery: 20 * time.Millisecond, PollEvery: 2 * time.Millisecond, LineRetry: 20 * time.Millisecond,
		ReplyTimeout: 2 * time.Second, // patient on a loaded machine; an unplug fails writes at once
	})
	if err != nil {
		t.Fatal(err)
	}
	bus := sim.NewBus(pds...)
	r.wg.Go(func() {
		if err := bus.Serve(ctx, &simLine{dev: dev}); err != nil {
			t.Errorf("simulator: %v", err)
		}
	})
	r.wg.Go(func() {
		if err := r.cp.Run(ctx); err != nil {
			t.Errorf("CP: %v", err)
		}
	})
	t.Cleanup(func() {
		cancel()
		r.wg.Wait()
		r.line.Close()
		dev.Close()
	})
	return r
}

func (r *serialRig) health(name string) osdp.Health {
	hs, _ := r.cp.Health()
	for _, h := range hs {
		if h.Name == name {
			return h
		}
	}
	return osdp.Health{}
}

func (r *serialRig) waitSecure(t *testing.T, name string) {
	t.Helper()
	waitFor(t, name+" online on its own key", func() bool {
		h := r.health(name)
		return h.Online && h.Secure && !h.DefaultKey
	})
}

// A new reader in install mode is keyed over a tarm port, then a card is
// granted and another denied with the right feedback.
func TestSerialLineCarriesTheSecureChannel(t *testing.T) {
	pd := sim.New(sim.Config{Address: 2, ID: identity(2001), Install: true, Secure: true})
	r := startSerial(t, []osdp.Reader{{Name: "in", Address: 2, Lane: "l1", Direction: gate.In,
		Secure: true, Install: true, Output: out(0)}}, newDecider("04A23B1C"), pd)
	r.waitSecure(t, "in")
	if k, err := r.keys.LoadKey(context.Background(), "in"); err != nil || !k.Equal(pd.Key()) || pd.InstallMode() {
		t.Fatalf("the reader was not given its own key (err %v, install mode %v)", err, pd.InstallMode())
	}

	pd.PresentUID([]byte{0x04, 0xA2, 0x3B, 0x1C})
	if p := r.dec.next(t); p.Value != "04A23B1C" || p.Device != "in" || p.Lane != "l1" {
		t.Fatalf("presentation %+v", p)
	}
	waitFor(t, "grant feedback", func() bool { return len(pd.Buzzers()) == 1 })
	if l, _ := lastLED(pd); l.Temporary.OnColor != osdp.ColorGreen {
		t.Errorf("grant LED %+v", l)
	}
	if b := pd.Buzzers()[0]; b.OnTime != 2 {
		t.Errorf("grant beep %+v", b)
	}
	if len(pd.Outputs()) != 1 {
		t.Errorf("outputs %+v", pd.Outputs())
	}

	pd.PresentUID([]byte{0xDE, 0xAD, 0xBE, 0xEF})
	r.dec.next(t)
	waitFor(t, "deny feedback", func() bool { return len(pd.Buzzers()) == 2 })
	if l, _ := lastLED(pd); l.Temporary.OnColor != osdp.ColorRed {
		t.Errorf("deny LED %+v", l)
	}
	if b := pd.Buzzers()[1]; b.OnTime != 10 {
		t.Errorf("deny beep %+v", b)
	}
	if h := r.health("in"); h.MACErrors != 0 || h.Reads != 2 {
		t.Errorf("health %+v", h)
	}
	if lh := r.line.Health(); !lh.Online || lh.Opens != 1 || lh.LastSeen.IsZero() {
		t.Errorf("line health %+v", lh)
	}
}

// The USB adapter is pulled out and pushed back: the line reconnects by
// itself, the CP takes the reader offline and brings it back on a new
// secure session, and both outages show in the health.
func TestSerialLineSurvivesUnplug(t *testing.T) {
	a := sim.New(sim.Config{Address: 1, ID: identity(3001), Install: true, Secure: true})
	b := sim.New(sim.Config{Address: 5, ID: identity(3005), Install: true, Secure: true})
	r := startSerial(t, []osdp.Reader{
		{Name: "a", Address: 1, Lane: "l1", Direction: gate.In, Secure: true, Install: true},
		{Name: "b", Address: 5, Lane: "l1", Direction: gate.Out, Secure: true, Install: true},
	}, newDecider("0A0B"), a, b)
	r.waitSecure(t, "a")
	r.waitSecure(t, "b")
	handshakes := a.Stats().Handshakes

	if err := r.dev.Unplug(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "line and readers offline", func() bool {
		return !r.line.Health().Online && !r.health("a").Online && !r.health("b").Online
	})
	if h := r.health("a"); h.Offlines != 1 || h.LastError == "" {
		t.Errorf("reader health during the outage %+v", h)
	}
	if lh := r.line.Health(); lh.LastError == "" || lh.Changed.IsZero() {
		t.Errorf("line health during the outage %+v", lh)
	}

	if err := r.dev.Replug(); err != nil {
		t.Fatal(err)
	}
	r.waitSecure(t, "a")
	r.waitSecure(t, "b")
	if lh := r.line.Health(); lh.Reconnects != 1 {
		t.Errorf("line health after replug %+v", lh)
	}
	if a.Stats().Handshakes <= handshakes {
		t.Error("no new secure session after the replug")
	}
	b.PresentUID([]byte{0x0A, 0x0B})
	if p := r.dec.next(t); p.Device != "b" || p.Direction != gate.Out {
		t.Fatalf("presentation after replug %+v", p)
	}
	waitFor(t, "grant feedback after replug", func() bool { return len(b.Buzzers()) == 1 })
}

// Read and SetReadDeadline behave as the CP needs: a deadline ends a wait
// with os.ErrDeadlineExceeded, a new deadline applies to a Read already
// waiting, a chunk larger than the buffer is handed out over several
// Reads, bytes waiting past the deadline wait for the next Read, and a
// closed line ends Read with an error matching os.ErrClosed.
func TestSerialLineReadSemantics(t *testing.T) {
	dev, err := pty.New(filepath.Join(t.TempDir(), "ttyS0"))
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	defer dev.Close()
	l, err := osdp.OpenSerialLine(context.Background(), serial.LineConfig{Port: serial.Config{Path: dev.Path()}, MinBackoff: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	waitFor(t, "port open", func() bool { return l.Health().Online })
	buf := make([]byte, 4)

	l.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	if n, err := l.Read(buf); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the deadline: %d %v", n, err)
	}

	// No deadline: the Read waits; a deadline in the past set meanwhile
	// ends it.
	l.SetReadDeadline(time.Time{})
	done := make(chan error, 1)
	go func() {
		_, err := l.Read(buf)
		done <- err
	}()
	time.Sleep(20 * time.Millisecond) // let the Read start waiting; not a timing assertion
	l.SetReadDeadline(time.Now().Add(-time.Second))
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("waiting read ended with %v", err)
		}
	case <-time.After(patience):
		t.Fatal("a new deadline did not end a waiting Read")
	}

	l.SetReadDeadline(time.Now().Add(patience))
	if _, err := dev.Write([]byte("0123456789")); err != nil {
		t.Fatal(err)
	}
	var got []byte
	for len(got) < 10 {
		n, err := l.Read(buf)
		if err != nil {
			t.Fatalf("after %q: %v", got, err)
		}
		got = append(got, buf[:n]...)
	}
	if string(got) != "0123456789" {
		t.Fatalf("read %q", got)
	}

	// Past the deadline a Read fails even with bytes waiting, as an
	// *os.File does; the next Read within a deadline hands them out.
	if _, err := dev.Write([]byte("xyz")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the bytes to reach the line", func() bool { return len(l.Serial().Chunks()) > 0 })
	l.SetReadDeadline(time.Now().Add(-time.Millisecond))
	if n, err := l.Read(buf); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the deadline with bytes waiting: %d %v", n, err)
	}
	l.SetReadDeadline(time.Now().Add(patience))
	if n, err := l.Read(buf); err != nil || string(buf[:n]) != "xyz" {
		t.Fatalf("read %q %v", buf[:n], err)
	}

	if n, err := l.Write([]byte("ab")); n != 2 || err != nil {
		t.Fatalf("write: %d %v", n, err)
	}
	rb := make([]byte, 8)
	if n, err := dev.ReadTimeout(rb, patience); err != nil || string(rb[:n]) != "ab" {
		t.Fatalf("device read %q %v", rb[:n], err)
	}

	l.SetReadDeadline(time.Time{})
	go func() {
		_, err := l.Read(buf)
		done <- err
	}()
	l.Close()
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrClosed) || !errors.Is(err, serial.ErrClosed) {
			t.Fatalf("read on a closed line: %v", err)
		}
	case <-time.After(patience):
		t.Fatal("Close did not end a waiting Read")
	}
	if _, err := l.Write([]byte("x")); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("write on a closed line: %v", err)
	}
}

// CP.Run returns when the serial line under it is closed.
func TestCPStopsWhenTheSerialLineCloses(t *testing.T) {
	dev, err := pty.New(filepath.Join(t.TempDir(), "ttyS1"))
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	defer dev.Close()
	l, err := osdp.OpenSerialLine(context.Background(), serial.LineConfig{Port: serial.Config{Path: dev.Path()}})
	if err != nil {
		t.Fatal(err)
	}
	cp, err := osdp.New(osdp.Config{Line: l, Decider: newDecider(), Readers: []osdp.Reader{{Name: "r", Address: 1}},
		ProbeEvery: 5 * time.Millisecond, ReplyTimeout: 20 * time.Millisecond, LineRetry: 5 * time.Millisecond,
		Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cp.Run(context.Background()) }()
	waitFor(t, "a probe timed out", func() bool { h, _ := cp.Health(); return h[0].Timeouts > 0 })
	l.Close()
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrClosed) {
			t.Fatalf("Run returned %v", err)
		}
	case <-time.After(patience):
		t.Fatal("Run did not stop when its line was closed")
	}
}

// closingPort is a port whose writes fail the way a port closed under the
// write by the line's reconnect fails: with os.ErrClosed.
type closingPort struct {
	once   sync.Once
	closed chan struct{}
}

func (p *closingPort) Read([]byte) (int, error) {
	select {
	case <-p.closed:
		return 0, serial.ErrHangup
	case <-time.After(10 * time.Millisecond):
		return 0, serial.ErrTimeout
	}
}

func (p *closingPort) Write([]byte) (int, error) {
	return 0, &os.PathError{Op: "write", Path: "/dev/ttyUSB0", Err: os.ErrClosed}
}

func (p *closingPort) Close() error {
	p.once.Do(func() { close(p.closed) })
	return nil
}

// A port closed under a write during a reconnect is an outage the line
// recovers from, not the end of the line: the error must not tell the CP
// to stop (the race made CP.Run return for good under load).
func TestSerialLineWriteOnAPortClosedUnderIt(t *testing.T) {
	l, err := osdp.OpenSerialLine(context.Background(), serial.LineConfig{
		Port:       serial.Config{Path: filepath.Join(t.TempDir(), "absent")},
		MinBackoff: time.Millisecond,
		Open:       func(serial.Config) (serial.Port, error) { return &closingPort{closed: make(chan struct{})}, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	waitFor(t, "port open", func() bool { return l.Health().Online })
	_, err = l.Write([]byte{0x53})
	if err == nil || errors.Is(err, os.ErrClosed) || !errors.Is(err, serial.ErrOffline) {
		t.Fatalf("write on a port closed under it: %v", err)
	}
}
