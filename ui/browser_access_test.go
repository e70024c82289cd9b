package ui

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"gatehouse/appliance"
	"gatehouse/appliance/auth"
	"gatehouse/appliance/clock"
	"gatehouse/appliance/config"
	"gatehouse/appliance/device"
	"gatehouse/appliance/gate"
	"gatehouse/ui/i18n"
)

// enrolSource is the driver runtime as far as enrolment sees it: the test
// plays the card laid on the enrolment reader by sending it on reads.
type enrolSource struct {
	reads chan device.Read
}

func (enrolSource) Health(string) (device.Health, bool) {
	return device.Health{Running: true, Online: true}, true
}
func (enrolSource) Test(context.Context, string) (device.TestResult, error) {
	return device.TestResult{}, device.ErrNotSupported
}
func (enrolSource) LastRead(string) (device.Read, bool)         { return device.Read{}, false }
func (enrolSource) LastDocument(string) (device.Document, bool) { return device.Document{}, false }
func (enrolSource) Seq() uint64                                 { return 0 }
func (enrolSource) WaitDocument(ctx context.Context, _ []string, _ uint64) (device.Document, error) {
	<-ctx.Done()
	return device.Document{}, ctx.Err()
}
func (e enrolSource) WaitRead(ctx context.Context, id string, after uint64) (device.Read, error) {
	for {
		select {
		case r := <-e.reads:
			if r.Seq > after {
				return r, nil
			}
		case <-ctx.Done():
			return device.Read{}, ctx.Err()
		}
	}
}

// startClockedBrowserApp is startBrowserApp standing at a fake clock.
func startClockedBrowserApp(t *testing.T, clk *clock.Fake, cfg config.Config) (*appliance.App, string) {
	t.Helper()
	ctx := context.Background()
	app, err := appliance.Open(ctx, t.TempDir(), cfg, clk, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("open appliance: %v", err)
	}
	t.Cleanup(func() {
		if err := app.Close(); err != nil {
			t.Errorf("close appliance: %v", err)
		}
	})
	if _, err := app.Auth.CreateAccount(ctx, "test", auth.NewAccount{Username: browserAdminUser, Name: "Admin",
		Role: auth.Admin, Password: browserAdminPass}); err != nil {
		t.Fatalf("create admin: %v", err)
	}
	srv := New(app, Options{})
	t.Cleanup(srv.Close)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return app, ts.URL
}

