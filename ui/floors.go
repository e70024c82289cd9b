package ui

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance/directory"
	"gatehouse/appliance/field"
	"gatehouse/ui/views"
)

func (s *Server) floorsPage(c echo.Context, status int, edit directory.Floor, errs field.Errors) error {
	fs, err := s.app.Directory.Floors(true)
	if err != nil {
		return err
	}
	return s.render(c, status, views.Floors(views.FloorsData{Floors: fs, Edit: edit, Errs: errs, CanEdit: userOf(c).Can("admin", "manager")}))
}

func (s *Server) floors(c echo.Context) error {
	var edit directory.Floor
	if id := c.QueryParam("edit"); id != "" && userOf(c).Can("admin", "manager") {
		f, err := s.app.Directory.Floor(id)
		if err != nil {
			return err
		}
		edit = f
	}
	return s.floorsPage(c, http.StatusOK, edit, nil)
}

func (s *Server) floorSave(c echo.Context) error {
	f := directory.Floor{ID: c.FormValue("id"), Name: c.FormValue("name"), Active: true}
	level, err := strconv.Atoi(strings.TrimSpace(c.FormValue("level")))
	if err != nil {
		return s.floorsPage(c, http.StatusUnprocessableEntity, f, field.Errors{{Field: "level", Code: "not_a_number"}})
	}
	f.Level = level
	f.Common = c.FormValue("common") == "1"
	if f.ID != "" {
		if _, err := s.app.Directory.Floor(f.ID); err != nil {
			return err
		}
		f.Active = c.FormValue("active") == "1"
	}
	saved, err := s.app.Directory.SaveFloor(c.Request().Context(), actor(c), f)
	if es, ok := field.As(err); ok {
		return s.floorsPage(c, http.StatusUnprocessableEntity, saved, es)
	}
	if err != nil {
		return err
	}
	s.flash(c, "flash.saved")
	return s.redirect(c, "/directory/floors")
}
