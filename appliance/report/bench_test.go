package report

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"gatehouse/appliance/access"
	"gatehouse/appliance/store"
)

// BenchmarkRebuild measures the one-time count of older events after an
// upgrade: GATEHOUSE_BENCH_EVENTS (default 1,000,000) events spread over
// the year before the clock's now, written with their counters (5,000 per
// transaction), the counters then dropped as an older release would have
// left them, and Start + Rebuild timed.
//
//	go test -run xxx -bench Rebuild -benchtime 1x -v ./appliance/report/
func BenchmarkRebuild(b *testing.B) {
	n := 1_000_000
	if s := os.Getenv("GATEHOUSE_BENCH_EVENTS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	w := newWorld(b)
	w.st.Register("bench.events", func(tx *store.Tx, cmd store.Command) (store.Effect, error) {
		var p struct{ From, N int }
		if err := cmd.Decode(&p); err != nil {
			return store.Effect{}, err
		}
		start := w.clk.Now().AddDate(-1, 0, 0)
		step := 365 * 24 * time.Hour / time.Duration(n)
		lanes := []string{w.lane1, w.lane2}
		holders := []string{w.p1.ID, "visit:" + visitID, ""}
		for j := p.From; j < p.From+p.N; j++ {
			e := ev(start.Add(time.Duration(j)*step), lanes[j%2], j%2 == 0, j%50 != 0, holders[j%3])
			e.Rand = uint32(j)
			if err := access.PutEvent(tx, e); err != nil {
				return store.Effect{}, err
			}
		}
		return store.Effect{}, nil
	})
	t0 := time.Now()
	for i := 0; i < n; i += 5000 {
		w.apply("bench.events", struct{ From, N int }{i, min(5000, n-i)})
	}
	b.Logf("seeded %d events in %v", n, time.Since(t0).Round(time.Millisecond))
	from, to := w.clk.Now().AddDate(-2, 0, 0), w.clk.Now().Add(time.Hour)
	before, err := w.rep.Report(from, to)
	if err != nil {
		b.Fatal(err)
	}
	w.apply("test.forget", struct{}{})
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if err := w.rep.Start(ctx); err != nil {
			b.Fatal(err)
		}
		if err := w.rep.Rebuild(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	after, err := w.rep.Report(from, to)
	if err != nil {
		b.Fatal(err)
	}
	if after.In != before.In || after.Out != before.Out || after.InDenied != before.InDenied {
		b.Fatalf("rebuilt %d/%d/%d, written %d/%d/%d", after.In, after.Out, after.InDenied, before.In, before.Out, before.InDenied)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}
