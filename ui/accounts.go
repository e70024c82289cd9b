package ui

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance/auth"
	"gatehouse/appliance/field"
	"gatehouse/appliance/store"
	"gatehouse/ui/views"
)

func (s *Server) accounts(c echo.Context) error {
	as, err := s.app.Auth.Accounts()
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.Accounts(views.AccountsData{Accounts: as, Now: s.app.Clock.Now().UnixNano()}))
}

func (s *Server) accountNew(c echo.Context) error {
	return s.render(c, http.StatusOK, views.AccountForm(views.AccountFormData{New: true, Account: auth.Account{Role: auth.Reception}}))
}

func (s *Server) accountFormData(c echo.Context, a auth.Account) (views.AccountFormData, error) {
	d := views.AccountFormData{Account: a}
	if a.PersonID != "" {
		if p, err := s.app.Directory.Person(a.PersonID); err == nil {
			d.EmployeeNo = p.EmployeeNo
		}
	}
	var es []store.AuditEntry
	err := s.app.Store.View(func(r *store.Reader) error {
		var err error
		es, err = store.AuditFor(r, "account:"+a.ID, 50, 100000)
		return err
	})
	if err != nil {
		return d, err
	}
	d.History, err = s.newAuditNames(c).rows(es)
	return d, err
}

func (s *Server) accountEdit(c echo.Context) error {
	a, err := s.app.Auth.Account(c.Param("id"))
	if err != nil {
		return err
	}
	d, err := s.accountFormData(c, a)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.AccountForm(d))
}

// personByNumber links a host account to the directory by employee number.
func (s *Server) personByNumber(no string) (string, field.Errors) {
	if no == "" {
		return "", nil
	}
	p, err := s.app.Directory.PersonByNumber(no)
	if err != nil {
		return "", field.Errors{{Field: "employee_no", Code: "unknown_employee_no"}}
	}
	return p.ID, nil
}

func (s *Server) accountCreate(c echo.Context) error {
	n := auth.NewAccount{Username: c.FormValue("username"), Name: c.FormValue("name"), Role: auth.Role(c.FormValue("role")),
		Password: c.FormValue("password"), MustChange: true}
	no := c.FormValue("employee_no")
	pid, es := s.personByNumber(no)
	n.PersonID = pid
	var err error = es
	if len(es) == 0 {
		_, err = s.app.Auth.CreateAccount(c.Request().Context(), actor(c), n)
	}
	if fe, ok := field.As(err); ok {
		return s.render(c, http.StatusUnprocessableEntity, views.AccountForm(views.AccountFormData{New: true, Errs: fe, EmployeeNo: no,
			Account: auth.Account{Username: n.Username, Name: n.Name, Role: n.Role}}))
	}
	if err != nil {
		return err
	}
	s.flash(c, "flash.saved")
	return s.redirect(c, "/admin/accounts")
}

func (s *Server) accountUpdate(c echo.Context) error {
	a, err := s.app.Auth.Account(c.Param("id"))
	if err != nil {
		return err
	}
	a.Name, a.Role, a.Disabled = c.FormValue("name"), auth.Role(c.FormValue("role")), c.FormValue("disabled") == "1"
	pid, es := s.personByNumber(c.FormValue("employee_no"))
	a.PersonID = pid
	if len(es) == 0 {
		err = s.app.Auth.Update(c.Request().Context(), actor(c), a)
	} else {
		err = es
	}
	if fe, ok := field.As(err); ok {
		d, derr := s.accountFormData(c, a)
		if derr != nil {
			return derr
		}
		d.Errs, d.EmployeeNo = fe, c.FormValue("employee_no")
		return s.render(c, http.StatusUnprocessableEntity, views.AccountForm(d))
	}
	if err != nil {
		return err
	}
	s.flash(c, "flash.saved")
	return s.redirect(c, "/admin/accounts")
}

func (s *Server) accountUnlock(c echo.Context) error {
	id := c.Param("id")
	if err := s.app.Auth.Unlock(c.Request().Context(), actor(c), id); err != nil {
		return err
	}
	s.log.Info("account unlocked", "account", id, "by", actor(c))
	s.flash(c, "flash.unlocked")
	return s.redirect(c, "/admin/accounts")
}

func (s *Server) accountPassword(c echo.Context) error {
	a, err := s.app.Auth.Account(c.Param("id"))
	if err != nil {
		return err
	}
	err = s.app.Auth.SetPassword(c.Request().Context(), actor(c), a.ID, c.FormValue("password"), true)
	var fe field.Errors
	if errors.As(err, &fe) {
		d, derr := s.accountFormData(c, a)
		if derr != nil {
			return derr
		}
		d.Errs = fe
		return s.render(c, http.StatusUnprocessableEntity, views.AccountForm(d))
	}
	if err != nil {
		return err
	}
	s.flash(c, "flash.password_changed")
	return s.redirect(c, "/admin/accounts/"+a.ID+"/edit")
}

func (s *Server) tokensPage(c echo.Context, status int, d views.TokensData) error {
	ts, err := s.app.Auth.Tokens()
	if err != nil {
		return err
	}
	d.Tokens = ts
	return s.render(c, status, views.Tokens(d))
}

func (s *Server) tokens(c echo.Context) error {
	return s.tokensPage(c, http.StatusOK, views.TokensData{})
}

func (s *Server) tokenCreate(c echo.Context) error {
	name := c.FormValue("name")
	tok, t, err := s.app.Auth.CreateToken(c.Request().Context(), actor(c), name, auth.Role(c.FormValue("role")))
	if fe, ok := field.As(err); ok {
		return s.tokensPage(c, http.StatusUnprocessableEntity, views.TokensData{Errs: fe, Name: name})
	}
	if err != nil {
		return err
	}
	s.log.Info("api token created", "token", t.ID, "role", t.Role, "by", actor(c))
	return s.tokensPage(c, http.StatusOK, views.TokensData{NewToken: tok})
}

func (s *Server) tokenRevoke(c echo.Context) error {
	if err := s.app.Auth.RevokeToken(c.Request().Context(), actor(c), c.Param("id")); err != nil {
		return err
	}
	s.flash(c, "flash.token_revoked")
	return s.redirect(c, "/admin/tokens")
}
