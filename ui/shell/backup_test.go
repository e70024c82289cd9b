package shell

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBackupVerifyRestoreCommands(t *testing.T) {
	d, target := t.TempDir(), t.TempDir()
	if code, _, errs := run(t, "", "user", "add", "--data", d, "--username", "lina", "--name", "Li Na", "--role", "reception"); code != 0 {
		t.Fatal(errs)
	}
	const pw = "a long backup passphrase\n"
	if code, _, errs := run(t, "", "backup", "--data", d, "--to", target); code != 2 || !strings.Contains(errs, "--passphrase-stdin") {
		t.Fatalf("backup without a terminal = %d %q", code, errs)
	}
	code, out, errs := run(t, pw, "backup", "--data", d, "--to", target, "--passphrase-stdin")
	if code != 0 || !strings.Contains(out, "written and verified") || !strings.Contains(out, "full backup") {
		t.Fatalf("backup = %d %q %q", code, out, errs)
	}
	files, _ := filepath.Glob(filepath.Join(target, "gatehouse-*-full-*.ghb"))
	if len(files) != 1 {
		t.Fatalf("files %v", files)
	}
	if code, out, errs := run(t, "", "backup", "verify", files[0]); code != 0 || !strings.HasPrefix(out, "ok ") {
		t.Fatalf("verify = %d %q %q", code, out, errs)
	}
	newDir := filepath.Join(t.TempDir(), "new")
	if code, _, errs := run(t, "not the passphrase\n", "restore", "--from", files[0], "--data", newDir, "--passphrase-stdin"); code != 1 || !strings.Contains(errs, "wrong passphrase") {
		t.Fatalf("wrong passphrase = %d %q", code, errs)
	}
	if _, err := os.Stat(newDir); !os.IsNotExist(err) {
		t.Fatalf("a failed restore left %s", newDir)
	}
	if code, out, errs := run(t, pw, "restore", "--from", files[0], "--data", newDir, "--passphrase-stdin"); code != 0 || !strings.Contains(out, "verified") {
		t.Fatalf("restore = %d %q %q", code, out, errs)
	}
	if code, out, _ := run(t, "", "user", "list", "--data", newDir); code != 0 || !strings.Contains(out, "lina") {
		t.Fatalf("restored accounts = %d %q", code, out)
	}
	if code, _, errs := run(t, pw, "restore", "--from", files[0], "--data", newDir, "--passphrase-stdin"); code != 1 || !strings.Contains(errs, "not empty") {
		t.Fatalf("restore over data = %d %q", code, errs)
	}
}

// TestRestoreBringsBackTheSettingsFile: the backup carries the data
// directory's gatehouse.toml; verify says so; a restore writes it into the
// new directory, where serve reads it, and a restore pointed at an existing
// file keeps that file and writes the backup's beside it.
func TestRestoreBringsBackTheSettingsFile(t *testing.T) {
	d, target := t.TempDir(), t.TempDir()
	const settings = "site_name = \"Tower A\"\nretain_person_days = 120\n"
	os.WriteFile(filepath.Join(d, "gatehouse.toml"), []byte(settings), 0o600)
	if code, _, errs := run(t, "", "user", "add", "--data", d, "--username", "lina", "--name", "Li Na", "--role", "reception"); code != 0 {
		t.Fatal(errs)
	}
	const pw = "a long backup passphrase\n"
	if code, out, errs := run(t, pw, "backup", "--data", d, "--to", target, "--passphrase-stdin"); code != 0 || strings.Contains(out, "Tower A") {
		t.Fatalf("backup = %d %q %q", code, out, errs)
	}
	files, _ := filepath.Glob(filepath.Join(target, "gatehouse-*-full-*.ghb"))
	if code, out, _ := run(t, "", "backup", "verify", files[0]); code != 0 || !strings.Contains(out, fmt.Sprintf("carries gatehouse.toml (%d bytes)", len(settings))) {
		t.Fatalf("verify = %d %q", code, out)
	}
	newDir := filepath.Join(t.TempDir(), "new")
	code, out, errs := run(t, pw, "restore", "--from", files[0], "--data", newDir, "--passphrase-stdin")
	if code != 0 || !strings.Contains(out, "settings file written to "+filepath.Join(newDir, "gatehouse.toml")) || strings.Contains(out, "Tower A") {
		t.Fatalf("restore = %d %q %q", code, out, errs)
	}
	a, err := common{data: newDir}.open(context.Background(), Env{Stderr: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	if a.Config.SiteName != "Tower A" || a.Config.RetainPersonDays != 120 {
		t.Fatalf("the restored appliance's settings: %q %d", a.Config.SiteName, a.Config.RetainPersonDays)
	}
	a.Close()
	mine := filepath.Join(t.TempDir(), "gatehouse.toml")
	os.WriteFile(mine, []byte("site_name = \"New box\"\n"), 0o600)
	code, out, errs = run(t, pw, "restore", "--from", files[0], "--data", filepath.Join(t.TempDir(), "other"), "--passphrase-stdin", "--config-to", mine)
	if code != 0 || !strings.Contains(out, "exists and was kept") || !strings.Contains(out, mine+".from-backup") {
		t.Fatalf("restore beside an existing file = %d %q %q", code, out, errs)
	}
	if b, _ := os.ReadFile(mine); string(b) != "site_name = \"New box\"\n" {
		t.Fatalf("the existing settings file was overwritten: %q", b)
	}
}
