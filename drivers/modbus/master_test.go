package modbus_test

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/appliance/clock"
	"gatehouse/appliance/gate"
	"gatehouse/drivers/modbus"
	"gatehouse/drivers/serial"
	"gatehouse/drivers/sim"
)

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// rig is a master talking to a simulated board over a pty. The reply
// timeout is generous so that a loaded test machine does not turn a slow
// reply into a retry; tests of silence shorten it.
func rig(t *testing.T) (*modbus.Master, *sim.ModbusBoard) {
	t.Helper()
	return rigWithTimeout(t, 3*time.Second)
}

func rigWithTimeout(t *testing.T, timeout time.Duration) (*modbus.Master, *sim.ModbusBoard) {
	t.Helper()
	board, err := sim.NewModbusBoard(filepath.Join(t.TempDir(), "ttyRS485"), sim.ModbusBoardConfig{Address: 1, Coils: 4, Inputs: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { board.Close() })
	m, err := modbus.Open(context.Background(), modbus.Config{
		Line:    serial.LineConfig{Port: serial.Config{Path: board.Path()}, MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond},
		Timeout: timeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	eventually(t, "online", func() bool { return m.Health().Online })
	return m, board
}

func TestMasterDrivesTheBoard(t *testing.T) {
	m, board := rig(t)
	ctx := context.Background()

	if err := m.WriteCoil(ctx, 1, 2, true); err != nil {
		t.Fatal(err)
	}
	if got := board.Coils(); !reflect.DeepEqual(got, []bool{false, false, true, false}) {
		t.Fatalf("coils %v", got)
	}
	if err := m.WriteCoils(ctx, 1, 0, []bool{true, false, false, true}); err != nil {
		t.Fatal(err)
	}
	if got := board.Coils(); !reflect.DeepEqual(got, []bool{true, false, false, true}) {
		t.Fatalf("coils %v", got)
	}
	coils, err := m.ReadCoils(ctx, 1, 0, 4)
	if err != nil || !reflect.DeepEqual(coils, []bool{true, false, false, true}) {
		t.Fatalf("read coils %v, %v", coils, err)
	}
	board.SetInput(1, true)
	in, err := m.ReadDiscreteInputs(ctx, 1, 0, 4)
	if err != nil || !reflect.DeepEqual(in, []bool{false, true, false, false}) {
		t.Fatalf("inputs %v, %v", in, err)
	}
	if h := m.Health(); h.Errors != 0 || h.Timeouts != 0 || !h.Online {
		t.Fatalf("health %+v", h)
	}
}

func TestMasterMapsExceptions(t *testing.T) {
	m, _ := rig(t)
	err := m.WriteCoil(context.Background(), 1, 9, true) // the board has 4 coils
	if !errors.Is(err, modbus.IllegalDataAddress) {
		t.Fatalf("err %v, want IllegalDataAddress", err)
	}
	var ex modbus.Exception
	if !errors.As(err, &ex) || ex != 2 {
		t.Fatalf("errors.As gave %v", ex)
	}
	if h := m.Health(); !h.Online || h.Timeouts != 0 {
		t.Fatalf("an exception is an answer: %+v", h)
	}
}

func TestMasterCountsGarbledReplies(t *testing.T) {
	m, board := rig(t)
	board.SetMode(sim.Garbage)
	err := m.WriteCoil(context.Background(), 1, 0, true)
	if !errors.Is(err, modbus.ErrGarbled) {
		t.Fatalf("err %v, want ErrGarbled", err)
	}
	if h := m.Health(); h.Errors < 3 {
		t.Fatalf("three garbled attempts, %d errors counted", h.Errors)
	}
	board.SetMode(sim.Answer)
	if err := m.WriteCoil(context.Background(), 1, 0, false); err != nil {
		t.Fatalf("after the noise: %v", err)
	}
}

func TestMasterTimesOutOnASilentBoard(t *testing.T) {
	m, board := rigWithTimeout(t, 100*time.Millisecond)
	board.SetMode(sim.Silent)
	err := m.WriteCoil(context.Background(), 1, 0, true)
	if !errors.Is(err, modbus.ErrTimeout) {
		t.Fatalf("err %v, want ErrTimeout", err)
	}
	h := m.Health()
	if h.Timeouts != 3 || h.Online {
		t.Fatalf("health %+v; want 3 timeouts and offline", h)
	}
	board.SetMode(sim.Answer)
	// The short timeout may miss a reply on a loaded machine: ask until one
	// comes back.
	eventually(t, "an answer", func() bool { return m.WriteCoil(context.Background(), 1, 0, true) == nil })
	if !m.Health().Online {
		t.Fatal("still offline after an answer")
	}
}

func TestMasterSkipsNoiseOnTheLine(t *testing.T) {
	m, board := rig(t)
	board.Inject([]byte{0xFF, 0x00, 0x13, 0x37})
	eventually(t, "noise to arrive", func() bool { return !m.Health().LastSeen.IsZero() })
	if err := m.WriteCoil(context.Background(), 1, 1, true); err != nil {
		t.Fatal(err)
	}
	if h := m.Health(); h.Errors != 1 {
		t.Fatalf("noise counted %d times, want 1", h.Errors)
	}
}

func TestBroadcastIsNotAnswered(t *testing.T) {
	m, board := rig(t)
	if err := m.WriteCoil(context.Background(), 0, 3, true); err != nil {
		t.Fatal(err)
	}
	eventually(t, "broadcast applied", func() bool { return board.Coils()[3] })
	if h := m.Health(); h.Timeouts != 0 {
		t.Fatalf("waited for a broadcast reply: %+v", h)
	}
}

func TestRelayPulse(t *testing.T) {
	m, board := rig(t)
	r := modbus.Relay{Master: m, Slave: 1, Coil: 2}
	if err := r.Pulse(context.Background(), 20*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	want := []sim.CoilWrite{{Coil: 2, On: true}, {Coil: 2, On: false}}
	if got := board.CoilLog(); !reflect.DeepEqual(got, want) {
		t.Fatalf("coil log %v, want %v", got, want)
	}
}

func TestRelayPulseSwitchesOffWhenCancelled(t *testing.T) {
	m, board := rig(t)
	r := modbus.Relay{Master: m, Slave: 1, Coil: 0}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Pulse(ctx, time.Hour) }()
	eventually(t, "relay on", func() bool { return board.Coils()[0] })
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("pulse did not end")
	}
	if board.Coils()[0] {
		t.Fatal("relay left on after a cancelled pulse")
	}
}

func TestMasterRidesOutAnUnplug(t *testing.T) {
	m, board := rig(t)
	board.Unplug()
	eventually(t, "offline", func() bool { return !m.Health().Online })
	if err := m.WriteCoil(context.Background(), 1, 0, true); !errors.Is(err, serial.ErrOffline) {
		t.Fatalf("write while unplugged: %v, want ErrOffline", err)
	}
	board.Replug()
	eventually(t, "online", func() bool { return m.Health().Online })
	if err := m.WriteCoil(context.Background(), 1, 0, true); err != nil {
		t.Fatal(err)
	}
	if h := m.Health(); h.Reconnects != 1 {
		t.Fatalf("reconnects %d", h.Reconnects)
	}
}

// watcher records door changes.
type watcher struct {
	mu     sync.Mutex
	states []gate.DoorState
}

func (w *watcher) DoorChanged(_ context.Context, s gate.DoorState) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.states = append(w.states, s)
}

func (w *watcher) got() []gate.DoorState {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]gate.DoorState(nil), w.states...)
}

