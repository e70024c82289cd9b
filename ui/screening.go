package ui

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance/field"
	"gatehouse/appliance/screen"
	"gatehouse/ui/views"
)

func (s *Server) screeningPage(c echo.Context, status int, d views.ScreeningData) error {
	var err error
	if d.Entries, err = s.app.Screen.Entries(); err != nil {
		return err
	}
	if d.Hits, err = s.app.Screen.Hits(50); err != nil {
		return err
	}
	d.CanEdit = userOf(c).Can("admin", "manager")
	d.Now = s.app.Clock.Now().UnixNano()
	if d.Form.List == "" {
		d.Form.List = string(screen.Black)
	}
	return s.render(c, status, views.Screening(d))
}

func (s *Server) screening(c echo.Context) error {
	return s.screeningPage(c, http.StatusOK, views.ScreeningData{})
}

func (s *Server) screeningAdd(c echo.Context) error {
	f := views.ScreenForm{List: c.FormValue("list"), Name: c.FormValue("name"), Mobile: c.FormValue("mobile"),
		IDNo: c.FormValue("id_no"), Reason: c.FormValue("reason"), Expires: c.FormValue("expires")}
	in := screen.Input{List: screen.List(f.List), Name: f.Name, Mobile: f.Mobile, IDNo: f.IDNo, Reason: f.Reason}
	if e := strings.TrimSpace(f.Expires); e != "" {
		d, err := time.ParseInLocation("2006-01-02", e, s.app.Config.Location)
		if err != nil {
			return s.screeningPage(c, http.StatusUnprocessableEntity, views.ScreeningData{Form: f, Errs: field.Errors{{Field: "expires", Code: "invalid_date"}}})
		}
		in.Expires = d.AddDate(0, 0, 1) // valid through the chosen day
	}
	_, err := s.app.Screen.Add(c.Request().Context(), actor(c), in)
	if es, ok := field.As(err); ok {
		// The typed mobile and ID number are not shown back: they are personal data.
		f.Mobile, f.IDNo = "", ""
		return s.screeningPage(c, http.StatusUnprocessableEntity, views.ScreeningData{Form: f, Errs: es})
	}
	if err != nil {
		return err
	}
	s.flash(c, "flash.saved")
	return s.redirect(c, "/screening")
}

func (s *Server) screeningRemove(c echo.Context) error {
	if err := s.app.Screen.Remove(c.Request().Context(), actor(c), c.Param("id")); err != nil {
		return err
	}
	s.flash(c, "flash.saved")
	return s.redirect(c, "/screening")
}
