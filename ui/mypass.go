package ui

import (
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance/access"
	"gatehouse/appliance/pass"
	"gatehouse/ui/views"
)

// An employee's quick pass: a QR that changes every 30 seconds, shown on
// their phone. The page refreshes the code itself.

func (s *Server) myPassData(personID string) (views.MyPassData, error) {
	d := views.MyPassData{Linked: personID != ""}
	if !d.Linked {
		return d, nil
	}
	q, err := s.app.Access.QuickPassOf(personID)
	if errors.Is(err, access.ErrNotFound) {
		_, err = s.cardOf(personID)
		d.CanGet = err == nil
		if errors.Is(err, access.ErrNotFound) {
			err = nil
		}
		return d, err
	} else if err != nil {
		return d, err
	}
	raw, err := access.QuickSecret(s.app.Keys, q)
	if err != nil {
		return d, err
	}
	now := s.app.Clock.Now()
	if d.QRSVG, err = pass.SVG(access.QuickText(q.ID, raw, now)); err != nil {
		return d, err
	}
	d.HasPass = true
	d.Until = now.Truncate(30 * time.Second).Add(30 * time.Second).In(s.app.Config.Location).Format("15:04:05")
	return d, nil
}

// cardOf is the person's active card, whose rights a quick pass copies.
func (s *Server) cardOf(personID string) (access.Credential, error) {
	cs, err := s.app.Access.Credentials()
	if err != nil {
		return access.Credential{}, err
	}
	for _, c := range cs {
		if c.HolderID == personID && c.Kind == access.Card && c.State == access.Active {
			return c, nil
		}
	}
	return access.Credential{}, access.ErrNotFound
}

func (s *Server) myPass(c echo.Context) error {
	d, err := s.myPassData(accountOf(c).PersonID)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return s.render(c, http.StatusOK, views.MyPass(d))
}

func (s *Server) myPassIssue(c echo.Context) error {
	pid := accountOf(c).PersonID
	if pid == "" {
		return s.redirect(c, "/my/pass") // the page says the account is not linked
	}
	if _, err := s.app.Access.QuickPassOf(pid); err == nil {
		return s.redirect(c, "/my/pass")
	}
	card, err := s.cardOf(pid)
	if err != nil {
		return err
	}
	if _, err := s.app.Access.IssueQuickPass(c.Request().Context(), actor(c), s.app.Keys, card); err != nil {
		return err
	}
	return s.redirect(c, "/my/pass")
}
