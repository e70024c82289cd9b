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
		_, err := s.app.Visits.Decide(c.Request().Context(), actor(c), c.Param("id"), a.PersonID, approve, c.FormValue("reason"))
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
		return s.redirect(c, "/host/visits")
	}
}

func (s *Server) today(c echo.Context) error {
	now := s.app.Clock.Now()
	badges := c.QueryParam("badges") == "out"
	var vs []visit.Visit
	var err error
	if badges {
		vs, err = s.app.Visits.UnreturnedBadges(now, s.app.Config.Location)
	} else {
		vs, err = s.app.Visits.Day(now, s.app.Config.Location)
	}
	if err != nil {
		return err
	}
	d := views.TodayData{Visits: vs, HostOf: map[string]string{}, CompanyOf: map[string]string{}, BadgesOnly: badges,
		Day: now.In(s.app.Config.Location).Format("2006-01-02")}
	if d.FloorOf, err = s.floorNames(); err != nil {
		return err
	}
	cs, err := s.app.Directory.Companies(true)
	if err != nil {
		return err
	}
	for _, co := range cs {
		d.CompanyOf[co.ID] = co.Name
	}
	for _, v := range vs {
		if _, ok := d.HostOf[v.HostID]; !ok {
			if p, err := s.app.Directory.Person(v.HostID); err == nil {
				d.HostOf[v.HostID] = s.personName(c, p)
			}
		}
	}
	return s.render(c, http.StatusOK, views.Today(d))
}
