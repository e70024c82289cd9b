package demo

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"gatehouse/appliance"
	"gatehouse/appliance/clock"
	"gatehouse/appliance/config"
	"gatehouse/appliance/report"
	"gatehouse/appliance/store"
	"gatehouse/appliance/visit"
)

// openHistory opens a new demo building on a fake clock standing before
// the story begins and writes the building with its history up to end.
func openHistory(t testing.TB, end time.Time) (*appliance.App, HistoryStats) {
	t.Helper()
	a := openAt(t, end.Add(-29*24*time.Hour))
	logins, st, err := SeedWithHistory(context.Background(), a, HistoryOptions{Seed: 1, End: end})
	if err != nil || len(logins) != 4 {
		t.Fatalf("seed with history: %d logins, %v", len(logins), err)
	}
	return a, st
}

func openAt(t testing.TB, at time.Time) *appliance.App {
	t.Helper()
	cfg, _ := config.Load("", nil)
	a, err := appliance.Open(context.Background(), t.TempDir(), cfg, clock.NewFake(at), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// TestHistorySameSeedSameStory: two buildings told the same seed plan the
// same steps at the same times; another seed tells another story.
func TestHistorySameSeedSameStory(t *testing.T) {
	cfg, _ := config.Load("", nil)
	end := time.Date(2026, 11, 25, 20, 30, 0, 0, cfg.Location)
	plan := func(seed uint64) []time.Time {
		a := openAt(t, end.Add(-29*24*time.Hour))
		h, err := newHistorian(a, HistoryOptions{Seed: seed, End: end})
		if err != nil {
			t.Fatal(err)
		}
		h.clk.Set(h.opened)
		if _, err := Seed(context.Background(), a); err != nil {
			t.Fatal(err)
		}
		if err := h.cast(context.Background()); err != nil {
			t.Fatal(err)
		}
		h.plan()
		var at []time.Time
		for _, s := range h.steps {
			at = append(at, s.at)
		}
		return at
	}
	one, again, other := plan(1), plan(1), plan(2)
	if len(one) < 1000 || !slices.EqualFunc(one, again, time.Time.Equal) {
		t.Fatalf("seed 1 planned %d then %d steps, not the same", len(one), len(again))
	}
	if slices.EqualFunc(one, other, time.Time.Equal) {
		t.Fatal("seed 2 tells the same story as seed 1")
	}
}

// TestHistoryGivesEveryPageSomethingTrue: after four weeks of history the
// people-flow dashboard and the month's report have entries in the
// morning and exits in the evening, visits of all four ways in, the key
// room an overdue key, and the audit chain is whole.
func TestHistoryGivesEveryPageSomethingTrue(t *testing.T) {
	cfg, _ := config.Load("", nil)
	end := time.Date(2026, 11, 25, 15, 30, 0, 0, cfg.Location) // a Wednesday afternoon
	a, st := openHistory(t, end)
	t.Logf("four weeks of history in %v: %d commands (%.0f/s), %d visits, %d gate passages (%d refused), %d key checkouts, %d stock moves",
		st.Took.Round(time.Millisecond), st.Commands, float64(st.Commands)/st.Took.Seconds(), st.Visits, st.Passages, st.Denied, st.Keys, st.StockMove)
	if got := a.Clock.Now(); !got.Equal(end) {
		t.Fatalf("clock left at %v, want the end %v", got, end)
	}

	d, err := a.Reports.Dashboard()
	if err != nil {
		t.Fatal(err)
	}
	peak := func(get func(report.HourFlow) float64, from, to int) int {
		best := 0
		for h := range d.Hours {
			if get(d.Hours[h]) > get(d.Hours[best]) {
				best = h
			}
		}
		if best < from || best > to {
			t.Errorf("peak hour %d, want %d–%d: %+v", best, from, to, d.Hours)
		}
		return best
	}
	if d.In == 0 || d.Out == 0 || d.Inside < 20 || d.AvgWeeks != report.AvgWeeks || d.TodayBy[report.GroupEmployee] == 0 || d.TodayBy[report.GroupVisitor] == 0 {
		t.Errorf("dashboard today: in %d out %d inside %d, %d weeks of averages, by group %v", d.In, d.Out, d.Inside, d.AvgWeeks, d.TodayBy)
	}
	peak(func(h report.HourFlow) float64 { return h.AvgIn }, 8, 9)
	peak(func(h report.HourFlow) float64 { return h.AvgOt }, 17, 19)
	peak(func(h report.HourFlow) float64 { return float64(h.In) }, 8, 9)
	peak(func(h report.HourFlow) float64 { return float64(h.Out) }, 11, 13) // lunch; the evening is still to come

	from := dayStart(end.AddDate(0, 0, -27), cfg.Location)
	rep, err := a.Reports.Report(from, dayStart(end, cfg.Location).AddDate(0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	best := 0
	for h, n := range rep.HourOfDay {
		if n > rep.HourOfDay[best] {
			best = h
		}
	}
	if rep.In == 0 || rep.Out == 0 || rep.InDenied == 0 || rep.Visits == 0 || rep.NoShows == 0 || rep.AvgLength == 0 || best < 8 || best > 9 || len(rep.Peaks) == 0 {
		t.Errorf("month report: in %d out %d denied %d, %d visits, %d no-shows, average %v, busiest hour %d",
			rep.In, rep.Out, rep.InDenied, rep.Visits, rep.NoShows, rep.AvgLength, best)
	}
	modes := map[string]int{}
	for _, c := range rep.ByMode {
		modes[c.ID] = c.N
	}
	for _, m := range []visit.Mode{visit.Invited, visit.Booked, visit.WalkIn, visit.Conference} {
		if modes[string(m)] == 0 {
			t.Errorf("no %s visits in the month: %v", m, modes)
		}
	}

	open, err := a.KeyRoom.OpenCheckouts()
	if err != nil || len(open) != 1 || open[0].Due >= end.UnixNano() || open[0].Tag != "K-0302" {
		t.Errorf("keys out now: %+v %v, want K-0302 overdue", open, err)
	}
	if alarms, err := a.Access.Alarms(false, 100); err != nil || len(alarms) < 3 {
		t.Errorf("%d alarms, %v", len(alarms), err)
	}
	if ledger, err := a.Stock.Ledger(from, end); err != nil || len(ledger) < 20 {
		t.Errorf("%d stock ledger entries, %v", len(ledger), err)
	}
	noMobileInClear(t, a) // visitors', attendees' and employees' alike
	if n, err := a.VerifyAudit(); err != nil || uint64(n) < st.Commands {
		t.Fatalf("audit verify: %d entries, %v", n, err)
	}
	if err := a.Store.View(func(r *store.Reader) error { _, err := store.VerifyDeep(r); return err }); err != nil {
		t.Fatalf("audit verify --deep: %v", err)
	}
}

// BenchmarkHistory is how long four weeks of history take to write.
func BenchmarkHistory(b *testing.B) {
	cfg, _ := config.Load("", nil)
	end := time.Date(2026, 11, 25, 20, 30, 0, 0, cfg.Location)
	for b.Loop() {
		_, st := openHistory(b, end)
		b.ReportMetric(float64(st.Commands), "commands/op")
	}
}
