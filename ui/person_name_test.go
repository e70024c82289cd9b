package ui

import (
	"context"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance/access"
	"gatehouse/appliance/auth"
	"gatehouse/appliance/directory"
	"gatehouse/appliance/gate"
	"gatehouse/appliance/store"
	"gatehouse/ui/i18n"
)

// TestPurgedPersonShowsTheMarker: once the retention purge has removed a
// deactivated employee's personal data, the gate history on the guard
// station, the visit records they hosted and their card's page still show
// the rows, with "(purged DATE)" where the name was, and the name nowhere.
func TestPurgedPersonShowsTheMarker(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	person := h.ids["{person}"]
	z, _ := h.app.Access.SaveZone(ctx, "t", access.Zone{Name: "Lobby"})
	l, _ := h.app.Access.SaveLane(ctx, "t", access.Lane{Name: "Gate 1", ZoneID: z.ID, Visitors: true})
	g, _ := h.app.Access.SaveGroup(ctx, "t", access.Group{Name: "All", ZoneIDs: []string{z.ID}})
	cred, err := h.app.Access.Enrol(ctx, "t", access.Credential{Kind: access.Card, Number: "0BADF00D", HolderKind: access.HolderEmployee,
		HolderID: person, HolderName: "Wang", GroupIDs: []string{g.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.app.Access.Decide(ctx, gate.Presentation{Lane: l.ID, Direction: gate.In, Kind: gate.Card, Value: "0BADF00D", Device: "t"}); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(time.Second)
	// Deactivated long ago, as the command issued then would have it.
	if _, err := store.Issue(ctx, h.app.Store, directory.CmdPersonActive, "t", h.clock.Now().Add(-h.app.Config.PersonRetention()-time.Hour),
		map[string]any{"id": person, "active": false}); err != nil {
		t.Fatal(err)
	}
	if n, err := h.app.Purge(ctx, "system:retention"); err != nil || n.People != 1 || n.Credentials != 1 {
		t.Fatalf("purge %+v %v", n, err)
	}
	marker := i18n.ZH.T("person.purged", h.clock.Now().In(h.app.Config.Location).Format("2006-01-02"))
	day := func(n int) string {
		return h.clock.Now().In(h.app.Config.Location).AddDate(0, 0, n).Format("2006-01-02")
	}
	guard := h.session(auth.Reception)
	admin := h.session(auth.Admin)
	for _, p := range []struct{ path, session string }{
		{"/guard", guard},
		{"/desk/records?from=" + day(-1) + "&to=" + day(2), guard},
		{"/access/credentials/" + cred.ID, admin},
	} {
		b := readBody(t, h.do(req{method: "GET", path: p.path, session: p.session}))
		if !strings.Contains(b, marker) || strings.Contains(b, "Wang") {
			t.Errorf("%s: marker %t, name %t", p.path, strings.Contains(b, marker), strings.Contains(b, "Wang"))
		}
	}
}
