package appliance

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"gatehouse/appliance/access"
	"gatehouse/appliance/field"
	"gatehouse/appliance/store"
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

// The retention purge drops an ID card's binding with its visit's personal
// data — the card's hash is the visitor's, like their mobile — and a
// binding whose visit is gone; a binding of a visit not yet due stays.
func TestRetentionPurgeDropsVisitCards(t *testing.T) {
	a, clk := openTestApp(t)
	ctx := context.Background()
	host, _ := testHost(t, a)
	walkIn := func(name, chip string) visit.Visit {
		now := clk.Now()
		v, _, err := a.Visits.WalkIn(ctx, "account:desk", visit.Request{Name: name, Mobile: "13900139000", HostID: host.ID,
			Reason: "Meeting", From: now, Until: now.Add(2 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Access.BindVisitCard(ctx, "account:desk", v.ID, chip); err != nil {
			t.Fatal(err)
		}
		if err := a.Visits.Move(ctx, "account:desk", v.ID, visit.EvCancel, ""); err != nil {
			t.Fatal(err)
		}
		return v
	}
	bound := func(chip string) bool {
		sum := sha256.Sum256([]byte(access.NormalizeCard(chip)))
		err := a.Store.View(func(r *store.Reader) error {
			_, err := r.Get(store.Key(store.KindVisitCard, hex.EncodeToString(sum[:])))
			return err
		})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}
	walkIn("王芳", "0A1B2C3D4E5F6071")
	// A binding left by a visit that no longer exists.
	a.Store.Register("test.orphan_card", func(tx *store.Tx, _ store.Command) (store.Effect, error) {
		sum := sha256.Sum256([]byte(access.NormalizeCard("0A1B2C3D4E5F6099")))
		return store.Effect{}, tx.Set(store.Key(store.KindVisitCard, hex.EncodeToString(sum[:])), []byte(store.NewID(clk.Now())))
	})
	if _, err := store.Issue(ctx, a.Store, "test.orphan_card", "t", clk.Now(), nil); err != nil {
		t.Fatal(err)
	}
	clk.Advance(a.Retention().Personal + 24*time.Hour)
	walkIn("李雷", "0A1B2C3D4E5F6072") // recent: kept
	if !bound("0A1B2C3D4E5F6071") || !bound("0A1B2C3D4E5F6099") || !bound("0A1B2C3D4E5F6072") {
		t.Fatal("bindings missing before the purge")
	}
	n, err := a.Purge(ctx, "system:retention")
	if err != nil {
		t.Fatal(err)
	}
	if n.Visits != 1 || n.Cards != 2 {
		t.Fatalf("purged %+v, want 1 visit and 2 card bindings", n)
	}
	if bound("0A1B2C3D4E5F6071") || bound("0A1B2C3D4E5F6099") {
		t.Fatal("the purged visit's and the orphaned card bindings are still there")
	}
	if !bound("0A1B2C3D4E5F6072") {
		t.Fatal("the recent visit's card binding went with the purge")
	}
}
