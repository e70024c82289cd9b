package shell

import (
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
