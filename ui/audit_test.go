package ui

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"gatehouse/appliance/auth"
	"gatehouse/appliance/directory"
)

var auditRow = regexp.MustCompile(`<td data-label="#">(\d+)</td>`)

func TestAuditPageNamesFiltersAndPages(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	admin := h.accounts[auth.Admin]
	by := "account:" + admin.ID
	// 105 floors saved by the administrator, then one person.
	for i := range 105 {
		if _, err := h.app.Directory.SaveFloor(ctx, by, directory.Floor{Name: fmt.Sprintf("B%d", i), Level: 2 + i%50}); err != nil {
			t.Fatal(err)
		}
	}
	li, err := h.app.Directory.SavePerson(ctx, by, directory.Person{Kind: directory.Employee, Name: "Li Lei", Mobile: "13900139000",
		CompanyID: h.ids["{company}"], FloorID: h.ids["{floor}"], EmployeeNo: "E2"})
	if err != nil {
		t.Fatal(err)
	}
	sid := h.session(auth.Admin)
	get := func(path string) (int, string) {
		resp := h.do(req{method: "GET", path: path, session: sid, header: map[string]string{"Accept-Language": "en"}})
		return resp.StatusCode, readBody(t, resp)
	}

	// Names, not IDs: the actor by name and account, the records by name.
	_, b := get("/admin/audit")
	for _, want := range []string{">admin (u-admin)<", ">Li Lei<", `title="person:` + li.ID + `"`, `rel="next"`, `id="audit-csv"`} {
		if !strings.Contains(b, want) {
			t.Errorf("audit page lacks %q", want)
		}
	}
	for _, raw := range []string{">account:", ">person:", ">visit:"} {
		if strings.Contains(b, raw) {
			t.Errorf("audit page shows a raw reference %q", raw)
		}
	}
	if n := len(auditRow.FindAllString(b, -1)); n != auditPageSize {
		t.Errorf("first page has %d rows, want %d", n, auditPageSize)
	}

	// By actor: the administrator's 106 entries, on two pages.
	_, b = get("/admin/audit?actor=" + by)
	rows := auditRow.FindAllStringSubmatch(b, -1)
	next := regexp.MustCompile(`href="(/admin/audit\?[^"]*before=\d+)" rel="next"`).FindStringSubmatch(b)
	if len(rows) != 100 || next == nil {
		t.Fatalf("by actor: %d rows, next %v", len(rows), next)
	}
	_, b2 := get(strings.ReplaceAll(next[1], "&amp;", "&"))
	if n := len(auditRow.FindAllString(b2, -1)); n != 6 || strings.Contains(b2, `rel="next"`) || !strings.Contains(b2, `rel="first"`) {
		t.Errorf("by actor, page 2: %d rows, want 6 and no next page", n)
	}
	if _, b = get("/admin/audit?type=visit.create"); !strings.Contains(b, ">Visit of Visitor<") {
		t.Error("a visit is not named by its visitor")
	}
	// By type, and by date: nothing tomorrow.
	_, b = get("/admin/audit?type=directory.person.save&actor=" + by)
	if n := len(auditRow.FindAllString(b, -1)); n != 1 || !strings.Contains(b, ">Li Lei<") {
		t.Errorf("by type: %d rows", n)
	}
	tomorrow := h.clock.Now().In(h.app.Config.Location).AddDate(0, 0, 1).Format("2006-01-02")
	if _, b = get("/admin/audit?from=" + tomorrow); len(auditRow.FindAllString(b, -1)) != 0 {
		t.Error("entries listed from tomorrow on")
	}
	if code, _ := get("/admin/audit?from=2026-11-30&to=2026-11-01"); code != http.StatusUnprocessableEntity {
		t.Errorf("backwards range = %d", code)
	}
	if resp := h.do(req{method: "GET", path: "/admin/audit", session: h.session(auth.Manager)}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("manager = %d", resp.StatusCode)
	}
}

func TestAuditExport(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	by := "account:" + h.accounts[auth.Admin].ID
	if _, err := h.app.Directory.SaveFloor(ctx, by, directory.Floor{Name: "B1", Level: -1}); err != nil {
		t.Fatal(err)
	}
	sid := h.session(auth.Admin)
	resp := h.do(req{method: "GET", path: "/admin/audit.csv?actor=" + by, session: sid, header: map[string]string{"Accept-Language": "en"}})
	b := readBody(t, resp)
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "text/csv") {
		t.Fatalf("csv = %d %s", resp.StatusCode, ct)
	}
	lines := strings.Split(strings.TrimPrefix(b, "\xEF\xBB\xBF"), "\r\n")
	if len(lines) != 3 || lines[0] != "#,Time,Who,What,Record,Record reference,Note" ||
		!strings.Contains(lines[1], ",admin (u-admin),") || !strings.Contains(lines[1], ",B1,floor:") {
		t.Errorf("csv:\n%s", b)
	}
	resp = h.do(req{method: "GET", path: "/admin/audit.xlsx", session: sid})
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || !strings.Contains(ct, "spreadsheetml") {
		t.Errorf("xlsx = %d %s", resp.StatusCode, ct)
	}
}
