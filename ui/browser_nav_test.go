package ui

// Browser test of where each role lands and the grouped navigation, with
// the harness of browser_test.go.
//
//	CI=1 go test ./ui/ -run 'TestBrowserRoleHomes' -count=1 -v

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"gatehouse/appliance/auth"
)

// TestBrowserRoleHomes: each role signs in and lands where its work is —
// the desk's list, the day's flow, the administrator's checklist, the
// host's home — and the navigation shows that role's task groups. At a
// 1024×768 tablet and at a 390-px phone the desk opens its group and
// reaches the walk-in form, and the open menu stays on the screen.
func TestBrowserRoleHomes(t *testing.T) {
	app, base := startBrowserApp(t)
	ctx := context.Background()
	for _, a := range []auth.NewAccount{
		{Username: "desk", Name: "Desk Li", Role: auth.Reception, Password: "desk-password-1"},
		{Username: "mgr", Name: "Manager Wu", Role: auth.Manager, Password: "mgr-password-1"},
		{Username: "emp", Name: "Host Zhao", Role: auth.Host, Password: "emp-password-1"},
	} {
		if _, err := app.Auth.CreateAccount(ctx, "test", a); err != nil {
			t.Fatal(err)
		}
	}
	b := startBrowser(t, base)
	groups := `Array.from(document.querySelectorAll("#nav details")).map(d => d.id).join(",")`
	links := `Array.from(document.querySelectorAll("#nav > a")).map(a => a.getAttribute("href")).join(",")`
	for _, tc := range []struct {
		user, pass     string
		land, landID   string
		groups, direct string // the nav's groups, and its links outside any group
	}{
		{"desk", "desk-password-1", "/desk/today", "today-search", "navg-desk,navg-gates,navg-building", "/flow"},
		{"mgr", "mgr-password-1", "/flow", "nav", "navg-desk,navg-gates,navg-building,navg-reports", ""},
		{browserAdminUser, browserAdminPass, "/", "checklist", "navg-desk,navg-gates,navg-building,navg-reports,navg-admin", ""},
		{"emp", "emp-password-1", "/", "logout", "", "/host/visits,/my/pass"},
	} {
		b.do("tablet", chromedp.EmulateViewport(1024, 768))
		if st := b.login(tc.user, tc.pass); st != http.StatusOK {
			b.fatalf("sign in as %s: status %d", tc.user, st)
		}
		b.do("wait for "+tc.user+"'s start page", chromedp.WaitVisible(chromedp.ID(tc.landID)))
		if p := b.path(); p != tc.land {
			b.fatalf("%s landed on %s, want %s", tc.user, p, tc.land)
		}
		if g := strings.Trim(b.eval(groups), `"`); g != tc.groups {
			b.fatalf("%s's nav groups: %q, want %q", tc.user, g, tc.groups)
		}
		if l := strings.Trim(b.eval(links), `"`); l != tc.direct {
			b.fatalf("%s's nav links outside groups: %q, want %q", tc.user, l, tc.direct)
		}
		// The brand link is the same start page.
		b.do("brand link", chromedp.Click(chromedp.CSS("a.brand")), chromedp.WaitVisible(chromedp.ID(tc.landID)))
		if p := b.path(); p != tc.land {
			b.fatalf("%s's brand link led to %s, want %s", tc.user, p, tc.land)
		}
		b.logout()
	}

	// The desk, at the tablet and at a phone: the Desk group opens on a
	// tap, its menu is on the screen, and the walk-in form is one more tap.
	for _, size := range [][2]int64{{1024, 768}, {390, 844}} {
		b.do("viewport", chromedp.EmulateViewport(size[0], size[1]))
		b.mustLogin("desk", "desk-password-1")
		if b.eval(`document.querySelector("#nav-walkin").checkVisibility() ? "shown" : "folded"`) != "folded" {
			b.fatalf("%d px: the Desk menu is open before it is tapped", size[0])
		}
		b.do("open the Desk group", chromedp.Click(chromedp.CSS("#navg-desk > summary")), chromedp.WaitVisible(chromedp.ID("nav-walkin")))
		fit := `(() => { const r = document.querySelector("#navg-desk .navmenu").getBoundingClientRect();
			return r.left >= 0 && r.right <= document.documentElement.clientWidth + 1 ? "fits" : "left " + r.left + " right " + r.right; })()`
		if got := strings.Trim(b.eval(fit), `"`); got != "fits" {
			b.fatalf("%d px: the open Desk menu leaves the screen: %s", size[0], got)
		}
		// Opening another group closes the first (exclusive <details>).
		b.do("open the Gates group", chromedp.Click(chromedp.CSS("#navg-gates > summary")), chromedp.WaitVisible(chromedp.ID("nav-guard")))
		if b.eval(`document.querySelector("#navg-desk").open ? "open" : "closed"`) != "closed" {
			b.fatalf("%d px: two groups open at once", size[0])
		}
		b.do("open the Desk group again", chromedp.Click(chromedp.CSS("#navg-desk > summary")), chromedp.WaitVisible(chromedp.ID("nav-walkin")))
		if _, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.ID("nav-walkin"))); err != nil {
			b.fatalf("walk-in link: %v", err)
		}
		if p := b.path(); p != "/desk/walkin" {
			b.fatalf("%d px: the walk-in link led to %s", size[0], p)
		}
		if b.eval(`document.querySelector("#navg-desk").classList.contains("active") ? "marked" : "not"`) != "marked" {
			b.fatalf("%d px: the Desk group is not marked on the walk-in form", size[0])
		}
		b.logout()
	}
}
