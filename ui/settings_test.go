package ui

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance/auth"
	"gatehouse/appliance/backup"
	"gatehouse/appliance/device"
	"gatehouse/appliance/site"
	"gatehouse/appliance/store"
	"gatehouse/appliance/visit"
)

// settingsForm is the settings page's form as the page sends it.
func settingsValues(h *harness) url.Values {
	f := url.Values{}
	cur := h.app.Settings()
	for _, k := range []string{"site_name", "address", "map_url", "desk_phone", "base_url", "time_zone", "language", "day_end",
		"lockout_minutes", "session_idle_minutes", "session_max_hours", "broadcasts_per_month",
		"visitor_grace_before_minutes", "visitor_grace_after_minutes",
		"retain_visitor_days", "retain_photo_days", "retain_person_days"} {
		f.Set(k, cur.Get(k))
	}
	return f
}

func TestSettingsPageRolesAndCSRF(t *testing.T) {
	h := newHarness(t)
	for _, r := range []auth.Role{auth.Manager, auth.Reception, auth.Host} {
		if resp := h.do(req{method: "GET", path: "/admin/settings", session: h.session(r)}); resp.StatusCode != 403 {
			t.Errorf("%s: GET %d", r, resp.StatusCode)
		}
		f := settingsValues(h)
		f.Set("base_url", "https://evil.example.com")
		if resp := h.do(req{method: "POST", path: "/admin/settings", session: h.session(r), form: f}); resp.StatusCode != 403 {
			t.Errorf("%s: POST %d", r, resp.StatusCode)
		}
	}
	admin := h.session(auth.Admin)
	f := settingsValues(h)
	f.Set("base_url", "https://evil.example.com")
	if resp := h.do(req{method: "POST", path: "/admin/settings", session: admin, form: f, csrf: "-"}); resp.StatusCode != 403 {
		t.Errorf("without the CSRF token: %d", resp.StatusCode)
	}
	if got := h.app.Settings().BaseURL; got != "" {
		t.Fatalf("a refused request set the base URL to %q", got)
	}
	resp := h.do(req{method: "GET", path: "/admin/settings", session: admin})
	body := readBody(t, resp)
	if resp.StatusCode != 200 || !strings.Contains(body, `id="f-base_url"`) || !strings.Contains(body, `id="purge-preview"`) {
		t.Fatalf("page %d", resp.StatusCode)
	}
}

// Bad values come back with an error at the field, in the user's language,
// and change nothing.
func TestSettingsFieldErrors(t *testing.T) {
	h := newHarness(t)
	admin := h.session(auth.Admin)
	cases := []struct {
		key, value, lang, want string
	}{
		{"time_zone", "Mars/Olympus", "zh", "不是时区数据库中的时区"},
		{"time_zone", "Mars/Olympus", "en", "Not a time zone of the tz database"},
		{"base_url", "lobby.example.com", "en", "Not a web address"},
		{"map_url", "javascript:alert(1)", "zh", "不是有效的网址"},
		{"lockout_minutes", "ten", "en", "Not a whole number."},
		{"session_max_hours", "999999", "en", "At most 720."},
		{"day_end", "25:61", "zh", ""},
		{"retain_photo_days", "365", "en", "Photos cannot be kept longer"},
		{"language", "fr", "en", "Not valid."},
		{"visitor_grace_before_minutes", "-5", "en", ""},
		{"visitor_grace_after_minutes", "soon", "en", "Not a whole number."},
		{"visitor_grace_before_minutes", "241", "en", "At most 240."},
		{"site_name", strings.Repeat("名", 65), "en", "At most 64 characters."},
	}
	for _, c := range cases {
		t.Run(c.key+"="+c.value[:min(len(c.value), 12)], func(t *testing.T) {
			f := settingsValues(h)
			f.Set(c.key, c.value)
			resp := h.do(req{method: "POST", path: "/admin/settings", session: admin, form: f,
				header: map[string]string{"Accept-Language": c.lang}})
			body := readBody(t, resp)
			if resp.StatusCode != 422 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if !strings.Contains(body, `id="e-`+c.key+`"`) || !strings.Contains(body, c.want) {
				t.Fatalf("no error %q at %s", c.want, c.key)
			}
		})
	}
	if _, saved, _ := h.app.Site.Stored(); saved {
		t.Fatal("a refused form stored settings")
	}
}

