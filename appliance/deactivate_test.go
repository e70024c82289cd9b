package appliance

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"gatehouse/appliance/access"
	"gatehouse/appliance/clock"
	"gatehouse/appliance/config"
	"gatehouse/appliance/gate"
)

// A deactivation in the directory keeps the holder's card out of the gates
// after the appliance restarts, and the reactivation after a restart lets
// it in again: what the gate reads is rebuilt from the store, not kept
// only in memory.
func TestDeactivatedHolderAfterRestart(t *testing.T) {
	dir := t.TempDir()
	cfg, _ := config.Load("", nil)
	clk := clock.NewFake(time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC))
	ctx := context.Background()
	open := func() *App {
		t.Helper()
		a, err := Open(ctx, dir, cfg, clk, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	a := open()
	host, _ := testHost(t, a)
	zone, err := a.Access.SaveZone(ctx, "t", access.Zone{Name: "Lobby"})
	must(t, err)
	lane, err := a.Access.SaveLane(ctx, "t", access.Lane{Name: "Gate 1", ZoneID: zone.ID, PulseMs: 800})
	must(t, err)
	group, err := a.Access.SaveGroup(ctx, "t", access.Group{Name: "Staff", ZoneIDs: []string{zone.ID}})
	must(t, err)
	_, err = a.Access.Enrol(ctx, "t", access.Credential{Kind: access.Card, Number: "0A0B0C0D", HolderKind: access.HolderEmployee,
		HolderID: host.ID, HolderName: host.Name, GroupIDs: []string{group.ID}})
	must(t, err)
	present := func(a *App, want string) {
		t.Helper()
		clk.Advance(time.Second)
		act, err := a.Access.Decide(ctx, gate.Presentation{Lane: lane.ID, Direction: gate.In, Kind: gate.Card, Value: "0A0B0C0D", Device: "test"})
		if err != nil || act.Reason != want || act.Open != (want == "granted") {
			t.Fatalf("card: %+v %v, want %s", act, err, want)
		}
	}
	restart := func() {
		t.Helper()
		must(t, a.Close())
		a = open()
	}
	t.Cleanup(func() { a.Close() })

	present(a, "granted")
	must(t, a.Directory.SetPersonActive(ctx, "t", host.ID, false))
	restart()
	present(a, "holder_deactivated")
	must(t, a.Directory.SetPersonActive(ctx, "t", host.ID, true))
	restart()
	present(a, "granted")

	must(t, a.Directory.SetCompanyActive(ctx, "t", host.CompanyID, false))
	restart()
	present(a, "company_deactivated")
	must(t, a.Directory.SetCompanyActive(ctx, "t", host.CompanyID, true))
	restart()
	present(a, "granted")
}
