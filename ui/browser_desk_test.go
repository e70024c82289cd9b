package ui

// Browser tests of the desk's home (/desk/today) and the walk-in photo
// block, with the harness of browser_test.go.
//
//	go test ./ui/ -run 'BrowserDesk|BrowserPhotoHidden' -count=1 -v

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"gatehouse/appliance/visit"
	"gatehouse/ui/i18n"
)

// TestBrowserDeskAdmitsAnExpectedVisitor: a guard at a 1024 px lobby PC
// opens today's list, admits a visitor expected today with the row's
// button, and sees the row say they are inside; a visit the gate moves
// afterwards shows on the list without a reload.
func TestBrowserDeskAdmitsAnExpectedVisitor(t *testing.T) {
	start := time.Now()
	app, base := startBrowserApp(t)
	fx := setUpVisits(t, app)
	loc := app.Config.Location
	day, from, until := visitWindow(t, loc)
	f, err1 := time.ParseInLocation("2006-01-02 15:04", day+" "+from, loc)
	u, err2 := time.ParseInLocation("2006-01-02 15:04", day+" "+until, loc)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	const guest = "韩梅梅 Han Meimei"
	v, _, err := app.Visits.Invite(context.Background(), "test", visit.Request{Name: guest, Mobile: "13900139011",
		Company: "Globex", HostID: fx.host.ID, Reason: "Interview", From: f, Until: u})
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := app.Visits.Invite(context.Background(), "test", visit.Request{Name: "李雷 Li Lei", Mobile: "13900139012",
		HostID: fx.host.ID, Reason: "Interview", From: f, Until: u})
	if err != nil {
		t.Fatal(err)
	}

	b := startBrowser(t, base)
	b.do("a lobby PC's screen", chromedp.EmulateViewport(1024, 768))
	b.mustLogin(visitsDeskUser, visitsDeskPass)
	b.open("/desk/today", "today-"+v.ID)
	if b.eval(`document.documentElement.lang`) != "zh-CN" {
		if st := b.submit("lang-zh"); st != http.StatusOK {
			b.fatalf("switch to Chinese: status %d", st)
		}
		b.do("wait for today's list", chromedp.WaitVisible(chromedp.ID("today-"+v.ID)))
	}
	row := "#today-" + v.ID
	if got := b.text(chromedp.CSS(row + " .state-name")); got != i18n.ZH.T("state.approved") {
		b.fatalf("before: state %q, want %q", got, i18n.ZH.T("state.approved"))
	}
	if got := b.text("#count-expected"); got != "2" {
		b.fatalf("expected count = %s, want 2", got)
	}
	// Chinese headers stay on one line at 1024 px, and the list fits.
	if bad := b.eval(`(() => {
		const ths = [...document.querySelectorAll('#today th')];
		const h = Math.min(...ths.map(th => th.getBoundingClientRect().height));
		return ths.filter(th => th.getBoundingClientRect().height > h + 1 || th.scrollWidth > th.clientWidth + 1).map(th => th.innerText).join(", ");
	})()`); bad != "" {
		b.fatalf("headers wrap or overflow at 1024 px: %s", bad)
	}
	if over := b.eval(`String(Math.round(document.getElementById('today').getBoundingClientRect().right - document.documentElement.clientWidth))`); !strings.HasPrefix(over, "-") && over != "0" {
		b.fatalf("today's list is %s px wider than the screen", over)
	}

	// Search narrows the list; the counts follow the search.
	b.fill("today-q", "Globex")
	if st := b.submit("today-search-go"); st != http.StatusOK {
		b.fatalf("search: status %d", st)
	}
	b.do("wait for the result", chromedp.WaitVisible(chromedp.ID("today-"+v.ID)))
	if b.exists("#today-"+other.ID) || b.text("#count-all") != "1" {
		b.fatalf("search for Globex lists Li Lei or counts %s", b.text("#count-all"))
	}

	// Admit.
	if st := b.submit("admit-" + v.ID); st != http.StatusOK {
		b.fatalf("admit: status %d", st)
	}
	b.do("wait for today's list", chromedp.WaitVisible(chromedp.ID("today-"+v.ID)))
	b.wantFlash("flash.admitted")
	if got := b.text(chromedp.CSS(row + " .state-name")); got != i18n.ZH.T("state.in") {
		b.fatalf("after admit: state %q, want %q", got, i18n.ZH.T("state.in"))
	}
	if !b.exists("#checkout-"+v.ID) || b.exists("#admit-"+v.ID) {
		b.fatalf("after admit the row does not offer check-out instead of admit")
	}
	if got := b.text("#count-inside"); got != "1" {
		b.fatalf("inside count = %s, want 1", got)
	}
	if p := b.path(); p != "/desk/today?q=Globex" {
		b.fatalf("after admit at %s, want back on the searched list", p)
	}
	if got, err := app.Visits.Get(v.ID); err != nil || got.State != visit.In {
		t.Fatalf("visit after admit: %s (%v)", got.State, err)
	}

	// The gate lets them out: the list says so within a poll, no reload.
	if err := app.Visits.Move(context.Background(), "device:lane-1", v.ID, visit.EvExit, ""); err != nil {
		t.Fatal(err)
	}
	b.waitFor("the list to show the exit", fmt.Sprintf(`(() => {
		const s = document.querySelector(%q);
		return s !== null && s.innerText.trim() === %q;
	})()`, row+" .state-name", i18n.ZH.T("state.out")))
	if b.exists("#today-" + other.ID) {
		b.fatalf("the refresh dropped the search")
	}
	t.Logf("took %v", time.Since(start).Round(time.Millisecond))
}

// TestBrowserPhotoHidden: before the camera is
// opened the photo block is the one button, not a black video box, a
// broken image and a "take photo" button.
func TestBrowserPhotoHidden(t *testing.T) {
	app, base := startBrowserApp(t)
	setUpVisits(t, app)
	b := startBrowser(t, base)
	b.mustLogin(visitsDeskUser, visitsDeskPass)
	b.open("/desk/walkin", "walkin-form")
	for _, id := range []string{"photo-video", "photo-canvas", "photo-preview", "photo-take"} {
		if got := b.eval(fmt.Sprintf(`getComputedStyle(document.getElementById(%q)).display`, id)); got != "none" {
			b.fatalf("#%s shows before the camera opens (display %s)", id, got)
		}
	}
}
