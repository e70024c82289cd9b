package runner_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance/clock"
	"gatehouse/appliance/device"
	"gatehouse/drivers/modbus"
	"gatehouse/drivers/runner"
)

// A door contact the board refuses (exception 2 at every poll: it was
// configured at an address the board lacks) is failing while the relay
// beside it stays online; its errors count, its last error names the slave
// once, and the log has one line as it starts failing and one as it works
// again — not one per poll.
func TestRefusedContactIsFailingAndLoggedByState(t *testing.T) {
	var logged logLines
	sims := t.TempDir()
	clk := clock.NewFake(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	relay := device.Device{ID: "0000000000000001", Name: "Gate relay", Port: filepath.Join(sims, "board"), Protocol: device.Modbus,
		Address: "1:0", Role: device.Relay, LaneID: "0000000000000009", Enabled: true, Baud: 9600}
	door := device.Device{ID: "0000000000000002", Name: "Gate door", Port: filepath.Join(sims, "board"), Protocol: device.Modbus,
		Address: "1:3", Role: device.DoorContact, LaneID: "0000000000000009", Enabled: true, Baud: 9600}
	devs := []device.Device{relay, door}
	bench, err := runner.NewBench(sims, devs)
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	t.Cleanup(func() { bench.Close() })
	src := &source{devs: devs}
	r, err := runner.Start(context.Background(), runner.Config{Source: src, Clock: clk, Logger: slog.New(slog.NewTextHandler(&logged, nil)),
		MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, ModbusTimeout: 3 * time.Second, PollInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	state := func(d device.Device) device.State { h, _ := r.Health(d.ID); return h.State() }
	eventually(t, "door online", func() bool { return state(door) == device.StateOnline })

	board := bench.ModbusBoard(door)
	clk.Advance(time.Minute)
	board.Refuse(3, modbus.IllegalDataAddress)
	eventually(t, "door failing", func() bool { return state(door) == device.StateFailing })
	h, _ := r.Health(door.ID)
	const want = "modbus: slave 1 function 0x02: exception 2 (illegal data address)"
	if h.LastError != want || h.Errors < 3 || !h.Changed.Equal(clk.Now()) || h.LastErrorAt.IsZero() || !h.Recovered.IsZero() {
		t.Fatalf("failing door's health %+v", h)
	}
	if state(relay) != device.StateOnline {
		t.Fatalf("the relay beside the door: %s", state(relay))
	}
	if hr, _ := r.Health(relay.ID); hr.LastError != "" || hr.Errors != 0 {
		t.Fatalf("the relay carries the door's errors: %+v", hr)
	}
	// Many more refused polls: still one line.
	n := h.Errors
	eventually(t, "50 more polls", func() bool { h, _ := r.Health(door.ID); return h.Errors >= n+50 })
	if got := logged.count("modbus device failing: it answers only with exceptions"); got != 1 {
		t.Fatalf("failing logged %d times", got)
	}
	if out := logged.String(); !strings.Contains(out, "modbus: slave 1 function 0x02: exception 2") || strings.Contains(out, "modbus: exception") {
		t.Fatalf("log does not name the slave once:\n%s", out)
	}

	clk.Advance(time.Minute)
	board.Refuse(3, 0)
	eventually(t, "door back online", func() bool { return state(door) == device.StateOnline })
	h, _ = r.Health(door.ID)
	if h.LastError != want || !h.Recovered.Equal(clk.Now()) {
		t.Fatalf("recovered door's health %+v", h)
	}
	eventually(t, "recovery logged", func() bool { return logged.count("modbus device working") == 1 })
	time.Sleep(50 * time.Millisecond)
	if got := logged.count("modbus device working"); got != 1 {
		t.Fatalf("recovery logged %d times", got)
	}
}
