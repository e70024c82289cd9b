package ui

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance/auth"
	"gatehouse/appliance/notice"
	"gatehouse/appliance/visit"
)

func testPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		img.Set(x, h/2, color.RGBA{200, 30, 30, 255})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestSiteMapOnPassesAndInvitations: the administrator uploads a site map
// picture (a file that is not a picture is a field error) and sets the
// directions; both show on a visitor's pass page, with the host's
// invitation message; removing the map takes it off.
func TestSiteMapOnPassesAndInvitations(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	admin := h.session(auth.Admin)

	resp := h.upload("/admin/settings/map", admin, map[string]string{}, "map.png", []byte("not a picture"))
	if body := readBody(t, resp); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="e-map_upload"`) {
		t.Fatalf("a file that is not a picture = %d, want the field marked", resp.StatusCode)
	}
	if resp := h.upload("/admin/settings/map", admin, map[string]string{}, "map.png", testPNG(t, 1600, 900)); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("upload a map = %d, want a redirect", resp.StatusCode)
	}
	id := h.app.Settings().MapImage
	if id == "" {
		t.Fatal("the uploaded map is not the site's")
	}
	if b, err := h.app.Notices.Image(id); err != nil || len(b) == 0 {
		t.Fatalf("the map picture is not stored: %v", err)
	}
	// The main form keeps the map and sets the directions.
	cur := h.app.Settings()
	form := url.Values{}
	for _, k := range []string{"site_name", "address", "map_url", "desk_phone", "base_url", "time_zone", "language", "day_end",
		"lockout_minutes", "session_idle_minutes", "session_max_hours", "visitor_grace_before_minutes", "visitor_grace_after_minutes",
		"broadcasts_per_month", "retain_visitor_days", "retain_photo_days", "retain_person_days", "map_image"} {
		form.Set(k, cur.Get(k))
	}
	form.Set("map_directions", "North gate, lift B to 8F")
	if resp := h.do(req{method: "POST", path: "/admin/settings", session: admin, form: form}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save the directions = %d: %s", resp.StatusCode, readBody(t, resp))
	}
	if got := h.app.Settings(); got.MapImage != id || got.MapDirections != "North gate, lift B to 8F" {
		t.Fatalf("settings: map %q directions %q", got.MapImage, got.MapDirections)
	}

	now := h.clock.Now()
	_, link, err := h.app.Visits.Invite(ctx, "test", visit.Request{Name: "Maria Garcia", Mobile: "13900139005", HostID: h.ids["{person}"],
		Reason: "Meeting", Message: "Bring the signed contract, please.", From: now.Add(time.Hour), Until: now.Add(2 * time.Hour), Lang: "en"})
	if err != nil {
		t.Fatal(err)
	}
	body := readBody(t, h.do(req{method: "GET", path: "/v/" + link}))
	for _, want := range []string{`id="invite-message"`, "Bring the signed contract, please.", `id="site-directions"`,
		"North gate, lift B to 8F", `src="` + notice.ImagePath + id + `"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the invitation's pass page lacks %s", want)
		}
	}
	if resp := h.do(req{method: "GET", path: notice.ImagePath + id}); resp.StatusCode != http.StatusOK {
		t.Errorf("the map picture = %d to a visitor", resp.StatusCode)
	}
	if body := readBody(t, h.do(req{method: "GET", path: "/v/{link}"})); strings.Contains(body, `id="invite-message"`) || !strings.Contains(body, `id="site-directions"`) {
		t.Error("a booking with no message shows a message box, or no directions")
	}

	form.Set("map_image_remove", "1")
	if resp := h.do(req{method: "POST", path: "/admin/settings", session: admin, form: form}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove the map = %d", resp.StatusCode)
	}
	if got := h.app.Settings().MapImage; got != "" {
		t.Fatalf("map after removal = %q", got)
	}
}
