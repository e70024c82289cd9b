package ui

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance/access"
	"gatehouse/appliance/auth"
	"gatehouse/appliance/gate"
)

// gatePassages enrols a card for the harness's employee (Wang, Acme) and
// passes the gates: in and out three hours later, in again a day after the first, then ships the
// events to the store.
func gatePassages(t *testing.T, h *harness) {
	t.Helper()
	ctx := context.Background()
	z, _ := h.app.Access.SaveZone(ctx, "t", access.Zone{Name: "Lobby"})
	l, _ := h.app.Access.SaveLane(ctx, "t", access.Lane{Name: "Gate 1", ZoneID: z.ID})
	g, _ := h.app.Access.SaveGroup(ctx, "t", access.Group{Name: "All", ZoneIDs: []string{z.ID}})
	if _, err := h.app.Access.Enrol(ctx, "t", access.Credential{Kind: access.Card, Number: "0BADF00D", HolderKind: access.HolderEmployee,
		HolderID: h.ids["{person}"], HolderName: "Wang", GroupIDs: []string{g.ID}}); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		d   gate.Direction
		gap time.Duration
	}{{gate.In, 0}, {gate.Out, 3 * time.Hour}, {gate.In, 21 * time.Hour}} {
		h.clock.Advance(step.gap)
		if _, err := h.app.Access.Decide(ctx, gate.Presentation{Lane: l.ID, Direction: step.d, Kind: gate.Card, Value: "0BADF00D", Device: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.app.Access.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestAttendancePage(t *testing.T) {
	h := newHarness(t)
	start := h.clock.Now()
	gatePassages(t, h)
	loc := h.app.Config.Location
	in1, out1, in2 := start.In(loc).Format("15:04"), start.Add(3*time.Hour).In(loc).Format("15:04"), start.Add(24*time.Hour).In(loc).Format("15:04")
	day1, day2 := start.In(loc).Format("2006-01-02"), start.Add(24*time.Hour).In(loc).Format("2006-01-02")
	mgr := h.session(auth.Manager)

	// This week by default: two days of Wang's.
	resp := h.do(req{method: "GET", path: "/reports/attendance", session: mgr})
	b := readBody(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("attendance = %d", resp.StatusCode)
	}
	for _, want := range []string{"Wang", "Acme", day1 + " <span", day2 + " <span", in1, out1, in2, `id="attendance-csv"`, `id="nav-attendance"`} {
		if !strings.Contains(b, want) {
			t.Errorf("attendance page lacks %q", want)
		}
	}
	// A company with nobody at the gates, and the next page: empty.
	for _, path := range []string{"/reports/attendance?company=nobody", "/reports/attendance?offset=100"} {
		if b := readBody(t, h.do(req{method: "GET", path: path, session: mgr})); strings.Contains(b, day1+" <span") {
			t.Errorf("%s lists Wang's day", path)
		}
	}
	// Paging: the second row only.
	if b := readBody(t, h.do(req{method: "GET", path: "/reports/attendance?offset=1", session: mgr})); strings.Contains(b, day1+" <span") || !strings.Contains(b, day2+" <span") {
		t.Error("offset=1 does not start at the second row")
	}
	// Bad and too long ranges are field errors.
	for _, q := range []string{"from=2026-11-30&to=2026-11-01", "from=x", "from=2026-01-01&to=2026-03-15"} {
		if resp := h.do(req{method: "GET", path: "/reports/attendance?" + q, session: mgr}); resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("%s = %d, want 422", q, resp.StatusCode)
		}
		if resp := h.do(req{method: "GET", path: "/reports/attendance.csv?" + q, session: mgr}); resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("csv %s = %d, want 422", q, resp.StatusCode)
		}
	}
	// Reception and hosts do not see it.
	for _, r := range []auth.Role{auth.Reception, auth.Host} {
		if resp := h.do(req{method: "GET", path: "/reports/attendance", session: h.session(r)}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s = %d, want 403", r, resp.StatusCode)
		}
	}
}

func TestAttendanceExport(t *testing.T) {
	h := newHarness(t)
	start := h.clock.Now()
	gatePassages(t, h)
	loc := h.app.Config.Location
	admin := h.session(auth.Admin)
	resp := h.do(req{method: "GET", path: "/reports/attendance.csv", session: admin, header: map[string]string{"Accept-Language": "en"}})
	b := readBody(t, resp)
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "text/csv") {
		t.Fatalf("csv = %d %s", resp.StatusCode, ct)
	}
	lines := strings.Split(strings.TrimPrefix(b, "\xEF\xBB\xBF"), "\r\n")
	want := []string{
		"Company,Name,Employee number,Day,First in,Last out,Days present",
		"Acme,Wang,E1," + start.In(loc).Format("2006-01-02") + "," + start.In(loc).Format("2006-01-02 15:04") + "," + start.Add(3*time.Hour).In(loc).Format("2006-01-02 15:04") + ",2",
		"Acme,Wang,E1," + start.Add(24*time.Hour).In(loc).Format("2006-01-02") + "," + start.Add(24*time.Hour).In(loc).Format("2006-01-02 15:04") + ",,2",
	}
	if len(lines) < 3 || strings.Join(lines[:3], "\n") != strings.Join(want, "\n") {
		t.Errorf("csv:\n%s\nwant:\n%s", b, strings.Join(want, "\n"))
	}
	resp = h.do(req{method: "GET", path: "/reports/attendance.xlsx?company={company}", session: admin})
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || !strings.Contains(ct, "spreadsheetml") {
		t.Fatalf("xlsx = %d %s", resp.StatusCode, ct)
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.Contains(cd, "attendance-") {
		t.Errorf("xlsx file name: %s", cd)
	}
}
