package ui

import (
	"errors"
	"net/http"
	"os"
	"strconv"
	"strings"
	"unicode"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance/backup"
	"gatehouse/appliance/field"
	"gatehouse/ui/views"
)

const backupRuns = 20

// backupRender fills in what every rendering of the backup page needs.
func (s *Server) backupRender(c echo.Context, status int, d views.BackupData) error {
	b := s.app.Backups
	var err error
	if d.Settings.At == "" { // not a form coming back
		if d.Settings, err = b.Settings(); err != nil {
			return err
		}
	} else if stored, err := b.Settings(); err == nil {
		d.Settings.Key = stored.Key
	}
	d.Health = b.Health()
	if p, ok := b.Progress(); ok {
		d.Running, d.Progress = true, p
	}
	if c.QueryParam("started") == "1" {
		d.Running = true // the run may not have taken its lock yet
	}
	if d.Runs, err = b.Runs(backupRuns); err != nil {
		return err
	}
	if d.Files, err = b.Files(); err != nil {
		d.FilesErr = err.Error()
	}
	return s.render(c, status, views.Backup(d))
}

func (s *Server) backupPage(c echo.Context) error {
	return s.backupRender(c, http.StatusOK, views.BackupData{})
}

func (s *Server) backupSave(c echo.Context) error {
	num := func(k string) int {
		n, err := strconv.Atoi(strings.TrimSpace(c.FormValue(k)))
		if err != nil {
			return -1
		}
		return n
	}
	p := backup.Policy{Daily: num("daily"), Weekly: num("weekly"), Monthly: num("monthly"), FullEvery: num("full_every")}
	target, at := strings.TrimSpace(c.FormValue("target")), strings.TrimSpace(c.FormValue("at"))
	// Addresses told when backups fail: separated by commas, spaces or lines.
	emails := strings.FieldsFunc(c.FormValue("emails"), func(r rune) bool { return r == ',' || r == ';' || unicode.IsSpace(r) })
	err := s.app.Backups.SaveSettings(c.Request().Context(), actor(c), target, at, p)
	if err == nil {
		err = s.app.Backups.SaveEmails(c.Request().Context(), actor(c), emails)
	}
	if fe, ok := field.As(err); ok {
		return s.backupRender(c, http.StatusUnprocessableEntity, views.BackupData{
			Settings: backup.Settings{Target: target, At: at, Policy: p, Emails: emails}, Errs: fe})
	}
	if err != nil {
		return err
	}
	s.log.Info("backup settings saved", "by", actor(c))
	s.flash(c, "flash.saved")
	return s.redirect(c, "/admin/backups")
}

func (s *Server) backupPassphrase(c echo.Context) error {
	pw, confirm := c.FormValue("passphrase"), c.FormValue("confirm")
	var err error
	if pw != confirm {
		var es field.Errors
		es.Add("confirm", "backup.passphrase_mismatch")
		err = es.Err()
	} else {
		err = s.app.Backups.SetPassphrase(c.Request().Context(), actor(c), pw)
	}
	if fe, ok := field.As(err); ok {
		return s.backupRender(c, http.StatusUnprocessableEntity, views.BackupData{PassErrs: fe})
	}
	if err != nil {
		return err
	}
	s.log.Info("backup passphrase set", "by", actor(c))
	s.flash(c, "flash.passphrase_set")
	return s.redirect(c, "/admin/backups")
}

// backupRun starts a backup in a goroutine the server owns (Close waits
// for it); the page polls its progress.
func (s *Server) backupRun(c echo.Context) error {
	if _, running := s.app.Backups.Progress(); running {
		s.flash(c, "flash.backup_busy")
		return s.redirect(c, "/admin/backups")
	}
	act := actor(c)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		run, err := s.app.Backups.Now(s.ctx, act, "manual", nil)
		switch {
		case errors.Is(err, backup.ErrBusy):
		case err != nil:
			s.log.Error("backup failed", "by", act, "err", err)
		default:
			s.log.Info("backup written", "by", act, "kind", run.Kind, "file", run.File, "bytes", run.Size, "ms", run.Millis)
		}
	}()
	s.flash(c, "flash.backup_started")
	return s.redirect(c, "/admin/backups?started=1")
}

// backupProgress answers the page's poll; once no backup runs, it sends
// htmx to the page without ?started=1 (a reload of that address would show
// the run as starting again and poll for ever), where the new run shows in
// the list.
func (s *Server) backupProgress(c echo.Context) error {
	p, running := s.app.Backups.Progress()
	if !running {
		c.Response().Header().Set("HX-Redirect", "/admin/backups")
	}
	return s.render(c, http.StatusOK, views.BackupProgress(running, p))
}

// backupFile streams one backup of the target. The file carries the site
// key only wrapped, but it is the building's whole history: admins only.
func (s *Server) backupFile(c echo.Context) error {
	in, err := s.app.Backups.File(c.Param("name"))
	if err != nil {
		return echo.ErrNotFound
	}
	f, err := os.Open(in.Path)
	if err != nil {
		return echo.ErrNotFound
	}
	defer f.Close()
	s.log.Info("backup downloaded", "by", actor(c), "file", c.Param("name"))
	c.Response().Header().Set("Content-Disposition", `attachment; filename="`+c.Param("name")+`"`)
	c.Response().Header().Set("Content-Length", strconv.FormatInt(in.Size, 10))
	return c.Stream(http.StatusOK, "application/octet-stream", f)
}
