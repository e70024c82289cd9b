package access_test

import (
	"context"
	"testing"
	"time"

	"gatehouse/appliance/access"
	"gatehouse/appliance/clock"
	"gatehouse/appliance/gate"
	"gatehouse/appliance/metric"
	"gatehouse/appliance/store"
)

// BenchmarkDecideMetrics measures what the metrics add to a decision: the
// same granted card decided by a store and service without observers, and
// by ones reporting to the appliance's metrics as appliance.Open connects
// them (the decision and its event command). Each runs on a fresh store;
// "disk" is real Badger (every decision a synced event), "mem" Badger in
// memory, where the fsync's noise does not hide the observers' cost. Run
//
//	go test -run '^$' -bench DecideMetrics -benchtime 2000x -count 5 ./appliance/access/
func BenchmarkDecideMetrics(b *testing.B) {
	for _, disk := range []bool{false, true} {
		for _, observed := range []bool{false, true} {
			name := map[bool]string{false: "mem", true: "disk"}[disk] + "/" + map[bool]string{false: "plain", true: "metrics"}[observed]
			b.Run(name, func(b *testing.B) { benchDecide(b, disk, observed) })
		}
	}
}

func benchDecide(b *testing.B, disk, observed bool) {
	o := store.Options{InMemory: !disk}
	if disk {
		o.Dir = b.TempDir()
	}
	m := metric.New("bench")
	if observed {
		o.Observer = m
	}
	st, err := store.Open(o)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	access.Register(st)
	clk := clock.NewFake(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	acc := access.New(st, clk, time.UTC, nil, nil)
	if observed {
		acc.SetObserver(m)
	}
	ctx := context.Background()
	z, err := acc.SaveZone(ctx, "b", access.Zone{Name: "Lobby"}) // no anti-passback: every presentation is granted
	if err != nil {
		b.Fatal(err)
	}
	lane, err := acc.SaveLane(ctx, "b", access.Lane{Name: "Gate 1", ZoneID: z.ID, PulseMs: 800})
	if err != nil {
		b.Fatal(err)
	}
	g, err := acc.SaveGroup(ctx, "b", access.Group{Name: "Staff", ZoneIDs: []string{z.ID}})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := acc.Enrol(ctx, "b", access.Credential{Kind: access.Card, Number: "04A23B1C", HolderKind: access.HolderEmployee,
		HolderName: "Bench", GroupIDs: []string{g.ID}}); err != nil {
		b.Fatal(err)
	}
	p := gate.Presentation{Lane: lane.ID, Kind: gate.Card, Value: "04A23B1C", Device: "bench"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p.Direction = gate.In
		if i&1 == 1 {
			p.Direction = gate.Out
		}
		a, err := acc.Decide(ctx, p)
		if err != nil || !a.Open {
			b.Fatalf("%+v %v", a, err)
		}
	}
}
