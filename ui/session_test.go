package ui

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance"
	"gatehouse/appliance/auth"
)

// testSession signs an account in without the password round trip (argon2
// is slow).
func (s *Server) testSession(accountID string, now time.Time) *session {
	a, err := s.app.Auth.Account(accountID)
	if err != nil {
		panic(err)
	}
	ss, err := s.sessions.open(a, now)
	if err != nil {
		panic(err)
	}
	return ss
}

// signedIn says whether a session cookie opens the guard station.
func (h *harness) signedIn(sid string) bool {
	h.t.Helper()
	resp := h.do(req{method: "GET", path: "/guard", session: sid})
	switch {
	case resp.StatusCode == http.StatusOK:
		return true
	case resp.StatusCode == http.StatusSeeOther && strings.HasPrefix(resp.Header.Get("Location"), "/login"):
		return false
	}
	h.t.Fatalf("/guard answered %d %s", resp.StatusCode, resp.Header.Get("Location"))
	return false
}

// TestSessionSurvivesRestart signs the guard in through the sign-in form,
// restarts the appliance on its data directory, and the same cookie still
// opens the guard station; the data directory holds no token.
func TestSessionSurvivesRestart(t *testing.T) {
	h := newHarness(t)
	resp := h.do(req{method: "POST", path: "/login", form: url.Values{"username": {"u-reception"}, "password": {"password-reception"}}})
	ck := cookieNamed(resp, sessionCookie)
	if resp.StatusCode != http.StatusSeeOther || ck == nil {
		t.Fatalf("sign-in: %d, cookie %v", resp.StatusCode, ck)
	}
	if !h.signedIn(ck.Value) {
		t.Fatal("the new session does not open the guard station")
	}
	h.clock.Advance(10 * time.Minute)
	h.restart()
	if !h.signedIn(ck.Value) {
		t.Fatal("the restart signed the guard out")
	}
	b, err := os.ReadFile(filepath.Join(h.dir, appliance.SessionDir, "sessions.log"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), ck.Value) {
		t.Fatal("the session token is in the data directory")
	}
	// Forms keep working: the CSRF token of the session is the same.
	resp = h.do(req{method: "POST", path: "/logout", session: ck.Value})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Fatalf("sign-out after the restart: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestSessionTimeoutsHoldAfterRestart: the idle and absolute timeouts end a
// session kept across restarts, on the fake clock.
func TestSessionTimeoutsHoldAfterRestart(t *testing.T) {
	h := newHarness(t)
	idle := h.session(auth.Reception)
	busy := h.session(auth.Manager)
	start := h.clock.Now()
	h.clock.Advance(20 * time.Minute)
	if !h.signedIn(busy) {
		t.Fatal("busy session refused")
	}
	h.restart()
	h.clock.Advance(11 * time.Minute) // 31 idle minutes for one, 11 for the other
	if h.signedIn(idle) {
		t.Fatal("a session idle 31 minutes survived the restart")
	}
	if !h.signedIn(busy) {
		t.Fatal("a session idle 11 minutes was lost in the restart")
	}
	// Used every 20 minutes, restarted every 2 hours: alive until 12 hours
	// after the sign-in, then ended.
	for h.clock.Now().Sub(start) < 12*time.Hour-20*time.Minute {
		h.clock.Advance(20 * time.Minute)
		if h.clock.Now().Sub(start)%(2*time.Hour) < 20*time.Minute {
			h.restart()
		}
		if !h.signedIn(busy) {
			t.Fatalf("busy session ended %v after the sign-in", h.clock.Now().Sub(start))
		}
	}
	h.clock.Advance(20 * time.Minute)
	h.restart()
	if h.signedIn(busy) {
		t.Fatalf("the session outlived the 12-hour limit (%v) across restarts", h.clock.Now().Sub(start))
	}
}

// TestSignOutHoldsAfterRestart: a signed-out cookie stays signed out after
// the restart; so does one whose account's password, role or state changed.
func TestSignOutHoldsAfterRestart(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	out := h.session(auth.Reception)
	pw := h.session(auth.Manager)
	role := h.session(auth.Host)
	keep := h.session(auth.Admin)
	if resp := h.do(req{method: "POST", path: "/logout", session: out}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", resp.StatusCode)
	}
	h.clock.Advance(time.Second)
	if err := h.app.Auth.SetPassword(ctx, "test", h.accounts[auth.Manager].ID, "a-new-password-1", false); err != nil {
		t.Fatal(err)
	}
	a := h.accounts[auth.Host]
	a.Role = auth.Reception
	if err := h.app.Auth.Update(ctx, "test", a); err != nil {
		t.Fatal(err)
	}
	h.restart()
	for name, sid := range map[string]string{"signed out": out, "password changed": pw, "role changed": role} {
		if h.signedIn(sid) {
			t.Errorf("%s: the session works after the restart", name)
		}
	}
	if !h.signedIn(keep) {
		t.Error("an untouched session was lost")
	}
}
