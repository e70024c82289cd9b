package ui

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"gatehouse/appliance/access"
	"gatehouse/appliance/auth"
	"gatehouse/appliance/visit"
	"gatehouse/ui/i18n"
)

// A walk-in whose follow-up fails once the visit exists — here the ID
// card binding, because someone enrolled the same card as a building
// credential between the form's check and the binding — gets its pass page
// (200) with the problem said in an alert, not a 500 that hides a visit
// that was registered.
func TestWalkInFollowUpFailureShownOnThePass(t *testing.T) {
	h := newHarness(t)
	desk := h.session(auth.Reception)
	const chip = "0A1B2C3D4E5F6071"
	walkedIn := make(chan string, 1) // from the server's goroutine
	// The hook runs once the visit is durable, before the handler binds
	// the card. (It replaces the appliance's notification hook, which this
	// test does not need.)
	h.app.Visits.WithHook(func(ctx context.Context, kind string, v visit.Visit) {
		if kind != visit.HookWalkedIn {
			return
		}
		walkedIn <- v.ID
		if _, err := h.app.Access.Enrol(ctx, "t", access.Credential{Kind: access.Card, Number: chip,
			HolderKind: access.HolderContractor, HolderName: "Fixer"}); err != nil {
			t.Error(err)
		}
	})
	form := url.Values{"name": {"Walk In"}, "host_id": {h.ids["{person}"]}, "reason": {"Delivery"}, "until": {"23:30"},
		"bind_card": {"1"}, "chip": {chip}}
	resp := h.do(req{method: "POST", path: "/desk/walkin", form: form, session: desk})
	b := readBody(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(b, `id="pass-qr"`) {
		t.Fatalf("walk-in with a failed card binding = %d", resp.StatusCode)
	}
	var id string
	select {
	case id = <-walkedIn:
	default:
		t.Fatal("no walk-in registered")
	}
	if v, err := h.app.Visits.Get(id); err != nil || v.Visitor.Name != "Walk In" || !v.State.PassValid() {
		t.Fatalf("the registered visit: %+v %v", v, err)
	}
	if !strings.Contains(b, `<p class="alert" role="alert">`+i18n.ZH.T("walkin.followup_card")+`</p>`) {
		t.Fatal("the pass page does not say the ID card was not bound")
	}
}
