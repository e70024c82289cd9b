package site

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gatehouse/appliance/clock"
	"gatehouse/appliance/config"
	"gatehouse/appliance/field"
	"gatehouse/appliance/store"
)

func open(t *testing.T) (*Service, *store.Store, *clock.Fake) {
	t.Helper()
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	Register(st)
	clk := clock.NewFake(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	return New(st, clk), st, clk
}

func load(t *testing.T, path string, env ...string) config.Config {
	t.Helper()
	c, err := config.Load(path, env)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Precedence: default < stored < file < environment, and the override
// report names the file or the variable.
func TestSettingsPrecedence(t *testing.T) {
	s, _, _ := open(t)
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "gatehouse.toml")
	if err := os.WriteFile(file, []byte("site_name = \"Tower A\"\nlockout_minutes = 20\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := load(t, file, "GATEHOUSE_LOCKOUT_MINUTES=5", "GATEHOUSE_DAY_END=22:00")

	got, err := s.Save(ctx, "admin", base, map[string]string{
		"site_name": "Stored name", "lockout_minutes": "45", "day_end": "23:00", "session_idle_minutes": "10",
		"base_url": "https://lobby.example.com/", "retain_person_days": "60",
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ key, want, from string }{
		{"site_name", "Tower A", file},                        // file over stored
		{"lockout_minutes", "5", "GATEHOUSE_LOCKOUT_MINUTES"}, // environment over file and stored
		{"day_end", "22:00", "GATEHOUSE_DAY_END"},             // environment over stored
		{"session_idle_minutes", "10", ""},                    // stored over default
		{"session_max_hours", "12", ""},                       // default
		{"base_url", "https://lobby.example.com", ""},         // stored, cleaned
		{"retain_person_days", "60", ""},                      // stored over the default 90
		{"retain_visitor_days", "180", ""},                    // default
	} {
		if v := got.Get(c.key); v != c.want {
			t.Errorf("%s = %q, want %q", c.key, v, c.want)
		}
		if from := got.Overridden(c.key); from != c.from {
			t.Errorf("%s overridden by %q, want %q", c.key, from, c.from)
		}
	}
	// What is stored is what was typed for keys nobody overrides; the
	// overridden ones were not taken from the form.
	stored, saved, err := s.Stored()
	if err != nil || !saved {
		t.Fatal(saved, err)
	}
	if _, ok := stored["site_name"]; ok {
		t.Errorf("an overridden key was stored from the form: %v", stored)
	}
	if stored["session_idle_minutes"] != "10" || stored["base_url"] != "https://lobby.example.com" {
		t.Errorf("stored = %v", stored)
	}
	// Another lobby with no file or variables reads the stored values, and
	// the defaults where the form's value was overridden here.
	other, bad, err := s.Effective(load(t, ""), "")
	if err != nil || len(bad) > 0 {
		t.Fatal(bad, err)
	}
	if other.LockoutMinutes != 15 || other.DayEnd != "23:59" || other.SessionIdleMin != 10 || other.SiteName != "Gatehouse" ||
		other.BaseURL != "https://lobby.example.com" {
		t.Errorf("without overrides: %+v", other)
	}
}

func TestSaveValidates(t *testing.T) {
	s, st, _ := open(t)
	ctx := context.Background()
	base := load(t, "")
	cases := []struct {
		name       string
		key, value string
		code       string
	}{
		{"zone", "time_zone", "Mars/Olympus", "unknown_time_zone"},
		{"language", "language", "fr", "invalid"},
		{"day end", "day_end", "25:00", "invalid_time"},
		{"lockout not a number", "lockout_minutes", "ten", "not_a_number"},
		{"lockout negative", "lockout_minutes", "-1", "out_of_range"},
		{"session too long", "session_max_hours", "100000", "at_most"},
		{"session idle zero", "session_idle_minutes", "0", "out_of_range"},
		{"base url", "base_url", "lobby.example.com", "invalid_url"},
		{"base url with query", "base_url", "https://lobby.example.com/?a=1", "invalid_url"},
		{"base url with user", "base_url", "https://u:p@lobby.example.com", "invalid_url"},
		{"map url", "map_url", "javascript:alert(1)", "invalid_url"},
		{"photos longer than names", "retain_photo_days", "400", "photos_after_names"},
		{"person days zero", "retain_person_days", "0", "out_of_range"},
		{"site name empty", "site_name", "  ", "required"},
		{"site name control", "site_name", "a\x07b", "bad_characters"},
		{"broadcasts", "broadcasts_per_month", "", "required"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.Save(ctx, "admin", base, map[string]string{c.key: c.value})
			es, ok := field.As(err)
			if !ok {
				t.Fatalf("err = %v, want field errors", err)
			}
			if got := es.For(c.key).Code; got != c.code {
				t.Fatalf("%s: code %q, want %q (%v)", c.key, got, c.code, es)
			}
		})
	}
	if _, saved, _ := s.Stored(); saved {
		t.Fatal("a refused save stored something")
	}
	// Nothing reached the audit trail either.
	var n int
	st.View(func(r *store.Reader) error {
		es, err := store.AuditPage(r, 0, 10)
		n = len(es)
		return err
	})
	if n != 0 {
		t.Fatalf("%d audit entries after refused saves", n)
	}
}

// The command is audited, names what changed, and refuses keys that are
// not site settings even when someone issues it directly.
func TestSaveCommandAudited(t *testing.T) {
	s, st, clk := open(t)
	ctx := context.Background()
	if _, err := s.Save(ctx, "admin-1", load(t, ""), map[string]string{"time_zone": "Europe/Berlin", "lockout_minutes": "30"}); err != nil {
		t.Fatal(err)
	}
	var e store.AuditEntry
	st.View(func(r *store.Reader) error {
		es, err := store.AuditPage(r, 0, 1)
		e = es[0]
		return err
	})
	if e.Type != CmdSave || e.Actor != "admin-1" || e.Subject != "site:settings" || e.Note != "changed: time_zone, lockout_minutes" {
		t.Fatalf("audit entry %+v", e)
	}
	clk.Advance(time.Millisecond)
	_, err := store.Issue(ctx, st, CmdSave, "x", clk.Now(), map[string]any{"values": map[string]string{"tls_key": "/tmp/k"}})
	if err == nil {
		t.Fatal("a non-site key was stored")
	}
}

// Until the site settings are first saved, the base URL kept with the
// notification settings by an earlier release counts; after, the stored
// one does, even when empty.
func TestLegacyBaseURL(t *testing.T) {
	s, _, _ := open(t)
	base := load(t, "")
	c, _, err := s.Effective(base, "https://old.example.com")
	if err != nil || c.BaseURL != "https://old.example.com" {
		t.Fatalf("before saving: %q %v", c.BaseURL, err)
	}
	if _, err := s.Save(context.Background(), "admin", base, map[string]string{"base_url": ""}); err != nil {
		t.Fatal(err)
	}
	if c, _, _ = s.Effective(base, "https://old.example.com"); c.BaseURL != "" {
		t.Fatalf("after clearing it: %q", c.BaseURL)
	}
}

// A stored value that stopped being valid (here stored by hand) is left
// out and named, never a reason not to start.
func TestEffectiveLeavesOutBadStoredValues(t *testing.T) {
	s, st, clk := open(t)
	_, err := store.Issue(context.Background(), st, CmdSave, "x", clk.Now(),
		savePayload{Values: map[string]string{"time_zone": "Nowhere/Atlantis", "lockout_minutes": "7"}})
	if err != nil {
		t.Fatal(err)
	}
	c, bad, err := s.Effective(load(t, ""), "")
	if err != nil {
		t.Fatal(err)
	}
	if bad.For("time_zone").Code != "unknown_time_zone" || c.TimeZone != "Asia/Shanghai" || c.LockoutMinutes != 7 {
		t.Fatalf("bad %v, config %+v", bad, c)
	}
}
