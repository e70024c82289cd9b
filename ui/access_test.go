package ui

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"gatehouse/appliance/access"
	"gatehouse/appliance/auth"
	"gatehouse/ui/i18n"
)

// accessFixture is a zone with one lane, a working-hours profile and a
// group for the zone, made through the service.
type accessFixture struct {
	zone    access.Zone
	lane    access.Lane
	profile access.Profile
	group   access.Group
}

func newAccessFixture(t *testing.T, h *harness) accessFixture {
	t.Helper()
	ctx := context.Background()
	var f accessFixture
	var err error
	if f.zone, err = h.app.Access.SaveZone(ctx, "test", access.Zone{Name: "Lobby"}); err != nil {
		t.Fatal(err)
	}
	if f.lane, err = h.app.Access.SaveLane(ctx, "test", access.Lane{Name: "Gate A", ZoneID: f.zone.ID, PulseMs: 500}); err != nil {
		t.Fatal(err)
	}
	p := access.Profile{Name: "Office hours"}
	for wd := 1; wd <= 5; wd++ {
		p.Week[wd] = []access.Range{{From: 8 * 60, To: 18 * 60}}
	}
	if f.profile, err = h.app.Access.SaveProfile(ctx, "test", p); err != nil {
		t.Fatal(err)
	}
	if f.group, err = h.app.Access.SaveGroup(ctx, "test", access.Group{Name: "Staff", ZoneIDs: []string{f.zone.ID}}); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestAccessFormsReportFieldErrors(t *testing.T) {
	h := newHarness(t)
	f := newAccessFixture(t, h)
	tests := []struct {
		name, path string
		form       url.Values
		field      string // the field whose error the page shows
	}{
		{"zone without name", "/access/zones", url.Values{"name": {""}, "passback": {"off"}}, "name"},
		{"zone with unknown passback", "/access/zones", url.Values{"name": {"Z"}, "passback": {"sideways"}}, "passback"},
		{"lane without zone", "/access/lanes", url.Values{"name": {"L"}, "zone_id": {""}}, "zone_id"},
		{"lane with words for pulse", "/access/lanes", url.Values{"name": {"L"}, "zone_id": {f.zone.ID}, "pulse_ms": {"long"}}, "pulse_ms"},
		{"lane with pulse out of range", "/access/lanes", url.Values{"name": {"L"}, "zone_id": {f.zone.ID}, "pulse_ms": {"5"}}, "pulse_ms"},
		{"lane on unknown floor", "/access/lanes", url.Values{"name": {"L"}, "zone_id": {f.zone.ID}, "floor_id": {"0000000000000000"}}, "floor_id"},
		{"group without doors", "/access/groups", url.Values{"name": {"G"}, "zone_ids": {"0000000000000000"}}, "lane_ids"},
		{"group without name", "/access/groups", url.Values{"name": {""}, "zone_ids": {f.zone.ID}}, "name"},
		{"profile with a bad range", "/access/profiles", url.Values{"name": {"P"}, "day1": {"8-18"}}, "day1"},
		{"profile with an empty range", "/access/profiles", url.Values{"name": {"P"}, "day2": {"08:00-08:00"}}, "day2"},
		{"profile with 25 o'clock", "/access/profiles", url.Values{"name": {"P"}, "day3": {"08:00-25:00"}}, "day3"},
		{"profile without name", "/access/profiles", url.Values{"name": {""}, "day1": {"08:00-18:00"}}, "name"},
		{"holiday with a bad date", "/access/holidays", url.Values{"date": {"2026-13-40"}, "name": {"X"}}, "date"},
		{"holiday without name", "/access/holidays", url.Values{"date": {"2026-12-25"}, "name": {""}}, "name"},
		{"card with a bad number", "/access/credentials", url.Values{"kind": {"card"}, "number": {"xyz"}, "holder_kind": {"employee"}, "holder_name": {"A"}}, "number"},
		{"PIN too short", "/access/credentials", url.Values{"kind": {"pin"}, "number": {"12"}, "holder_kind": {"visitor"}, "holder_name": {"A"}}, "number"},
		{"credential without holder", "/access/credentials", url.Values{"kind": {"card"}, "number": {"04A1B2C3"}, "holder_kind": {"contractor"}}, "holder_name"},
		{"unknown employee number", "/access/credentials", url.Values{"kind": {"card"}, "number": {"04A1B2C3"}, "holder_kind": {"employee"}, "employee_no": {"NOPE"}}, "employee_no"},
		{"bad valid-until date", "/access/credentials", url.Values{"kind": {"card"}, "number": {"04A1B2C3"}, "holder_kind": {"visitor"}, "holder_name": {"A"}, "valid_until": {"tomorrow"}}, "valid_until"},
		{"until before from", "/access/credentials", url.Values{"kind": {"card"}, "number": {"04A1B2C3"}, "holder_kind": {"visitor"}, "holder_name": {"A"}, "valid_from": {"2026-12-31"}, "valid_until": {"2026-01-01"}}, "valid_until"},
		{"limit in words", "/access/credentials", url.Values{"kind": {"card"}, "number": {"04A1B2C3"}, "holder_kind": {"visitor"}, "holder_name": {"A"}, "limit_day": {"two"}}, "limit_day"},
		{"unknown profile", "/access/credentials", url.Values{"kind": {"card"}, "number": {"04A1B2C3"}, "holder_kind": {"visitor"}, "holder_name": {"A"}, "profile_id": {"0000000000000000"}}, "profile_id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := h.do(req{method: "POST", path: tc.path, form: tc.form, session: h.session(auth.Manager)})
			body := readBody(t, resp)
			if resp.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422", resp.StatusCode)
			}
			// The date inputs report the credential's not_before / not_after.
			id := map[string]string{"valid_until": "not_after"}[tc.field]
			if id == "" {
				id = tc.field
			}
			if !strings.Contains(body, `id="e-`+id+`"`) && !strings.Contains(body, `id="e-`+tc.field+`"`) {
				t.Errorf("no error shown at %s", tc.field)
			}
		})
	}
}

