package ui

// Browser test of a restart under an open guard station, with the harness
// of browser_test.go.
//
//	CI=1 go test ./ui/ -run 'TestBrowserGuardRestart' -count=1 -v

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"gatehouse/appliance"
	"gatehouse/appliance/auth"
	"gatehouse/appliance/config"
)

// lobbyServer is an appliance served on a fixed address, which can be
// stopped and started again on the same data directory and port.
type lobbyServer struct {
	t    *testing.T
	dir  string
	cfg  config.Config
	addr string
	app  *appliance.App
	srv  *Server
	hs   *http.Server
	done chan struct{}
}

func startLobbyServer(t *testing.T) *lobbyServer {
	t.Helper()
	cfg, err := config.Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	l := &lobbyServer{t: t, dir: t.TempDir(), cfg: cfg, addr: "127.0.0.1:0"}
	l.start()
	t.Cleanup(l.stop)
	return l
}

func (l *lobbyServer) start() {
	l.t.Helper()
	app, err := appliance.Open(context.Background(), l.dir, l.cfg, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		l.t.Fatal(err)
	}
	ln, err := net.Listen("tcp", l.addr)
	if err != nil {
		app.Close()
		l.t.Fatalf("listen again on %s: %v", l.addr, err)
	}
	l.addr = ln.Addr().String()
	l.app, l.srv = app, New(app, Options{})
	l.hs = &http.Server{Handler: l.srv.Handler(), ReadHeaderTimeout: 5 * time.Second}
	l.done = make(chan struct{})
	go func() {
		defer close(l.done)
		if err := l.hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			l.t.Errorf("serve: %v", err)
		}
	}()
}

// stop ends the server as a service stop does: connections (the page's
// live stream too) are cut, the appliance closes.
func (l *lobbyServer) stop() {
	if l.hs == nil {
		return
	}
	l.hs.Close()
	<-l.done
	l.srv.Close()
	if err := l.app.Close(); err != nil {
		l.t.Errorf("close appliance: %v", err)
	}
	l.hs = nil
}

// TestBrowserGuardRestart: the guard station is open on the lobby PC when
// the appliance restarts on the same data directory and port; the page
// goes on working — its next refresh is answered for the signed-in guard —
// and reloading it shows the station, not the sign-in page.
func TestBrowserGuardRestart(t *testing.T) {
	l := startLobbyServer(t)
	if _, err := l.app.Auth.CreateAccount(context.Background(), "test", auth.NewAccount{Username: "guard", Name: "Guard Li",
		Role: auth.Reception, Password: "guard-password-1"}); err != nil {
		t.Fatal(err)
	}
	b := startBrowser(t, "http://"+l.addr)
	if st := b.login("guard", "guard-password-1"); st != http.StatusOK {
		b.fatalf("sign in: status %d", st)
	}
	b.open("/guard", "occupancy")

	l.stop()
	l.start()
	// The occupancy card refreshes itself every 5 s (htmx, outerHTML): a
	// refresh answered after the restart replaces the marked element. A
	// lost session would answer 401 and send the page to /login instead.
	b.eval(`(() => { document.getElementById("occupancy").dataset.before = "restart"; return "" })()`)
	b.waitFor("a refresh of the station after the restart",
		`location.pathname === "/guard" && document.getElementById("occupancy") !== null && document.getElementById("occupancy").dataset.before === undefined`)
	b.open("/guard", "occupancy")
	if p := b.path(); p != "/guard" {
		b.fatalf("after the restart the station went to %s", p)
	}
	if b.exists("#f-username") {
		b.fatalf("the sign-in form shows after the restart")
	}
}
