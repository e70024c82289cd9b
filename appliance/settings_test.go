package appliance

import (
	"context"
	"testing"
	"time"

	"gatehouse/appliance/auth"
	"gatehouse/appliance/config"
	"gatehouse/appliance/notify"
)

// A save puts lockout, broadcast cap, day end, retention and the base URL
// in force at once; the time zone waits for the restart, and the restart
// brings it and every stored value back.
func TestSaveSettingsInForce(t *testing.T) {
	a, clk := openTestApp(t)
	ctx := context.Background()
	_, acc := testHost(t, a)
	if _, err := a.SaveSettings(ctx, "account:admin", map[string]string{
		"lockout_minutes": "0", "broadcasts_per_month": "2", "day_end": "20:00", "retain_visitor_days": "60",
		"base_url": "https://lobby.example.com/", "time_zone": "Europe/Berlin",
	}); err != nil {
		t.Fatal(err)
	}
	// Lockout 0: three wrong passwords lock until an administrator unlocks.
	for range auth.MaxFailures {
		clk.Advance(time.Second)
		if _, err := a.Auth.Authenticate(ctx, "host1", "wrong-password"); err == nil {
			t.Fatal("a wrong password accepted")
		}
	}
	got, err := a.Auth.Account(acc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if locked, _ := got.AnyLock(clk.Now().Add(1000 * time.Hour)); !locked {
		t.Fatal("with lockout 0 the lock ran out by itself")
	}
	if _, allowed, err := a.Notices.Allowance(); err != nil || allowed != 2 {
		t.Fatalf("broadcast allowance %d (%v), want 2", allowed, err)
	}
	if set := a.Settings(); set.DayEndDur != 20*time.Hour || a.Retention().Personal != 60*24*time.Hour {
		t.Fatalf("day end %v, retention %v", set.DayEndDur, a.Retention().Personal)
	}
	if n, _ := a.Notify.Settings(); n.BaseURL != "https://lobby.example.com" {
		t.Fatalf("outbox base URL %q", n.BaseURL)
	}
	if a.Settings().Location.String() != "Europe/Berlin" || a.Config.Location.String() != "Asia/Shanghai" {
		t.Fatalf("zone in force %s, opened with %s", a.Settings().Location, a.Config.Location)
	}
	if w := a.RestartNeeded(); len(w) != 1 || w[0] != "time_zone" {
		t.Fatalf("waiting for a restart: %v", w)
	}

	// Reopened, the stored settings are in force from the start.
	dir := a.DataDir
	a.Close()
	cfg, _ := config.Load("", nil)
	b, err := Open(ctx, dir, cfg, clk, a.Log)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Config.Location.String() != "Europe/Berlin" || b.Config.BroadcastsPerMonth != 2 || b.Config.BaseURL != "https://lobby.example.com" ||
		len(b.RestartNeeded()) != 0 {
		t.Fatalf("after the restart: %+v", b.Config)
	}
	if _, allowed, _ := b.Notices.Allowance(); allowed != 2 {
		t.Fatalf("broadcast allowance after the restart %d", allowed)
	}
}

// The base URL an earlier release kept with the notification settings is
// the one in force until the site settings are saved; the notification
// page cannot change it any more.
func TestLegacyBaseURLRead(t *testing.T) {
	a, clk := openTestApp(t)
	ctx := context.Background()
	old := notify.New(a.Store, clk, a.Keys, notify.Options{}) // as a release before the site settings
	if err := old.SaveSettings(ctx, "t", notify.Settings{BaseURL: "https://old.example.com"}); err != nil {
		t.Fatal(err)
	}
	dir := a.DataDir
	a.Close()
	cfg, _ := config.Load("", nil)
	b, err := Open(ctx, dir, cfg, clk, a.Log)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Settings().BaseURL != "https://old.example.com" {
		t.Fatalf("base URL %q", b.Settings().BaseURL)
	}
	if err := b.Notify.SaveSettings(ctx, "t", notify.Settings{BaseURL: "https://other.example.com"}); err != nil {
		t.Fatal(err)
	}
	n, _ := b.Notify.Settings()
	if legacy, _ := b.Notify.LegacyBaseURL(); n.BaseURL != "https://old.example.com" || legacy != "https://old.example.com" {
		t.Fatalf("the notification settings changed the base URL to %q (kept there: %q)", n.BaseURL, legacy)
	}
	if _, err := b.SaveSettings(ctx, "t", map[string]string{"base_url": "https://new.example.com"}); err != nil {
		t.Fatal(err)
	}
	if n, _ := b.Notify.Settings(); n.BaseURL != "https://new.example.com" {
		t.Fatalf("after saving the site settings the outbox links to %q", n.BaseURL)
	}
}
