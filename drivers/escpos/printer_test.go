package escpos_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gatehouse/drivers/escpos"
	"gatehouse/drivers/serial"
	"gatehouse/drivers/sim"
)

// eventually waits for cond; the deadline only stops a broken test from
// hanging.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// openPrinter plugs in a simulated printer and opens the driver on it.
func openPrinter(t *testing.T, cfg escpos.Config) (*sim.Printer, *escpos.Printer) {
	t.Helper()
	dev, err := sim.NewPrinter(filepath.Join(t.TempDir(), "ttyPRN"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	cfg.Line = serial.LineConfig{Port: serial.Config{Path: dev.Path()}, MinBackoff: 5 * time.Millisecond, Name: "printer"}
	if cfg.StatusTimeout == 0 {
		cfg.StatusTimeout = 5 * time.Second // generous: a loaded machine stalls
	}
	p, err := escpos.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	eventually(t, "online", func() bool { return p.Health().Online })
	return dev, p
}

var small = escpos.Slip{Site: "HQ", Visitor: "Ann", Host: "Bo", Floor: "3", From: t9, Until: t11, Pass: "P1"}

func TestPrinterRefusesWhenItCannotPrint(t *testing.T) {
	tests := []struct {
		name  string
		set   func(*sim.Printer)
		want  []error
		wantS escpos.Status
	}{
		{"paper out", func(d *sim.Printer) { d.SetPaper(sim.PaperOut) },
			[]error{escpos.ErrPaperOut, escpos.ErrOffline},
			escpos.Status{Offline: true, PaperEndStop: true, PaperLow: true, PaperOut: true}},
		{"cover open", func(d *sim.Printer) { d.SetCoverOpen(true) },
			[]error{escpos.ErrCoverOpen, escpos.ErrOffline},
			escpos.Status{Offline: true, CoverOpen: true}},
		{"cutter jammed", func(d *sim.Printer) { d.SetFault(true) },
			[]error{escpos.ErrFault, escpos.ErrOffline},
			escpos.Status{Offline: true, Error: true, CutterError: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dev, p := openPrinter(t, escpos.Config{})
			tt.set(dev)
			err := p.PrintSlip(context.Background(), small)
			for _, w := range tt.want {
				if !errors.Is(err, w) {
					t.Errorf("err %v is not %v", err, w)
				}
			}
			var se *escpos.StatusError
			if !errors.As(err, &se) || se.Status != tt.wantS {
				t.Fatalf("status %+v, want %+v", se, tt.wantS)
			}
			if errors.Is(err, escpos.ErrNoStatus) {
				t.Error("a printer that answered is not silent")
			}
			if jobs, pending := dev.Jobs(), dev.Pending(); len(jobs) != 0 || len(pending.Lines) != 0 {
				t.Fatalf("job sent to a printer that cannot print: %v %v", jobs, pending)
			}
		})
	}
}

// A printer out of paper refuses every slip; the log says so once, not
// at every slip, and says when it prints again.
func TestPrinterNotReadyIsLoggedOnce(t *testing.T) {
	var logged bytes.Buffer // written by the calls below, in this goroutine
	dev, p := openPrinter(t, escpos.Config{Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	dev.SetPaper(sim.PaperOut)
	for range 10 {
		if err := p.PrintSlip(context.Background(), small); !errors.Is(err, escpos.ErrPaperOut) {
			t.Fatalf("printing without paper: %v", err)
		}
	}
	dev.SetPaper(sim.PaperOK)
	if err := p.PrintSlip(context.Background(), small); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(logged.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `msg="escpos: printer not ready"`) ||
		!strings.Contains(lines[1], `msg="escpos: printer ready"`) || !strings.Contains(lines[1], "failures=10") {
		t.Fatalf("log:\n%s", logged.String())
	}
}

func TestPrinterPrintsWhenPaperIsLow(t *testing.T) {
	dev, p := openPrinter(t, escpos.Config{})
	dev.SetPaper(sim.PaperLow)
	st, err := p.Status(context.Background())
	if err != nil || st != (escpos.Status{PaperLow: true}) {
		t.Fatalf("status %+v %v", st, err)
	}
	if err := p.PrintSlip(context.Background(), small); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the job", func() bool { return len(dev.Jobs()) == 1 })
}

func TestPrinterSilentIsNoStatus(t *testing.T) {
	dev, p := openPrinter(t, escpos.Config{StatusTimeout: 200 * time.Millisecond})
	dev.SetSilent(true)
	err := p.PrintSlip(context.Background(), small)
	if !errors.Is(err, escpos.ErrNoStatus) {
		t.Fatalf("err %v", err)
	}
	if h := p.Health(); h.Timeouts != 1 {
		t.Fatalf("timeouts %d", h.Timeouts)
	}
	// Recovered: the next job goes.
	dev.SetSilent(false)
	if err := p.PrintSlip(context.Background(), small); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the job", func() bool { return len(dev.Jobs()) == 1 })
}

func TestPrinterNoStatusPrintsBlind(t *testing.T) {
	dev, p := openPrinter(t, escpos.Config{NoStatus: true})
	dev.SetSilent(true)
	if err := p.PrintSlip(context.Background(), small); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the job", func() bool { return len(dev.Jobs()) == 1 })
	if n := dev.StatusRequests(); n != 0 {
		t.Fatalf("%d status requests", n)
	}
}

func TestPrinterSkipsNoiseBeforeTheStatus(t *testing.T) {
	// Between the request and the answer: XOFF, XON (flow control, not
	// counted) and a noise byte (counted). The simulator cannot place
	// bytes there, so this one conn is a fake.
	c := &fakeConn{chunks: make(chan serial.Chunk, 8), answer: func(n byte) []byte {
		if n == 1 {
			return []byte{0x13, 0x11, 0xFF, 0x12}
		}
		return []byte{0x12}
	}}
	p := escpos.New(c, escpos.Config{StatusTimeout: 5 * time.Second})
	st, err := p.Status(context.Background())
	if err != nil || st != (escpos.Status{}) {
		t.Fatalf("status %+v %v", st, err)
	}
	if c.errors != 1 || c.replies != 1 {
		t.Fatalf("errors %d replies %d", c.errors, c.replies)
	}
}

// fakeConn answers each DLE EOT n at once with answer(n).
type fakeConn struct {
	chunks          chan serial.Chunk
	answer          func(n byte) []byte
	errors, replies int
}

func (c *fakeConn) Write(b []byte) error {
	if len(b) == 3 && b[0] == 0x10 && b[1] == 0x04 {
		c.chunks <- serial.Chunk{Data: c.answer(b[2])}
	}
	return nil
}
func (c *fakeConn) Chunks() <-chan serial.Chunk { return c.chunks }
func (c *fakeConn) Drain() int                  { return 0 }
func (c *fakeConn) CountError(error)            { c.errors++ }
func (c *fakeConn) CountTimeout()               {}
func (c *fakeConn) CountReply()                 { c.replies++ }

func TestPrinterOneWayWriter(t *testing.T) {
	var buf bytes.Buffer
	p := escpos.New(escpos.Writer(&buf), escpos.Config{})
	if err := p.PrintSlip(context.Background(), small); err != nil {
		t.Fatal(err)
	}
	want, _ := small.Bytes()
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("wrote % X", buf.Bytes())
	}
	if _, err := p.Status(context.Background()); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("status on a one-way port: %v", err)
	}
}

func TestPrinterOffline(t *testing.T) {
	dev, p := openPrinter(t, escpos.Config{})
	dev.Unplug()
	eventually(t, "offline", func() bool { return !p.Health().Online })
	if err := p.PrintSlip(context.Background(), small); !errors.Is(err, serial.ErrOffline) {
		t.Fatalf("err %v", err)
	}
	dev.Replug()
	eventually(t, "online", func() bool { return p.Health().Online })
	if err := p.PrintSlip(context.Background(), small); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the job", func() bool { return len(dev.Jobs()) == 1 })
}