// A save takes effect without a restart: the base URL (the warning goes),
// lockout, session limits, retention (the preview), the default language.
func TestSettingsSaveTakesEffect(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	// The booked visit, cancelled: its data is due 180 days after its window.
	if err := h.app.Visits.Move(ctx, "host", h.ids["{visit}"], visit.EvCancel, ""); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(40 * 24 * time.Hour)
	admin := h.session(auth.Admin) // after the clock moved: sessions expire
	for _, path := range []string{"/admin/notify", "/host/invite", "/host/visits", "/messages"} {
		s := admin
		if strings.HasPrefix(path, "/host/") {
			s = h.session(auth.Host)
		}
		if body := readBody(t, h.do(req{method: "GET", path: path, session: s})); !strings.Contains(body, `id="base-url-warning"`) {
			t.Errorf("%s: no warning while the base URL is empty", path)
		}
	}
	body := readBody(t, h.do(req{method: "GET", path: "/admin/settings", session: admin}))
	if !strings.Contains(body, `<li id="preview-visits">0 次访问的姓名和号码</li>`) {
		t.Fatalf("preview before: %s", between(body, `id="purge-preview"`, "</ul>"))
	}

	f := settingsValues(h)
	f.Set("base_url", "https://lobby.example.com/")
	f.Set("lockout_minutes", "0")
	f.Set("session_idle_minutes", "5")
	f.Set("retain_visitor_days", "35")
	f.Set("retain_photo_days", "20")
	f.Set("language", "en")
	f.Set("address", "1 Century Avenue")
	f.Set("map_url", "https://maps.example.com/tower")
	resp := h.do(req{method: "POST", path: "/admin/settings", session: admin, form: f})
	if resp.StatusCode != 303 {
		t.Fatalf("save: %d %s", resp.StatusCode, readBody(t, resp))
	}
	set := h.app.Settings()
	if set.BaseURL != "https://lobby.example.com" || set.LockoutMinutes != 0 || set.SessionIdleMin != 5 || set.RetainVisitorDays != 35 {
		t.Fatalf("in force: %+v", set)
	}
	if n, _ := h.app.Notify.Settings(); n.BaseURL != "https://lobby.example.com" {
		t.Fatalf("the outbox links to %q", n.BaseURL)
	}
	// The new idle timeout holds for sessions already open.
	h.clock.Advance(6 * time.Minute)
	if resp := h.do(req{method: "GET", path: "/admin/settings", session: admin}); resp.StatusCode != 303 {
		t.Errorf("a session idle 6 minutes answered %d under a 5-minute timeout", resp.StatusCode)
	}
	admin = h.session(auth.Admin)
	if body := readBody(t, h.do(req{method: "GET", path: "/admin/notify", session: admin})); strings.Contains(body, `id="base-url-warning"`) {
		t.Error("the warning stays after the base URL was set")
	}
	// No Accept-Language and no cookie: the new default language.
	body = readBody(t, h.do(req{method: "GET", path: "/admin/settings", session: admin}))
	if !strings.Contains(body, `<li id="preview-visits">names and numbers from 1 visit(s)</li>`) {
		t.Fatalf("preview after: %s", between(body, `id="purge-preview"`, "</ul>"))
	}
	if !strings.Contains(body, `value="https://lobby.example.com"`) {
		t.Error("the page does not show the saved base URL")
	}
	// The visitor's page shows the address and the map.
	body = readBody(t, h.do(req{method: "GET", path: "/v/{link}"}))
	if !strings.Contains(body, "1 Century Avenue") || !strings.Contains(body, `href="https://maps.example.com/tower"`) {
		t.Error("the visit page lacks the address or the map")
	}
	// Audited, under its name in both catalogues (TestAuditNames checks those).
	var e store.AuditEntry
	h.app.Store.View(func(r *store.Reader) error {
		es, err := store.AuditPage(r, 0, 1)
		e = es[0]
		return err
	})
	if e.Type != site.CmdSave || e.Actor != "account:"+h.accounts[auth.Admin].ID {
		t.Fatalf("audit entry %+v", e)
	}
}

