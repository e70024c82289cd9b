package config

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLoadFileThenEnvironment(t *testing.T) {
	p := filepath.Join(t.TempDir(), "gatehouse.toml")
	os.WriteFile(p, []byte("site_name = \"Tower A\"\nlanguage = \"en\"\ntime_zone = \"Europe/Berlin\"\n"), 0o600)
	c, err := Load(p, []string{"GATEHOUSE_SITE_NAME=Tower B", "GATEHOUSE_LOCKOUT_MINUTES=5", "PATH=/bin"})
	if err != nil {
		t.Fatal(err)
	}
	if c.SiteName != "Tower B" || c.Language != "en" || c.Location.String() != "Europe/Berlin" || c.LockoutMinutes != 5 {
		t.Fatalf("config = %+v", c)
	}
	if c.KeyEscalateMin != 60 {
		t.Fatalf("key_escalate_minutes default %d", c.KeyEscalateMin)
	}
	if c, err := Load("", []string{"GATEHOUSE_KEY_ESCALATE_MINUTES=15"}); err != nil || c.KeyEscalateMin != 15 {
		t.Fatalf("key_escalate_minutes from the environment: %d %v", c.KeyEscalateMin, err)
	}
}

func TestLoadRejectsBadSettings(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]string{
		"unknown key":             "colour = \"red\"\n",
		"bad zone":                "time_zone = \"Mars/Olympus\"\n",
		"bad lang":                "language = \"fr\"\n",
		"bad toml":                "site_name = \n",
		"negative key escalation": "key_escalate_minutes = -1\n",
	}
	for name, body := range cases {
		p := filepath.Join(dir, name+".toml")
		os.WriteFile(p, []byte(body), 0o600)
		if _, err := Load(p, nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := Load("", []string{"GATEHOUSE_LOCKOUT_MINUTES=ten"}); err == nil {
		t.Error("non-numeric env accepted")
	}
	if c, err := Load(filepath.Join(dir, "missing.toml"), nil); err != nil || c.SiteName != "Gatehouse" {
		t.Errorf("missing file: %v", err)
	}
}

func TestBroadcastsPerMonth(t *testing.T) {
	if c, err := Load("", nil); err != nil || c.BroadcastsPerMonth != 4 {
		t.Fatalf("default = %d, %v; want 4", c.BroadcastsPerMonth, err)
	}
	if c, err := Load("", []string{"GATEHOUSE_BROADCASTS_PER_MONTH=2"}); err != nil || c.BroadcastsPerMonth != 2 {
		t.Fatalf("from the environment = %d, %v", c.BroadcastsPerMonth, err)
	}
	if _, err := Load("", []string{"GATEHOUSE_BROADCASTS_PER_MONTH=-1"}); err == nil {
		t.Fatal("a negative allowance accepted")
	}
}

// Sources names the file or the variable behind each value they set; the
// settings page shows those values as overridden.
func TestSourcesNameFileAndVariable(t *testing.T) {
	p := filepath.Join(t.TempDir(), "gatehouse.toml")
	os.WriteFile(p, []byte("site_name = \"Tower A\"\nlockout_minutes = 20\nbase_url = \"https://a.example.com/\"\n"), 0o600)
	c, err := Load(p, []string{"GATEHOUSE_LOCKOUT_MINUTES=5", "GATEHOUSE_RETAIN_PERSON_DAYS=30", "GATEHOUSE_DATA=/x"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"site_name": p, "lockout_minutes": "GATEHOUSE_LOCKOUT_MINUTES", "base_url": p,
		"retain_person_days": "GATEHOUSE_RETAIN_PERSON_DAYS"}
	for k, from := range want {
		if got := c.Overridden(k); got != from {
			t.Errorf("%s from %q, want %q", k, got, from)
		}
	}
	if len(c.Sources) != len(want) || c.Overridden("time_zone") != "" {
		t.Errorf("sources %v", c.Sources)
	}
	if c.BaseURL != "https://a.example.com" || c.RetainPersonDays != 30 {
		t.Errorf("base %q, person days %d", c.BaseURL, c.RetainPersonDays)
	}
	if d := Default(); d.RetainPersonDays != 90 {
		t.Errorf("retain_person_days default %d", d.RetainPersonDays)
	}
	if _, err := Load("", []string{"GATEHOUSE_BASE_URL=lobby"}); err == nil {
		t.Error("a base URL without a scheme accepted")
	}
}

func TestRetainPersonDays(t *testing.T) {
	if c, err := Load("", nil); err != nil || c.RetainPersonDays != 90 {
		t.Fatalf("default = %d, %v; want 90", c.RetainPersonDays, err)
	}
	p := filepath.Join(t.TempDir(), "gatehouse.toml")
	os.WriteFile(p, []byte("retain_person_days = 365\n"), 0o600)
	if c, err := Load(p, nil); err != nil || c.PersonRetention().Hours() != 365*24 {
		t.Fatalf("from the file = %d, %v", c.RetainPersonDays, err)
	}
	if c, err := Load(p, []string{"GATEHOUSE_RETAIN_PERSON_DAYS=30"}); err != nil || c.RetainPersonDays != 30 {
		t.Fatalf("from the environment = %d, %v", c.RetainPersonDays, err)
	}
	if _, err := Load("", []string{"GATEHOUSE_RETAIN_PERSON_DAYS=0"}); err == nil {
		t.Fatal("a retention of 0 days accepted")
	}
}
