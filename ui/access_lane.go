package ui

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance/access"
	"gatehouse/appliance/device"
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

// laneForm is what the lane form holds as typed: the numbers, and each
// floor's elevator output (floor ID → text).
type laneForm struct {
	pulse, release string
	coils          map[string]string
}

func typedLane(l access.Lane) laneForm {
	f := laneForm{pulse: strconv.Itoa(l.PulseMs), coils: map[string]string{}}
	if l.PulseMs == 0 {
		f.pulse = "1000"
	}
	if l.Kind == access.LaneElevator {
		f.release = strconv.Itoa(l.ReleaseS)
	}
	for _, fc := range l.Floors {
		f.coils[fc.Floor] = strconv.Itoa(fc.Coil)
	}
	return f
}

func (s *Server) lanesPage(c echo.Context, status int, edit access.Lane, typed laneForm, errs field.Errors) error {
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
	d := views.LanesData{AccessEditData: views.AccessEditData{CanEdit: canManage(c), Errs: errs}, Lanes: ls, Edit: edit, Pulse: typed.pulse,
		Release: typed.release, Coils: typed.coils, Floors: floors, Names: names, Lifts: s.lifts(ls, names)}
	for _, z := range zs {
		names[z.ID] = z.Name
		d.Zones = append(d.Zones, views.Option{Value: z.ID, Label: z.Name})
	}
	return s.render(c, status, views.Lanes(d))
}

// lifts is the elevator lanes' floor maps with each floor's state now, as
// the driver runtime last wrote it (none without a runtime).
func (s *Server) lifts(ls []access.Lane, names map[string]string) []views.Lift {
	live, _ := s.app.Devices.Live().(device.ElevatorReader)
	var fire bool
	if live != nil {
		fire = len(live.Fire()) > 0
	}
	var out []views.Lift
	for _, l := range ls {
		if l.Kind != access.LaneElevator {
			continue
		}
		lf := views.Lift{Lane: l, Fire: fire}
		var st device.ElevatorState
		if live != nil {
			st, lf.Running = live.Elevator(l.ID)
			lf.Fire, lf.Written, lf.Until = st.Fire, st.Written, st.Until
		}
		for _, fc := range l.Floors {
			lf.Floors = append(lf.Floors, views.LiftFloor{Name: names[fc.Floor], Coil: fc.Coil,
				On: lf.Running && (st.Fire || slices.Contains(st.Floors, fc.Floor))})
		}
		out = append(out, lf)
	}
	return out
}

func (s *Server) accessLanes(c echo.Context) error {
	edit := access.Lane{}
	if id := c.QueryParam("edit"); id != "" {
		ls, err := s.app.Access.Lanes()
		if err != nil {
			return err
		}
		if edit, err = find(ls, id, func(l access.Lane) string { return l.ID }); err != nil {
			return err
		}
	}
	return s.lanesPage(c, http.StatusOK, edit, typedLane(edit), nil)
}

func (s *Server) accessLaneSave(c echo.Context) error {
	l := access.Lane{ID: c.FormValue("id"), Name: c.FormValue("name"), ZoneID: c.FormValue("zone_id"), FloorID: c.FormValue("floor_id"),
		Visitors: c.FormValue("visitors") == "1", Kind: access.LaneKind(c.FormValue("kind"))}
	typed := laneForm{pulse: strings.TrimSpace(c.FormValue("pulse_ms")), release: strings.TrimSpace(c.FormValue("release_s")), coils: map[string]string{}}
	pulse := typed.pulse
	var es field.Errors
	if pulse != "" {
		n, err := strconv.Atoi(pulse)
		if err != nil {
			es.Add("pulse_ms", "not_a_number")
		}
		l.PulseMs = n
	}
	if l.Kind == access.LaneElevator {
		if typed.release != "" {
			n, err := strconv.Atoi(typed.release)
			if err != nil {
				es.Add("release_s", "not_a_number")
			}
			l.ReleaseS = n
		}
		// One output box per floor: a floor left empty is not served.
		opts, _, err := s.floorOpts()
		if err != nil {
			return err
		}
		for _, o := range opts {
			v := strings.TrimSpace(c.FormValue("coil_" + o.Value))
			if v == "" {
				continue
			}
			typed.coils[o.Value] = v
			n, err := strconv.Atoi(v)
			if err != nil {
				es.Add("floors", "not_a_number")
				continue
			}
			l.Floors = append(l.Floors, access.FloorCoil{Floor: o.Value, Coil: n})
		}
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
		return s.lanesPage(c, http.StatusUnprocessableEntity, l, typed, es)
	}
	saved, err := s.app.Access.SaveLane(c.Request().Context(), actor(c), l)
	if fe, ok := field.As(err); ok {
		return s.lanesPage(c, http.StatusUnprocessableEntity, l, typed, fe)
	}
	if err != nil {
		return err
	}
	s.log.Info("lane saved", "lane", saved.ID, "by", actor(c))
	s.flash(c, "flash.saved")
	return s.redirect(c, "/access/lanes")
}
