package ui

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance/auth"
	"gatehouse/appliance/visit"
)

// deskDay gives the harness's day one visit in every group of the desk's
// list, beside the harness's own application (waiting): an invited guest
// from another company (expected), a walk-in inside with a badge, one who
// came and left, and a cancelled invitation.
type deskDay struct {
	waiting, expected, inside, left, cancelled string
}

func newDeskDay(t *testing.T, h *harness) deskDay {
	t.Helper()
	ctx := context.Background()
	now := h.clock.Now()
	host := h.ids["{person}"]
	add := func(name, mobile, company string, walkIn bool) string {
		q := visit.Request{Name: name, Mobile: mobile, Company: company, HostID: host, Reason: "Meeting",
			From: now.Add(30 * time.Minute), Until: now.Add(90 * time.Minute)}
		var v visit.Visit
		var err error
		if walkIn {
			q.From = now
			v, _, err = h.app.Visits.WalkIn(ctx, "test", q)
		} else {
			v, _, err = h.app.Visits.Invite(ctx, "test", q)
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return v.ID
	}
	d := deskDay{waiting: h.ids["{visit}"],
		expected:  add("Expected Guest", "13700137101", "Globex", false),
		inside:    add("Inside Guest", "13700137102", "", true),
		left:      add("Gone Guest", "13700137103", "", true),
		cancelled: add("Cancelled Guest", "13700137104", "", false)}
	for _, err := range []error{
		h.app.Visits.Move(ctx, "test", d.inside, visit.EvEnter, ""),
		h.app.Visits.IssueBadge(ctx, "test", d.inside, "B-01"),
		h.app.Visits.Move(ctx, "test", d.left, visit.EvEnter, ""),
		h.app.Visits.Move(ctx, "test", d.left, visit.EvExit, ""),
		h.app.Visits.Move(ctx, "test", d.cancelled, visit.EvCancel, ""),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return d
}

var countRE = regexp.MustCompile(`id="count-([a-z]+)">([0-9]+)<`)

// todayCounts are the counts above the list, by group.
func todayCounts(body string) map[string]string {
	m := map[string]string{}
	for _, c := range countRE.FindAllStringSubmatch(body, -1) {
		m[c[1]] = c[2]
	}
	return m
}

var rowRE = regexp.MustCompile(`<tr id="today-([0-9a-z]{16})"`)

func todayRows(body string) []string {
	var ids []string
	for _, m := range rowRE.FindAllStringSubmatch(body, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

func TestDeskTodayCountsFiltersAndSearch(t *testing.T) {
	h := newHarness(t)
	d := newDeskDay(t, h)
	desk := h.session(auth.Reception)
	get := func(query string) string {
		t.Helper()
		resp := h.do(req{method: "GET", path: "/desk/today" + query, session: desk})
		b := readBody(t, resp)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /desk/today%s = %d", query, resp.StatusCode)
		}
		return b
	}

	b := get("")
	want := map[string]string{"all": "5", "expected": "1", "waiting": "1", "inside": "1", "left": "1", "other": "1", "badges": "1"}
	if got := todayCounts(b); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("counts = %v, want %v", got, want)
	}
	if got := todayRows(b); len(got) != 5 {
		t.Errorf("the whole day lists %d visits, want 5", len(got))
	}
	// Every action form carries the CSRF token.
	if forms, tokens := strings.Count(b, `<form method="post"`), strings.Count(b, `name="_csrf"`); forms == 0 || forms != tokens {
		t.Errorf("%d post forms, %d CSRF tokens", forms, tokens)
	}
	// The actions each state allows, and no others.
	for _, id := range []string{"admit-" + d.expected, "resend-" + d.expected, "badge-no-" + d.expected,
		"checkout-" + d.inside, "return-" + d.inside, "admit-" + d.left, "open-" + d.cancelled} {
		if !strings.Contains(b, `id="`+id+`"`) {
			t.Errorf("no #%s on the list", id)
		}
	}
	for _, id := range []string{"admit-" + d.inside, "checkout-" + d.expected, "admit-" + d.waiting, "resend-" + d.waiting,
		"admit-" + d.cancelled, "resend-" + d.cancelled, "badge-no-" + d.cancelled, "issue-" + d.inside} {
		if strings.Contains(b, `id="`+id+`"`) {
			t.Errorf("#%s is offered, which its visit's state does not allow", id)
		}
	}
	// The list polls itself, keeping its filter.
	if !strings.Contains(b, `hx-get="/desk/today"`) || !strings.Contains(b, `hx-trigger="every 5s"`) {
		t.Error("the list does not refresh itself")
	}
	if strings.Contains(get("?state=inside&q=guest"), `hx-get="/desk/today"`) {
		t.Error("the filtered list polls the whole day")
	}

	for _, tc := range []struct {
		query string
		rows  []string
		all   string
	}{
		{"?state=expected", []string{d.expected}, "5"},
		{"?state=waiting", []string{d.waiting}, "5"},
		{"?state=inside", []string{d.inside}, "5"},
		{"?state=left", []string{d.left}, "5"},
		{"?state=other", []string{d.cancelled}, "5"},
		{"?state=badges", []string{d.inside}, "5"},
		{"?badges=out", []string{d.inside}, "5"}, // the old link
		{"?q=globex", []string{d.expected}, "1"}, // the visitor's company
		{"?q=INSIDE", []string{d.inside}, "1"},   // the visitor's name, any case
		{"?q=wang&state=left", []string{d.left}, "5"},
		{"?q=acme&state=waiting", []string{d.waiting}, "5"}, // the company visited
		{"?q=nobody", nil, "0"},
		{"?state=bogus", []string{d.waiting, d.expected, d.inside, d.left, d.cancelled}, "5"},
		{"?offset=-3&state=inside", []string{d.inside}, "5"},
		{"?offset=999&state=inside", []string{d.inside}, "5"},
		{"?q=" + url.QueryEscape(strings.Repeat("长", 5000)), nil, "0"},
		{"?q=%00%ff", nil, "0"},
	} {
		b := get(tc.query)
		got := todayRows(b)
		if fmt.Sprint(sorted(got)) != fmt.Sprint(sorted(tc.rows)) {
			t.Errorf("%s lists %v, want %v", tc.query, got, tc.rows)
		}
		if c := todayCounts(b)["all"]; c != tc.all {
			t.Errorf("%s counts %s in all, want %s", tc.query, c, tc.all)
		}
	}
	// The "Returned" link that read like a state is gone: the badge's
	// state is a mark, taking it back is a button that says so.
	en := readBody(t, h.do(req{method: "GET", path: "/desk/today", session: desk, header: map[string]string{"Accept-Language": "en"}}))
	if strings.Contains(en, ">Returned<") || !strings.Contains(en, "Take back badge B-01") {
		t.Error("the badge's action does not say what it does")
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestDeskTodayPagesALongDay(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	now := h.clock.Now()
	for i := range 55 {
		if _, _, err := h.app.Visits.Invite(ctx, "test", visit.Request{Name: fmt.Sprintf("Guest %02d", i), Mobile: fmt.Sprintf("137%08d", i),
			HostID: h.ids["{person}"], Reason: "Conference", From: now.Add(time.Hour), Until: now.Add(2 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	desk := h.session(auth.Reception)
	b := readBody(t, h.do(req{method: "GET", path: "/desk/today?state=expected", session: desk}))
	if n := len(todayRows(b)); n != pageSize {
		t.Fatalf("first page lists %d, want %d", n, pageSize)
	}
	next := regexp.MustCompile(`href="([^"]*)" rel="next"`).FindStringSubmatch(b)
	if next == nil || !strings.Contains(next[1], "offset=50") || !strings.Contains(next[1], "state=expected") {
		t.Fatalf("no next page keeping the filter: %v", next)
	}
	b = readBody(t, h.do(req{method: "GET", path: strings.ReplaceAll(next[1], "&amp;", "&"), session: desk}))
	if n := len(todayRows(b)); n != 5 {
		t.Fatalf("second page lists %d, want 5", n)
	}
	if !strings.Contains(b, `hx-get="/desk/today?offset=50&amp;state=expected"`) {
		t.Error("the second page polls another page")
	}
}

func TestDeskActionsFromTodaysList(t *testing.T) {
	h := newHarness(t)
	d := newDeskDay(t, h)
	desk := h.session(auth.Reception)
	post := func(path string, form url.Values) *http.Response {
		t.Helper()
		resp := h.do(req{method: "POST", path: path, form: form, session: desk})
		readBody(t, resp)
		return resp
	}
	flashOf := func(resp *http.Response) string {
		for _, c := range resp.Cookies() {
			if c.Name == flashCookie {
				return c.Value
			}
		}
		return ""
	}
	state := func(id string) visit.Visit {
		t.Helper()
		v, err := h.app.Visits.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	back := url.Values{"back": {"state=expected&q=guest"}}

	// Admit: the expected guest is inside, by the guard, at the desk.
	resp := post("/desk/visits/"+d.expected+"/admit", back)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/desk/today?q=guest&state=expected" || flashOf(resp) != "flash.admitted" {
		t.Fatalf("admit = %d → %s (%s)", resp.StatusCode, resp.Header.Get("Location"), flashOf(resp))
	}
	v := state(d.expected)
	last := v.History[len(v.History)-1]
	if v.State != visit.In || v.FirstIn == 0 || last.By != "account:"+h.accounts[auth.Reception].ID || last.Note != "desk" {
		t.Fatalf("after admit: %s, first in %d, last step %+v", v.State, v.FirstIn, last)
	}
	// Twice (another guard was quicker): a notice, not an error page.
	if resp := post("/desk/visits/"+d.expected+"/admit", back); resp.StatusCode != http.StatusSeeOther || flashOf(resp) != "error.transition" {
		t.Fatalf("admit again = %d (%s)", resp.StatusCode, flashOf(resp))
	}
	// Check out.
	if resp := post("/desk/visits/"+d.expected+"/checkout", url.Values{"back": {"visit"}}); resp.StatusCode != http.StatusSeeOther ||
		resp.Header.Get("Location") != "/desk/visits/"+d.expected || state(d.expected).State != visit.Out {
		t.Fatalf("check out = %d → %s, state %s", resp.StatusCode, resp.Header.Get("Location"), state(d.expected).State)
	}
	// A badge: a number is needed; then it is out; then it is back.
	if resp := post("/desk/visits/"+d.waiting+"/badge", url.Values{"badge": {"  "}}); resp.StatusCode != http.StatusSeeOther || flashOf(resp) != "flash.badge_number" {
		t.Fatalf("badge without a number = %d (%s)", resp.StatusCode, flashOf(resp))
	}
	if resp := post("/desk/visits/"+d.waiting+"/badge", url.Values{"badge": {"B-07"}}); resp.StatusCode != http.StatusSeeOther || state(d.waiting).Badge != "B-07" {
		t.Fatalf("issue badge = %d, badge %q", resp.StatusCode, state(d.waiting).Badge)
	}
	if resp := post("/desk/visits/"+d.cancelled+"/badge", url.Values{"badge": {"B-08"}}); flashOf(resp) != "error.transition" || state(d.cancelled).Badge != "" {
		t.Fatalf("a badge for a cancelled visit: %s, badge %q", flashOf(resp), state(d.cancelled).Badge)
	}
	if resp := post("/desk/visits/"+d.waiting+"/badge-return", nil); resp.StatusCode != http.StatusSeeOther || state(d.waiting).BadgeBack == 0 {
		t.Fatalf("take back badge = %d", resp.StatusCode)
	}
	// Resend the pass: with no modem the desk is told to print or show it.
	if resp := post("/desk/visits/"+d.inside+"/resend", nil); resp.StatusCode != http.StatusSeeOther || flashOf(resp) != "flash.pass_no_sms" {
		t.Fatalf("resend without SMS = %d (%s)", resp.StatusCode, flashOf(resp))
	}
	h.app.Notify.EnableSMS(true)
	if resp := post("/desk/visits/"+d.inside+"/resend", nil); resp.StatusCode != http.StatusSeeOther || flashOf(resp) != "flash.pass_resent" {
		t.Fatalf("resend = %d (%s)", resp.StatusCode, flashOf(resp))
	}
	if resp := post("/desk/visits/"+d.waiting+"/resend", nil); flashOf(resp) != "error.transition" {
		t.Fatalf("resend for an unapproved visit: %s", flashOf(resp))
	}
	// A "back" that is not the list's query goes to the list.
	for _, b := range []string{"//evil.example", "https://evil.example/", "state=inside&offset=-4", "%zz"} {
		resp := post("/desk/visits/"+d.left+"/badge", url.Values{"badge": {"B-09"}, "back": {b}})
		if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/desk/today") {
			t.Errorf("back %q → %s", b, loc)
		}
	}
	// No CSRF token, no action; an unknown visit is not found.
	if resp := h.do(req{method: "POST", path: "/desk/visits/" + d.left + "/checkout", session: desk, csrf: "-"}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("check out without CSRF = %d", resp.StatusCode)
	}
	if resp := post("/desk/visits/0000000000000000/admit", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("admit an unknown visit = %d", resp.StatusCode)
	}

	// The visit's own page: its steps, by whom, and its actions.
	resp = h.do(req{method: "GET", path: "/desk/visits/" + d.expected, session: desk, header: map[string]string{"Accept-Language": "en"}})
	b := readBody(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(b, `id="visit-history"`) || !strings.Contains(b, string(auth.Reception)) ||
		!strings.Contains(b, `id="admit-`+d.expected+`"`) || !strings.Contains(b, `name="back" value="visit"`) {
		t.Fatalf("visit page = %d", resp.StatusCode)
	}
	if resp := h.do(req{method: "GET", path: "/desk/visits/0000000000000000", session: desk}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown visit's page = %d", resp.StatusCode)
	}
}

// TestDeskTodayRefusesOthers: hosts and visitors neither see the desk's
// list nor act on it.
func TestDeskTodayRefusesOthers(t *testing.T) {
	h := newHarness(t)
	d := newDeskDay(t, h)
	host := h.session(auth.Host)
	for _, r := range []req{
		{method: "GET", path: "/desk/today"},
		{method: "GET", path: "/desk/today?state=inside"},
		{method: "GET", path: "/desk/visits/" + d.expected},
		{method: "POST", path: "/desk/visits/" + d.expected + "/admit"},
		{method: "POST", path: "/desk/visits/" + d.inside + "/checkout"},
		{method: "POST", path: "/desk/visits/" + d.expected + "/badge", form: url.Values{"badge": {"X"}}},
		{method: "POST", path: "/desk/visits/" + d.inside + "/badge-return"},
		{method: "POST", path: "/desk/visits/" + d.expected + "/resend"},
	} {
		r.session = host
		if resp := h.do(r); resp.StatusCode != http.StatusForbidden {
			t.Errorf("host %s %s = %d, want 403", r.method, r.path, resp.StatusCode)
		}
		r.session = ""
		resp := h.do(r)
		if r.method == "GET" && (resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login")) {
			t.Errorf("anonymous GET %s = %d → %s, want the sign-in page", r.path, resp.StatusCode, resp.Header.Get("Location"))
		}
		if r.method == "POST" && resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("anonymous POST %s = %d, want 401", r.path, resp.StatusCode)
		}
	}
	if v, _ := h.app.Visits.Get(d.expected); v.State != visit.Approved || v.Badge != "" {
		t.Fatalf("a refused request changed the visit: %s, badge %q", v.State, v.Badge)
	}
}
