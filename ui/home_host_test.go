package ui

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance/auth"
	"gatehouse/appliance/visit"
	"gatehouse/ui/i18n"
)

// TestHostHomeAnswersRequests: the host's home lists the waiting request
// first and answers it in one tap: approval says what happens next, a
// picked reason reaches the visitor in the visitor's language, a missing
// CSRF token or another role is refused, and another host's request is
// not theirs to answer or to open.
func TestHostHomeAnswersRequests(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	host := h.session(auth.Host)
	home := readBody(t, h.do(req{method: "GET", path: "/", session: host}))
	if !strings.Contains(home, `id="pending-`+h.ids["{visit}"]+`"`) || strings.Contains(home, i18n.ZH.T("home.host")) {
		t.Fatalf("the host's home does not list the waiting request first")
	}
	if strings.Index(home, `id="host-pending"`) > strings.Index(home, `id="host-today"`) {
		t.Fatal("requests are not first on the host's home")
	}

	// No CSRF token, or not the host: refused, nothing decided.
	if r := h.do(req{method: "POST", path: "/host/visits/{visit}/approve", session: host, csrf: "-", form: url.Values{"back": {"/"}}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("approve without CSRF = %d, want 403", r.StatusCode)
	}
	if r := h.do(req{method: "POST", path: "/host/visits/{visit}/approve", session: h.session(auth.Reception), form: url.Values{"back": {"/"}}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("approve by reception = %d, want 403", r.StatusCode)
	}
	// An outside address to return to becomes the home.
	r := h.do(req{method: "POST", path: "/host/visits/{visit}/approve", session: host, form: url.Values{"back": {"//evil.example/"}}})
	if loc := r.Header.Get("Location"); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/?approved=") {
		t.Fatalf("approve = %d to %q, want back to /?approved=", r.StatusCode, loc)
	}
	page := readBody(t, h.do(req{method: "GET", path: r.Header.Get("Location"), session: host}))
	if !strings.Contains(page, `id="next-step"`) || !strings.Contains(page, i18n.ZH.T("hosthome.next_page", "Visitor")) {
		t.Errorf("after approving, the home does not say what happens next")
	}
	if v, _ := h.app.Visits.Get(h.ids["{visit}"]); v.State != visit.Approved {
		t.Fatalf("visit is %s after approval", v.State)
	}

	// A second request, from an English-speaking visitor, declined with a
	// reason picked: the visitor reads it in English.
	now := h.clock.Now()
	v, _, err := h.app.Visits.Book(ctx, visit.Request{Name: "Maria Garcia", Mobile: "13700137001", IDLast6: "123456",
		HostID: h.ids["{person}"], Reason: "Interview", From: now.Add(time.Hour), Until: now.Add(2 * time.Hour), Lang: "en"})
	if err != nil {
		t.Fatal(err)
	}
	if page := readBody(t, h.do(req{method: "GET", path: "/host/visits/" + v.ID, session: host})); !strings.Contains(page, `id="reject-busy-`+v.ID+`"`) {
		t.Fatal("the request's own page has no reasons to pick")
	}
	r = h.do(req{method: "POST", path: "/host/visits/" + v.ID + "/reject", session: host, form: url.Values{"back": {"/"}, "reason_key": {"busy"}}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/" {
		t.Fatalf("decline = %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	if v, _ = h.app.Visits.Get(v.ID); v.State != visit.Rejected || v.RejectReason != i18n.EN.T("decline.busy") {
		t.Fatalf("declined visit: %s, reason %q", v.State, v.RejectReason)
	}

	// Another host's request: not on this home, not openable, not answerable.
	other, err := h.app.Auth.CreateAccount(ctx, "test", auth.NewAccount{Username: "host2", Name: "H2", Role: auth.Host, Password: "password-host2"})
	if err != nil {
		t.Fatal(err)
	}
	s2 := h.srv.testSession(other.ID, h.clock.Now()).id
	if r := h.do(req{method: "GET", path: "/host/visits/" + v.ID, session: s2}); r.StatusCode != http.StatusForbidden {
		t.Errorf("another host opens the request: %d, want 403", r.StatusCode)
	}

	// Signed out, the notification's link leads through sign-in and back.
	r = h.do(req{method: "GET", path: "/host/visits/" + v.ID})
	if loc := r.Header.Get("Location"); r.StatusCode != http.StatusSeeOther || loc != "/login?next="+url.QueryEscape("/host/visits/"+v.ID) {
		t.Fatalf("signed out = %d to %q, want sign-in with the way back", r.StatusCode, loc)
	}
}
