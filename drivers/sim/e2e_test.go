package sim_test

import (
	"context"
	"path/filepath"
	"reflect"
	"runtime"
	"sync"
	"testing"
	"time"

	"gatehouse/appliance/gate"
	"gatehouse/drivers/modbus"
	"gatehouse/drivers/scanner"
	"gatehouse/drivers/serial"
	"gatehouse/drivers/sim"
	"gatehouse/drivers/usbrelay"
)

// eventually waits for cond. The deadline only stops a broken test from
// hanging; nothing here measures time.
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

// passes is a stand-in for the appliance's decision: a fixed list of good
// passes. The real decision is the gate issue's.
type passes struct {
	good map[string]bool
	mu   sync.Mutex
	n    int
}

func (p *passes) Decide(_ context.Context, pr gate.Presentation) (gate.Action, error) {
	p.mu.Lock()
	p.n++
	p.mu.Unlock()
	if pr.Kind == gate.QR && p.good[pr.Value] {
		return gate.Action{Open: true, Pulse: 20 * time.Millisecond, Feedback: gate.Grant, Reason: "valid"}, nil
	}
	return gate.Action{Feedback: gate.Deny, Reason: "unknown-pass"}, nil
}

func (p *passes) decided() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

func fastLine(path string) serial.LineConfig {
	return serial.LineConfig{Port: serial.Config{Path: path, Baud: 9600}, MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}
}

// lane wires a simulated scanner and a simulated Modbus relay board to the
// real drivers: the loop a lobby lane runs.
type lane struct {
	scan    *sim.Scanner
	board   *sim.ModbusBoard
	scanner *scanner.Scanner
	master  *modbus.Master
	passes  *passes
}

