package ui

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance"
	"gatehouse/appliance/auth"
	"gatehouse/appliance/clock"
	"gatehouse/appliance/config"
	"gatehouse/appliance/store"
	"gatehouse/cluster"
)

// newClusterHarness is the harness over the founding node of a one-node
// site, as `cluster init` then serve make it.
func newClusterHarness(t *testing.T) *harness {
	t.Helper()
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	if _, err := cluster.Init(dir, "north", addr, addr, time.Now()); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var node *cluster.Node
	app, err := appliance.OpenWith(context.Background(), dir, cfg, clk, log, appliance.OpenOptions{
		Replicate: func(st *store.Store) error {
			n, err := cluster.StartLocal(dir, st, log, nil)
			if err != nil {
				return err
			}
			node = n
			return n.WaitReady(context.Background(), 10*time.Second)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	app.Node = node
	h := newHarnessApp(t, app, clk)
	t.Cleanup(func() { _ = node.Close() }) // before the harness closes the store
	return h
}

func TestClusterPageOnASingleAppliance(t *testing.T) {
	h := newHarness(t)
	admin := h.session(auth.Admin)
	res := h.do(req{method: "GET", path: "/admin/cluster", session: admin})
	body := readBody(t, res)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `id="cluster-single"`) || !strings.Contains(body, "gatehouse cluster init") {
		t.Fatalf("single appliance's cluster page: %d\n%s", res.StatusCode, body)
	}
	if res := h.do(req{method: "POST", path: "/admin/cluster/token", session: admin}); res.StatusCode != http.StatusNotFound {
		t.Fatalf("a token on a single appliance: %d", res.StatusCode)
	}
}

func TestClusterPageIssuesATokenAndNamesTheLeader(t *testing.T) {
	h := newClusterHarness(t)
	admin := h.session(auth.Admin)
	res := h.do(req{method: "GET", path: "/admin/cluster", session: admin})
	body := readBody(t, res)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "north") || !strings.Contains(body, `id="cluster-members"`) {
		t.Fatalf("cluster page: %d\n%s", res.StatusCode, body)
	}
	res = h.do(req{method: "POST", path: "/admin/cluster/token", session: admin})
	body = readBody(t, res)
	i := strings.Index(body, `<pre id="cluster-token">`)
	if res.StatusCode != http.StatusOK || i < 0 {
		t.Fatalf("token: %d\n%s", res.StatusCode, body)
	}
	tok := body[i+len(`<pre id="cluster-token">`):]
	tok = tok[:strings.Index(tok, "<")]
	if _, err := cluster.ParseToken(tok); err != nil {
		t.Fatalf("the page's token %q: %v", tok, err)
	}
	// The token is a record of the site, and audited.
	toks, err := cluster.Tokens(h.app.Store)
	if err != nil || len(toks) != 1 || !toks[0].Voter {
		t.Fatalf("tokens %+v %v", toks, err)
	}
	// Removing needs the name typed; the node cannot remove itself.
	res = h.do(req{method: "POST", path: "/admin/cluster/remove", session: admin, form: url.Values{"id": {"north"}, "confirm": {"nort"}}})
	if body := readBody(t, res); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="cluster-error"`) {
		t.Fatalf("remove without the name typed: %d", res.StatusCode)
	}
	res = h.do(req{method: "POST", path: "/admin/cluster/remove", session: admin, form: url.Values{"id": {"north"}, "confirm": {"north"}}})
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("a node removing itself: %d", res.StatusCode)
	}
	// /healthz says where the node stands.
	res = h.do(req{method: "GET", path: "/healthz"})
	var hz map[string]string
	if err := json.NewDecoder(res.Body).Decode(&hz); err != nil || hz["cluster"] != "leader" {
		t.Fatalf("healthz %v %v", hz, err)
	}
}

func TestAPageOnALobbyCutOffSaysSoAndRefusesChanges(t *testing.T) {
	h := newClusterHarness(t)
	admin := h.session(auth.Admin)
	// A second lobby joins, becomes a voter, and dies: with one of two
	// voters left, the site has no quorum and this lobby is cut off.
	node := h.app.Node
	tok, _, err := node.IssueToken(context.Background(), "test", time.Hour, true)
	if err != nil {
		t.Fatal(err)
	}
	south := t.TempDir()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	if _, err := cluster.Join(context.Background(), south, cluster.JoinOptions{Addr: node.Address(), Token: tok.String(), ID: "south", Bind: addr, Advertise: addr}); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(store.Options{Dir: south, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	appliance.RegisterCommands(st)
	sn, err := cluster.StartLocal(south, st, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for node.Status().Voters() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("south never became a voter")
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = sn.Close()
	_ = st.Close()
	for {
		res := h.do(req{method: "GET", path: "/admin/cluster", session: admin})
		body := readBody(t, res)
		if strings.Contains(body, `id="cluster-cut-off"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no cut-off banner:\n%s", body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	res := h.do(req{method: "POST", path: "/admin/cluster/token", session: admin})
	if body := readBody(t, res); res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, `id="cluster-error"`) {
		t.Fatalf("a change on a cut-off lobby: %d\n%s", res.StatusCode, body)
	}
	// Reading still works, and /healthz stays 200 and says so.
	res = h.do(req{method: "GET", path: "/healthz"})
	var hz map[string]string
	if err := json.NewDecoder(res.Body).Decode(&hz); err != nil || res.StatusCode != http.StatusOK || !strings.HasPrefix(hz["cluster"], "cut off since") {
		t.Fatalf("healthz of a cut-off lobby: %d %v %v", res.StatusCode, hz, err)
	}
}
