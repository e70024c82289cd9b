package ui

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance/field"
	"gatehouse/appliance/visit"
	"gatehouse/ui/views"
)

// hostProfile is where a host sets their own email address and how they
// hear of their visitors.
func (s *Server) hostProfile(c echo.Context) error {
	d, err := s.profileData(c)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.HostProfile(d))
}

func (s *Server) profileData(c echo.Context) (views.HostProfileData, error) {
	a := accountOf(c)
	d := views.HostProfileData{Linked: a.PersonID != ""}
	if !d.Linked {
		return d, nil
	}
	p, err := s.app.Directory.Person(a.PersonID)
	if err != nil {
		return d, err
	}
	if d.Email, err = s.app.Directory.Email(p); err != nil {
		return d, err
	}
	d.Notify = p.Notify
	m, err := s.app.Directory.Mobile(p)
	if err != nil {
		return d, err
	}
	d.Mobile = visit.MaskMobile(m)
	return d, nil
}

func (s *Server) hostProfileSave(c echo.Context) error {
	a := accountOf(c)
	if a.PersonID == "" {
		return errForbidden
	}
	_, err := s.app.Directory.SetContact(c.Request().Context(), actor(c), a.PersonID, c.FormValue("email"), c.FormValue("notify"))
	if es, ok := field.As(err); ok {
		d, derr := s.profileData(c)
		if derr != nil {
			return derr
		}
		d.Email, d.Notify, d.Errs = c.FormValue("email"), c.FormValue("notify"), es
		return s.render(c, http.StatusUnprocessableEntity, views.HostProfile(d))
	}
	if err != nil {
		return err
	}
	s.flash(c, "flash.saved")
	return s.redirect(c, "/account/notify")
}
