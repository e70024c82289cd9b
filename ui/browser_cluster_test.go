package ui

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"gatehouse/appliance"
	"gatehouse/appliance/access"
	"gatehouse/appliance/config"
	"gatehouse/appliance/gate"
	"gatehouse/appliance/store"
	"gatehouse/appliance/visit"
	"gatehouse/cluster"
)

// lobbyApp opens the appliance in dir as serve does for a node of a site,
// and serves its pages on loopback; stop takes the lobby away as a dead
// appliance would (its node, its pages, its store).
func lobbyApp(t *testing.T, dir, name string) (app *appliance.App, base string, stop func()) {
	t.Helper()
	cfg, err := config.Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var node *cluster.Node
	app, err = appliance.OpenWith(context.Background(), dir, cfg, nil, log, appliance.OpenOptions{
		Replicate: func(st *store.Store) error {
			n, err := cluster.StartLocal(dir, st, log, nil)
			if err != nil {
				return err
			}
			node = n
			return n.WaitReady(context.Background(), 15*time.Second)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	app.Node, app.SiteWide = node, node.IsLeader
	app.Access.SetLobby(name)
	app.Devices.SetLobby(name, node.Founder())
	srv := New(app, Options{})
	ts := httptest.NewServer(srv.Handler())
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		srv.Close() // ends the live streams
		ts.CloseClientConnections()
		ts.Close()
		_ = node.Close()
		_ = app.Close()
	}
	t.Cleanup(stop)
	return app, ts.URL, stop
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestBrowserTwoLobbies: a host approves a visit
// on lobby A's pages; the visitor's pass is granted at lobby B's gate; A
// dies; B's guard station keeps working, and approvals on B's pages go
// through (a site of two lobbies and a third voter, so that losing A
// leaves a quorum).
func TestBrowserTwoLobbies(t *testing.T) {
	ctx := context.Background()
	north, south, east := t.TempDir(), t.TempDir(), t.TempDir()
	na := freeAddr(t)
	if _, err := cluster.Init(north, "north", na, na, time.Now()); err != nil {
		t.Fatal(err)
	}
	a, baseA, stopA := lobbyApp(t, north, "north")
	join := func(dir, name string) {
		tok, _, err := a.Node.IssueToken(ctx, "t", time.Hour, true)
		if err != nil {
			t.Fatal(err)
		}
		addr := freeAddr(t)
		if _, err := cluster.Join(ctx, dir, cluster.JoinOptions{Addr: na, Token: tok.String(), ID: name, Bind: addr, Advertise: addr}); err != nil {
			t.Fatal(err)
		}
	}
	join(south, "south")
	b, baseB, _ := lobbyApp(t, south, "south")
	join(east, "east")
	lobbyApp(t, east, "east")
	for deadline := time.Now().Add(30 * time.Second); a.Node.Status().Voters() < 3; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("three voters never formed")
		}
	}

	fx := setUpVisits(t, a)
	z, err := a.Access.SaveZone(ctx, "t", access.Zone{Name: "Lobby"})
	if err != nil {
		t.Fatal(err)
	}
	laneB, err := a.Access.SaveLane(ctx, "t", access.Lane{Name: "South gate", ZoneID: z.ID, Visitors: true, PulseMs: 500})
	if err != nil {
		t.Fatal(err)
	}
	book := func(name, mobile string) visit.Visit {
		now := time.Now()
		v, _, err := a.Visits.Book(ctx, visit.Request{Name: name, Mobile: mobile, IDLast6: "12345X", HostID: fx.host.ID,
			Reason: "meeting", From: now.Add(-10 * time.Minute), Until: now.Add(2 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	v := book("李雷 Li Lei", "13900139011")

	// The host approves on north's pages.
	host := startBrowser(t, baseA)
	host.mustLogin(visitsHostUser, visitsHostPass)
	host.open("/host/visits", "approve-"+v.ID)
	if st := host.submit("approve-" + v.ID); st != http.StatusOK {
		host.fatalf("approve on north: status %d", st)
	}
	host.do("wait for the host page", chromedp.WaitVisible(chromedp.ID("visits")))

	// The pass, scanned at south's gate, is granted.
	var token string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if got, err := b.Visits.Get(v.ID); err == nil && got.State == visit.Approved {
			if token, err = b.Visits.Token(got); err != nil {
				t.Fatal(err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the approval never reached south")
		}
	}
	act, err := b.Access.Decide(ctx, gate.Presentation{Lane: laneB.ID, Direction: gate.In, Kind: gate.QR, Value: token, Device: "south scanner"})
	if err != nil || !act.Open {
		t.Fatalf("south's gate: %+v %v", act, err)
	}

	// North dies. South's guard station keeps showing the gate, and a host
	// approves the next visit on south's pages.
	guard := host.newSession()
	guard.base = baseB
	guard.mustLogin(visitsDeskUser, visitsDeskPass)
	stopA()
	guard.open("/guard", "feed-rows")
	if got := guard.text(chromedp.CSS("#feed-rows")); !strings.Contains(got, "South gate") || !strings.Contains(got, "south") {
		guard.fatalf("south's guard station after north died shows %q, want south's gate named with its lobby", got)
	}
	act, err = b.Access.Decide(ctx, gate.Presentation{Lane: laneB.ID, Direction: gate.Out, Kind: gate.QR, Value: token, Device: "south scanner"})
	if err != nil || !act.Open {
		t.Fatalf("south's gate after north died: %+v %v", act, err)
	}
	var v2 visit.Visit
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		now := time.Now()
		if v2, _, err = b.Visits.Book(ctx, visit.Request{Name: "韩梅梅 Han Meimei", Mobile: "13900139012", IDLast6: "54321X", HostID: fx.host.ID,
			Reason: "meeting", From: now.Add(-10 * time.Minute), Until: now.Add(2 * time.Hour)}); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("south takes no booking after north died: %v", err)
		}
	}
	hostB := host.newSession()
	hostB.base = baseB
	hostB.mustLogin(visitsHostUser, visitsHostPass)
	hostB.open("/host/visits", "approve-"+v2.ID)
	if st := hostB.submit("approve-" + v2.ID); st != http.StatusOK {
		hostB.fatalf("approve on south after north died: status %d", st)
	}
	if got, err := b.Visits.Get(v2.ID); err != nil || got.State != visit.Approved {
		t.Fatalf("visit approved on south: %s %v", got.State, err)
	}
}
