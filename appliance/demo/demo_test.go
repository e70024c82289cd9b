package demo

import (
	"context"
	"io"
	"log/slog"
	"regexp"
	"testing"

	"gatehouse/appliance"
	"gatehouse/appliance/config"
	"gatehouse/appliance/directory"
	"gatehouse/appliance/store"
)

func TestSeedOnceWithAccountPerRole(t *testing.T) {
	cfg, _ := config.Load("", nil)
	ctx := context.Background()
	a, err := appliance.Open(ctx, t.TempDir(), cfg, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	logins, err := Seed(ctx, a)
	if err != nil || len(logins) != 4 {
		t.Fatalf("seed = %v, %v", logins, err)
	}
	for _, l := range logins {
		acc, err := a.Auth.Authenticate(ctx, l.Username, l.Password)
		if err != nil || acc.Role != l.Role {
			t.Errorf("demo sign-in %s: %v", l.Username, err)
		}
	}
	p, _ := a.Directory.Search(directory.Query{Kind: directory.Employee, Limit: 1})
	if p.Total != 40 {
		t.Errorf("%d employees, want 40", p.Total)
	}
	if again, err := Seed(ctx, a); err != nil || again != nil {
		t.Fatalf("second seed = %v, %v", again, err)
	}
	if n, err := a.VerifyAudit(); err != nil || n == 0 {
		t.Fatalf("audit after seed: %d %v", n, err)
	}
}

// mobileRE is a mainland mobile number standing on its own: not inside a
// longer run of digits (a time in nanoseconds) nor of hex digits (a
// SHA-256 in hex holds eleven decimal digits in a row often enough that
// four weeks of demo history has some).
var mobileRE = regexp.MustCompile(`(^|[^0-9a-f])1[3-9][0-9]{9}([^0-9a-f]|$)`)

// TestDemoBuildingKeepsNoMobileInClear loads the demo building — employees,
// property staff, key customers, card stock, accounts — and invites a
// visitor, then looks at every byte the store holds: no mobile number may
// be there in clear, whoever's it is.
func TestDemoBuildingKeepsNoMobileInClear(t *testing.T) {
	cfg, _ := config.Load("", nil)
	ctx := context.Background()
	a, err := appliance.Open(ctx, t.TempDir(), cfg, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := Seed(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, err := VisitorPass(ctx, a, "demo"); err != nil {
		t.Fatal(err)
	}
	noMobileInClear(t, a)
	// The pages still get the numbers whole.
	pg, err := a.Directory.Search(directory.Query{Kind: directory.Staff, Limit: 1})
	if err != nil || len(pg.People) != 1 {
		t.Fatalf("staff = %+v, %v", pg, err)
	}
	if m, err := a.Directory.Mobile(pg.People[0]); err != nil || !mobileRE.MatchString(m) {
		t.Fatalf("staff mobile opens to %q, %v", m, err)
	}
}

// noMobileInClear looks at every key and value the store holds for a
// mobile number in clear.
func noMobileInClear(t *testing.T, a *appliance.App) {
	t.Helper()
	_ = a.Store.View(func(r *store.Reader) error {
		for k := 0; k < 256; k++ {
			_ = r.Scan([]byte{byte(k)}, store.ScanOptions{}, func(key, val []byte) (bool, error) {
				if m := mobileRE.Find(key); m != nil {
					t.Errorf("mobile %q in clear in key %x", m, key)
				}
				if m := mobileRE.Find(val); m != nil {
					t.Errorf("mobile %q in clear under key %x", m, key)
				}
				return true, nil
			})
		}
		return nil
	})
}
