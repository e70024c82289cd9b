package demo

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"gatehouse/appliance"
	"gatehouse/appliance/config"
	"gatehouse/appliance/directory"
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