func TestAccessEnrolShowsRightsInWords(t *testing.T) {
	h := newHarness(t)
	f := newAccessFixture(t, h)
	mgr := h.session(auth.Manager)
	resp := h.do(req{method: "POST", path: "/access/credentials", session: mgr, form: url.Values{
		"kind": {"card"}, "number": {"04:a1:b2:c3"}, "holder_kind": {"employee"}, "employee_no": {"E1"},
		"group_ids": {f.group.ID}, "profile_id": {f.profile.ID}, "valid_until": {"2026-12-31"}, "limit_day": {"2"}}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("enrol = %d: %s", resp.StatusCode, readBody(t, resp))
	}
	loc := resp.Header.Get("Location")
	cr, err := h.app.Access.CredentialByCard("04A1B2C3")
	if err != nil {
		t.Fatal(err)
	}
	if loc != "/access/credentials/"+cr.ID || cr.HolderName != "Wang" || cr.HolderID != h.ids["{person}"] || cr.Company != "Acme" {
		t.Fatalf("enrolled %+v, redirect %s", cr, loc)
	}
	resp = h.do(req{method: "GET", path: loc, session: h.session(auth.Reception), header: map[string]string{"Accept-Language": "en"}})
	body := readBody(t, resp)
	want := "Gate A (zone Lobby) — Mon–Fri 08:00–18:00, not on holidays — valid until 2026-12-31 — at most 2 entries a day"
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, want) {
		t.Fatalf("rights not shown as %q:\n%s", want, body)
	}

	// Search by name and by number.
	for _, q := range []string{"wan", "a1b2", "04:A1"} {
		body := readBody(t, h.do(req{method: "GET", path: "/access/credentials?q=" + url.QueryEscape(q), session: mgr}))
		if !strings.Contains(body, `id="cred-`+cr.ID+`"`) {
			t.Errorf("search %q does not find the card", q)
		}
	}
	if body := readBody(t, h.do(req{method: "GET", path: "/access/credentials?q=nobody", session: mgr})); strings.Contains(body, `id="cred-`+cr.ID+`"`) {
		t.Error("search for another name finds the card")
	}

	// Reception reports it lost; it can no longer be reactivated.
	if resp := h.do(req{method: "POST", path: loc + "/lost", session: h.session(auth.Reception)}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("report lost = %d", resp.StatusCode)
	}
	if cr, _ = h.app.Access.Credential(cr.ID); cr.State != access.StateLost {
		t.Fatalf("state %s after reporting lost", cr.State)
	}
	resp = h.do(req{method: "POST", path: loc + "/reactivate", session: mgr})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(readBody(t, resp), i18n.ZH.T("err.state_final")) {
		t.Fatalf("reactivate lost = %d, want 422 with the reason", resp.StatusCode)
	}
	// Replaced: the rights carry over to the new card.
	resp = h.do(req{method: "POST", path: loc + "/replace", session: mgr, form: url.Values{"number": {"04A1B2C4"}}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("replace = %d: %s", resp.StatusCode, readBody(t, resp))
	}
	n, err := h.app.Access.CredentialByCard("04A1B2C4")
	if err != nil || n.ProfileID != f.profile.ID || len(n.GroupIDs) != 1 || n.Replaces != cr.ID {
		t.Fatalf("replacement %+v, %v", n, err)
	}
	resp = h.do(req{method: "POST", path: "/access/credentials/" + n.ID + "/replace", session: mgr, form: url.Values{"number": {"zz"}}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("replace with a bad number = %d, want 422", resp.StatusCode)
	}
	if resp := h.do(req{method: "POST", path: "/access/credentials/" + n.ID + "/delete", session: mgr}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete = %d", resp.StatusCode)
	}
	if _, err := h.app.Access.Credential(n.ID); err == nil {
		t.Fatal("deleted credential still there")
	}
}

func TestAccessProfileRangesRoundTrip(t *testing.T) {
	h := newHarness(t)
	mgr := h.session(auth.Manager)
	resp := h.do(req{method: "POST", path: "/access/profiles", session: mgr, form: url.Values{
		"name": {"Shifts"}, "day1": {"08:00-12:00，13:00-18:00"}, "day5": {"22:00-06:00"}, "holidays": {"1"}}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save = %d: %s", resp.StatusCode, readBody(t, resp))
	}
	ps, err := h.app.Access.Profiles()
	if err != nil || len(ps) != 1 {
		t.Fatalf("profiles %v, %v", ps, err)
	}
	p := ps[0]
	if got := p.Week[1]; len(got) != 2 || got[0] != (access.Range{From: 480, To: 720}) || got[1] != (access.Range{From: 780, To: 1080}) {
		t.Errorf("Monday = %v", got)
	}
	if got := p.Week[5]; len(got) != 1 || got[0] != (access.Range{From: 1320, To: 360}) || !p.Holidays {
		t.Errorf("Friday = %v, holidays %v", got, p.Holidays)
	}
	body := readBody(t, h.do(req{method: "GET", path: "/access/profiles?edit=" + p.ID, session: mgr}))
	if !strings.Contains(body, `value="08:00-12:00, 13:00-18:00"`) || !strings.Contains(body, `value="22:00-06:00"`) {
		t.Errorf("edit form does not show the ranges as typed")
	}
	if resp := h.do(req{method: "GET", path: "/access/profiles?edit=nope", session: mgr}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("edit unknown = %d, want 404", resp.StatusCode)
	}
}

func TestAccessHolidayAddAndDelete(t *testing.T) {
	h := newHarness(t)
	mgr := h.session(auth.Manager)
	if resp := h.do(req{method: "POST", path: "/access/holidays", session: mgr, form: url.Values{"date": {"2026-12-25"}, "name": {"Christmas"}}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add = %d", resp.StatusCode)
	}
	if hs, _ := h.app.Access.Holidays(); len(hs) != 1 {
		t.Fatalf("holidays %v", hs)
	}
	if resp := h.do(req{method: "POST", path: "/access/holidays/2026-12-25/delete", session: mgr}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete = %d", resp.StatusCode)
	}
	if hs, _ := h.app.Access.Holidays(); len(hs) != 0 {
		t.Fatalf("holidays after delete %v", hs)
	}
}

func TestAccessBadInputNever500(t *testing.T) {
	h := newHarness(t)
	f := newAccessFixture(t, h)
	long := strings.Repeat("长", 3000)
	values := []string{"", long, "\x00\xff", "<b>", "-1", "99999999999999999999", f.zone.ID, "0000000000000000"}
	posts := []string{"/access/zones", "/access/lanes", "/access/groups", "/access/profiles", "/access/holidays", "/access/credentials"}
	keys := []string{"id", "name", "passback", "zone_id", "floor_id", "visitors", "pulse_ms", "lane_ids", "zone_ids", "floor_ids",
		"day0", "day1", "holidays", "date", "kind", "number", "holder_kind", "holder_name", "company", "employee_no", "group_ids",
		"profile_id", "valid_from", "valid_until", "limit_day", "limit_total"}
	for _, p := range posts {
		for _, v := range values {
			form := url.Values{}
			for _, k := range keys {
				form.Set(k, v)
			}
			if resp := h.do(req{method: "POST", path: p, form: form, session: h.session(auth.Admin)}); resp.StatusCode >= 500 {
				t.Errorf("POST %s with %q = %d", p, truncate(v), resp.StatusCode)
			}
		}
	}
	for _, p := range []string{"/access/credentials?offset=-3&q=" + url.QueryEscape(long), "/access/credentials?offset=999", "/access/zones?edit=x",
		"/access/lanes?edit=x", "/access/groups?edit=x", "/access/credentials/enrol-read?after=abc"} {
		if resp := h.do(req{method: "GET", path: p, session: h.session(auth.Admin)}); resp.StatusCode >= 500 {
			t.Errorf("GET %s = %d", truncate(p), resp.StatusCode)
		}
	}
}
