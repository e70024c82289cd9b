package appliance

import (
	"context"
	"errors"
	"testing"
	"time"

	"gatehouse/appliance/access"
	"gatehouse/appliance/field"
	"gatehouse/appliance/visit"
)

// A walk-in without a phone is bound to their ID card's chip serial: the
// card opens the visitor lanes inside the visit's window (and the site's
// grace), is refused after it, and never opens a lane the visit does not;
// a card the building already issued cannot be bound.
func TestVisitorsIDCardOpensTheirWindowOnly(t *testing.T) {
	a, clk := openTestApp(t)
	ctx := context.Background()
	host, _ := testHost(t, a)
	z, err := a.Access.SaveZone(ctx, "t", access.Zone{Name: "Lobby"})
	if err != nil {
		t.Fatal(err)
	}
	turnstile, err := a.Access.SaveLane(ctx, "t", access.Lane{Name: "Turnstile", ZoneID: z.ID, Visitors: true, PulseMs: 300})
	if err != nil {
		t.Fatal(err)
	}
	staffDoor, err := a.Access.SaveLane(ctx, "t", access.Lane{Name: "Staff door", ZoneID: z.ID, PulseMs: 300})
	if err != nil {
		t.Fatal(err)
	}
	now := clk.Now()
	v, _, err := a.Visits.WalkIn(ctx, "account:desk", visit.Request{Name: "王芳", Mobile: "13900139000", HostID: host.ID,
		Reason: "Meeting", From: now, Until: now.Add(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	const chip = "0A1B2C3D4E5F6071"
	if act := present(t, a, turnstile.ID, chip, true); act.Open || act.Reason != string(access.Unknown) {
		t.Fatalf("an unbound ID card: %+v", act)
	}
	if err := a.Access.BindVisitCard(ctx, "account:desk", v.ID, chip); err != nil {
		t.Fatal(err)
	}
	if act := present(t, a, staffDoor.ID, chip, true); act.Open || act.Reason != string(access.NoPermission) {
		t.Fatalf("the visitor's card at a staff door: %+v", act)
	}
	if act := present(t, a, turnstile.ID, chip, true); !act.Open {
		t.Fatalf("the visitor's card inside the window: %+v", act)
	}
	if err := a.Access.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := a.Visits.Get(v.ID); err != nil || got.State != visit.In {
		t.Fatalf("the visit after the card's entry: %v %v", got.State, err)
	}
	if act := present(t, a, turnstile.ID, chip, false); !act.Open {
		t.Fatalf("leaving with the card: %+v", act)
	}
	clk.Advance(3 * time.Hour)
	if act := present(t, a, turnstile.ID, chip, true); act.Open || act.Reason != string(access.Expired) {
		t.Fatalf("the visitor's card after the window: %+v", act)
	}

	// A card of the building's own is not a visitor's to borrow.
	g, err := a.Access.SaveGroup(ctx, "t", access.Group{Name: "All", ZoneIDs: []string{z.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Access.Enrol(ctx, "t", access.Credential{Kind: access.Card, Number: "00AA00BB", HolderKind: access.HolderContractor,
		HolderName: "Fixer", GroupIDs: []string{g.ID}}); err != nil {
		t.Fatal(err)
	}
	var fe field.Errors
	if err := a.Access.BindVisitCard(ctx, "account:desk", v.ID, "00AA00BB"); !errors.As(err, &fe) || fe[0].Code != "duplicate_card" {
		t.Fatalf("binding an enrolled card: %v", err)
	}
}
