package visit

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"gatehouse/appliance/store"
)

// benchSeedVisits registers a test-only command that writes many visits in
// one transaction through the same index code as visit.create, so a
// benchmark can build a year of history in seconds.
func benchSeedVisits(b *testing.B, f *fixture, n int, from time.Time, span time.Duration) {
	f.st.Register("bench.visits", func(tx *store.Tx, cmd store.Command) (store.Effect, error) {
		var vs []Visit
		if err := cmd.Decode(&vs); err != nil {
			return store.Effect{}, err
		}
		for _, v := range vs {
			if err := putIndexes(tx, v); err != nil {
				return store.Effect{}, err
			}
			if err := tx.Set(store.Key(store.KindVisitByHost, v.HostID, u64s(v.From), v.ID), nil); err != nil {
				return store.Effect{}, err
			}
			if err := tx.SetJSON(visitKey(v.ID), v); err != nil {
				return store.Effect{}, err
			}
		}
		return store.Effect{Note: strconv.Itoa(len(vs))}, nil
	})
	q := f.request()
	proto, _, err := f.svc.build(q, Invited, Approved)
	if err != nil {
		b.Fatal(err)
	}
	proto.CompanyID, proto.FloorID = f.host.CompanyID, f.host.FloorID
	const batch = 1000
	step := span / time.Duration(n)
	for i := 0; i < n; i += batch {
		vs := make([]Visit, 0, batch)
		for j := i; j < i+batch && j < n; j++ {
			v := proto
			at := from.Add(time.Duration(j) * step)
			v.ID = store.NewID(at)
			v.PassID = store.NewID(at)
			v.From, v.Until = at.UnixNano(), at.Add(time.Hour).UnixNano()
			v.Visitor.Name = fmt.Sprintf("Visitor %d", j)
			v.State = Closed
			v.History = []Transition{{State: Approved, At: v.From, By: "bench"}, {State: Closed, At: v.Until, By: "bench"}}
			vs = append(vs, v)
		}
		cmd, _ := store.NewCommand("bench.visits", "bench", from.UnixNano(), vs)
		if _, err := f.st.Apply(context.Background(), cmd); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTodayOf1M measures the data behind the today's-visits page with
// a year of history: GATEHOUSE_BENCH_VISITS (default 1,000,000) visits
// spread evenly over the 365 days before the fixture's today.
//
//	go test -run xxx -bench TodayOf1M -benchtime 3s ./appliance/visit/
func BenchmarkTodayOf1M(b *testing.B) {
	n := 1_000_000
	if s := os.Getenv("GATEHOUSE_BENCH_VISITS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	f := newFixture(b)
	now := f.clk.Now()
	start := time.Now()
	benchSeedVisits(b, f, n, now.AddDate(-1, 0, 0), 365*24*time.Hour)
	b.Logf("seeded %d visits in %v", n, time.Since(start).Round(time.Millisecond))
	b.ResetTimer()
	var got int
	for b.Loop() {
		vs, err := f.svc.Day(now.Add(-12*time.Hour), time.UTC)
		if err != nil {
			b.Fatal(err)
		}
		got = len(vs)
	}
	b.ReportMetric(float64(got), "visits/day")
}
