package ui

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance/field"
	"gatehouse/appliance/pass"
	"gatehouse/appliance/store"
	"gatehouse/appliance/visit"
	"gatehouse/ui/views"
)

// Kiosk mode turns a lobby tablet into a self-service desk. A member of
// staff signs in on the tablet and presses "start kiosk": their session
// ends and the tablet gets a kiosk cookie, signed with the site key and
// valid for kioskLife, that opens the kiosk pages and nothing else. A
// restart of the appliance keeps kiosks working; changing the site key (or
// waiting out the cookie) retires them.

const (
	kioskCookie = "gh_kiosk"
	kioskLife   = 90 * 24 * time.Hour
	kioskWindow = 2 * time.Hour // a walk-in's expected stay
)

// kioskRole marks kiosk routes in the route table; no account has it.
const kioskRole = "kiosk"

func (s *Server) kioskValue(id string, expires time.Time) string {
	body := id + "." + strconv.FormatInt(expires.Unix(), 10)
	return body + "." + s.app.Keys.Blind("kiosk", body)
}

// isKiosk reports whether the request carries a valid kiosk cookie.
func (s *Server) isKiosk(c echo.Context) bool {
	ck, err := c.Cookie(kioskCookie)
	if err != nil {
		return false
	}
	parts := strings.Split(ck.Value, ".")
	if len(parts) != 3 || !store.ValidID(parts[0]) {
		return false
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || s.app.Clock.Now().Unix() >= exp {
		return false
	}
	want := s.kioskValue(parts[0], time.Unix(exp, 0))
	return subtle.ConstantTimeCompare([]byte(want), []byte(ck.Value)) == 1
}

// kioskOnly guards the kiosk pages.
func (s *Server) kioskOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !s.isKiosk(c) {
			if c.Request().Method == http.MethodGet && c.Path() == "/kiosk" {
				return s.render(c, http.StatusForbidden, views.KioskNotSetUp())
			}
			return errForbidden
		}
		return next(c)
	}
}

func (s *Server) kioskStart(c echo.Context) error {
	id := store.NewID(s.app.Clock.Now())
	exp := s.app.Clock.Now().Add(kioskLife)
	if ss, ok := c.Get("session").(*session); ok {
		if err := s.sessions.delete(ss.id); err != nil {
			return err
		}
	}
	s.clearCookie(c, sessionCookie)
	c.SetCookie(&http.Cookie{Name: kioskCookie, Value: s.kioskValue(id, exp), Path: "/", HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteStrictMode, Expires: exp})
	s.log.Info("kiosk started", "kiosk", id, "by", actor(c))
	return s.redirect(c, "/kiosk")
}

func (s *Server) kioskHome(c echo.Context) error {
	return s.render(c, http.StatusOK, views.KioskHome())
}

func (s *Server) kioskForm(c echo.Context, status int, d views.KioskFormData) error {
	cs, err := s.app.Directory.Companies(false)
	if err != nil {
		return err
	}
	d.Companies = cs
	if d.Form.HostID != "" {
		if p, err := s.app.Directory.Person(d.Form.HostID); err == nil && p.CanHost && p.Active {
			d.HostName = s.personName(c, p)
		} else {
			d.Form.HostID = ""
		}
	}
	return s.render(c, status, views.KioskForm(d))
}

func (s *Server) kioskRegisterPage(c echo.Context) error {
	return s.kioskForm(c, http.StatusOK, views.KioskFormData{Form: views.BookForm{Party: "1"}})
}

func (s *Server) kioskRegister(c echo.Context) error {
	f := views.BookForm{Name: c.FormValue("name"), Mobile: c.FormValue("mobile"), IDLast6: c.FormValue("id_last6"),
		HostID: c.FormValue("host_id"), Reason: c.FormValue("reason"), Party: c.FormValue("party")}
	d := views.KioskFormData{Form: f, Company: c.FormValue("company_id")}
	party, ok := atoiDefault(f.Party, 1)
	if !ok {
		d.Errs = field.Errors{{Field: "party_size", Code: "not_a_number"}}
		return s.kioskForm(c, http.StatusUnprocessableEntity, d)
	}
	now := s.app.Clock.Now()
	v, link, err := s.app.Visits.Book(c.Request().Context(), visit.Request{Name: f.Name, Mobile: f.Mobile, IDLast6: f.IDLast6,
		HostID: f.HostID, Reason: f.Reason, From: now, Until: now.Add(kioskWindow), PartySize: party, Lang: string(langOf(c))})
	if fe, ok := field.As(err); ok {
		d.Errs = fe
		return s.kioskForm(c, http.StatusUnprocessableEntity, d)
	}
	if errors.Is(err, visit.ErrBlocked) {
		return s.render(c, http.StatusForbidden, views.ErrorPage(http.StatusForbidden, langOf(c).T("book.blocked")))
	}
	if err != nil {
		return err
	}
	s.log.Info("kiosk registration", "visit", v.ID)
	return s.redirect(c, "/kiosk/wait/"+link)
}

func (s *Server) kioskWait(c echo.Context) error {
	v, err := s.visitByLink(c)
	if err != nil {
		return err
	}
	d := views.KioskWaitData{Visit: v, Token: c.Param("token"), Notices: s.visitorNotices()}
	if p, err := s.app.Directory.Person(v.HostID); err == nil {
		d.HostName = s.personName(c, p)
	}
	if v.State.PassValid() {
		tok, err := s.app.Visits.Token(v)
		if err != nil {
			return err
		}
		if d.PassSVG, err = pass.SVG(tok); err != nil {
			return err
		}
		scheme := "http"
		if c.IsTLS() {
			scheme = "https"
		}
		if d.LinkSVG, err = pass.SVG(scheme + "://" + c.Request().Host + "/v/" + d.Token); err != nil {
			return err
		}
	}
	return s.render(c, http.StatusOK, views.KioskWait(d))
}

func (s *Server) kioskHosts(c echo.Context) error { return s.bookHosts(c) }
