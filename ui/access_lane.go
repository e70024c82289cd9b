package ui

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance/access"
	"gatehouse/appliance/field"
	"gatehouse/ui/views"
)

// The lanes page: turnstiles, doors and lift cars (administrators and
// managers edit them).

func (s *Server) floorOpts() ([]views.Option, map[string]string, error) {
	fs, err := s.app.Directory.Floors(true)
	if err != nil {
		return nil, nil, err
	}
	names := map[string]string{}
	opts := make([]views.Option, 0, len(fs))
	for _, f := range fs {
		names[f.ID] = f.Name
		opts = append(opts, views.Option{Value: f.ID, Label: f.Name})
	}
	return opts, names, nil
}

func (s *Server) lanesPage(c echo.Context, status int, edit access.Lane, pulse string, errs field.Errors) error {
	ls, err := s.app.Access.Lanes()
	if err != nil {
		return err
	}
	byName(ls, func(l access.Lane) string { return l.Name })
	zs, err := s.app.Access.Zones()
	if err != nil {
		return err
	}
	byName(zs, func(z access.Zone) string { return z.Name })
	floors, names, err := s.floorOpts()
	if err != nil {
		return err
	}
	d := views.LanesData{AccessEditData: views.AccessEditData{CanEdit: canManage(c), Errs: errs}, Lanes: ls, Edit: edit, Pulse: pulse,
		Floors: floors, Names: names}
	for _, z := range zs {
		names[z.ID] = z.Name
		d.Zones = append(d.Zones, views.Option{Value: z.ID, Label: z.Name})
	}
	return s.render(c, status, views.Lanes(d))
}

func (s *Server) accessLanes(c echo.Context) error {
	edit, pulse := access.Lane{}, "1000"
	if id := c.QueryParam("edit"); id != "" {
		ls, err := s.app.Access.Lanes()
		if err != nil {
			return err
		}
		if edit, err = find(ls, id, func(l access.Lane) string { return l.ID }); err != nil {
			return err
		}
		pulse = strconv.Itoa(edit.PulseMs)
	}
	return s.lanesPage(c, http.StatusOK, edit, pulse, nil)
}

func (s *Server) accessLaneSave(c echo.Context) error {
	l := access.Lane{ID: c.FormValue("id"), Name: c.FormValue("name"), ZoneID: c.FormValue("zone_id"), FloorID: c.FormValue("floor_id"),
		Visitors: c.FormValue("visitors") == "1"}
	pulse := strings.TrimSpace(c.FormValue("pulse_ms"))
	var es field.Errors
	if pulse != "" {
		n, err := strconv.Atoi(pulse)
		if err != nil {
			es.Add("pulse_ms", "not_a_number")
		}
		l.PulseMs = n
	}
	if l.FloorID != "" {
		if _, names, err := s.floorOpts(); err != nil {
			return err
		} else if _, ok := names[l.FloorID]; !ok {
			es.Add("floor_id", "unknown_floor")
		}
	}
	if l.ID != "" {
		ls, err := s.app.Access.Lanes()
		if err != nil {
			return err
		}
		if _, err := find(ls, l.ID, func(l access.Lane) string { return l.ID }); err != nil {
			return err
		}
	}
	if len(es) > 0 {
		return s.lanesPage(c, http.StatusUnprocessableEntity, l, pulse, es)
	}
	saved, err := s.app.Access.SaveLane(c.Request().Context(), actor(c), l)
	if fe, ok := field.As(err); ok {
		return s.lanesPage(c, http.StatusUnprocessableEntity, l, pulse, fe)
	}
	if err != nil {
		return err
	}
	s.log.Info("lane saved", "lane", saved.ID, "by", actor(c))
	s.flash(c, "flash.saved")
	return s.redirect(c, "/access/lanes")
}

