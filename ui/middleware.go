package ui

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance/auth"
	"gatehouse/ui/i18n"
	"gatehouse/ui/views"
)

const (
	sessionCookie = "gh_session"
	langCookie    = "lang"
	flashCookie   = "gh_flash"
)

var (
	errCSRF         = errors.New("ui: missing or wrong CSRF token")
	errUnauthorized = errors.New("ui: not signed in")
	errForbidden    = errors.New("ui: role not allowed")
)

func isAPI(c echo.Context) bool { return strings.HasPrefix(c.Request().URL.Path, "/api/") }

func (s *Server) withLang(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		cookie := ""
		if ck, err := c.Cookie(langCookie); err == nil {
			cookie = ck.Value
		}
		// The default language may change on the settings page.
		l := i18n.Detect(cookie, c.Request().Header.Get("Accept-Language"), i18n.Lang(s.app.Settings().Language))
		c.Set("lang", l)
		return next(c)
	}
}

func langOf(c echo.Context) i18n.Lang {
	if l, ok := c.Get("lang").(i18n.Lang); ok {
		return l
	}
	return i18n.ZH
}

// withSession attaches the signed-in user, if any. An account that has been
// disabled, whose password changed after the session began, or whose role
// changed, loses it.
func (s *Server) withSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if isAPI(c) {
			return next(c)
		}
		ck, err := c.Cookie(sessionCookie)
		if err != nil || ck.Value == "" {
			return next(c)
		}
		now := s.app.Clock.Now()
		ss, ok := s.sessions.get(ck.Value, now)
		if !ok {
			s.clearCookie(c, sessionCookie)
			return next(c)
		}
		a, err := s.app.Auth.Account(ss.accountID)
		if err != nil && !errors.Is(err, auth.ErrNotFound) {
			return err // the store did not answer: the session stays for the next try
		}
		if err != nil || a.Disabled || a.PwChanged > ss.created.UnixNano() || a.Role != ss.role {
			if err := s.sessions.delete(ss.id); err != nil {
				return err
			}
			s.clearCookie(c, sessionCookie)
			return next(c)
		}
		c.Set("session", ss)
		c.Set("account", a)
		c.Set("user", &views.User{ID: a.ID, Username: a.Username, Name: a.Name, Role: a.Role})
		return next(c)
	}
}

func userOf(c echo.Context) *views.User {
	u, _ := c.Get("user").(*views.User)
	return u
}

func accountOf(c echo.Context) auth.Account {
	a, _ := c.Get("account").(auth.Account)
	return a
}

// actor names who issues a command, for the audit trail.
func actor(c echo.Context) string {
	if u := userOf(c); u != nil {
		return "account:" + u.ID
	}
	if t, ok := c.Get("token").(auth.Token); ok {
		return "token:" + t.ID
	}
	return "anonymous"
}

// allow guards a page route: not signed in goes to the sign-in page, the
// wrong role gets 403, and a one-time password must be changed first.
func (s *Server) allow(roles []auth.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			u := userOf(c)
			if u == nil {
				if c.Request().Header.Get("HX-Request") == "true" {
					// A part of a page (the dashboard's polling, a search
					// box) must not swap the sign-in form into itself:
					// htmx sends the whole page to sign in instead.
					c.Response().Header().Set("HX-Redirect", "/login?next="+url.QueryEscape(hxPage(c)))
					return c.NoContent(http.StatusUnauthorized)
				}
				if c.Request().Method == http.MethodGet {
					return c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(c.Request().URL.RequestURI()))
				}
				return errUnauthorized
			}
			if !slices.Contains(roles, u.Role) {
				return errForbidden
			}
			if accountOf(c).MustChange && c.Path() != "/account/password" && c.Path() != "/logout" {
				return c.Redirect(http.StatusSeeOther, "/account/password")
			}
			return next(c)
		}
	}
}

// hxPage is the path of the page an htmx request came from, to come back to
// after signing in; "/" when it is missing or not this site's.
func hxPage(c echo.Context) string {
	u, err := url.Parse(c.Request().Header.Get("HX-Current-URL"))
	if err != nil || u.Path == "" || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	if u.Host != "" && u.Host != c.Request().Host {
		return "/"
	}
	p := u.EscapedPath()
	if u.RawQuery != "" {
		p += "?" + u.RawQuery
	}
	return p
}

// apiAllow guards an API route with a bearer token.
func (s *Server) apiAllow(roles []auth.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Request().Header.Get("Authorization")
			tok, ok := strings.CutPrefix(h, "Bearer ")
			if !ok {
				return errUnauthorized
			}
			t, err := s.app.Auth.TokenFor(strings.TrimSpace(tok))
			if err != nil {
				return errUnauthorized
			}
			if !slices.Contains(roles, t.Role) {
				return errForbidden
			}
			c.Set("token", t)
			return next(c)
		}
	}
}

func (s *Server) setCookie(c echo.Context, name, value string, maxAge int) {
	c.SetCookie(&http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: maxAge})
}

func (s *Server) clearCookie(c echo.Context, name string) { s.setCookie(c, name, "", -1) }

// flash leaves a one-time notice (a catalogue key) for the next page.
func (s *Server) flash(c echo.Context, key string) { s.setCookie(c, flashCookie, key, 60) }

// localPath accepts only same-site paths as redirect targets.
// Browsers drop tabs and newlines from URLs, so "/\t/evil" would become
// "//evil": any control character, backslash or host part is refused.
func localPath(p string) string {
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(p, "/") ||
		strings.HasPrefix(p, "//") || strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7F || r == '\\' }) {
		return "/"
	}
	return p
}
