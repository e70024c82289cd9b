package access

import (
	"bytes"
	"context"
	"testing"

	"gatehouse/appliance/directory"
	"gatehouse/appliance/gate"
	"gatehouse/appliance/secret"
)

// A card, a PIN and a quick pass of a person deactivated in the directory,
// or of an employee of a deactivated company, no longer let them in; the
// reactivation lets them in again with the same credentials.
func TestDeactivatedHolderRefusedAtTheGate(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	card, err := w.acc.Enrol(ctx, "t", Credential{Kind: Card, Number: "04A23B1C", HolderKind: HolderEmployee, HolderID: w.host.ID,
		HolderName: "Host", GroupIDs: []string{w.group.ID}})
	if err != nil {
		t.Fatal(err)
	}
	step := func(what, want string, in bool) {
		t.Helper()
		a := w.present(t, gate.Card, "04:a2:3b:1c", in)
		if a.Reason != want || a.Open != (want == "granted") {
			t.Fatalf("%s: %+v, want %s", what, a, want)
		}
	}
	step("active holder", "granted", true)
	step("active holder leaves", "granted", false)

	if err := w.dir.SetPersonActive(ctx, "t", w.host.ID, false); err != nil {
		t.Fatal(err)
	}
	step("deactivated holder", "holder_deactivated", true)
	if c, err := w.acc.Credential(card.ID); err != nil || c.State != Active {
		t.Fatalf("the card itself stays as it was: %+v %v", c, err)
	}
	if err := w.dir.SetPersonActive(ctx, "t", w.host.ID, true); err != nil {
		t.Fatal(err)
	}
	step("reactivated holder", "granted", true)
	step("reactivated holder leaves", "granted", false)

	if err := w.dir.SetCompanyActive(ctx, "t", w.host.CompanyID, false); err != nil {
		t.Fatal(err)
	}
	step("employee of a deactivated company", "company_deactivated", true)
	if err := w.dir.SetCompanyActive(ctx, "t", w.host.CompanyID, true); err != nil {
		t.Fatal(err)
	}
	step("company reactivated", "granted", true)

	// Someone deactivated while inside is let out, not shut in.
	if err := w.dir.SetPersonActive(ctx, "t", w.host.ID, false); err != nil {
		t.Fatal(err)
	}
	step("deactivated holder leaves", "granted", false)
	step("and cannot come back", "holder_deactivated", true)
	// The card's own state still comes first.
	if err := w.acc.SetState(ctx, "t", card.ID, StateSuspended, ""); err != nil {
		t.Fatal(err)
	}
	step("suspended card of a deactivated holder", "suspended", true)
}

// The rule covers every credential of the holder, not only cards, and a
// company's deactivation leaves the building's own staff alone.
func TestDeactivatedHolderPINAndQuickPass(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	keys, _ := secret.FromMaster(bytes.Repeat([]byte{3}, 32))
	w.acc.WithSecrets(keys)
	pin, err := w.acc.Enrol(ctx, "t", Credential{Kind: PIN, Number: "482913", HolderKind: HolderEmployee, HolderID: w.host.ID,
		HolderName: "Host", GroupIDs: []string{w.group.ID}})
	if err != nil {
		t.Fatal(err)
	}
	q, err := w.acc.IssueQuickPass(ctx, "t", keys, pin)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := QuickSecret(keys, q)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.dir.SetPersonActive(ctx, "t", w.host.ID, false); err != nil {
		t.Fatal(err)
	}
	if a := w.present(t, gate.QR, QuickText(q.ID, raw, w.clk.Now()), true); a.Open || a.Reason != "holder_deactivated" {
		t.Fatalf("quick pass of a deactivated holder: %+v", a)
	}
	if err := w.dir.SetPersonActive(ctx, "t", w.host.ID, true); err != nil {
		t.Fatal(err)
	}
	staff, err := w.dir.SavePerson(ctx, "t", directory.Person{Kind: directory.Staff, Name: "Guard", Mobile: "13800138001"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.acc.Enrol(ctx, "t", Credential{Kind: PIN, Number: "555123", HolderKind: HolderEmployee, HolderID: staff.ID,
		HolderName: "Guard", GroupIDs: []string{w.group.ID}}); err != nil {
		t.Fatal(err)
	}
	if err := w.dir.SetCompanyActive(ctx, "t", w.host.CompanyID, false); err != nil {
		t.Fatal(err)
	}
	if a := w.present(t, gate.PIN, "482913", true); a.Open || a.Reason != "company_deactivated" {
		t.Fatalf("PIN of a deactivated company's employee: %+v", a)
	}
	if a := w.present(t, gate.PIN, "555123", true); !a.Open {
		t.Fatalf("staff PIN: %+v", a)
	}
	if err := w.dir.SetPersonActive(ctx, "t", staff.ID, false); err != nil {
		t.Fatal(err)
	}
	if a := w.present(t, gate.PIN, "555123", true); a.Open || a.Reason != "holder_deactivated" {
		t.Fatalf("PIN of deactivated staff: %+v", a)
	}
}
