package visit

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"
)

type alerts struct{ got []string }

func (a *alerts) VisitAlert(_ context.Context, kind string, v Visit) {
	a.got = append(a.got, kind+":"+v.Visitor.Name)
}

func TestSweepRulesOverADay(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	loc := time.UTC
	rules := SweepRules{Location: loc, DayEnd: 23*time.Hour + 59*time.Minute, EscalateAfter: 30 * time.Minute}
	at := func(h, m int) time.Time { return time.Date(2026, 11, 23, h, m, 0, 0, loc) }
	f.clk.Set(at(8, 0))
	mk := func(name string, from, until time.Time) Request {
		q := f.request()
		q.Name, q.From, q.Until = name, from, until
		return q
	}
	booked, _, err := f.svc.Book(ctx, mk("Unanswered", at(9, 0), at(10, 0)))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.Invite(ctx, "h", mk("NeverCame", at(9, 0), at(10, 0))); err != nil {
		t.Fatal(err)
	}
	stays, _, _ := f.svc.Invite(ctx, "h", mk("Stays", at(8, 0), at(10, 0)))
	leaves, _, _ := f.svc.Invite(ctx, "h", mk("Leaves", at(8, 0), at(10, 0)))
	for _, v := range []Visit{stays, leaves} {
		if err := f.svc.Move(ctx, "gate", v.ID, EvEnter, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.svc.Move(ctx, "gate", leaves.ID, EvExit, ""); err != nil {
		t.Fatal(err)
	}
	a := &alerts{}
	sweep := func(h, m int) SweepResult {
		t.Helper()
		f.clk.Set(at(h, m))
		r, err := f.svc.Sweep(ctx, rules, a)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := sweep(8, 20); r != (SweepResult{}) {
		t.Fatalf("08:20: %+v", r)
	}
	if r := sweep(8, 31); r.Reminders != 1 {
		t.Fatalf("08:31: %+v", r)
	}
	if r := sweep(8, 40); r != (SweepResult{}) {
		t.Fatalf("08:40, nothing new: %+v", r)
	}
	if r := sweep(9, 1); r.Escalations != 1 {
		t.Fatalf("09:01: %+v", r)
	}
	r := sweep(10, 1)
	if r.NoShows != 1 || r.Expired != 1 || r.Overstays != 1 {
		t.Fatalf("10:01: %+v", r)
	}
	if r := sweep(12, 0); r.Overstays != 0 {
		t.Fatalf("overstay reported twice: %+v", r)
	}
	if r := sweep(23, 58); r.Closed != 0 {
		t.Fatalf("closed before the day's end: %+v", r)
	}
	f.clk.Set(time.Date(2026, 11, 24, 0, 5, 0, 0, loc))
	r, err = f.svc.Sweep(ctx, rules, a)
	if err != nil || r.Closed != 2 {
		t.Fatalf("after day end: %+v %v", r, err)
	}
	v, _ := f.svc.Get(stays.ID)
	if v.State != Closed || v.History[len(v.History)-1].Note != "no exit recorded" {
		t.Fatalf("stayer: %s %+v", v.State, v.History[len(v.History)-1])
	}
	v, _ = f.svc.Get(booked.ID)
	if v.State != Cancelled || v.Escalated != 2 {
		t.Fatalf("unanswered: %s escalated %d", v.State, v.Escalated)
	}
	sort.Strings(a.got)
	want := "visit.escalated_desk:Unanswered visit.no_exit:Stays visit.overstay:Stays visit.remind_host:Unanswered"
	if got := strings.Join(a.got, " "); got != want {
		t.Fatalf("alerts = %s\nwant     %s", got, want)
	}
}

// raceAlerts runs a second sweep from inside the first one's first alert,
// as a deposed leader's sweep overlaps the new leader's: the outer sweep
// then finds its listed visits already marked or closed.
type raceAlerts struct {
	alerts
	inner func()
	once  bool
}

func (a *raceAlerts) VisitAlert(ctx context.Context, kind string, v Visit) {
	a.alerts.VisitAlert(ctx, kind, v)
	if !a.once {
		a.once = true
		a.inner()
	}
}

// TestOverlappingSweepsAlertOnce: two sweeps over the same visits (two
// leaders for a moment) tell people once — an alert follows only the
// command that went through, not one the store refused as done already.
func TestOverlappingSweepsAlertOnce(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sweep func(f *fixture, at func(h, m int) time.Time)
		kind  string
	}{
		{"overstay", func(f *fixture, at func(h, m int) time.Time) { f.clk.Set(at(10, 30)) }, AlertOverstay},
		{"no exit", func(f *fixture, at func(h, m int) time.Time) {
			f.clk.Set(at(10, 30)) // the overstays marked first, so the race is at day end
			rules := SweepRules{Location: time.UTC, DayEnd: 23*time.Hour + 59*time.Minute}
			if _, err := f.svc.Sweep(context.Background(), rules, nil); err != nil {
				panic(err)
			}
			f.clk.Set(time.Date(2026, 11, 24, 0, 5, 0, 0, time.UTC))
		}, AlertNoExit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			rules := SweepRules{Location: time.UTC, DayEnd: 23*time.Hour + 59*time.Minute}
			at := func(h, m int) time.Time { return time.Date(2026, 11, 23, h, m, 0, 0, time.UTC) }
			f.clk.Set(at(8, 0))
			for _, name := range []string{"A", "B", "C"} {
				q := f.request()
				q.Name, q.From, q.Until = name, at(8, 0), at(10, 0)
				v, _, err := f.svc.Invite(ctx, "h", q)
				if err != nil {
					t.Fatal(err)
				}
				if err := f.svc.Move(ctx, "gate", v.ID, EvEnter, ""); err != nil {
					t.Fatal(err)
				}
			}
			tc.sweep(f, at)
			a := &raceAlerts{}
			a.inner = func() {
				if _, err := f.svc.Sweep(ctx, rules, a); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := f.svc.Sweep(ctx, rules, a); err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, g := range a.got {
				if strings.HasPrefix(g, tc.kind+":") {
					n++
				}
			}
			if n != 3 {
				t.Fatalf("%d %s alerts for 3 visits: %v", n, tc.kind, a.got)
			}
		})
	}
}
