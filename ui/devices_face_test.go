package ui

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"gatehouse/appliance/access"
	"gatehouse/appliance/auth"
	"gatehouse/appliance/device"
)

// A face terminal is configured from the device page: its address, door,
// account, password and mode, each refused with a field error in the
// page's language; the password is sealed, never shown back, kept when the
// field is left empty; the saved terminal's page shows the event URL with
// its per-device secret.
func TestFaceTerminalDeviceForm(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	z, err := h.app.Access.SaveZone(ctx, "t", access.Zone{Name: "Lobby"})
	if err != nil {
		t.Fatal(err)
	}
	lane, err := h.app.Access.SaveLane(ctx, "t", access.Lane{Name: "Face gate", ZoneID: z.ID, PulseMs: 100})
	if err != nil {
		t.Fatal(err)
	}
	post := func(path, lang string, f url.Values) (*http.Response, string) {
		t.Helper()
		resp := h.do(req{method: "POST", path: path, form: f, session: h.session(auth.Admin), header: map[string]string{"Accept-Language": lang}})
		return resp, readBody(t, resp)
	}
	form := func(port, door, user, pw, mode string) url.Values {
		return url.Values{"name": {"Face 1"}, "protocol": {"isapi"}, "role": {"entry_reader"}, "lane_id": {lane.ID},
			"port": {port}, "address": {door}, "user": {user}, "password": {pw}, "mode": {mode}, "enabled": {"1"}}
	}
	for _, tc := range []struct {
		lang string
		want []string
	}{
		{"en", []string{"address, as http://host", "A door number from 1 to 8."}},
		{"zh", []string{"终端地址", "门编号为 1 到 8。"}},
	} {
		resp, body := post("/admin/devices", tc.lang, form("ftp://10.0.0.20", "9", "", "", "always"))
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("%s: bad terminal saved: %d", tc.lang, resp.StatusCode)
		}
		for _, id := range []string{`id="e-port"`, `id="e-address"`, `id="e-user"`, `id="e-password"`, `id="e-mode"`} {
			if !strings.Contains(body, id) {
				t.Errorf("%s: no field error %s", tc.lang, id)
			}
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: the page does not say %q", tc.lang, w)
			}
		}
	}
	// A password with a control character: a field error, not a 500.
	if resp, body := post("/admin/devices", "en", form("http://10.0.0.20", "1", "admin", "pa\x01ss", "")); resp.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(body, `id="e-password"`) {
		t.Fatalf("control character in the password: %d", resp.StatusCode)
	}

	const pw = "Face-2026!"
	if resp, _ := post("/admin/devices", "en", form("http://10.0.0.20/", "2", "admin", pw, "terminal")); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("saving the terminal: %d", resp.StatusCode)
	}
	var d device.Device
	ds, _ := h.app.Devices.Devices()
	for _, x := range ds {
		if x.Protocol == device.ISAPI {
			d = x
		}
	}
	if d.Port != "http://10.0.0.20" || d.Address != "2" || d.Options.User != "admin" || d.Options.Mode != device.FaceTerminalDecides {
		t.Fatalf("saved terminal %+v", d)
	}
	if d.Options.Password == pw || d.Options.Password == "" {
		t.Fatal("the password was not sealed")
	}
	if got, err := h.app.Keys.Open(d.Options.Password); err != nil || got != pw {
		t.Fatalf("the sealed password opens to %q %v", got, err)
	}

	resp := h.do(req{method: "GET", path: "/admin/devices/" + d.ID + "/edit", session: h.session(auth.Admin), header: map[string]string{"Accept-Language": "en"}})
	body := readBody(t, resp)
	wantURL := isapiEventsPrefix + d.ID + "/" + device.EventToken(d.ID, pw)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, wantURL) || !strings.Contains(body, `id="password-on-file"`) {
		t.Fatalf("edit page (%d) lacks the event URL %s or the password's note", resp.StatusCode, wantURL)
	}
	if strings.Contains(body, pw) || strings.Contains(body, d.Options.Password) {
		t.Fatal("the edit page shows the password")
	}

	// Saved again with the field empty: the password stays; the mode back
	// to the appliance's.
	sealed := d.Options.Password
	if resp, _ := post("/admin/devices/"+d.ID, "en", form("http://10.0.0.20", "2", "admin", "", "")); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("saving again: %d", resp.StatusCode)
	}
	d, _ = h.app.Devices.Get(d.ID)
	if d.Options.Password != sealed || d.Options.Mode != device.FaceApplianceDecides {
		t.Fatalf("after saving with an empty password: %+v", d.Options)
	}
}
