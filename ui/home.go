package ui

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance/directory"
	"gatehouse/appliance/field"
	"gatehouse/ui/views"
)

func (s *Server) home(c echo.Context) error {
	if p := landing(userOf(c).Role); p != "/" {
		return c.Redirect(http.StatusSeeOther, p)
	}
	if userOf(c).Can("host") {
		return s.hostHome(c) // home_host.go
	}
	var d views.HomeData
	if userOf(c).Can("admin", "manager", "reception") {
		p, err := s.app.Directory.Search(directory.Query{Limit: 1})
		if err != nil {
			return err
		}
		cs, err := s.app.Directory.Companies(false)
		if err != nil {
			return err
		}
		fs, err := s.app.Directory.Floors(false)
		if err != nil {
			return err
		}
		d = views.HomeData{People: p.Total, Companies: len(cs), Floors: len(fs)}
		if userOf(c).Can("admin") {
			if d.Checklist, err = s.checklist(d); err != nil {
				return err
			}
		}
	}
	d.Notices = s.noticesFor(c)
	return s.render(c, http.StatusOK, views.Home(d))
}

func (s *Server) passwordPage(c echo.Context) error {
	return s.render(c, http.StatusOK, views.Password(accountOf(c).MustChange, nil))
}

func (s *Server) changePassword(c echo.Context) error {
	a := accountOf(c)
	cur, next, confirm := c.FormValue("current"), c.FormValue("password"), c.FormValue("confirm")
	var err error
	if next != confirm {
		err = field.Errors{{Field: "confirm", Code: "password_mismatch"}}
	} else {
		err = s.app.Auth.ChangeOwnPassword(c.Request().Context(), a.ID, cur, next)
	}
	if es, ok := field.As(err); ok {
		return s.render(c, http.StatusUnprocessableEntity, views.Password(a.MustChange, es))
	}
	if err != nil {
		return err
	}
	// The change ends every session of the account; this browser gets a new one.
	a, err = s.app.Auth.Account(a.ID) // with the new password's time
	if err != nil {
		return err
	}
	if err := s.startSession(c, a); err != nil {
		return err
	}
	s.flash(c, "flash.password_changed")
	return s.redirect(c, "/")
}

// checklist is what the administrator has still to do after the first
// start, each step with its page; a step goes when it is done.
func (s *Server) checklist(d views.HomeData) ([]views.CheckItem, error) {
	var out []views.CheckItem
	add := func(done bool, key, href string) {
		if !done {
			out = append(out, views.CheckItem{Key: key, Href: href})
		}
	}
	add(s.app.Settings().BaseURL != "", "base_url", "/admin/settings#f-base_url")
	add(d.Floors > 0, "floors", "/directory/floors")
	add(d.Companies > 0, "companies", "/directory/companies")
	add(d.People > 0, "people", "/directory/import")
	ds, err := s.app.Devices.Devices()
	if err != nil {
		return nil, err
	}
	add(len(ds) > 0, "devices", "/admin/devices")
	b, err := s.app.Backups.Settings()
	if err != nil {
		return nil, err
	}
	add(b.Target != "" && b.Key.Set(), "backups", "/admin/backups")
	return out, nil
}
