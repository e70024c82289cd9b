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
)

// openTestApp opens an appliance on a fresh directory with the default
// settings and a fake clock at 2026-11-23 02:00 UTC; it closes with the test.
func openTestApp(t *testing.T) (*App, *clock.Fake) {
	t.Helper()
	cfg, _ := config.Load("", nil)
	clk := clock.NewFake(time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC))
	a, err := Open(context.Background(), t.TempDir(), cfg, clk, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a, clk
}

// testHost adds a floor, a company and a host employee with a signed-in
// account ("host1") linked to them.
func testHost(t *testing.T, a *App) (directory.Person, auth.Account) {
	t.Helper()
	ctx := context.Background()
	f, _ := a.Directory.SaveFloor(ctx, "t", directory.Floor{Name: "2F", Level: 2})
	co, _ := a.Directory.SaveCompany(ctx, "t", directory.Company{Name: "Acme", FloorIDs: []string{f.ID}})
	host, err := a.Directory.SavePerson(ctx, "t", directory.Person{Kind: directory.Employee, Name: "Host", Mobile: "13800138000",
		CompanyID: co.ID, FloorID: f.ID, EmployeeNo: "H1", CanHost: true})
	if err != nil {
		t.Fatal(err)
	}
	acc, err := a.Auth.CreateAccount(ctx, "t", auth.NewAccount{Username: "host1", Name: "Host", Role: auth.Host, PersonID: host.ID, Password: "host-password"})
	if err != nil {
		t.Fatal(err)
	}
	return host, acc
}
