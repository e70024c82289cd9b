package metric

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"gatehouse/appliance/device"
	"gatehouse/appliance/gate"
	"gatehouse/appliance/notify"
)

// TestHotPathsDoNotAllocate: a lane's decision, a command and a pulse,
// once their label children exist, cost no allocation.
func TestHotPathsDoNotAllocate(t *testing.T) {
	s := New("test")
	grant := gate.Action{Open: true, Reason: "granted"}
	deny := gate.Action{Reason: "unknown"}
	s.Decided("lane-1", grant, nil, time.Millisecond)
	s.Decided("lane-1", deny, nil, time.Millisecond)
	s.Applied("access.event", time.Millisecond, time.Millisecond)
	for name, f := range map[string]func(){
		"Decided granted": func() { s.Decided("lane-1", grant, nil, time.Millisecond) },
		"Decided denied":  func() { s.Decided("lane-1", deny, nil, time.Millisecond) },
		"Applied":         func() { s.Applied("access.event", 2*time.Millisecond, time.Millisecond) },
		"Pulsed":          func() { s.Pulsed("lane-1", 5*time.Millisecond) },
		"Synced":          func() { s.Synced(8, 200*time.Microsecond) },
	} {
		if n := testing.AllocsPerRun(1000, f); n != 0 {
			t.Errorf("%s: %v allocations", name, n)
		}
	}
}

func TestDecisionsCountByLaneAndResult(t *testing.T) {
	s := New("test")
	s.Decided("a", gate.Action{Open: true, Reason: "granted"}, nil, time.Millisecond)
	s.Decided("a", gate.Action{Reason: "expired"}, nil, time.Millisecond)
	s.Decided("b", gate.Action{Reason: "error"}, errors.New("disk"), time.Millisecond)
	for _, c := range []struct {
		lane, result string
		want         float64
	}{{"a", ResultGranted, 1}, {"a", ResultDenied, 1}, {"a", ResultError, 0}, {"b", ResultError, 1}} {
		if got := testutil.ToFloat64(s.decisions.WithLabelValues(c.lane, c.result)); got != c.want {
			t.Errorf("%s %s = %v, want %v", c.lane, c.result, got, c.want)
		}
	}
	if got := testutil.ToFloat64(s.reasons.WithLabelValues("error")); got != 1 {
		t.Errorf("reason error = %v", got)
	}
	s.Attempted(notify.Email, errors.New("refused"))
	s.Attempted(notify.InPage, nil)
	if testutil.ToFloat64(s.failures.WithLabelValues("email")) != 1 || testutil.ToFloat64(s.sent.WithLabelValues("inpage")) != 1 {
		t.Error("notification attempts not counted by channel")
	}
}

type fakeDevices struct {
	ds  []device.Device
	mon device.Monitor
}

func (f fakeDevices) Devices() ([]device.Device, error) { return f.ds, nil }
func (f fakeDevices) Live() device.Monitor              { return f.mon }

type fakeMonitor struct{ h map[string]device.Health }

func (f fakeMonitor) Health(id string) (device.Health, bool) { h, ok := f.h[id]; return h, ok }
func (fakeMonitor) Test(context.Context, string) (device.TestResult, error) {
	return device.TestResult{}, nil
}
func (fakeMonitor) LastRead(string) (device.Read, bool) { return device.Read{}, false }
func (fakeMonitor) WaitRead(context.Context, string, uint64) (device.Read, error) {
	return device.Read{}, nil
}
func (fakeMonitor) LastDocument(string) (device.Document, bool) { return device.Document{}, false }
func (fakeMonitor) Seq() uint64                                 { return 0 }
func (fakeMonitor) WaitDocument(context.Context, []string, uint64) (device.Document, error) {
	return device.Document{}, nil
}

type brokenQueue struct{}

func (brokenQueue) Depth() (int, int, error) { return 0, 0, errors.New("store closed") }

// TestScrapeReadsDevices: enabled devices show their state, disabled ones
// nothing, and a failing source leaves out its family, not the others.
func TestScrapeReadsDevices(t *testing.T) {
	s := New("test")
	s.Watch(Sources{
		Devices: fakeDevices{
			ds: []device.Device{
				{ID: "1", Name: "Gate A entry", Protocol: device.Scanner, Enabled: true},
				{ID: "2", Name: "Gate A relay", Protocol: device.Modbus, Enabled: true},
				{ID: "3", Name: "Spare", Protocol: device.Scanner},
			},
			mon: fakeMonitor{h: map[string]device.Health{
				"1": {Running: true, Online: true, Errors: 3, Reconnects: 2},
				"2": {Running: true, Online: false, Timeouts: 4},
			}},
		},
		Outbox: brokenQueue{},
	})
	// The broken outbox makes Gather report an error; the device families
	// are still there, as promhttp's ContinueOnError serves them.
	mfs, err := s.reg.Gather()
	if err == nil || !strings.Contains(err.Error(), "store closed") {
		t.Fatalf("gather: %v", err)
	}
	found := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.Metric {
			for _, lp := range m.Label {
				if lp.GetName() == "device" {
					v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
					found[mf.GetName()+" "+lp.GetValue()] = v
				}
			}
		}
	}
	for k, want := range map[string]float64{
		"gatehouse_device_online Gate A entry":           1,
		"gatehouse_device_online Gate A relay":           0,
		"gatehouse_device_errors_total Gate A entry":     3,
		"gatehouse_device_reconnects_total Gate A entry": 2,
		"gatehouse_device_timeouts_total Gate A relay":   4,
	} {
		if got, ok := found[k]; !ok || got != want {
			t.Errorf("%s = %v (%v), want %v", k, got, ok, want)
		}
	}
	if _, ok := found["gatehouse_device_online Spare"]; ok {
		t.Error("a disabled device is reported")
	}
}

func BenchmarkDecided(b *testing.B) {
	s := New("bench")
	a := gate.Action{Open: true, Reason: "granted"}
	b.ReportAllocs()
	for b.Loop() {
		s.Decided("lane-1", a, nil, 1500*time.Microsecond)
	}
}
