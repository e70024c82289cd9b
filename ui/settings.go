package ui

import (
	"errors"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance"
	"gatehouse/appliance/config"
	"gatehouse/appliance/field"
	"gatehouse/appliance/notice"
	"gatehouse/ui/views"
)

// settingsRender fills in the page around the values: which keys are
// overridden and from where, which wait for a restart, the purge preview.
func (s *Server) settingsRender(c echo.Context, status int, values map[string]string, es field.Errors) error {
	base := s.app.BaseSettings()
	d := views.SettingsData{Values: values, From: map[string]string{}, Restart: map[string]bool{}, Errs: es,
		Waiting: s.app.RestartNeeded()}
	for _, k := range config.SiteKeys {
		if from := base.Overridden(k); from != "" {
			d.From[k] = from
			d.Values[k] = base.Get(k) // what is in force, whatever was typed
		}
		d.Restart[k] = slices.Contains(appliance.RestartKeys, k)
	}
	// The preview counts under the settings in force, not as typed.
	if n, err := s.app.PurgePreview(); err != nil {
		s.log.Error("purge preview", "err", err)
		d.Preview.Err = true
	} else {
		d.Preview.Visits, d.Preview.Photos, d.Preview.People = n.Visits, n.Photos, n.People
	}
	return s.render(c, status, views.Settings(d))
}

func (s *Server) settingsPage(c echo.Context) error {
	cur := s.app.Settings()
	values := map[string]string{}
	for _, k := range config.SiteKeys {
		values[k] = cur.Get(k)
	}
	return s.settingsRender(c, http.StatusOK, values, nil)
}

func (s *Server) settingsSave(c echo.Context) error {
	values := map[string]string{}
	for _, k := range config.SiteKeys {
		values[k] = c.FormValue(k)
	}
	if c.FormValue("map_image_remove") == "1" {
		values["map_image"] = ""
	}
	_, err := s.app.SaveSettings(c.Request().Context(), actor(c), values)
	if es, ok := field.As(err); ok {
		return s.settingsRender(c, http.StatusUnprocessableEntity, values, es)
	}
	if err != nil {
		return err
	}
	s.log.Info("site settings saved", "by", actor(c))
	s.flash(c, "flash.saved")
	return s.redirect(c, "/admin/settings")
}

// settingsMap stores an uploaded site map (JPEG or PNG, checked and scaled
// as the pictures of announcements are, and kept in the same store) and
// makes it the site's map, shown on passes and invitations.
func (s *Server) settingsMap(c echo.Context) error {
	fail := func(err error) error {
		cur := s.app.Settings()
		values := map[string]string{}
		for _, k := range config.SiteKeys {
			values[k] = cur.Get(k)
		}
		return s.settingsRender(c, http.StatusUnprocessableEntity, values, field.Errors{pictureError("map_upload", err)})
	}
	fh, err := c.FormFile("file")
	if err != nil || fh.Size == 0 {
		return fail(notice.ErrImage)
	}
	b, err := readUpload(fh)
	if err != nil {
		return fail(err)
	}
	id, err := s.app.Notices.AddImage(c.Request().Context(), actor(c), b)
	if errors.Is(err, notice.ErrImage) {
		return fail(err)
	}
	if err != nil {
		return err
	}
	if _, err := s.app.SaveSettings(c.Request().Context(), actor(c), map[string]string{"map_image": id}); err != nil {
		return err
	}
	s.flash(c, "flash.saved")
	return s.redirect(c, "/admin/settings")
}
