package ui

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"gatehouse/appliance/visit"
)

// TestBrowserSiteMap: an invited visitor's pass page on a phone shows the
// host's message, the directions and the site map picture (loaded, and
// within the screen's width).
func TestBrowserSiteMap(t *testing.T) {
	app, base := startBrowserApp(t)
	fx := setUpVisits(t, app)
	ctx := context.Background()
	id, err := app.Notices.AddImage(ctx, "test", testPNG(t, 1600, 900))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.SaveSettings(ctx, "test", map[string]string{"map_image": id, "map_directions": "North gate, lift B to 8F"}); err != nil {
		t.Fatal(err)
	}
	now := app.Clock.Now()
	_, link, err := app.Visits.Invite(ctx, "test", visit.Request{Name: "Maria Garcia", Mobile: "13900139005", HostID: fx.host.ID,
		Reason: "Meeting", Message: "Bring the signed contract, please.", From: now.Add(time.Hour), Until: now.Add(2 * time.Hour), Lang: "en"})
	if err != nil {
		t.Fatal(err)
	}
	b := startBrowser(t, base)
	b.do("phone screen", chromedp.EmulateViewport(390, 844))
	b.open("/v/"+link, "visit-status")
	if got := b.text("#invite-message"); got == "" {
		b.fatalf("no host's message on the pass page")
	}
	if got := b.text("#site-directions"); got == "" {
		b.fatalf("no directions on the pass page")
	}
	b.waitFor("the site map to load", `(() => { const i = document.getElementById("site-map-image"); return i && i.complete && i.naturalWidth > 0; })()`)
	b.fitsPhone()
}
