package ui

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"gatehouse/appliance/backup"
	"gatehouse/appliance/store"
	"gatehouse/ui/i18n"
)

// heldStore is the appliance's store whose backup stream, once it has
// reported its first records, waits until the test lets it go: so that the
// page's progress can be seen, however fast a small store backs up.
type heldStore struct {
	*store.Store
	release chan struct{}
}

func (h heldStore) WriteBackup(ctx context.Context, w io.Writer, since uint64, progress func(store.BackupProgress)) (store.BackupInfo, error) {
	progress(store.BackupProgress{Keys: 1, Bytes: 1})
	select {
	case <-h.release:
	case <-ctx.Done():
		return store.BackupInfo{}, ctx.Err()
	}
	return h.Store.WriteBackup(ctx, w, since, progress)
}

// waitAcrossLoads waits up to 15 s until the script expression is true on
// the page, which may load anew meanwhile (chromedp's Poll ends when it
// does).
func (b *browser) waitAcrossLoads(what, expr string) {
	b.t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](expr)); err == nil && ok {
			return
		}
	}
	b.fatalf("wait for %s: timeout", what)
}

// TestBrowserBackupNowAndDownload: the administrator sets the target and a
// backup passphrase on the page, presses "back up now", sees the backup in
// progress (the bar and the records written), then — without reloading by
// hand — the finished run with its size and "verified", and the download
// link gives the very file written in the target.
func TestBrowserBackupNowAndDownload(t *testing.T) {
	app, base := startBrowserApp(t)
	release := make(chan struct{})
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()
	app.Backups = backup.New(app.Store, heldStore{app.Store, release}, app.DataDir, app.Clock, app.Config.Location, app.Config.SiteName, app.Log)
	app.Backups.KDF = backup.KDF{Time: 1, Memory: 1024, Threads: 1}
	target := t.TempDir()

	b := startBrowser(t, base)
	b.mustLogin(browserAdminUser, browserAdminPass)
	b.open("/admin/backups", "backup-status")
	if !b.exists("#backup-now:disabled") {
		b.fatalf("back up now is enabled with no target and no passphrase")
	}
	b.fill("f-target", target)
	b.submit("backup-save")
	b.wantFlash("flash.saved")
	b.fill("f-passphrase", "lobby-guard-7319-north backup")
	b.fill("f-confirm", "lobby-guard-7319-north backup")
	b.submit("backup-set-passphrase")
	b.wantFlash("flash.passphrase_set")
	if b.exists("#backup-no-passphrase") {
		b.fatalf("the page still says no passphrase is set")
	}

	b.submit("backup-now")
	b.wantFlash("flash.backup_started")
	b.waitFor("the progress bar", `document.querySelector("#backup-progress progress") !== null`)
	b.waitFor("the records written", fmt.Sprintf(`[%q, %q].some(s => document.querySelector("#backup-progress").textContent.includes(s))`,
		i18n.EN.T("backup.phase.writing", 1), i18n.ZH.T("backup.phase.writing", 1)))
	if !b.exists("#backup-now:disabled") {
		b.fatalf("back up now is enabled while a backup runs")
	}
	close(release)
	released = true

	b.waitAcrossLoads("the finished run", `document.readyState === "complete" && document.querySelector("#backup-runs span.ok") !== null &&
		document.querySelector("#backup-progress progress") === null`)
	if got := b.text("#backup-runs tbody tr:first-child span.ok"); got != i18n.EN.T("backup.verified") && got != i18n.ZH.T("backup.verified") {
		b.fatalf("the run's result = %q, want %q", got, i18n.EN.T("backup.verified"))
	}
	files, _ := filepath.Glob(filepath.Join(target, "gatehouse-*-full-*.ghb"))
	if len(files) != 1 {
		b.fatalf("files in the target: %v", files)
	}
	want, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	size := b.text(`#backup-runs tbody tr:first-child td:nth-child(3)`)
	if size == "" || size != b.eval(`document.querySelector("#backup-files tbody tr td:nth-child(3)").textContent.trim()`) {
		b.fatalf("the run's size %q is not the file's", size)
	}
	href := b.attr("#backup-files a[download]", "href")
	if !strings.HasSuffix(href, "/admin/backups/file/"+filepath.Base(files[0])) {
		b.fatalf("download link %q, file %s", href, files[0])
	}
	if got := b.fetchBytes(href); !bytes.Equal(got, want) {
		b.fatalf("the download is %d bytes, not the %d of the file written", len(got), len(want))
	}
	// The page stays put: no more polling once the run is shown.
	if p := b.path(); p != "/admin/backups" {
		b.fatalf("after the backup the page is %s", p)
	}
	if !b.exists(`#backup-progress:not([hx-get])`) {
		b.fatalf("the page still polls after the backup finished")
	}
}
