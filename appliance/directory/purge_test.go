package directory

import (
	"context"
	"testing"
	"time"

	"gatehouse/appliance/clock"
)

// TestDeactivationStamped: deactivating stamps the time, which an edit
// keeps and a second deactivation does not move; reactivating clears it;
// the purge counts from it and spares whoever was reactivated.
func TestDeactivationStamped(t *testing.T) {
	f := newFixture(t)
	clk := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	f.svc = New(f.st, clk, f.keys)
	ctx := context.Background()
	p, err := f.svc.SavePerson(ctx, "t", Person{Kind: Employee, Name: "Wang Fang", Mobile: "13800138001", CompanyID: f.acme.ID,
		FloorID: f.floors["1F"].ID, EmployeeNo: "A7"})
	if err != nil {
		t.Fatal(err)
	}
	stamp := func() int64 {
		t.Helper()
		got, err := f.svc.Person(p.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.Deactivated
	}
	off := clk.Now()
	if err := f.svc.SetPersonActive(ctx, "t", p.ID, false); err != nil || stamp() != off.UnixNano() {
		t.Fatalf("deactivated at %s: stamp %d, %v", off, stamp(), err)
	}
	clk.Advance(time.Hour)
	got, _ := f.svc.Person(p.ID)
	got.Position = "Accounts"
	if _, err := f.svc.SavePerson(ctx, "t", got); err != nil || stamp() != off.UnixNano() {
		t.Fatalf("an edit moved the stamp: %d %v", stamp(), err)
	}
	clk.Advance(time.Hour)
	if err := f.svc.SetPersonActive(ctx, "t", p.ID, false); err != nil || stamp() != off.UnixNano() {
		t.Fatalf("a second deactivation moved the stamp: %d %v", stamp(), err)
	}
	keep := 90 * 24 * time.Hour
	clk.Set(off.Add(keep - time.Minute))
	if n, err := f.svc.PurgePreview(keep); err != nil || n != 0 {
		t.Fatalf("due a minute early: %d %v", n, err)
	}
	clk.Set(off.Add(keep + time.Minute))
	if n, err := f.svc.PurgePreview(keep); err != nil || n != 1 {
		t.Fatalf("not due after %s: %d %v", keep, n, err)
	}
	if err := f.svc.SetPersonActive(ctx, "t", p.ID, true); err != nil || stamp() != 0 {
		t.Fatalf("reactivated: stamp %d, %v", stamp(), err)
	}
	if c, err := f.svc.Purge(ctx, "t", keep); err != nil || c != (PurgeCount{}) {
		t.Fatalf("a reactivated person purged: %+v %v", c, err)
	}
	if got, _ := f.svc.Person(p.ID); got.Name != "Wang Fang" {
		t.Fatalf("reactivated person: %+v", got)
	}
}
