package ui

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance/access"
	"gatehouse/appliance/auth"
	"gatehouse/appliance/gate"
	"gatehouse/appliance/visit"
)

// laneRelay is a lane's relay as the device runtime drives it: on (the
// caller is told), held for the pulse, off.
type laneRelay struct{ pulses chan string }

func (r laneRelay) OpenLane(ctx context.Context, lane string, pulse time.Duration) error {
	gate.Switched(ctx, nil)
	if r.pulses != nil {
		r.pulses <- lane
	}
	select {
	case <-time.After(pulse):
	case <-ctx.Done():
	}
	return nil
}

// guardLane makes a zone with a visitors' lane.
func guardLane(t *testing.T, h *harness) access.Lane {
	t.Helper()
	ctx := context.Background()
	z, err := h.app.Access.SaveZone(ctx, "t", access.Zone{Name: "Lobby", Passback: access.PassbackSoft})
	if err != nil {
		t.Fatal(err)
	}
	l, err := h.app.Access.SaveLane(ctx, "t", access.Lane{Name: "Gate 9", ZoneID: z.ID, Visitors: true, PulseMs: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func lastGateEvent(t *testing.T, h *harness) access.Event {
	t.Helper()
	if err := h.app.Access.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	es, err := h.app.Access.Recent(1)
	if err != nil || len(es) != 1 {
		t.Fatalf("recent: %v %v", es, err)
	}
	return es[0]
}

// TestGuardManualOpenWithoutRelay: a manual open on a lane with no relay
// is recorded as not opened, and the guard is told nothing opened — as a
// page, and as the card an htmx request swaps in.
func TestGuardManualOpenWithoutRelay(t *testing.T) {
	h := newHarness(t)
	l := guardLane(t, h)
	guard := h.session(auth.Reception)
	form := url.Values{"lane_id": {l.ID}, "reason": {"delivery trolley"}}
	resp := h.do(req{method: "POST", path: "/guard/open", session: guard, form: form})
	if b := readBody(t, resp); resp.StatusCode != http.StatusConflict || !strings.Contains(b, `id="open-msg"`) {
		t.Fatalf("manual open without relay = %d", resp.StatusCode)
	}
	if e := lastGateEvent(t, h); e.Grant || e.Reason != access.ManualOpenFailed || e.Kind != 'm' {
		t.Fatalf("recorded %+v, want a manual open that did not open", e)
	}
	resp = h.do(req{method: "POST", path: "/guard/open", session: guard, form: form, header: map[string]string{"HX-Request": "true"}})
	b := readBody(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(b, `id="open-card"`) || !strings.Contains(b, `id="open-msg"`) || strings.Contains(b, "<html") {
		t.Fatalf("htmx manual open without relay = %d: %s", resp.StatusCode, b)
	}
	// The page shows the attempt red, as not opened.
	page := readBody(t, h.do(req{method: "GET", path: "/guard", session: guard}))
	if !strings.Contains(page, `<tr class="denied">`) || !strings.Contains(page, "badge bad-badge") {
		t.Fatal("the failed opening is not a red row")
	}

	// With a relay, the lane opens and the answer says so, once the relay
	// is on: not after the lane's 1 s pulse.
	h.app.Access.SetOpener(laneRelay{})
	h.clock.Advance(time.Second) // the feed orders by time: one event a second
	start := time.Now()
	resp = h.do(req{method: "POST", path: "/guard/open", session: guard, form: form, header: map[string]string{"HX-Request": "true"}})
	if b := readBody(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(b, `id="open-ok"`) {
		t.Fatalf("htmx manual open = %d: %s", resp.StatusCode, b)
	}
	took := time.Since(start)
	t.Logf("manual open answered in %v (pulse 1 s)", took)
	if took > 500*time.Millisecond {
		t.Fatalf("manual open took %v: it waited out the pulse", took)
	}
	if e := lastGateEvent(t, h); !e.Grant || e.Reason != access.ManualOpened {
		t.Fatalf("recorded %+v, want a granted manual open", e)
	}
}

// TestGuardAdmitVisit: from a refused visitor's row the guard lets them in:
// the row offers it, the visit goes in by the guard, the row no longer
// offers it; a host cannot, a request without the CSRF token cannot, and
// nonsense is a message, never a 500.
func TestGuardAdmitVisit(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	l := guardLane(t, h)
	now := h.clock.Now()
	v, _, err := h.app.Visits.Invite(ctx, "test", visit.Request{Name: "Early Bird", Mobile: "13700137009", HostID: h.ids["{person}"],
		Reason: "Interview", From: now.Add(45 * time.Minute), Until: now.Add(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := h.app.Visits.Token(v)
	if err != nil {
		t.Fatal(err)
	}
	if a, err := h.app.Access.Decide(ctx, gate.Presentation{Lane: l.ID, Direction: gate.In, Kind: gate.QR, Value: tok, Device: "scanner"}); err != nil || a.Open || a.Reason != string(access.NotYetValid) {
		t.Fatalf("45 min early: %+v %v", a, err)
	}
	guard := h.session(auth.Reception)
	page := readBody(t, h.do(req{method: "GET", path: "/guard", session: guard}))
	if !strings.Contains(page, `data-visit="`+v.ID+`"`) {
		t.Fatal("the refused visitor's row offers no admission")
	}
	form := url.Values{"lane_id": {l.ID}, "visit_id": {v.ID}, "reason": {"not_yet_valid"}}
	for _, r := range []auth.Role{auth.Host} {
		if resp := h.do(req{method: "POST", path: "/guard/admit", session: h.session(r), form: form}); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("%s admits: %d", r, resp.StatusCode)
		}
	}
	if resp := h.do(req{method: "POST", path: "/guard/admit", session: guard, form: form, csrf: "-"}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("admit without CSRF: %d", resp.StatusCode)
	}
	if got, _ := h.app.Visits.Get(v.ID); got.State != visit.Approved {
		t.Fatalf("refused requests moved the visit to %s", got.State)
	}
	// No relay: nothing opens, the visit stays out, the guard is told.
	htmx := map[string]string{"HX-Request": "true"}
	resp := h.do(req{method: "POST", path: "/guard/admit", session: guard, form: form, header: htmx})
	if b := readBody(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(b, "bad-badge") {
		t.Fatalf("admit without relay = %d: %s", resp.StatusCode, b)
	}
	if got, _ := h.app.Visits.Get(v.ID); got.State != visit.Approved {
		t.Fatalf("a failed admission moved the visit to %s", got.State)
	}
	h.app.Access.SetOpener(laneRelay{})
	resp = h.do(req{method: "POST", path: "/guard/admit", session: guard, form: form, header: htmx})
	if b := readBody(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(b, "ok-badge") || strings.Contains(b, "<html") {
		t.Fatalf("admit = %d: %s", resp.StatusCode, b)
	}
	if err := h.app.Access.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got, _ := h.app.Visits.Get(v.ID)
	if got.State != visit.In || got.History[len(got.History)-1].By != "account:"+h.accounts[auth.Reception].ID {
		t.Fatalf("visit %s, last move %+v: want in by the guard", got.State, got.History[len(got.History)-1])
	}
	if as, _ := h.app.Access.Alarms(true, 10); len(as) != 0 {
		t.Fatalf("alarms still open after the visitor was let in: %+v", as)
	}
	page = readBody(t, h.do(req{method: "GET", path: "/guard", session: guard}))
	if strings.Contains(page, `data-visit="`+v.ID+`"`) {
		t.Fatal("a visitor inside is still offered for admission")
	}
	// Again, or nonsense: a message, not a 500.
	for _, f := range []url.Values{form, {"lane_id": {l.ID}, "visit_id": {"nope"}, "reason": {"x"}}, {"lane_id": {"x"}, "visit_id": {v.ID}, "reason": {"x"}},
		{"lane_id": {l.ID}, "visit_id": {v.ID}}, {}} {
		for _, hd := range []map[string]string{nil, htmx} {
			resp := h.do(req{method: "POST", path: "/guard/admit", session: guard, form: f, header: hd})
			if resp.StatusCode >= 500 || resp.StatusCode == http.StatusOK && hd == nil {
				t.Fatalf("admit %v (htmx %v) = %d", f, hd != nil, resp.StatusCode)
			}
		}
	}
}

// TestGuardFeedCompact: today's rows show the time only, older rows the
// date too; a soft passback breach is amber with its own words, never a
// green "granted" beside a red alarm.
func TestGuardFeedCompact(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	l := guardLane(t, h)
	p, err := h.app.Access.Enrol(ctx, "t", access.Credential{Kind: access.Card, Number: "04A1B2C3", HolderKind: access.HolderEmployee, HolderName: "Wang"})
	if err != nil {
		t.Fatal(err)
	}
	g, _ := h.app.Access.SaveGroup(ctx, "t", access.Group{Name: "All", LaneIDs: []string{l.ID}})
	p.GroupIDs = []string{g.ID}
	if _, err := h.app.Access.Enrol(ctx, "t", p); err != nil {
		t.Fatal(err)
	}
	present := func() {
		if _, err := h.app.Access.Decide(ctx, gate.Presentation{Lane: l.ID, Direction: gate.In, Kind: gate.Card, Value: "04A1B2C3", Device: "r"}); err != nil {
			t.Fatal(err)
		}
	}
	present() // yesterday, granted
	h.clock.Advance(24 * time.Hour)
	present() // today, inside already: a soft breach
	guard := h.session(auth.Reception)
	page := readBody(t, h.do(req{method: "GET", path: "/guard", session: guard}))
	loc := h.app.Config.Location
	today := h.clock.Now().In(loc)
	yesterday := today.Add(-24 * time.Hour)
	if !strings.Contains(page, `<time title="`+today.Format("2006-01-02 15:04:05")+`">`+today.Format("15:04:05")+`</time>`) {
		t.Fatal("today's row does not show the time alone")
	}
	if !strings.Contains(page, `>`+yesterday.Format("01-02 15:04:05")+`</time>`) {
		t.Fatal("yesterday's row does not show its date")
	}
	if !strings.Contains(page, `<tr class="breach">`) || !strings.Contains(page, "badge breach-badge") {
		t.Fatal("the breach is not an amber row")
	}
	if strings.Count(page, "badge ok-badge") != 1 {
		t.Fatalf("%d green chips, want 1 (yesterday's entry)", strings.Count(page, "badge ok-badge"))
	}
}
