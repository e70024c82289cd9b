package ui

import (
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance/auth"
	"gatehouse/appliance/backup"
	"gatehouse/ui/i18n"
	"gatehouse/ui/views"
)

// An administrator sets up backups on the page, backs up now, watches the
// progress finish, sees the verified run and downloads the file;
// /healthz reports the backup.
func TestBackupPageBackUpNowAndDownload(t *testing.T) {
	h := newHarness(t)
	h.app.Backups.KDF = backup.KDF{Time: 1, Memory: 1024, Threads: 1}
	admin := h.session(auth.Admin)
	target := t.TempDir()

	resp := h.do(req{method: "POST", path: "/admin/backups", session: admin, form: url.Values{
		"target": {"relative/path"}, "at": {"02:30"}, "daily": {"7"}, "weekly": {"4"}, "monthly": {"12"}, "full_every": {"7"}}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(readBody(t, resp), "/media/usb") {
		t.Fatalf("relative target = %d", resp.StatusCode)
	}
	resp = h.do(req{method: "POST", path: "/admin/backups", session: admin, form: url.Values{
		"target": {target}, "at": {"02:30"}, "daily": {"7"}, "weekly": {"4"}, "monthly": {"12"}, "full_every": {"7"}}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save settings = %d", resp.StatusCode)
	}
	resp = h.do(req{method: "POST", path: "/admin/backups/passphrase", session: admin, form: url.Values{
		"passphrase": {"a long passphrase here"}, "confirm": {"a long passphrase typo"}}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("mismatched passphrases = %d", resp.StatusCode)
	}
	resp = h.do(req{method: "POST", path: "/admin/backups/passphrase", session: admin, form: url.Values{
		"passphrase": {"a long passphrase here"}, "confirm": {"a long passphrase here"}}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("set passphrase = %d", resp.StatusCode)
	}
	resp = h.do(req{method: "POST", path: "/admin/backups/run", session: admin})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/backups?started=1" {
		t.Fatalf("back up now = %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	page := readBody(t, h.do(req{method: "GET", path: "/admin/backups?started=1", session: admin}))
	if !strings.Contains(page, `hx-get="/admin/backups/progress"`) {
		t.Fatal("the page does not poll while the backup starts")
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp := h.do(req{method: "GET", path: "/admin/backups/progress", session: admin})
		if resp.Header.Get("HX-Redirect") == "/admin/backups" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("backup still running after 10 s")
		}
	}
	page = readBody(t, h.do(req{method: "GET", path: "/admin/backups", session: admin}))
	files, _ := filepath.Glob(filepath.Join(target, "gatehouse-*-full-*.ghb"))
	if len(files) != 1 || !strings.Contains(page, `<span class="ok">`) || !strings.Contains(page, "/admin/backups/file/"+filepath.Base(files[0])) {
		t.Fatalf("after the backup: files %v; page shows no verified run and download:\n%s", files, page)
	}
	resp = h.do(req{method: "GET", path: "/admin/backups/file/" + filepath.Base(files[0]), session: admin})
	if body := readBody(t, resp); resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, "GHBACKUP") {
		t.Fatalf("download = %d", resp.StatusCode)
	}
	if resp := h.do(req{method: "GET", path: "/admin/backups/file/..%2Fsite.key", session: admin}); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("download outside the target = %d", resp.StatusCode)
	}
	var health map[string]string
	json.Unmarshal([]byte(readBody(t, h.do(req{method: "GET", path: "/healthz"}))), &health)
	if health["backup"] != "ok" {
		t.Fatalf("healthz %v", health)
	}
	// The target goes away and the next run fails: the page and /healthz
	// say so, and /healthz still answers 200.
	if err := h.app.Backups.SaveSettings(t.Context(), "test", filepath.Join(target, "gone"), "02:30", backup.DefaultPolicy); err != nil {
		t.Fatal(err)
	}
	if _, err := h.app.Backups.Now(t.Context(), "test", "manual", nil); err == nil {
		t.Fatal("backup into a missing target succeeded")
	}
	resp = h.do(req{method: "GET", path: "/healthz"})
	json.Unmarshal([]byte(readBody(t, resp)), &health)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(health["backup"], "failed") {
		t.Fatalf("healthz after a failed backup: %d %v", resp.StatusCode, health)
	}
	if page := readBody(t, h.do(req{method: "GET", path: "/admin/backups", session: admin})); !strings.Contains(page, `role="alert" id="backup-state"`) {
		t.Fatal("the page does not show the failed backup")
	}
}

func TestBackupProgressNamesEachPhase(t *testing.T) {
	for _, p := range []backup.Progress{{Phase: "starting"}, {Phase: "writing", Keys: 42, Total: 100}, {Phase: "verifying", Done: 5, Total: 10}} {
		var b strings.Builder
		if err := views.BackupProgress(true, p).Render(i18n.With(t.Context(), i18n.EN), &b); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(b.String(), "%!") || strings.Contains(b.String(), "backup.phase") {
			t.Errorf("%s: %s", p.Phase, b.String())
		}
	}
}

// The administrator gives the addresses told when backups fail; a bad one
// is refused with the form kept, a good list is stored cleaned.
func TestBackupPageSavesAlertEmails(t *testing.T) {
	h := newHarness(t)
	admin := h.session(auth.Admin)
	form := func(emails string) url.Values {
		return url.Values{"target": {t.TempDir()}, "at": {"02:30"}, "daily": {"7"}, "weekly": {"4"}, "monthly": {"12"}, "full_every": {"7"},
			"emails": {emails}}
	}
	resp := h.do(req{method: "POST", path: "/admin/backups", session: admin, form: form("it@tower.example.com, nonsense")})
	if body := readBody(t, resp); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, i18n.ZH.T("err.invalid_email")) ||
		!strings.Contains(body, "nonsense") {
		t.Fatalf("bad address = %d", resp.StatusCode)
	}
	resp = h.do(req{method: "POST", path: "/admin/backups", session: admin, form: form("it@tower.example.com,\nops@tower.example.com it@tower.example.com")})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save = %d", resp.StatusCode)
	}
	set, err := h.app.Backups.Settings()
	if err != nil || strings.Join(set.Emails, " ") != "it@tower.example.com ops@tower.example.com" {
		t.Fatalf("stored %v %v", set.Emails, err)
	}
	if page := readBody(t, h.do(req{method: "GET", path: "/admin/backups", session: admin})); !strings.Contains(page, `value="it@tower.example.com, ops@tower.example.com"`) {
		t.Fatal("the page does not show the stored addresses")
	}
}