// TestBrowserEnrolCardAndWorkingHours: a manager sets up a zone with a
// lane, a working-hours profile and a group, enrols a card presented at
// the enrolment reader, and the guard station shows the card let through
// on Monday at 10:00 and refused at 19:00.
func TestBrowserEnrolCardAndWorkingHours(t *testing.T) {
	cfg, err := config.Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	monday10 := time.Date(2026, 11, 23, 10, 0, 0, 0, cfg.Location) // a Monday
	clk := clock.NewFake(monday10)
	app, base := startClockedBrowserApp(t, clk, cfg)
	src := enrolSource{reads: make(chan device.Read)}
	t.Cleanup(app.Devices.Attach(src))
	b := startBrowser(t, base)
	b.mustLogin(browserAdminUser, browserAdminPass)

	// Zone, lane, working hours and a group, on the pages.
	b.open("/access/zones", "save-zone")
	b.fill("f-name", "Lobby")
	b.setValue("f-passback", "off")
	if st := b.submit("save-zone"); st != http.StatusOK {
		b.fatalf("save zone: %d", st)
	}
	b.wantFlash("flash.saved")
	b.open("/access/lanes", "save-lane")
	b.fill("f-name", "Gate A")
	b.setValue("f-zone_id", b.optionValue("f-zone_id", "Lobby"))
	if st := b.submit("save-lane"); st != http.StatusOK {
		b.fatalf("save lane: %d", st)
	}
	b.wantFlash("flash.saved")
	b.open("/access/profiles", "save-profile")
	b.fill("f-name", "Working hours")
	for wd := 1; wd <= 5; wd++ {
		b.fill(fmt.Sprintf("f-day%d", wd), "08:00-18:00")
	}
	if st := b.submit("save-profile"); st != http.StatusOK {
		b.fatalf("save profile: %d", st)
	}
	b.wantFlash("flash.saved")
	b.open("/access/groups", "save-group")
	b.fill("f-name", "Lobby staff")
	zone := b.checkboxValue("zone_ids", "Lobby")
	b.eval(fmt.Sprintf(`(() => { document.querySelector('input[name=zone_ids][value=%q]').checked = true; return "" })()`, zone))
	if st := b.submit("save-group"); st != http.StatusOK {
		b.fatalf("save group: %d", st)
	}
	b.wantFlash("flash.saved")

	// Enrol: "present card" waits for the enrolment reader; the card comes.
	b.open("/access/credentials/new", "present-card")
	b.do("present card", chromedp.Click(chromedp.ID("present-card")))
	select {
	case src.reads <- device.Read{Device: "enrol", Kind: gate.Card, Value: "04:a1:b2:c3", At: clk.Now(), Seq: 1}:
	case <-time.After(20 * time.Second):
		b.fatalf("the page never waited for a card")
	}
	b.waitFor("the number filled in", `document.getElementById("f-number").value === "04A1B2C3"`)
	b.fill("f-holder_name", "Li Lei")
	b.eval(`(() => { document.querySelector('input[name=group_ids]').checked = true; return "" })()`)
	b.setValue("f-profile_id", b.optionValue("f-profile_id", "Working hours"))
	if st := b.submit("save-cred"); st != http.StatusOK {
		b.fatalf("enrol: %d", st)
	}
	b.do("wait for the credential", chromedp.WaitVisible(chromedp.ID("rights")))
	rights := b.text("#rights")
	if !strings.Contains(rights, "Gate A") || !strings.Contains(rights, "08:00–18:00") {
		b.fatalf("rights = %q, want Gate A and 08:00–18:00", rights)
	}
	cr, err := app.Access.CredentialByCard("04A1B2C3")
	if err != nil {
		t.Fatalf("enrolled card: %v", err)
	}
	lanes, err := app.Access.Lanes()
	if err != nil || len(lanes) != 1 {
		t.Fatalf("lanes %v, %v", lanes, err)
	}
	present := func() gate.Action {
		t.Helper()
		a, err := app.Access.Decide(context.Background(), gate.Presentation{Lane: lanes[0].ID, Direction: gate.In, Kind: gate.Card,
			Value: "04A1B2C3", Device: "Gate A in", At: clk.Now()})
		if err != nil {
			t.Fatalf("decide: %v", err)
		}
		return a
	}

	// Monday 10:00: inside working hours.
	if a := present(); !a.Open {
		t.Fatalf("at 10:00: %+v, want open", a)
	}
	b.open("/guard", "gate-feed")
	if row := b.text("#feed-rows tr:first-child"); !strings.Contains(row, cr.HolderName) || b.exists("#feed-rows tr:first-child.denied") {
		b.fatalf("guard's first row = %q, want a grant for %s", row, cr.HolderName)
	}

	// 19:00: outside them. Nine hours idle end the session: sign out first.
	b.logout()
	clk.Set(monday10.Add(9 * time.Hour))
	if a := present(); a.Open {
		t.Fatalf("at 19:00: %+v, want closed", a)
	}
	b.mustLogin(browserAdminUser, browserAdminPass)
	b.open("/guard", "gate-feed")
	if !b.exists("#feed-rows tr:first-child.denied") {
		b.fatalf("the guard's first row is not a denial")
	}
	row := b.text("#feed-rows tr:first-child")
	en, zh := i18n.EN.T("reason.outside_time_profile"), i18n.ZH.T("reason.outside_time_profile")
	if !strings.Contains(row, cr.HolderName) || (!strings.Contains(row, en) && !strings.Contains(row, zh)) {
		b.fatalf("guard's first row = %q, want %s denied %q", row, cr.HolderName, en)
	}
}
