package shell

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance/directory"
	"gatehouse/appliance/store"
)

func run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(args, Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Environ: []string{"GATEHOUSE_TIME_ZONE=UTC"}})
	return code, out.String(), errb.String()
}

func TestUserCommands(t *testing.T) {
	d := t.TempDir()
	code, out, errs := run(t, "", "user", "add", "--data", d, "--username", "lina", "--name", "Li Na", "--role", "reception")
	if code != 0 || !strings.Contains(out, "one-time password: ") {
		t.Fatalf("user add = %d %q %q", code, out, errs)
	}
	if code, _, errs := run(t, "short\n", "user", "add", "--data", d, "--username", "wuwu", "--name", "Wu", "--role", "host", "--password-stdin"); code != 1 || !strings.Contains(errs, "password: At least 8 characters.") {
		t.Fatalf("short password = %d %q", code, errs)
	}
	if code, _, errs := run(t, "", "user", "add", "--data", d, "--username", "x", "--name", "X", "--role", "king"); code != 1 || !strings.Contains(errs, "Nothing was changed") || strings.Contains(errs, "invalid_") {
		t.Fatalf("bad role = %d %q", code, errs)
	}
	if code, out, _ := run(t, "good-password-1\n", "user", "passwd", "lina", "--data", d, "--password-stdin"); code != 0 || !strings.Contains(out, "password set") {
		t.Fatalf("passwd = %d %q", code, out)
	}
	if code, out, _ := run(t, "", "user", "unlock", "--data", d, "lina"); code != 0 || !strings.Contains(out, "unlocked lina") {
		t.Fatalf("unlock = %d %q", code, out)
	}
	if code, _, errs := run(t, "", "user", "unlock", "--data", d, "nobody"); code != 1 || !strings.Contains(errs, "no account") {
		t.Fatalf("unlock unknown = %d %q", code, errs)
	}
	code, out, _ = run(t, "", "user", "list", "--data", d)
	if code != 0 || !strings.Contains(out, "li") || !strings.Contains(out, "reception") {
		t.Fatalf("list = %d %q", code, out)
	}
	if code, out, _ := run(t, "", "audit", "verify", "--data", d); code != 0 || !strings.Contains(out, "intact") {
		t.Fatalf("audit verify = %d %q", code, out)
	}
	if code, _, _ := run(t, "", "frobnicate"); code != 2 {
		t.Fatalf("unknown command exit = %d, want 2", code)
	}
}

func TestImportEmployeesCommand(t *testing.T) {
	d := t.TempDir()
	// Floors and a company first, through the same code the pages use.
	code, _, errs := run(t, "", "user", "list", "--data", d)
	if code != 0 {
		t.Fatal(errs)
	}
	a, err := common{data: d}.open(context.Background(), Env{Stderr: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	f, _ := a.Directory.SaveFloor(context.Background(), "t", directory.Floor{Name: "5F", Level: 5})
	if _, err := a.Directory.SaveCompany(context.Background(), "t", directory.Company{Name: "Acme", FloorIDs: []string{f.ID}}); err != nil {
		t.Fatal(err)
	}
	a.Close()

	bad := filepath.Join(d, "bad.csv")
	os.WriteFile(bad, []byte(directory.CSVHeader+"\nA,13800138000,Acme,5F,1,,\nB,13800138001,Nope,5F,2,,\n"), 0o600)
	code, _, errs = run(t, "", "import", "employees", "--data", d, bad)
	if code != 1 || !strings.Contains(errs, "line 3, Company: No such company.") || !strings.Contains(errs, "Nothing was changed") {
		t.Fatalf("bad import = %d %q", code, errs)
	}
	good := filepath.Join(d, "good.csv")
	os.WriteFile(good, []byte(directory.CSVHeader+"\nA,13800138000,Acme,5F,1,,\nB,13800138001,acme,5f,2,,no\n"), 0o600)
	code, out, errs := run(t, "", "import", "employees", good, "--data", d)
	if code != 0 || !strings.Contains(out, "imported 2 employees") {
		t.Fatalf("good import = %d %q %q", code, out, errs)
	}
}

// TestPurgeCommandCountsPeople: the dry run counts a person deactivated
// long ago among what the purge would remove and removes nothing; the run
// then purges them.
func TestPurgeCommandCountsPeople(t *testing.T) {
	d := t.TempDir()
	a, err := common{data: d}.open(context.Background(), Env{Stderr: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p, err := a.Directory.SavePerson(ctx, "t", directory.Person{Kind: directory.Staff, Name: "Old Guard", Mobile: "13800138000"})
	if err != nil {
		t.Fatal(err)
	}
	// Deactivated 100 days ago, as the command issued then would have.
	if _, err := store.Issue(ctx, a.Store, directory.CmdPersonActive, "t", time.Now().AddDate(0, 0, -100), map[string]any{"id": p.ID, "active": false}); err != nil {
		t.Fatal(err)
	}
	a.Close()
	code, out, errs := run(t, "", "purge", "--dry-run", "--data", d)
	if code != 0 || !strings.Contains(out, "0 photos (over 30 days) and 1 people deactivated in the directory (over 90 days ago)") {
		t.Fatalf("purge --dry-run = %d %q %q", code, out, errs)
	}
	code, out, errs = run(t, "", "purge", "--data", d)
	if code != 0 || !strings.Contains(out, "0 photos and 1 deactivated people") {
		t.Fatalf("purge = %d %q %q", code, out, errs)
	}
	if code, out, _ := run(t, "", "purge", "--dry-run", "--data", d); code != 0 || !strings.Contains(out, "and 0 people") {
		t.Fatalf("purge --dry-run after the purge = %d %q", code, out)
	}
}