func TestPollerReportsDoorChanges(t *testing.T) {
	m, board := rig(t)
	at := time.Date(2025, 1, 28, 23, 59, 59, 0, time.Local) // Chinese New Year's Eve, a minute to midnight
	w := &watcher{}
	p, err := modbus.NewPoller(m, modbus.PollerConfig{
		Slave: 1,
		Contacts: []modbus.Contact{
			{Input: 1, Lane: "A"},
			{Input: 3, Lane: "B", Invert: true}, // normally closed: on while shut
		},
		Device:  "io-1",
		Watcher: w,
		Clock:   clock.NewFake(at),
	})
	if err != nil {
		t.Fatal(err)
	}
	board.SetInput(3, true) // B shut
	ctx := context.Background()
	steps := []struct {
		name string
		do   func()
		want []gate.DoorState
	}{
		{"first read reports every door", func() {}, []gate.DoorState{
			{Lane: "A", Open: false, Device: "io-1", At: at},
			{Lane: "B", Open: false, Device: "io-1", At: at},
		}},
		{"nothing changed, nothing said", func() {}, nil},
		{"A opens", func() { board.SetInput(1, true) }, []gate.DoorState{{Lane: "A", Open: true, Device: "io-1", At: at}}},
		{"B's wire cut reads open", func() { board.SetInput(3, false) }, []gate.DoorState{{Lane: "B", Open: true, Device: "io-1", At: at}}},
		{"an unwatched input is ignored", func() { board.SetInput(2, true) }, nil},
	}
	for _, s := range steps {
		before := len(w.got())
		s.do()
		if err := p.Poll(ctx); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := w.got()[before:]; !reflect.DeepEqual(got, s.want) && !(len(got) == 0 && len(s.want) == 0) {
			t.Fatalf("%s: %+v, want %+v", s.name, got, s.want)
		}
	}
}

