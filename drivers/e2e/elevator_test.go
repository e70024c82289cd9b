package e2e

import (
	"context"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"

	"gatehouse/appliance/access"
	"gatehouse/appliance/device"
	"gatehouse/appliance/directory"
	"gatehouse/drivers/modbus"
	"gatehouse/drivers/runner"
	"gatehouse/drivers/sim"
)

// liftCard is the host's card for the lifts (the lobby's card opens the
// gate: a lift is a zone of its own, without anti-passback).
const liftCard = "04A23B1D"

// liftRig is a lift car on pseudo-terminals: a card reader and a QR
// scanner in the car, its elevator board and the fire panel's input on one
// simulated Modbus board, and the real runtime deciding through the real
// appliance. Floors: L1 (common, output 1), 1F (the host's company and
// floor, output 2), 2F (another company's, output 3).
type liftRig struct {
	l                *lobby
	car              access.Lane
	cardRd, qrRd     device.Device
	board, fire      device.Device
	bench            *runner.Bench
	run              *runner.Runner
	sim              *sim.ModbusBoard
	floorL1, floor1F string
	floor2F          string
}

func newLiftRig(tb testing.TB, release int) *liftRig {
	tb.Helper()
	l := newLobby(tb)
	ctx := context.Background()
	must := func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	r := &liftRig{l: l}
	co, err := l.app.Directory.Company(mustPerson(tb, l).CompanyID)
	must(err)
	r.floor1F = co.FloorIDs[0]
	l1, err := l.app.Directory.SaveFloor(ctx, "setup", directory.Floor{Name: "L1", Level: 0, Common: true})
	must(err)
	f2, err := l.app.Directory.SaveFloor(ctx, "setup", directory.Floor{Name: "2F", Level: 2})
	must(err)
	r.floorL1, r.floor2F = l1.ID, f2.ID
	zone, err := l.app.Access.SaveZone(ctx, "setup", access.Zone{Name: "Lifts"})
	must(err)
	r.car, err = l.app.Access.SaveLane(ctx, "setup", access.Lane{Name: "Car A", ZoneID: zone.ID, Visitors: true, Kind: access.LaneElevator,
		ReleaseS: release, Floors: []access.FloorCoil{{Floor: l1.ID, Coil: 1}, {Floor: r.floor1F, Coil: 2}, {Floor: f2.ID, Coil: 3}}})
	must(err)
	g, err := l.app.Access.SaveGroup(ctx, "setup", access.Group{Name: "Lifts", ZoneIDs: []string{zone.ID}})
	must(err)
	_, err = l.app.Access.Enrol(ctx, "setup", access.Credential{Kind: access.Card, Number: liftCard,
		HolderKind: access.HolderEmployee, HolderID: l.host.ID, HolderName: "Host", GroupIDs: []string{g.ID}})
	must(err)
	sims := tb.TempDir()
	save := func(d device.Device) device.Device {
		d.Enabled = true
		d, err := l.app.Devices.Save(ctx, "setup", d)
		must(err)
		return d
	}
	r.cardRd = save(device.Device{Name: "Car A card", Port: filepath.Join(sims, "car-card"), Protocol: device.Scanner, Role: device.EntryReader,
		LaneID: r.car.ID, Options: device.Options{Reads: "card"}})
	r.qrRd = save(device.Device{Name: "Car A QR", Port: filepath.Join(sims, "car-qr"), Protocol: device.Scanner, Role: device.EntryReader, LaneID: r.car.ID})
	r.board = save(device.Device{Name: "Car A board", Port: filepath.Join(sims, "lift-bus"), Protocol: device.Modbus, Address: "1:0",
		Role: device.ElevatorBoard, LaneID: r.car.ID})
	r.fire = save(device.Device{Name: "Fire panel", Port: filepath.Join(sims, "lift-bus"), Protocol: device.Modbus, Address: "1:5",
		Role: device.FireInput})
	ds, err := l.app.Devices.Devices()
	must(err)
	r.bench, err = runner.NewBench(sims, ds)
	if err != nil {
		tb.Skipf("no pseudo-terminal here: %v", err)
	}
	tb.Cleanup(func() { r.bench.Close() })
	r.sim = r.bench.ModbusBoard(r.board)
	r.run, err = runner.Start(ctx, runner.Config{Source: l.app.Devices, Decider: l.app.Access, Lanes: l.app.Access, Fire: l.app.Access,
		Clock: l.app.Clock, Logger: quiet(), PollInterval: 20 * time.Millisecond, ModbusTimeout: 3 * time.Second,
		MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	must(err)
	tb.Cleanup(func() { r.run.Close() })
	// The car starts in its normal state: one write, every output off.
	eventually(tb, "the car's first write", func() bool { return len(r.sim.Frames()) == 1 })
	return r
}

func mustPerson(tb testing.TB, l *lobby) directory.Person {
	tb.Helper()
	p, err := l.app.Directory.Person(l.host.ID)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func coils(vals ...bool) sim.WriteFrame {
	return sim.WriteFrame{Function: modbus.FuncWriteMultipleCoils, First: 0, Values: vals}
}

// decided waits for the reader's next decision and returns its reason.
func (r *liftRig) decided(tb testing.TB, d device.Device, after uint64) string {
	tb.Helper()
	var h device.Health
	eventually(tb, "a decision at "+d.Name, func() bool { h, _ = r.run.Health(d.ID); return h.ReadSeq > after })
	return h.Reason
}

func (r *liftRig) seq(d device.Device) uint64 { h, _ := r.run.Health(d.ID); return h.ReadSeq }

// An elevator grant releases exactly the holder's floors in one 0x0F
// request, and they go off when the release time is out; a visitor gets
// the host's floor only; a refusal writes nothing; the fire input
// releases every floor, grants change nothing while it is active, and
// its clearing brings the normal state back — each end an alarm.
func TestElevatorReleasesAllowedFloors(t *testing.T) {
	r := newLiftRig(t, 1)
	frames := func(n int) []sim.WriteFrame {
		t.Helper()
		eventually(t, "board writes", func() bool { return len(r.sim.Frames()) >= n })
		fs := r.sim.Frames()
		if len(fs) != n {
			t.Fatalf("%d writes, want %d: %+v", len(fs), n, fs)
		}
		return fs
	}
	if got := frames(1)[0]; !reflect.DeepEqual(got, coils(false, false, false)) {
		t.Fatalf("start: %+v", got)
	}

	// 1. The host's card: the common floor and the company's, not 2F.
	s := r.seq(r.cardRd)
	if err := r.bench.Present(r.cardRd, liftCard); err != nil {
		t.Fatal(err)
	}
	if why := r.decided(t, r.cardRd, s); why != string(access.Granted) {
		t.Fatalf("card: %s", why)
	}
	if got := frames(2)[1]; !reflect.DeepEqual(got, coils(true, true, false)) {
		t.Fatalf("grant wrote %+v, want one 0x0F with L1 and 1F on", got)
	}
	st, ok := r.run.Elevator(r.car.ID)
	if !ok || !reflect.DeepEqual(st.Floors, []string{r.floorL1, r.floor1F}) || !st.Written {
		t.Fatalf("car state %+v %v", st, ok)
	}
	// 2. After the release time: all off, in one more 0x0F.
	if got := frames(3)[2]; !reflect.DeepEqual(got, coils(false, false, false)) {
		t.Fatalf("release end wrote %+v", got)
	}

	// 3. A card nobody enrolled: refused, nothing written.
	s = r.seq(r.cardRd)
	if err := r.bench.Present(r.cardRd, "DEADBEEF"); err != nil {
		t.Fatal(err)
	}
	if why := r.decided(t, r.cardRd, s); why != string(access.Unknown) {
		t.Fatalf("unknown card: %s", why)
	}

	// 4. A visitor's pass: the host's floor only. Its write comes after
	// anything the refusal could have sent, so the count proves it sent
	// nothing.
	_, pass := r.l.invite(t)
	s = r.seq(r.qrRd)
	if err := r.bench.Present(r.qrRd, pass); err != nil {
		t.Fatal(err)
	}
	if why := r.decided(t, r.qrRd, s); why != string(access.Granted) {
		t.Fatalf("visitor: %s", why)
	}
	if got := frames(4)[3]; !reflect.DeepEqual(got, coils(false, true, false)) {
		t.Fatalf("visitor's grant wrote %+v, want 1F only", got)
	}
	frames(5) // its release ends

	// 5. Fire: every floor, at once.
	if err := r.bench.SetInput(r.fire, true); err != nil {
		t.Fatal(err)
	}
	if got := frames(6)[5]; !reflect.DeepEqual(got, coils(true, true, true)) {
		t.Fatalf("fire wrote %+v", got)
	}
	if f := r.run.Fire(); !reflect.DeepEqual(f, []string{"Fire panel"}) {
		t.Fatalf("fire inputs active: %v", f)
	}
	// A grant during the fire changes nothing.
	s = r.seq(r.cardRd)
	if err := r.bench.Present(r.cardRd, liftCard); err != nil {
		t.Fatal(err)
	}
	r.decided(t, r.cardRd, s)

	// 6. The fire clears: the normal state, all off.
	if err := r.bench.SetInput(r.fire, false); err != nil {
		t.Fatal(err)
	}
	if got := frames(7)[6]; !reflect.DeepEqual(got, coils(false, false, false)) {
		t.Fatalf("fire end wrote %+v (a grant during the fire must not write)", got)
	}
	if st, _ := r.run.Elevator(r.car.ID); st.Fire || len(st.Floors) != 0 {
		t.Fatalf("car after the fire: %+v", st)
	}
	var kinds []access.Alarm
	eventually(t, "fire alarms", func() bool {
		as, err := r.l.app.Access.Alarms(false, 100)
		if err != nil {
			t.Fatal(err)
		}
		kinds = kinds[:0]
		for _, a := range as {
			if a.Kind == access.AlarmFireRelease || a.Kind == access.AlarmFireReleaseEnded {
				kinds = append(kinds, a.Kind)
			}
		}
		return len(kinds) == 2
	})
	if kinds[0] != access.AlarmFireReleaseEnded || kinds[1] != access.AlarmFireRelease {
		t.Fatalf("alarms newest first: %v", kinds)
	}
}

// BenchmarkElevatorGrantToCoils measures an enrolled card's number arriving
// on the car reader's wire until the simulated elevator board has obeyed
// the 0x0F that releases the holder's floors: the scanner line over one
// pseudo-terminal, the decision in the real appliance (store, journal),
// and the board write over another. Each iteration waits for the release
// to end (the lane's shortest, 1 s) outside the timer.
//
//	go test -run '^$' -bench ElevatorGrantToCoils -benchtime 40x ./drivers/e2e/
func BenchmarkElevatorGrantToCoils(b *testing.B) {
	r := newLiftRig(b, 1)
	var took []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := len(r.sim.Frames())
		written := r.sim.Written()
		t0 := time.Now()
		if err := r.bench.Present(r.cardRd, liftCard); err != nil {
			b.Fatal(err)
		}
		select {
		case <-written:
		case <-time.After(patience):
			b.Fatal("no write")
		}
		took = append(took, time.Since(t0))
		b.StopTimer()
		if fs := r.sim.Frames(); len(fs) != n+1 || !reflect.DeepEqual(fs[n], coils(true, true, false)) {
			b.Fatalf("write %d: %+v", i, fs[n:])
		}
		eventually(b, "release end", func() bool { return len(r.sim.Frames()) == n+2 })
		b.StartTimer()
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, "max-ms")
}
