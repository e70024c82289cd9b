package appliance

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"gatehouse/appliance/auth"
	"gatehouse/appliance/clock"
	"gatehouse/appliance/config"
	"gatehouse/appliance/directory"
	"gatehouse/appliance/notice"
	"gatehouse/appliance/visit"
)

// TestBroadcastAudiences: employees are host accounts, property staff the
// other roles, visitors the mobiles of today's expected or present visits;
// disabled accounts and finished visits are left out.
func TestBroadcastAudiences(t *testing.T) {
	cfg, _ := config.Load("", nil)
	clk := clock.NewFake(time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)) // 10:00 in Shanghai
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
	account := func(user string, role auth.Role, disabled bool) string {
		ac, err := a.Auth.CreateAccount(ctx, "t", auth.NewAccount{Username: user, Name: user, Role: role, Password: user + "-password"})
		if err != nil {
			t.Fatal(err)
		}
		if disabled {
			ac.Disabled = true
			if err := a.Auth.Update(ctx, "t", ac); err != nil {
				t.Fatal(err)
			}
		}
		return ac.ID
	}
	emp := account("emp1", auth.Host, false)
	account("emp2", auth.Host, true)
	desk := account("desk1", auth.Reception, false)
	mgr := account("mgr1", auth.Manager, false)
	book := func(mobile string, in time.Duration) visit.Visit {
		v, _, err := a.Visits.Book(ctx, visit.Request{Name: "V", Mobile: mobile, IDLast6: "123456", HostID: host.ID,
			Reason: "Meeting", From: clk.Now().Add(in), Until: clk.Now().Add(in + time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	book("13700137000", time.Hour)
	gone := book("13700137001", 2*time.Hour)
	if err := a.Visits.Move(ctx, "t", gone.ID, visit.EvCancel, ""); err != nil {
		t.Fatal(err)
	}
	book("13700137002", 48*time.Hour) // another day
	ids := func(aud notice.Audience) (accounts, phones []string) {
		rs, err := board{a}.Audience(ctx, aud)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if r.AccountID != "" {
				accounts = append(accounts, r.AccountID)
			}
			if r.Phone != "" {
				phones = append(phones, r.Phone)
			}
		}
		return accounts, phones
	}
	if acc, ph := ids(notice.Employees); !slices.Equal(acc, []string{emp}) || len(ph) != 0 {
		t.Errorf("employees: %v %v", acc, ph)
	}
	if acc, _ := ids(notice.Staff); len(acc) != 2 || !slices.Contains(acc, desk) || !slices.Contains(acc, mgr) {
		t.Errorf("staff: %v", acc)
	}
	if acc, ph := ids(notice.Visitors); len(acc) != 0 || !slices.Equal(ph, []string{"13700137000"}) {
		t.Errorf("visitors: %v %v", acc, ph)
	}
	if acc, ph := ids(notice.Everyone); len(acc) != 3 || len(ph) != 1 {
		t.Errorf("everyone: %v %v", acc, ph)
	}
}
