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
