package ui

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"gatehouse/appliance/auth"
)

// TestCSRFTokenBoundToSession: a token is good only with the session (or,
// signed out, the anonymous cookie) it was made for. Before, any cookie
// value sent again as the form's token passed (plain double submit).
func TestCSRFTokenBoundToSession(t *testing.T) {
	h := newHarness(t)
	mgr, other := h.session(auth.Manager), h.session(auth.Manager)
	chosen := strings.Repeat("A", 43)
	post := func(session, cookie, token string) int {
		form := url.Values{"name": {"9F"}, "level": {"9"}, "_csrf": {token}}
		r, _ := http.NewRequest("POST", h.ts.URL+"/directory/floors", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if cookie != "" {
			r.AddCookie(&http.Cookie{Name: csrfCookie, Value: cookie})
		}
		if session != "" {
			r.AddCookie(&http.Cookie{Name: sessionCookie, Value: session})
		}
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	tests := []struct {
		name                   string
		session, cookie, token string
		want                   int
	}{
		{"a cookie and token pair a stranger chose", mgr, chosen, chosen, http.StatusForbidden},
		{"the anonymous token while signed in", mgr, testCSRF, h.csrfToken(""), http.StatusForbidden},
		{"another session's token", mgr, "", h.csrfToken(other), http.StatusForbidden},
		{"the session's own token", mgr, "", h.csrfToken(mgr), http.StatusSeeOther},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := post(tc.session, tc.cookie, tc.token); got != tc.want {
				t.Fatalf("status %d, want %d", got, tc.want)
			}
		})
	}
}

// TestCSRFRenewedAtSignIn: signing in replaces the anonymous cookie, so a
// token planted before sign-in is worthless after it.
func TestCSRFRenewedAtSignIn(t *testing.T) {
	h := newHarness(t)
	resp := h.do(req{method: "POST", path: "/login", form: url.Values{"username": {"u-manager"}, "password": {"password-manager"}}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in = %d", resp.StatusCode)
	}
	ck := cookieNamed(resp, csrfCookie)
	if ck == nil || ck.Value == testCSRF || len(ck.Value) != 43 || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode {
		t.Fatalf("anonymous CSRF cookie not renewed at sign-in: %+v", ck)
	}
	sess := cookieNamed(resp, sessionCookie)
	if sess == nil {
		t.Fatal("no session")
	}
	// The page's token after sign-in is the session's, not the old one.
	if got := h.do(req{method: "POST", path: "/directory/floors", form: url.Values{"name": {"9F"}, "level": {"9"}},
		session: sess.Value, csrf: h.csrfToken("")}); got.StatusCode != http.StatusForbidden {
		t.Fatalf("pre-sign-in token after sign-in = %d, want 403", got.StatusCode)
	}
	page := readBody(t, h.do(req{method: "GET", path: "/directory/floors", session: sess.Value}))
	if !strings.Contains(page, `value="`+h.csrfToken(sess.Value)+`"`) {
		t.Fatal("the page's forms do not carry the session's token")
	}
}
