package ui

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"gatehouse/appliance"
	"gatehouse/appliance/notify"
	"gatehouse/drivers/modem"
	"gatehouse/drivers/serial"
	"gatehouse/drivers/sim"
)

// appModem attaches a simulated GSM modem on a pseudo-terminal as app's
// SMS channel, with a running outbox worker. The channel is given no base
// address of its own: links are made absolute by the outbox, from the site
// settings.
func appModem(t *testing.T, app *appliance.App) *sim.Modem {
	t.Helper()
	dev, err := sim.NewModem(filepath.Join(t.TempDir(), "ttyGSM"), sim.ModemConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := modem.Open(context.Background(), modem.Config{Logger: quiet, RetryWait: 10 * time.Millisecond,
		Line: serial.LineConfig{Port: serial.Config{Path: dev.Path(), Baud: 115200}, MinBackoff: 5 * time.Millisecond,
			MaxBackoff: 50 * time.Millisecond, Name: "gsm", Logger: quiet}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	app.Notify.EnableSMS(true)
	runWorker(t, notify.NewWorker(app.Notify, notify.WorkerOptions{Poll: 20 * time.Millisecond, SMS: modem.Channel{Sender: s}}))
	return dev
}

// TestBrowserBaseURLReachesTheVisitorSMS: the host's invitation page warns
// while the appliance's public address is unset; the administrator follows
// the first-start checklist to the settings page and sets it; the next
// invitation's SMS carries an absolute link under it, which opens the pass.
func TestBrowserBaseURLReachesTheVisitorSMS(t *testing.T) {
	app, base := startBrowserApp(t)
	setUpVisits(t, app)
	dev := appModem(t, app)
	day, from, until := visitWindow(t, app.Config.Location)
	const public = "https://lobby.example.test"

	host := startBrowser(t, base)
	host.mustLogin(visitsHostUser, visitsHostPass)
	host.open("/host/invite", "invite-form")
	if !host.exists("#base-url-warning") || host.exists("#base-url-fix") {
		host.fatalf("a host's invitation page: want the warning, without the administrator's link")
	}

	admin := host.newSession()
	admin.mustLogin(browserAdminUser, browserAdminPass)
	admin.open("/", "check-base_url")
	if resp, err := chromedp.RunResponse(admin.ctx, chromedp.Click(chromedp.CSS("#check-base_url a"))); err != nil || resp.Status != http.StatusOK {
		admin.fatalf("follow the checklist: %v", err)
	}
	admin.do("wait for the settings", chromedp.WaitVisible(chromedp.ID("settings-form")))
	admin.fill("f-base_url", public+"/")
	if st := admin.submit("save"); st != http.StatusOK {
		admin.fatalf("save: status %d", st)
	}
	admin.do("wait for the settings", chromedp.WaitVisible(chromedp.ID("settings-form")))
	admin.wantFlash("flash.saved")
	if got, err := chromedp.Run(admin.ctx, chromedp.Value(chromedp.ID("f-base_url"))); err != nil || got != public {
		admin.fatalf("base URL after saving = %q (%v), want %q", got, err, public)
	}
	admin.open("/", "checklist")
	if admin.exists("#check-base_url") {
		admin.fatalf("the checklist still asks for the base URL")
	}

	host.open("/host/invite", "invite-form")
	if host.exists("#base-url-warning") {
		host.fatalf("the warning stays after the base URL was set")
	}
	host.fill("f-name", "韩梅梅 Han Meimei")
	host.fill("f-mobile", "13900139002")
	host.fill("f-reason", "Contract review")
	host.setValue("f-date", day)
	host.setValue("f-from", from)
	host.setValue("f-until", until)
	if st := host.submit("invite-submit"); st != http.StatusOK {
		host.fatalf("invite: status %d", st)
	}
	host.do("wait for the pass", chromedp.WaitVisible(chromedp.ID("pass-qr")))
	if link, _ := chromedp.Run(host.ctx, chromedp.Value(chromedp.ID("visitor-link"))); !strings.HasPrefix(link, public+"/v/") {
		host.fatalf("the link to hand on = %q, want it under %s", link, public)
	}

	var text string
	for deadline := time.Now().Add(10 * time.Second); text == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, m := range dev.Messages() {
			if strings.HasSuffix(m.Number, "13900139002") {
				text = m.Text
			}
		}
	}
	if text == "" {
		t.Fatalf("no SMS reached the visitor's phone: %+v", dev.Messages())
	}
	i := strings.Index(text, public+"/v/")
	if i < 0 {
		t.Fatalf("the SMS has no link under %s:\n%s", public, text)
	}
	// Under the test server's address instead, the link opens the pass.
	path := strings.Fields(text[i+len(public):])[0]
	g := host.newSession()
	g.open(path, "visit-status")
	if !g.exists("#pass-qr svg") {
		g.fatalf("the SMS link opens no pass")
	}
}
