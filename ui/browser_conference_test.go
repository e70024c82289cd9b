package ui

// A browser test of the conference way in (DOMAIN.md, "Conference"):
// reception pastes an attendee list copied from a spreadsheet — tabs
// between cells, some cells empty — and every attendee is registered with
// their own company, an empty mobile accepted (issue "The lobby's day, to
// the last metre", item 14). A bad row first refuses the whole list by its
// line.
//
//	go test ./ui/ -run 'BrowserConferencePaste' -count=1 -v

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"gatehouse/appliance/visit"
)

// paste puts text into the element with id the way a clipboard paste does:
// focused, inserted whole, tabs and line breaks included (typing a tab
// would move the focus instead).
func (b *browser) paste(id, text string) {
	b.t.Helper()
	b.do("paste into #"+id, chromedp.WaitVisible(chromedp.ID(id)), chromedp.Focus(chromedp.ID(id)),
		chromedp.Evaluate[chromedp.Void](`document.activeElement.value = ""`),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, input.InsertText, input.InsertTextParams{Text: text})
			return err
		}))
	if got := b.eval(fmt.Sprintf(`document.getElementById(%q).value`, id)); got != text {
		b.fatalf("paste #%s: value is %q, want %q", id, got, text)
	}
}

func TestBrowserConferencePasteWithEmptyCells(t *testing.T) {
	app, base := startBrowserApp(t)
	fx := setUpVisits(t, app)
	now := app.Clock.Now()
	m, err := app.Conferences.Create(context.Background(), "test", visit.MeetingInput{Name: "Annual Summit 年会",
		HostID: fx.host.ID, From: now.Add(-5 * time.Minute), Until: now.Add(3 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	b := startBrowser(t, base)
	b.mustLogin(visitsDeskUser, visitsDeskPass)

	// As copied from a spreadsheet: a header in Chinese, then rows with an
	// empty company, an empty mobile, and a row of nothing but empty cells.
	good := "姓名\t手机\t单位\t称呼\n" +
		"Zhao Wei\t13800138000\tAcme\tMr\n" +
		"Lucy Liu\t13900139001\t\tMs\n" +
		"王芳\t\t某某公司\t女士\n" +
		"\t\t\t\n"
	// The same with a bad mobile on line 3: nothing is registered.
	bad := strings.Replace(good, "13900139001", "1390013", 1)

	b.open("/desk/conferences/"+m.ID+"/register", "f-list")
	b.paste("f-list", bad)
	if st := b.submit("register-submit"); st != http.StatusUnprocessableEntity {
		b.fatalf("a list with a bad row: status %d, want 422", st)
	}
	b.do("wait for the refusal", chromedp.WaitVisible(chromedp.ID("list-errors")))
	if row := b.text(chromedp.CSS("#list-errors tbody tr")); !strings.HasPrefix(strings.TrimSpace(row), "3") {
		b.fatalf("the refusal's first row = %q, want line 3", row)
	}
	if vs, err := app.Conferences.Attendees(m.ID); err != nil || len(vs) != 0 {
		t.Fatalf("%d attendees written from a refused list (%v)", len(vs), err)
	}

	b.paste("f-list", good)
	if st := b.submit("register-submit"); st != http.StatusOK {
		b.fatalf("register the list: status %d", st)
	}
	b.do("wait for the conference page", chromedp.WaitVisible(chromedp.ID("attendees")))
	vs, err := app.Conferences.Attendees(m.ID)
	if err != nil || len(vs) != 3 {
		t.Fatalf("%d attendees registered (%v), want 3", len(vs), err)
	}
	want := []struct{ name, company, title, masked string }{
		{"Zhao Wei", "Acme", "Mr", "138****8000"},
		{"Lucy Liu", "", "Ms", "139****9001"},
		{"王芳", "某某公司", "女士", ""},
	}
	for i, w := range want {
		v := vs[i]
		if v.Visitor.Name != w.name || v.Visitor.Company != w.company || v.Visitor.Title != w.title || v.Visitor.MobileMasked != w.masked {
			t.Errorf("attendee %d = %q %q %q %q, want %+v", i, v.Visitor.Name, v.Visitor.Company, v.Visitor.Title, v.Visitor.MobileMasked, w)
		}
		cells := b.rowCells("#attendee-" + v.ID)
		if len(cells) < 2 || !strings.Contains(cells[0], w.name) || cells[1] != w.company {
			b.fatalf("the page's row of %s = %q, want company %q", w.name, cells, w.company)
		}
	}
}
