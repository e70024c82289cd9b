package runner_test

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"gatehouse/appliance/clock"
	"gatehouse/appliance/device"
	"gatehouse/appliance/keys"
	"gatehouse/drivers/runner"
	"gatehouse/drivers/sim"
)

// slotLog records the slot changes a cabinet reports.
type slotLog struct {
	mu  sync.Mutex
	chs []keys.SlotChange
}

func (l *slotLog) SlotChanged(_ context.Context, ch keys.SlotChange) (keys.Sensing, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.chs = append(l.chs, ch)
	return keys.Sensing{}, nil
}

func (l *slotLog) all() []keys.SlotChange {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.chs)
}

// A key cabinet on a simulated board beside a relay: the first poll only
// learns the slots, every later change is reported once with its input,
// the test reads every slot, and a board that stops answering makes the
// cabinet offline.
func TestKeyCabinetReportsSlotChanges(t *testing.T) {
	sims := t.TempDir()
	clk := clock.NewFake(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	relay := device.Device{ID: "0000000000000001", Name: "Gate relay", Port: filepath.Join(sims, "board"), Protocol: device.Modbus,
		Address: "1:0", Role: device.Relay, LaneID: "0000000000000009", Enabled: true, Baud: 9600}
	cab := device.Device{ID: "0000000000000002", Name: "Cabinet A", Port: filepath.Join(sims, "board"), Protocol: device.Modbus,
		Address: "1:4", Role: device.KeyCabinet, Options: device.Options{Slots: 6, PollMs: 100}, Enabled: true, Baud: 9600}
	devs := []device.Device{relay, cab}
	bench, err := runner.NewBench(sims, devs)
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	t.Cleanup(func() { bench.Close() })
	if first, in, err := bench.CabinetSlots(cab); err != nil || first != 4 || !slices.Equal(in, []bool{true, true, true, true, true, true}) {
		t.Fatalf("simulated cabinet starts %d %v %v, want full", first, in, err)
	}
	if err := bench.SetSlot(cab, 3, false); err == nil {
		t.Fatal("input 3 is not the cabinet's")
	}
	if err := bench.SetSlot(cab, 5, false); err != nil { // empty before start: no report
		t.Fatal(err)
	}
	log := &slotLog{}
	r, err := runner.Start(context.Background(), runner.Config{Source: &source{devs: devs}, Clock: clk, Slots: log,
		MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, ModbusTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	eventually(t, "first poll", func() bool { _, _, ok := r.Slots(cab.ID); return ok })
	first, in, _ := r.Slots(cab.ID)
	if first != 4 || !slices.Equal(in, []bool{true, false, true, true, true, true}) {
		t.Fatalf("slots %d %v", first, in)
	}
	if h, _ := r.Health(cab.ID); h.State() != device.StateOnline {
		t.Fatalf("cabinet %s", h.State())
	}

	if err := bench.SetSlot(cab, 7, false); err != nil {
		t.Fatal(err)
	}
	eventually(t, "taken reported", func() bool { return len(log.all()) == 1 })
	if err := bench.SetSlot(cab, 5, true); err != nil {
		t.Fatal(err)
	}
	eventually(t, "put back reported", func() bool { return len(log.all()) == 2 })
	chs := log.all()
	if c := chs[0]; c.Device != cab.ID || c.Name != "Cabinet A" || c.Input != 7 || c.Present || !c.At.Equal(clk.Now()) {
		t.Errorf("first change %+v", c)
	}
	if c := chs[1]; c.Input != 5 || !c.Present {
		t.Errorf("second change %+v", c)
	}
	time.Sleep(300 * time.Millisecond) // polls that see nothing new report nothing
	if n := len(log.all()); n != 2 {
		t.Fatalf("%d changes reported", n)
	}

	res, err := r.Test(ctxT(t), cab.ID)
	if err != nil || res.Did != "slots" || res.FirstInput != 4 || !slices.Equal(res.Slots, []bool{true, true, true, false, true, true}) {
		t.Fatalf("test %+v %v", res, err)
	}

	bench.ModbusBoard(cab).SetMode(sim.Silent)
	eventually(t, "cabinet offline", func() bool { h, _ := r.Health(cab.ID); return h.State() == device.StateOffline })
	if _, _, ok := r.Slots(cab.ID); ok {
		t.Fatal("slots known while the cabinet is silent")
	}
	// A key taken while the board was silent is reported when it answers.
	if err := bench.SetSlot(cab, 4, false); err != nil {
		t.Fatal(err)
	}
	bench.ModbusBoard(cab).SetMode(sim.Answer)
	eventually(t, "change during the outage reported", func() bool { return len(log.all()) == 3 })
	if c := log.all()[2]; c.Input != 4 || c.Present {
		t.Errorf("change after outage %+v", c)
	}
}
