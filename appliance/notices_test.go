package appliance

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"gatehouse/appliance/auth"
	"gatehouse/appliance/clock"
	"gatehouse/appliance/config"
	"gatehouse/appliance/directory"
	"gatehouse/appliance/notify"
	"gatehouse/appliance/visit"
)

// TestVisitEventsBecomeNotifications: the host hears of an application and
// of the arrival, in the page; the desk hears of an unanswered request.
func TestVisitEventsBecomeNotifications(t *testing.T) {
	cfg, _ := config.Load("", nil)
	clk := clock.NewFake(time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC))
	ctx := context.Background()
	a, err := Open(ctx, t.TempDir(), cfg, clk, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	f, _ := a.Directory.SaveFloor(ctx, "t", directory.Floor{Name: "2F", Level: 2})
	co, _ := a.Directory.SaveCompany(ctx, "t", directory.Company{Name: "Acme", FloorIDs: []string{f.ID}})
	host, _ := a.Directory.SavePerson(ctx, "t", directory.Person{Kind: directory.Employee, Name: "Host", Mobile: "13800138000",
		CompanyID: co.ID, FloorID: f.ID, EmployeeNo: "H1", CanHost: true})
	ha, err := a.Auth.CreateAccount(ctx, "t", auth.NewAccount{Username: "host1", Name: "Host", Role: auth.Host, PersonID: host.ID, Password: "host-password"})
	if err != nil {
		t.Fatal(err)
	}
	desk, _ := a.Auth.CreateAccount(ctx, "t", auth.NewAccount{Username: "desk1", Name: "Desk", Role: auth.Reception, Password: "desk-password"})
	v, _, err := a.Visits.Book(ctx, visit.Request{Name: "访客 Zhao", Mobile: "13700137000", IDLast6: "123456", HostID: host.ID,
		Reason: "Interview", From: clk.Now().Add(2 * time.Hour), Until: clk.Now().Add(3 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	to := func(account, kind string) bool {
		o, err := a.Notify.Outbox(50)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range o.Recent {
			if r.Channel == notify.InPage && r.To == account && r.Kind == kind {
				return true
			}
		}
		return false
	}
	if !to(ha.ID, notify.KindVisitRequested) {
		t.Fatal("the host was not told of the application")
	}
	// Unanswered for an hour: the desk is told.
	clk.Advance(61 * time.Minute)
	res, err := a.Visits.Sweep(ctx, visit.SweepRules{Location: time.UTC, DayEnd: 23*time.Hour + 59*time.Minute, EscalateAfter: 30 * time.Minute}, notices{a})
	if err != nil || res.Escalations != 1 {
		t.Fatalf("sweep = %+v %v", res, err)
	}
	if !to(desk.ID, visit.AlertEscalatedDesk) {
		t.Fatal("the desk was not told of the unanswered request")
	}
	v, _ = a.Visits.Decide(ctx, "t", v.ID, host.ID, true, "")
	clk.Advance(time.Hour)
	if err := a.Visits.Move(ctx, "gate", v.ID, visit.EvEnter, ""); err != nil {
		t.Fatal(err)
	}
	if !to(ha.ID, notify.KindVisitArrived) {
		t.Fatal("the host was not told of the arrival")
	}
}

func TestUnreturnedBadgesAlarmAtDayEnd(t *testing.T) {
	cfg, _ := config.Load("", []string{"GATEHOUSE_TIME_ZONE=UTC"})
	clk := clock.NewFake(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	ctx := context.Background()
	a, err := Open(ctx, t.TempDir(), cfg, clk, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	f, _ := a.Directory.SaveFloor(ctx, "t", directory.Floor{Name: "2F", Level: 2})
	co, _ := a.Directory.SaveCompany(ctx, "t", directory.Company{Name: "Acme", FloorIDs: []string{f.ID}})
	host, _ := a.Directory.SavePerson(ctx, "t", directory.Person{Kind: directory.Employee, Name: "Host", Mobile: "13800138000",
		CompanyID: co.ID, FloorID: f.ID, EmployeeNo: "H1", CanHost: true})
	if _, _, err := a.Visits.WalkIn(ctx, "desk", visit.Request{Name: "W", Mobile: "13700137000", HostID: host.ID, Reason: "x",
		From: clk.Now(), Until: clk.Now().Add(time.Hour), Badge: "T-1"}); err != nil {
		t.Fatal(err)
	}
	done := a.badgeAlarm(ctx, "2026-11-22") // yesterday already dealt with
	if as, _ := a.Access.Alarms(true, 10); len(as) != 0 || done != "2026-11-22" {
		t.Fatalf("alarm before the day's end: %+v %s", as, done)
	}
	clk.Set(time.Date(2026, 11, 23, 23, 59, 30, 0, time.UTC))
	done = a.badgeAlarm(ctx, done)
	done = a.badgeAlarm(ctx, done) // once only
	as, _ := a.Access.Alarms(true, 10)
	if len(as) != 1 || as[0].Kind != "unreturned_badges" || done != "2026-11-23" {
		t.Fatalf("alarms at day end: %+v %s", as, done)
	}
}
