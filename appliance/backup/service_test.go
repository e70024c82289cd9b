package backup

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gatehouse/appliance/clock"
	"gatehouse/appliance/field"
)

func newService(t *testing.T) (*Service, *site, *clock.Fake) {
	t.Helper()
	s := newSite(t)
	Register(s.st)
	loc, _ := time.LoadLocation("Asia/Shanghai")
	clk := clock.NewFake(time.Date(2026, 12, 7, 1, 0, 0, 0, loc))
	svc := New(s.st, s.st, s.dir, clk, loc, "Tower", slog.New(slog.DiscardHandler))
	svc.KDF = testKDF
	return svc, s, clk
}

func TestMissedBackupShowsInHealth(t *testing.T) {
	ctx := context.Background()
	svc, _, clk := newService(t)
	svc.SaveSettings(ctx, "admin", t.TempDir(), "02:30", DefaultPolicy)
	svc.SetPassphrase(ctx, "admin", pass)
	if _, err := svc.Now(ctx, "admin", "manual", nil); err != nil {
		t.Fatal(err)
	}
	clk.Advance(27 * time.Hour)
	if h := svc.Health(); h.State != "missed" {
		t.Fatalf("health %+v", h)
	}
}

func TestDailyBackupRunsOnceAfterItsTimeAndRotates(t *testing.T) {
	ctx := context.Background()
	svc, s, clk := newService(t)
	target := t.TempDir()
	if svc.Due(clk.Now()) {
		t.Fatal("due with no target set")
	}
	if err := svc.SaveSettings(ctx, "admin", target, "02:30", DefaultPolicy); err != nil {
		t.Fatal(err)
	}
	if err := svc.SetPassphrase(ctx, "admin", "short"); !errors.Is(err, field.ErrInvalid) {
		t.Fatalf("short passphrase: %v", err)
	}
	if err := svc.SetPassphrase(ctx, "admin", pass); err != nil {
		t.Fatal(err)
	}
	if svc.Health().State != "pending" {
		t.Fatalf("health before any run: %+v", svc.Health())
	}
	if _, ran, _ := svc.Tick(ctx); ran {
		t.Fatal("ran before 02:30")
	}
	var kinds []Kind
	for day := range 10 {
		s.put(t, "day", time.Duration(day).String(), false)
		clk.Set(time.Date(2026, 12, 7+day, 2, 31, 0, 0, svc.loc))
		run, ran, err := svc.Tick(ctx)
		if err != nil || !ran || !run.OK() {
			t.Fatalf("day %d: ran %t, %+v, %v", day, ran, run, err)
		}
		if _, again, _ := svc.Tick(ctx); again {
			t.Fatalf("day %d: ran twice", day)
		}
		kinds = append(kinds, run.Kind)
	}
	if kinds[0] != Full || kinds[1] != Incremental || kinds[7] != Full {
		t.Fatalf("kinds %v: want a full backup weekly", kinds)
	}
	if h := svc.Health(); h.State != "ok" {
		t.Fatalf("health %+v", h)
	}
	files, _ := svc.Files()
	// Days 3..9 (7 daily), and day 0's full backup, which days 3..6 need.
	if len(files) != 8 || files[7].Kind != Full || files[2].Kind != Full {
		t.Fatalf("%d files kept", len(files))
	}
	if _, err := svc.File("../site.key"); err == nil {
		t.Fatal("File served a path outside the target")
	}
	// The newest restores with the full backup it was made against.
	if _, err := Restore(ctx, []string{files[2].Path, files[0].Path}, filepath.Join(t.TempDir(), "r"), pass, nil); err != nil {
		t.Fatal(err)
	}
	// The target goes away: the run fails, is recorded, and health says so.
	os.RemoveAll(target)
	clk.Set(time.Date(2026, 12, 17, 2, 31, 0, 0, svc.loc))
	run, ran, err := svc.Tick(ctx)
	if !ran || !errors.Is(err, ErrTarget) || run.OK() {
		t.Fatalf("vanished target: %t %+v %v", ran, run, err)
	}
	if h := svc.Health(); h.State != "failed" || h.Last.Error == "" {
		t.Fatalf("health %+v", h)
	}
	runs, _ := svc.Runs(100)
	if len(runs) != 11 || runs[0].OK() {
		t.Fatalf("runs %d, newest %+v", len(runs), runs[0])
	}
}

// With backups off the deletion log is emptied; when they come back, an
// increment against the old full backup would miss deletions, so a full
// one is taken.
func TestBackupsOffThenOnStartsWithAFullBackup(t *testing.T) {
	ctx := context.Background()
	svc, s, clk := newService(t)
	target := t.TempDir()
	svc.SaveSettings(ctx, "admin", target, "02:30", DefaultPolicy)
	svc.SetPassphrase(ctx, "admin", pass)
	s.put(t, "a", "x", false)
	if run, err := svc.Now(ctx, "admin", "manual", nil); err != nil || run.Kind != Full {
		t.Fatalf("first: %+v %v", run, err)
	}
	s.put(t, "a", "", true)
	svc.SaveSettings(ctx, "admin", "", "02:30", DefaultPolicy)
	if _, ran, err := svc.Tick(ctx); ran || err != nil {
		t.Fatalf("tick with backups off: %t %v", ran, err)
	}
	svc.SaveSettings(ctx, "admin", target, "02:30", DefaultPolicy)
	clk.Advance(time.Hour)
	run, err := svc.Now(ctx, "admin", "manual", nil)
	if err != nil || run.Kind != Full {
		t.Fatalf("after backups were off: %+v %v, want a full backup", run, err)
	}
	files, _ := svc.Files()
	dst := filepath.Join(t.TempDir(), "r")
	if _, err := Restore(ctx, []string{files[0].Path}, dst, pass, nil); err != nil {
		t.Fatal(err)
	}
	if got := records(t, openRestored(t, dst)); got["a"] != "" {
		t.Fatalf("deleted record restored: %v", got)
	}
}
