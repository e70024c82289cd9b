package backup

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const siteConfig = "site_name = \"Tower A\"\nretain_person_days = 120\n"

// TestBackupCarriesTheSettingsFile: the settings file goes into the
// backup's header, survives the checks, comes back with a restore at the
// path asked for, and never replaces a file that is there: an identical
// one is left alone, a different one kept with the backup's beside it.
func TestBackupCarriesTheSettingsFile(t *testing.T) {
	s := newSite(t)
	s.put(t, "a", "x", false)
	cfgPath := filepath.Join(s.dir, "gatehouse.toml")
	if err := os.WriteFile(cfgPath, []byte(siteConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := ReadConfig(cfgPath)
	if err != nil || string(cfg) != siteConfig {
		t.Fatalf("read %q %v", cfg, err)
	}
	target := t.TempDir()
	in, err := Write(context.Background(), s.st, target, WriteOptions{Key: s.key, Site: "Tower", Config: cfg, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Open(in.Path, ReadOptions{})
	if err != nil || string(got.Config) != siteConfig || got.Format != 2 {
		t.Fatalf("read back: format %d config %q %v", got.Format, got.Config, err)
	}
	dir := filepath.Join(t.TempDir(), "new")
	restored, err := Restore(context.Background(), []string{in.Path}, dir, pass, nil)
	if err != nil {
		t.Fatal(err)
	}
	to := filepath.Join(dir, "gatehouse.toml")
	if what, path, err := RestoreConfig(restored, to); err != nil || what != ConfigWritten || path != to {
		t.Fatalf("restore config: %v %s %v", what, path, err)
	}
	if b, _ := os.ReadFile(to); string(b) != siteConfig {
		t.Fatalf("restored settings %q", b)
	}
	if fi, _ := os.Stat(to); fi.Mode().Perm() != 0o600 {
		t.Fatalf("restored settings mode %v", fi.Mode())
	}
	if what, _, err := RestoreConfig(restored, to); err != nil || what != ConfigSame {
		t.Fatalf("again: %v %v", what, err)
	}
	os.WriteFile(to, []byte("site_name = \"Edited on the new box\"\n"), 0o600)
	what, path, err := RestoreConfig(restored, to)
	if err != nil || what != ConfigBeside || path != to+".from-backup" {
		t.Fatalf("over a different file: %v %s %v", what, path, err)
	}
	if b, _ := os.ReadFile(to); !strings.Contains(string(b), "Edited") {
		t.Fatal("the existing settings file was overwritten")
	}
	if b, _ := os.ReadFile(path); string(b) != siteConfig {
		t.Fatalf("beside: %q", b)
	}
	os.WriteFile(to, []byte("site_name = \"Edited again\"\n"), 0o600)
	if _, _, err := RestoreConfig(restored, to); !errors.Is(err, ErrConfigExists) {
		t.Fatalf("with the copy beside it there too: %v", err)
	}
	if _, err := Write(context.Background(), s.st, target, WriteOptions{Key: s.key, Config: make([]byte, MaxConfig+1), Now: time.Now()}); !errors.Is(err, ErrConfigTooLarge) {
		t.Fatalf("an oversized settings file: %v", err)
	}
	if b, err := ReadConfig(filepath.Join(t.TempDir(), "none.toml")); err != nil || b != nil {
		t.Fatalf("no settings file: %q %v", b, err)
	}
}

// TestFormatOneBackupStillRestores: a backup of the first format, which
// carried no settings file, still verifies and restores; restoring its
// settings does nothing. A format-1 header claiming a settings file is
// refused.
func TestFormatOneBackupStillRestores(t *testing.T) {
	s := newSite(t)
	s.put(t, "a", "x", false)
	in := s.backup(t, t.TempDir(), nil)
	rewriteHeader(t, in.Path, func(h *Header) { h.Format = 1 })
	got, err := Open(in.Path, ReadOptions{})
	if err != nil || got.Format != 1 {
		t.Fatalf("format 1: %d %v", got.Format, err)
	}
	dir := filepath.Join(t.TempDir(), "new")
	restored, err := Restore(context.Background(), []string{in.Path}, dir, pass, nil)
	if err != nil {
		t.Fatal(err)
	}
	if records(t, openRestored(t, dir))["a"] != "x" {
		t.Fatal("record not restored")
	}
	if what, _, err := RestoreConfig(restored, filepath.Join(dir, "gatehouse.toml")); err != nil || what != ConfigNone {
		t.Fatalf("settings of a format-1 backup: %v %v", what, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "gatehouse.toml")); !os.IsNotExist(err) {
		t.Fatal("a settings file appeared from nowhere")
	}
	rewriteHeader(t, in.Path, func(h *Header) { h.Config = []byte(siteConfig) })
	if _, err := Open(in.Path, ReadOptions{}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("format 1 with a settings file: %v", err)
	}
}

// TestScheduledBackupCarriesTheSettingsFile: the service's backups carry
// the file the appliance was started with.
func TestScheduledBackupCarriesTheSettingsFile(t *testing.T) {
	ctx := context.Background()
	svc, s, _ := newService(t)
	svc.ConfigPath = filepath.Join(s.dir, "gatehouse.toml")
	os.WriteFile(svc.ConfigPath, []byte(siteConfig), 0o600)
	svc.SaveSettings(ctx, "admin", t.TempDir(), "02:30", DefaultPolicy)
	svc.SetPassphrase(ctx, "admin", pass)
	run, err := svc.Now(ctx, "admin", "manual", nil)
	if err != nil {
		t.Fatal(err)
	}
	in, err := svc.File(run.File)
	if err != nil || string(in.Config) != siteConfig {
		t.Fatalf("the scheduled backup's settings: %q %v", in.Config, err)
	}
}
