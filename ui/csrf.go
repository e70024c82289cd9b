package ui

import (
	"crypto/hmac"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// CSRF. A form's token is bound to who sends it: for a signed-in browser it
// is derived (an HMAC under the site key) from the session's ID, which only
// the appliance issues, so it changes at every sign-in and a cookie/token
// pair made up by a stranger is worth nothing; for a browser that is not
// signed in (sign-in, booking and kiosk forms) it is derived from a random
// anonymous cookie, which sign-in and sign-out replace. Browsers that mark
// a request same-origin through fetch metadata pass without a token, and
// cross-site ones never do (docs/decisions.md). The check reads the body
// only after the body limit is in place, and not at all when no token can
// match.

const csrfCookie = "gh_csrf"

// csrfFor is the token of a session, or of an anonymous cookie value when
// sessionID is empty.
func (s *Server) csrfFor(sessionID, anon string) string {
	if sessionID != "" {
		return s.app.Keys.Blind("csrf", "s:"+sessionID)
	}
	return s.app.Keys.Blind("csrf", "a:"+anon)
}

// renewAnonCSRF gives the browser a new anonymous cookie and returns it.
func (s *Server) renewAnonCSRF(c echo.Context) string {
	v := newToken()
	c.SetCookie(&http.Cookie{Name: csrfCookie, Value: v, Path: "/", HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteStrictMode})
	return v
}

func isSafeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

func (s *Server) csrf(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if isAPI(c) || isISAPIEvent(c) {
			return next(c) // tokens, not cookies: nothing for a forged form to ride on
		}
		r := c.Request()
		var token string
		fresh := false
		if ss, ok := c.Get("session").(*session); ok {
			token = s.csrfFor(ss.id, "")
		} else if ck, err := c.Cookie(csrfCookie); err == nil && len(ck.Value) == 43 {
			token = s.csrfFor("", ck.Value)
		} else {
			token, fresh = s.csrfFor("", s.renewAnonCSRF(c)), true
		}
		c.Set("csrf", token)
		c.Response().Header().Add(echo.HeaderVary, echo.HeaderCookie)
		if isSafeMethod(r.Method) {
			return next(c)
		}
		switch r.Header.Get("Sec-Fetch-Site") {
		case "same-origin", "none":
			return next(c)
		case "cross-site":
			return errCSRF
		}
		if fresh {
			return errCSRF // no token can match a cookie made just now
		}
		sent := r.Header.Get("X-CSRF-Token")
		if sent == "" {
			if err := parseBody(r); err != nil {
				return err
			}
			sent = r.PostFormValue("_csrf")
		}
		if !hmac.Equal([]byte(sent), []byte(token)) {
			return errCSRF
		}
		return next(c)
	}
}

// parseBody reads a form body under the body limit; a body over the limit
// is refused as too large rather than read as an empty form.
func parseBody(r *http.Request) error {
	var err error
	if strings.HasPrefix(r.Header.Get(echo.HeaderContentType), echo.MIMEMultipartForm) {
		err = r.ParseMultipartForm(multipartMemory)
	} else {
		err = r.ParseForm()
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return echo.ErrStatusRequestEntityTooLarge
	}
	return nil // a malformed body is an empty form: the token check refuses it
}
