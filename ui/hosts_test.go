package ui

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"gatehouse/appliance/auth"
	"gatehouse/appliance/directory"
)

// TestDeskHostLookupFindsHostsTheWayPeopleAsk: the desk finds a host by
// the company's English or Chinese name, the person's English name, pinyin
// (full and initials), employee number and the last 4 digits of the mobile.
// Before, "Star", "星辰" and "wang" found nothing for a host named 王磊 at
// 星辰科技 Star Tech.
func TestDeskHostLookupFindsHostsTheWayPeopleAsk(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	fl := h.ids["{floor}"]
	co, err := h.app.Directory.SaveCompany(ctx, "test", directory.Company{Name: "星辰科技 Star Tech", FloorIDs: []string{fl}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := h.app.Directory.SavePerson(ctx, "test", directory.Person{Kind: directory.Employee, Name: "王磊", EnglishName: "Leo Wang",
		Mobile: "13912345678", CompanyID: co.ID, FloorID: fl, EmployeeNo: "ST-0042", CanHost: true})
	if err != nil {
		t.Fatal(err)
	}
	desk := h.session(auth.Reception)
	for _, q := range []string{"Star", "星辰", "wang", "wang lei", "wanglei", "wl", "Leo", "st-0042", "5678", "王磊", "磊"} {
		b := readBody(t, h.do(req{method: "GET", path: "/desk/hosts?host_q=" + url.QueryEscape(q), session: desk}))
		if !strings.Contains(b, `value="`+p.ID+`"`) {
			t.Errorf("desk lookup %q: 王磊 not found", q)
			continue
		}
		if !strings.Contains(b, "星辰科技 Star Tech") || !strings.Contains(b, "1F") {
			t.Errorf("desk lookup %q: no company or floor shown", q)
		}
	}
}

// TestBookHostSearchFindsByNameNotByPhone: the public booking page finds a
// host of the chosen company by English name and pinyin, never by the
// mobile's digits.
func TestBookHostSearchFindsByNameNotByPhone(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	fl, co := h.ids["{floor}"], h.ids["{company}"]
	p, err := h.app.Directory.SavePerson(ctx, "test", directory.Person{Kind: directory.Employee, Name: "王磊", EnglishName: "Leo Wang",
		Mobile: "13912345678", CompanyID: co, FloorID: fl, EmployeeNo: "ST-0042", CanHost: true})
	if err != nil {
		t.Fatal(err)
	}
	search := func(q string) string {
		return readBody(t, h.do(req{method: "GET", path: "/book/hosts?company_id=" + co + "&host_q=" + url.QueryEscape(q)}))
	}
	for _, q := range []string{"Leo", "wanglei", "wl", "王磊"} {
		if !strings.Contains(search(q), `value="`+p.ID+`"`) {
			t.Errorf("booking search %q: 王磊 not found", q)
		}
	}
	for _, q := range []string{"5678", "13912345678"} {
		if strings.Contains(search(q), `value="`+p.ID+`"`) {
			t.Errorf("booking search %q found the host by phone digits", q)
		}
		// The lobby kiosk is as public as the booking page.
		b := readBody(t, h.do(req{method: "GET", path: "/kiosk/hosts?company_id=" + co + "&host_q=" + q, kiosk: true}))
		if strings.Contains(b, `value="`+p.ID+`"`) {
			t.Errorf("kiosk search %q found the host by phone digits", q)
		}
	}
	b := readBody(t, h.do(req{method: "GET", path: "/kiosk/hosts?company_id=" + co + "&host_q=wl", kiosk: true}))
	if !strings.Contains(b, `value="`+p.ID+`"`) || !strings.Contains(b, "Leo Wang") {
		t.Error("kiosk search by initials: 王磊 (Leo Wang) not found")
	}
}

// TestPersonFormSavesEnglishNameTheDeskFinds: the person form has the
// optional English name, and the desk finds the host by it at once.
func TestPersonFormSavesEnglishNameTheDeskFinds(t *testing.T) {
	h := newHarness(t)
	mgr := h.session(auth.Manager)
	if b := readBody(t, h.do(req{method: "GET", path: "/directory/people/new", session: mgr})); !strings.Contains(b, `name="english_name"`) {
		t.Fatal("no English name on the person form")
	}
	form := url.Values{"kind": {"employee"}, "name": {"张伟"}, "english_name": {"David Zhang"}, "mobile": {"13711112222"},
		"company_id": {h.ids["{company}"]}, "floor_id": {h.ids["{floor}"]}, "employee_no": {"E77"}, "can_host": {"1"}}
	if resp := h.do(req{method: "POST", path: "/directory/people", form: form, session: mgr}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save person = %d: %s", resp.StatusCode, readBody(t, resp))
	}
	desk := h.session(auth.Reception)
	for _, q := range []string{"david", "zhangwei", "zw", "2222"} {
		if b := readBody(t, h.do(req{method: "GET", path: "/desk/hosts?host_q=" + q, session: desk})); !strings.Contains(b, "张伟") {
			t.Errorf("desk lookup %q: 张伟 not found", q)
		}
	}
}
