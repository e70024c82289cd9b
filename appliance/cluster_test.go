package appliance

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"gatehouse/appliance/config"
	"gatehouse/appliance/store"
	"gatehouse/cluster"
)

// openNode opens the appliance in dir as serve does for a node of a site.
func openNode(t testing.TB, dir string) *App { return openNodeWith(t, dir, nil) }

// openNodeWith is openNode with the node's configuration adjusted.
func openNodeWith(t testing.TB, dir string, tune func(*cluster.Config)) *App {
	t.Helper()
	cfg, _ := config.Load("", nil)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var node *cluster.Node
	a, err := OpenWith(context.Background(), dir, cfg, nil, log, OpenOptions{Replicate: func(st *store.Store) error {
		n, err := cluster.StartLocal(dir, st, log, tune)
		if err != nil {
			return err
		}
		node = n
		return n.WaitReady(context.Background(), 15*time.Second)
	}})
	if err != nil {
		t.Fatal(err)
	}
	a.Node = node
	t.Cleanup(func() { _ = node.Close(); _ = a.Close() })
	return a
}

func loopbackAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Site settings saved on one lobby are in force on the others at once,
// not at their next start.
func TestSettingsSavedOnOneLobbyAreInForceOnTheOthers(t *testing.T) {
	north, south := t.TempDir(), t.TempDir()
	na, sa := loopbackAddr(t), loopbackAddr(t)
	if _, err := cluster.Init(north, "north", na, na, time.Now()); err != nil {
		t.Fatal(err)
	}
	a := openNode(t, north)
	tok, _, err := a.Node.IssueToken(context.Background(), "t", time.Hour, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.Join(context.Background(), south, cluster.JoinOptions{Addr: na, Token: tok.String(), ID: "south", Bind: sa, Advertise: sa}); err != nil {
		t.Fatal(err)
	}
	b := openNode(t, south)
	if _, err := a.SaveSettings(context.Background(), "account:admin", map[string]string{
		"broadcasts_per_month": "2", "site_name": "Tower B", "base_url": "https://tower-b.example.com"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := b.Settings()
		if s.SiteName == "Tower B" && s.BroadcastsPerMonth == 2 && s.BaseURL == "https://tower-b.example.com" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("south's settings in force: %q %d %q", s.SiteName, s.BroadcastsPerMonth, s.BaseURL)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, allowed, err := b.Notices.Allowance(); err != nil || allowed != 2 {
		t.Fatalf("south's broadcast allowance %d (%v), want 2", allowed, err)
	}
}