func TestPollerRunStopsWithItsContext(t *testing.T) {
	m, board := rig(t)
	w := &watcher{}
	p, err := modbus.NewPoller(m, modbus.PollerConfig{Slave: 1, Contacts: []modbus.Contact{{Input: 0, Lane: "A"}}, Interval: 5 * time.Millisecond, Watcher: w})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	eventually(t, "first report", func() bool { return len(w.got()) == 1 })
	board.SetInput(0, true)
	eventually(t, "door opened", func() bool { return len(w.got()) == 2 && w.got()[1].Open })
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop")
	}
}

func TestNewPollerChecksItsConfig(t *testing.T) {
	if _, err := modbus.NewPoller(nil, modbus.PollerConfig{}); err == nil {
		t.Fatal("poller without contacts")
	}
	if _, err := modbus.NewPoller(nil, modbus.PollerConfig{Watcher: &watcher{}, Contacts: []modbus.Contact{{Input: 0}, {Input: 3000}}}); err == nil {
		t.Fatal("poller over 3000 inputs")
	}
}

// A refusal names its slave and function once, says "modbus" once, and
// counts as an error on the line while the board stays online.
func TestExceptionReadsModbusSlaveOnceAndCounts(t *testing.T) {
	m, _ := rig(t)
	_, err := m.ReadDiscreteInputs(context.Background(), 1, 40, 1) // the board has 4 inputs
	const want = "modbus: slave 1 function 0x02: exception 2 (illegal data address)"
	if err == nil || err.Error() != want {
		t.Fatalf("error %q, want %q", err, want)
	}
	if n := strings.Count(err.Error(), "modbus"); n != 1 {
		t.Fatalf("%q says modbus %d times", err, n)
	}
	if !errors.Is(err, modbus.IllegalDataAddress) {
		t.Fatal("the exception is not inside the error")
	}
	var se *modbus.SlaveError
	if !errors.As(err, &se) || se.Slave != 1 || se.Function != modbus.FuncReadDiscreteInputs {
		t.Fatalf("SlaveError %+v", se)
	}
	h := m.Health()
	if !h.Online || h.Errors != 1 || h.LastError != want || h.LastErrorAt.IsZero() || !h.Recovered.IsZero() {
		t.Fatalf("health after a refusal %+v", h)
	}
	if _, err := m.ReadDiscreteInputs(context.Background(), 1, 0, 1); err != nil {
		t.Fatal(err)
	}
	if h := m.Health(); h.Recovered.Before(h.LastErrorAt) || h.LastError != want {
		t.Fatalf("a good reply after the refusal is no recovery: %+v", h)
	}
}

func TestTimeoutReadsModbusSlaveOnce(t *testing.T) {
	m, _ := rigWithTimeout(t, 50*time.Millisecond)
	_, err := m.ReadDiscreteInputs(context.Background(), 9, 0, 1) // nobody at slave 9
	if err == nil || err.Error() != "modbus: slave 9 function 0x02: no reply" || !errors.Is(err, modbus.ErrTimeout) {
		t.Fatalf("timeout error %q", err)
	}
}
