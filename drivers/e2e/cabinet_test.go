package e2e

import (
	"context"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"gatehouse/appliance/access"
	"gatehouse/appliance/device"
	"gatehouse/appliance/keys"
	"gatehouse/drivers/runner"
)

// BenchmarkSensorChangeToAlarm measures a key taken from its sensed slot
// without a checkout until the guard station's alarm is recorded: the
// simulated cabinet's switch opens, the runtime's next poll (every 100 ms,
// the fastest a cabinet may be set to) reads it over the pseudo-terminal,
// keys.sensed is applied and access.alarm.raise recorded. Each iteration
// puts the key back and waits for that to be on the key's history before
// the next take, so every take is one alarm. The poll interval dominates:
// on average half of it is waited before the change is read.
//
//	go test -run '^$' -bench SensorChangeToAlarm -benchtime 40x ./drivers/e2e/
func BenchmarkSensorChangeToAlarm(b *testing.B) {
	l := newLobby(b)
	ctx := context.Background()
	sims := b.TempDir()
	cab, err := l.app.Devices.Save(ctx, "bench", device.Device{Name: "Cabinet", Port: filepath.Join(sims, "cabinet"), Protocol: device.Modbus,
		Address: "1:0", Role: device.KeyCabinet, Options: device.Options{Slots: 16, PollMs: device.MinCabinetPollMs}, Enabled: true})
	if err != nil {
		b.Fatal(err)
	}
	by := keys.Person{ID: "0000000000000001", Name: "Bench", Role: "admin"}
	k, err := l.app.KeyRoom.RegisterKey(ctx, by, keys.Key{Tag: "K-1", Customer: "Acme", Cabinet: "A", Slot: "1", Level: 1})
	if err != nil {
		b.Fatal(err)
	}
	if err := l.app.KeyRoom.SetSensor(ctx, by, k.ID, &keys.Sensor{Device: cab.ID, Input: 3}); err != nil {
		b.Fatal(err)
	}
	ds, _ := l.app.Devices.Devices()
	bench, err := runner.NewBench(sims, ds)
	if err != nil {
		b.Skipf("no pseudo-terminal here: %v", err)
	}
	b.Cleanup(func() { bench.Close() })
	run, err := runner.Start(ctx, runner.Config{Source: l.app.Devices, Slots: l.app.KeySensors, Clock: l.app.Clock, Logger: quiet(),
		MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { run.Close() })
	eventually(b, "cabinet polled", func() bool { _, _, ok := run.Slots(cab.ID); return ok })
	alarms := func() int {
		as, err := l.app.Access.Alarms(false, 1<<20)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for _, a := range as {
			if a.Kind == access.AlarmKeyTaken {
				n++
			}
		}
		return n
	}
	last := func() string {
		h, err := l.app.KeyRoom.History(k.ID)
		if err != nil {
			b.Fatal(err)
		}
		return h[len(h)-1].Kind
	}
	var took []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := alarms()
		t0 := time.Now()
		if err := bench.SetSlot(cab, 3, false); err != nil {
			b.Fatal(err)
		}
		eventually(b, "alarm", func() bool { return alarms() > n })
		took = append(took, time.Since(t0))
		b.StopTimer()
		if err := bench.SetSlot(cab, 3, true); err != nil {
			b.Fatal(err)
		}
		eventually(b, "back in its slot", func() bool { return last() == "sensed_in" })
		b.StartTimer()
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, "max-ms")
}
