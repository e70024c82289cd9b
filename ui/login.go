package ui

import (
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance"
	"gatehouse/appliance/auth"
	"gatehouse/appliance/store"
	"gatehouse/ui/i18n"
	"gatehouse/ui/views"
)

func (s *Server) loginPage(c echo.Context) error {
	if userOf(c) != nil {
		return s.redirect(c, "/")
	}
	return s.render(c, http.StatusOK, views.Login(views.LoginForm{Next: localPath(c.QueryParam("next")), Signup: s.app.SignupReady()}))
}

func (s *Server) login(c echo.Context) error {
	username, pw := c.FormValue("username"), c.FormValue("password")
	next := localPath(c.FormValue("next"))
	form := views.LoginForm{Username: username, Next: next, Signup: s.app.SignupReady()}
	if len(username) > 64 || len(pw) > auth.MaxPassword*4 {
		form.Error = "login.bad_credentials"
		return s.render(c, http.StatusUnauthorized, views.Login(form))
	}
	a, err := s.app.Auth.Authenticate(c.Request().Context(), username, pw)
	switch {
	case errors.Is(err, auth.ErrBadCredentials):
		form.Error = "login.bad_credentials"
		return s.render(c, http.StatusUnauthorized, views.Login(form))
	case errors.Is(err, auth.ErrLocked):
		s.log.Warn("sign-in refused: account locked", "account", a.ID)
		form.Error = "login.locked"
		return s.render(c, http.StatusLocked, views.Login(form))
	case errors.Is(err, auth.ErrDisabled):
		form.Error = "login.disabled"
		return s.render(c, http.StatusForbidden, views.Login(form))
	case err != nil:
		return err
	}
	s.app.SignedIn(a)
	if err := s.startSession(c, a); err != nil {
		return err
	}
	if a.MustChange {
		return s.redirect(c, "/account/password")
	}
	if next == "/" {
		next = landing(a.Role)
	}
	return s.redirect(c, next)
}

// startSession replaces any session the browser had with a new one.
// It returns once the session is on disk: a sign-in acknowledged survives
// a restart of the appliance.
func (s *Server) startSession(c echo.Context, a auth.Account) error {
	if old, ok := c.Get("session").(*session); ok {
		if err := s.sessions.delete(old.id); err != nil {
			return err
		}
	}
	ss, err := s.sessions.open(a, s.app.Clock.Now())
	if err != nil {
		return err
	}
	s.setCookie(c, sessionCookie, ss.id, 0)
	s.renewAnonCSRF(c) // the signed-out token dies with the sign-in
	return nil
}

func (s *Server) logout(c echo.Context) error {
	if ss, ok := c.Get("session").(*session); ok {
		if err := s.sessions.delete(ss.id); err != nil {
			return err
		}
	}
	s.clearCookie(c, sessionCookie)
	s.renewAnonCSRF(c)
	s.flash(c, "flash.signed_out")
	return s.redirect(c, "/login")
}

func (s *Server) setLang(c echo.Context) error {
	if l, ok := i18n.Parse(c.FormValue("lang")); ok {
		s.setCookie(c, langCookie, string(l), 365*24*3600)
	}
	return s.redirect(c, localPath(c.FormValue("next")))
}

// health answers monitoring: 200 while the store reads and has met no
// corruption; 503 with the reason (the file, and the cure) otherwise.
func (s *Server) health(c echo.Context) error {
	status, code, reason := "ok", http.StatusOK, ""
	if err := s.app.Store.Corrupt(); err != nil {
		status, code, reason = "corrupt", http.StatusServiceUnavailable, err.Error()
	} else if err := s.app.Store.View(func(*store.Reader) error { return nil }); err != nil {
		status, code, reason = "store unavailable", http.StatusServiceUnavailable, err.Error()
	}
	// A failed or missed backup is reported but keeps 200: it must not take
	// the lobby out of a load balancer while the gates work.
	bk := s.app.Backups.Health()
	backupState := bk.State
	if bk.State == "failed" || bk.State == "missed" {
		// The reason stays on the administrator's page: this one is public.
		backupState += ", last run " + time.Unix(0, bk.Last.Started).UTC().Format(time.RFC3339)
	}
	body := map[string]string{"status": status, "version": appliance.Version, "site": s.app.Config.SiteName,
		"time": s.app.Clock.Now().UTC().Format(time.RFC3339), "backup": backupState}
	if reason != "" {
		body["reason"] = reason
	}
	// A node of a site says where it stands; a lobby cut off from the
	// rest still answers 200: its gates and pages work on its copy.
	if n := s.app.Node; n != nil {
		switch id, _ := n.Leader(); {
		case n.IsLeader():
			body["cluster"] = "leader"
		case id != "":
			body["cluster"] = "follower of " + id
		default:
			body["cluster"] = "cut off since " + n.CutOffSince().UTC().Format(time.RFC3339)
		}
	}
	return c.JSON(code, body)
}
