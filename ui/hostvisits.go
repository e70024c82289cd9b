package ui

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance/field"
	"gatehouse/appliance/visit"
	"gatehouse/ui/views"
)

func (s *Server) hostData(c echo.Context) (views.HostVisitsData, error) {
	a := accountOf(c)
	d := views.HostVisitsData{Linked: a.PersonID != ""}
	if !d.Linked {
		return d, nil
	}
	vs, err := s.app.Visits.ForHost(a.PersonID, 100)
	if err != nil {
		return d, err
	}
	for _, v := range vs {
		if v.State == visit.Requested {
			d.Pending = append(d.Pending, v)
		}
	}
	d.Visits = vs
	return d, nil
}

func (s *Server) hostVisits(c echo.Context) error {
	d, err := s.hostData(c)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.HostVisits(d))
}

func (s *Server) hostDecide(approve bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		a := accountOf(c)
		if a.PersonID == "" {
			return errForbidden
		}
		back := "/host/visits"
		if b := c.FormValue("back"); b != "" {
			back = localPath(b)
		}
		v, err := s.app.Visits.Get(c.Param("id"))
		if err != nil {
			return err
		}
		_, err = s.app.Visits.Decide(c.Request().Context(), actor(c), v.ID, a.PersonID, approve, s.rejectReason(c, v))
		if es, ok := field.As(err); ok && back == "/" {
			d, derr := s.hostHomeData(c)
			if derr != nil {
				return derr
			}
			d.Errs, d.ErrVisit = es, v.ID
			return s.render(c, http.StatusUnprocessableEntity, views.HostHome(d))
		}
		if es, ok := field.As(err); ok {
			d, derr := s.hostData(c)
			if derr != nil {
				return derr
			}
			d.Errs, d.ErrVisit = es, c.Param("id")
			return s.render(c, http.StatusUnprocessableEntity, views.HostVisits(d))
		}
		if err != nil {
			return err
		}
		s.flash(c, "flash.saved")
		return s.redirect(c, decidedPath(back, v.ID, approve))
	}
}
