package ui

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance/auth"
	"gatehouse/appliance/visit"
)

func csvLines(t *testing.T, resp *http.Response) []string {
	t.Helper()
	b := readBody(t, resp)
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "text/csv") {
		t.Fatalf("csv = %d %s: %.200s", resp.StatusCode, ct, b)
	}
	return strings.Split(strings.TrimSuffix(strings.TrimPrefix(b, "\xEF\xBB\xBF"), "\r\n"), "\r\n")
}

func TestVisitorsList(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	// The harness booked "Visitor" (137...); Li comes twice, the second time tomorrow.
	for _, day := range []int{0, 1} {
		from := h.clock.Now().Add(2*time.Hour).AddDate(0, 0, day)
		if _, _, err := h.app.Visits.Invite(ctx, "t", visit.Request{Name: "Li Na", Mobile: "13600136000", HostID: h.ids["{person}"],
			Reason: "Audit", From: from, Until: from.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	desk := h.session(auth.Reception)
	resp := h.do(req{method: "GET", path: "/desk/visitors", session: desk, header: en})
	b := readBody(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("visitors = %d", resp.StatusCode)
	}
	li, vis := strings.Index(b, "136****6000"), strings.Index(b, "137****7000")
	if li < 0 || vis < 0 || li > vis || strings.Contains(b, "13600136000") {
		t.Errorf("visitors: Li Na (latest) first with a masked mobile, then Visitor: %d %d", li, vis)
	}
	if b := readBody(t, h.do(req{method: "GET", path: "/desk/visitors?name=li", session: desk})); strings.Contains(b, "137****7000") || !strings.Contains(b, "Li Na") {
		t.Error("search by name")
	}
	if b := readBody(t, h.do(req{method: "GET", path: "/desk/visitors?offset=1", session: desk})); strings.Contains(b, "Li Na") || !strings.Contains(b, "137****7000") {
		t.Error("second page")
	}
	lines := csvLines(t, h.do(req{method: "GET", path: "/desk/visitors.csv", session: desk, header: en}))
	if len(lines) != 3 || lines[0] != "Visitor,Mobile,Visitor's company,Visits,Last visit,Company visited last" ||
		!strings.HasPrefix(lines[1], "Li Na,136****6000,,2,") || !strings.HasSuffix(lines[1], ",Acme") {
		t.Errorf("visitors csv: %q", lines)
	}
	resp = h.do(req{method: "GET", path: "/desk/visitors.xlsx", session: desk})
	if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, "spreadsheetml") {
		t.Errorf("xlsx: %s", ct)
	}
	if resp := h.do(req{method: "GET", path: "/desk/visitors", session: h.session(auth.Host)}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("host = %d", resp.StatusCode)
	}
}

func TestRecordsAndPeopleExport(t *testing.T) {
	h := newHarness(t)
	desk := h.session(auth.Reception)
	day := h.clock.Now().In(h.app.Config.Location).Format("2006-01-02")
	b := readBody(t, h.do(req{method: "GET", path: "/desk/records?from=" + day + "&name=vis", session: desk}))
	if !strings.Contains(b, `href="/desk/records.csv?from=`+day+`&amp;name=vis"`) {
		t.Error("records page: no export link carrying the search")
	}
	lines := csvLines(t, h.do(req{method: "GET", path: "/desk/records.csv?from=" + day + "&name=vis", session: desk, header: en}))
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "Visitor,Mobile,") || !strings.HasPrefix(lines[1], "Visitor,137****7000,") {
		t.Errorf("records csv: %q", lines)
	}
	if lines := csvLines(t, h.do(req{method: "GET", path: "/desk/records.csv?from=" + day + "&name=nobody", session: desk})); len(lines) != 1 {
		t.Errorf("records csv for nobody: %q", lines)
	}
	if resp := h.do(req{method: "GET", path: "/desk/records.xlsx?from=x", session: desk}); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("bad range export = %d", resp.StatusCode)
	}

	b = readBody(t, h.do(req{method: "GET", path: "/directory/people?company={company}", session: desk}))
	if !strings.Contains(b, `id="people-csv"`) {
		t.Error("directory: no export link")
	}
	lines = csvLines(t, h.do(req{method: "GET", path: "/directory/people.csv?company={company}", session: desk, header: en}))
	if len(lines) != 2 || lines[1] != "Wang,,E1,Acme,1F,,138****8000,Active" {
		t.Errorf("people csv: %q", lines)
	}
	if lines := csvLines(t, h.do(req{method: "GET", path: "/directory/people.csv?q=nobody", session: desk})); len(lines) != 1 {
		t.Errorf("people csv for nobody: %q", lines)
	}
	resp := h.do(req{method: "GET", path: "/directory/people.xlsx", session: desk})
	if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, "spreadsheetml") {
		t.Errorf("people xlsx: %s", ct)
	}
}