// A value set by a GATEHOUSE_ variable is shown read-only with the
// variable's name, and the form cannot change it.
func TestSettingsOverrideShown(t *testing.T) {
	h := newHarnessEnv(t, "GATEHOUSE_BASE_URL=https://env.example.com", "GATEHOUSE_LOCKOUT_MINUTES=7")
	admin := h.session(auth.Admin)
	body := readBody(t, h.do(req{method: "GET", path: "/admin/settings", session: admin,
		header: map[string]string{"Accept-Language": "en"}}))
	for _, want := range []string{
		`<p class="muted" id="o-base_url">Set by GATEHOUSE_BASE_URL: change it there.</p>`,
		`<p class="muted" id="o-lockout_minutes">Set by GATEHOUSE_LOCKOUT_MINUTES: change it there.</p>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("missing %s", want)
		}
	}
	input := between(body, `id="f-base_url"`, ">")
	if !strings.Contains(input, "readonly") || !strings.Contains(input, `value="https://env.example.com"`) {
		t.Errorf("base URL input: %s", input)
	}
	if strings.Contains(between(body, `id="f-time_zone"`, ">"), "readonly") || strings.Contains(body, `id="o-time_zone"`) {
		t.Error("a value nobody overrides is shown as overridden")
	}
	f := settingsValues(h)
	f.Set("base_url", "https://form.example.com")
	f.Set("lockout_minutes", "99")
	f.Set("session_idle_minutes", "9")
	if resp := h.do(req{method: "POST", path: "/admin/settings", session: admin, form: f}); resp.StatusCode != 303 {
		t.Fatalf("save: %d", resp.StatusCode)
	}
	if set := h.app.Settings(); set.BaseURL != "https://env.example.com" || set.LockoutMinutes != 7 || set.SessionIdleMin != 9 {
		t.Fatalf("in force: base %q lockout %d idle %d", set.BaseURL, set.LockoutMinutes, set.SessionIdleMin)
	}
}

// The administrator's home lists the first-start steps left, each linking
// to its page; the block goes when all are done. Others never see it.
func TestFirstStartChecklist(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	admin := h.session(auth.Admin)
	body := readBody(t, h.do(req{method: "GET", path: "/", session: admin}))
	for _, want := range []string{
		`<li id="check-base_url"><a href="/admin/settings#f-base_url">`,
		`<li id="check-devices"><a href="/admin/devices">`,
		`<li id="check-backups"><a href="/admin/backups">`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("missing %s", want)
		}
	}
	// The harness has a floor, a company and an employee.
	for _, done := range []string{"check-floors", "check-companies", "check-people"} {
		if strings.Contains(body, done) {
			t.Errorf("%s listed though done", done)
		}
	}
	if body := readBody(t, h.do(req{method: "GET", path: "/", session: h.session(auth.Manager)})); strings.Contains(body, `id="checklist"`) {
		t.Error("a manager sees the administrator's checklist")
	}

	if _, err := h.app.SaveSettings(ctx, "t", map[string]string{"base_url": "https://lobby.example.com"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.app.Devices.Save(ctx, "t", device.Device{Name: "Desk printer", Port: "/dev/ttyUSB3", Protocol: device.ESCPOS,
		Role: device.Printer, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	body = readBody(t, h.do(req{method: "GET", path: "/", session: admin}))
	if strings.Contains(body, "check-base_url") || strings.Contains(body, "check-devices") || !strings.Contains(body, "check-backups") {
		t.Fatalf("after base URL and a device: %s", between(body, `id="checklist"`, "</ul>"))
	}
	// Backups need both a target and a passphrase.
	if err := h.app.Backups.SaveSettings(ctx, "t", t.TempDir(), backup.DefaultAt, backup.DefaultPolicy); err != nil {
		t.Fatal(err)
	}
	if body := readBody(t, h.do(req{method: "GET", path: "/", session: admin})); !strings.Contains(body, "check-backups") {
		t.Fatal("backups ticked off without a passphrase")
	}
	if err := h.app.Backups.SetPassphrase(ctx, "t", "correct horse battery staple 42"); err != nil {
		t.Fatal(err)
	}
	if body := readBody(t, h.do(req{method: "GET", path: "/", session: admin})); strings.Contains(body, `id="checklist"`) {
		t.Fatal("the checklist stays when every step is done")
	}
}

// between is the part of s from the first from up to the next to.
func between(s, from, to string) string {
	i := strings.Index(s, from)
	if i < 0 {
		return ""
	}
	s = s[i:]
	if j := strings.Index(s, to); j >= 0 {
		return s[:j+len(to)]
	}
	return s
}

// TestSettingsVisitorGrace: the visitors' grace is on the page with its
// defaults (30 minutes early, none late), and a save puts it into force at
// the gates at once.
func TestSettingsVisitorGrace(t *testing.T) {
	h := newHarness(t)
	admin := h.session(auth.Admin)
	body := readBody(t, h.do(req{method: "GET", path: "/admin/settings", session: admin}))
	if !strings.Contains(body, `id="f-visitor_grace_before_minutes" name="visitor_grace_before_minutes" type="number" value="30"`) ||
		!strings.Contains(body, `id="f-visitor_grace_after_minutes" name="visitor_grace_after_minutes" type="number" value="0"`) {
		t.Fatalf("the page does not show the grace defaults: %s", between(body, `id="settings-gates"`, "</fieldset>"))
	}
	if g := h.app.Access.VisitorGrace(); g.Early != 30*time.Minute || g.Late != 0 {
		t.Fatalf("grace at the gates %+v, want 30 min early", g)
	}
	f := settingsValues(h)
	f.Set("visitor_grace_before_minutes", "10")
	f.Set("visitor_grace_after_minutes", "15")
	if resp := h.do(req{method: "POST", path: "/admin/settings", session: admin, form: f}); resp.StatusCode != 303 {
		t.Fatalf("save: %d", resp.StatusCode)
	}
	if g := h.app.Access.VisitorGrace(); g.Early != 10*time.Minute || g.Late != 15*time.Minute {
		t.Fatalf("grace at the gates after the save %+v, want 10 early, 15 late", g)
	}
}