func newLane(t *testing.T) *lane {
	t.Helper()
	dir := t.TempDir()
	scan, err := sim.NewScanner(filepath.Join(dir, "ttyACM0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { scan.Close() })
	board, err := sim.NewModbusBoard(filepath.Join(dir, "ttyUSB0"), sim.ModbusBoardConfig{Address: 3, Coils: 4, Inputs: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { board.Close() })

	ctx := context.Background()
	// A generous reply timeout: on a loaded machine a slow reply must not
	// become a retry, which would write the coil twice.
	m, err := modbus.Open(ctx, modbus.Config{Line: fastLine(board.Path()), Timeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	p := &passes{good: map[string]bool{"GH1.visitor-ok": true}}
	s, err := scanner.Open(ctx, scanner.Config{
		Line:      fastLine(scan.Path()),
		Lane:      "lane-1",
		Direction: gate.In,
		Device:    "lane-1-entry-qr",
		Decider:   p,
		Relay:     modbus.Relay{Master: m, Slave: 3, Coil: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	eventually(t, "devices online", func() bool { return s.Health().Online && m.Health().Online })
	return &lane{scan: scan, board: board, scanner: s, master: m, passes: p}
}

var pulse = []sim.CoilWrite{{Coil: 1, On: true}, {Coil: 1, On: false}}

func TestGrantPulsesTheRelay(t *testing.T) {
	l := newLane(t)
	l.scan.Scan("GH1.visitor-ok")
	eventually(t, "coil on then off", func() bool { return len(l.board.CoilLog()) == 2 })
	if got := l.board.CoilLog(); !reflect.DeepEqual(got, pulse) {
		t.Fatalf("coil writes %v, want %v", got, pulse)
	}
	if l.board.Coils()[1] {
		t.Fatal("relay left on")
	}
}

func TestDenyLeavesTheRelayAlone(t *testing.T) {
	l := newLane(t)
	l.scan.Scan("GH1.stranger")
	// A grant behind the deny proves the deny was decided and passed by.
	l.scan.Scan("GH1.visitor-ok")
	eventually(t, "both decided and the grant's pulse", func() bool {
		return l.passes.decided() == 2 && len(l.board.CoilLog()) == 2
	})
	if got := l.board.CoilLog(); !reflect.DeepEqual(got, pulse) {
		t.Fatalf("coil writes %v: the deny moved the relay", got)
	}
}

func TestGarbageIsCountedAndTheLaneKeepsWorking(t *testing.T) {
	l := newLane(t)
	l.scan.Write([]byte{0x00, 0xFF, 0x1B, 0x80, '\r', '\n'})
	l.scan.Write([]byte("\x7f\x7f\x7f\r"))
	eventually(t, "two garbled lines counted", func() bool { return l.scanner.Health().Errors == 2 })
	l.scan.Scan("GH1.visitor-ok")
	eventually(t, "pulse after the garbage", func() bool { return len(l.board.CoilLog()) == 2 })
	if n := l.passes.decided(); n != 1 {
		t.Fatalf("garbage reached the decider: %d decisions", n)
	}
}

func TestScannerUnplugAndReplug(t *testing.T) {
	l := newLane(t)
	l.scan.Scan("GH1.visitor-ok")
	eventually(t, "first pulse", func() bool { return len(l.board.CoilLog()) == 2 })

	l.scan.Unplug()
	eventually(t, "scanner offline", func() bool { return !l.scanner.Health().Online })
	down := l.scanner.Health()
	if down.LastError == "" || down.Changed.IsZero() {
		t.Fatalf("outage not shown: %+v", down)
	}

	l.scan.Replug()
	eventually(t, "scanner back", func() bool { return l.scanner.Health().Online })
	if h := l.scanner.Health(); h.Reconnects != 1 || h.Opens != 2 {
		t.Fatalf("after replug: %+v; want 1 reconnect of 2 opens", h)
	}
	l.scan.Scan("GH1.visitor-ok")
	eventually(t, "pulse after replug", func() bool { return len(l.board.CoilLog()) == 4 })
}

func TestRelayBoardUnplugAndReplug(t *testing.T) {
	l := newLane(t)
	l.board.Unplug()
	eventually(t, "board offline", func() bool { return !l.master.Health().Online })
	l.scan.Scan("GH1.visitor-ok") // decided, but the pulse cannot reach the board
	eventually(t, "decided while the board is away", func() bool { return l.passes.decided() == 1 })

	l.board.Replug()
	eventually(t, "board back", func() bool { return l.master.Health().Online })
	l.scan.Scan("GH1.visitor-ok")
	eventually(t, "pulse after replug", func() bool { return len(l.board.CoilLog()) == 2 })
	if got := l.board.CoilLog(); !reflect.DeepEqual(got, pulse) {
		t.Fatalf("coil writes %v, want %v", got, pulse)
	}
}

func TestGrantPulsesAUSBRelay(t *testing.T) {
	dir := t.TempDir()
	scan, err := sim.NewScanner(filepath.Join(dir, "ttyACM0"))
	if err != nil {
		t.Fatal(err)
	}
	defer scan.Close()
	rb, err := sim.NewUSBRelay(filepath.Join(dir, "ttyUSB0"), 4)
	if err != nil {
		t.Fatal(err)
	}
	defer rb.Close()
	ctx := context.Background()
	board, err := usbrelay.Open(ctx, usbrelay.Config{Line: fastLine(rb.Path()), Relays: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer board.Close()
	p := &passes{good: map[string]bool{"GH1.visitor-ok": true}}
	s, err := scanner.Open(ctx, scanner.Config{
		Line: fastLine(scan.Path()), Lane: "lane-2", Direction: gate.Out, Decider: p,
		Relay: usbrelay.Relay{Board: board, N: 3},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	eventually(t, "online", func() bool { return s.Health().Online && board.Health().Online })

	scan.Scan("GH1.stranger")
	scan.Scan("GH1.visitor-ok")
	eventually(t, "pulse", func() bool { return len(rb.Commands()) == 2 })
	want := []usbrelay.Command{{Relay: 3, On: true}, {Relay: 3, On: false}}
	if got := rb.Commands(); !reflect.DeepEqual(got, want) || p.decided() != 2 {
		t.Fatalf("commands %+v after %d decisions, want %+v after 2", got, p.decided(), want)
	}
}

// TestEverythingStopsOnClose checks that every goroutine the drivers and
// simulators start has an owner that stops it.
func TestEverythingStopsOnClose(t *testing.T) {
	before := runtime.NumGoroutine()
	dir := t.TempDir()
	scan, err := sim.NewScanner(filepath.Join(dir, "ttyACM0"))
	if err != nil {
		t.Fatal(err)
	}
	board, err := sim.NewModbusBoard(filepath.Join(dir, "ttyUSB0"), sim.ModbusBoardConfig{})
	if err != nil {
		t.Fatal(err)
	}
	rb, err := sim.NewUSBRelay(filepath.Join(dir, "ttyUSB1"), 1)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	m, err := modbus.Open(ctx, modbus.Config{Line: fastLine(board.Path()), Timeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ub, err := usbrelay.Open(ctx, usbrelay.Config{Line: fastLine(rb.Path())})
	if err != nil {
		t.Fatal(err)
	}
	s, err := scanner.Open(ctx, scanner.Config{Line: fastLine(scan.Path()), Lane: "1", Decider: &passes{}, Relay: modbus.Relay{Master: m, Slave: 1}})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "online", func() bool { return s.Health().Online && m.Health().Online && ub.Health().Online })
	scan.Scan("x")
	if err := m.WriteCoil(ctx, 1, 0, true); err != nil {
		t.Fatal(err)
	}
	for _, c := range []interface{ Close() error }{s, m, ub, scan, board, rb} {
		c.Close()
	}
	eventually(t, "goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
}
