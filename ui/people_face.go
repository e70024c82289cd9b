package ui

import (
	"errors"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance/access"
	"gatehouse/appliance/directory"
	"gatehouse/appliance/field"
	"gatehouse/appliance/visit"
	"gatehouse/ui/views"
)

// An employee's face at the gates: the administrator or manager uploads a
// picture (a JPEG, as the walk-in photo) with the person's consent ticked,
// which creates or replaces their face credential; removing it records
// the withdrawal of consent. The picture is sealed and never shown back.

// withFace adds the person's face credential to their page.
func (s *Server) withFace(d *views.PersonFormData) error {
	if d.New {
		return nil
	}
	f, err := s.app.Access.FaceOf(d.Person.ID)
	switch {
	case errors.Is(err, access.ErrNotFound):
		return nil
	case err != nil:
		return err
	}
	d.Face, d.HasFace = f, f.State == access.Active
	return nil
}

// readFace reads the uploaded picture: a JPEG the walk-in photo's rules
// accept (visit.CheckPhoto), at most visit.MaxPhotoBytes.
func readFace(c echo.Context) ([]byte, bool) {
	fh, err := c.FormFile("face")
	if err != nil || fh.Size <= 0 || fh.Size > visit.MaxPhotoBytes {
		return nil, false
	}
	f, err := fh.Open()
	if err != nil {
		return nil, false
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, visit.MaxPhotoBytes+1))
	if err != nil || visit.CheckPhoto(b) != nil {
		return nil, false
	}
	return b, true
}

func (s *Server) personFacePage(c echo.Context, p directory.Person, es field.Errors) error {
	var err error
	if p.Mobile, err = s.app.Directory.Mobile(p); err != nil {
		return err
	}
	d, err := s.personFormData(p, false, nil)
	if err != nil {
		return err
	}
	d.FaceErrs = es
	if err := s.withFace(&d); err != nil {
		return err
	}
	return s.render(c, http.StatusUnprocessableEntity, views.PersonForm(d))
}

func (s *Server) personFace(c echo.Context) error {
	p, err := s.app.Directory.Person(c.Param("id"))
	if err != nil {
		return err
	}
	var es field.Errors
	jpeg, ok := readFace(c)
	if !ok {
		es.Add("face", "invalid_photo")
	}
	if c.FormValue("face_consent") != "1" {
		es.Add("face_consent", "face_consent_required")
	}
	if len(es) > 0 {
		return s.personFacePage(c, p, es)
	}
	sealed, err := s.app.Keys.Seal(string(jpeg))
	if err != nil {
		return err
	}
	if _, err := s.app.Access.EnrolEmployeeFace(c.Request().Context(), actor(c), p.ID, p.Name, sealed, s.app.Clock.Now()); err != nil {
		if fe, ok := field.As(err); ok {
			return s.personFacePage(c, p, fe)
		}
		return err
	}
	s.app.Devices.SyncFaces()
	s.log.Info("employee face enrolled with consent", "person", p.ID, "by", actor(c))
	s.flash(c, "flash.face_enrolled")
	return s.redirect(c, "/directory/people/"+p.ID+"/edit")
}

func (s *Server) personFaceWithdraw(c echo.Context) error {
	p, err := s.app.Directory.Person(c.Param("id"))
	if err != nil {
		return err
	}
	f, err := s.app.Access.FaceOf(p.ID)
	if errors.Is(err, access.ErrNotFound) {
		return echo.ErrNotFound
	} else if err != nil {
		return err
	}
	if f.State == access.Active {
		if err := s.app.Access.WithdrawFace(c.Request().Context(), actor(c), f.ID); err != nil {
			return err
		}
		s.app.Devices.SyncFaces()
		s.log.Info("employee face removed", "person", p.ID, "by", actor(c))
	}
	s.flash(c, "flash.face_withdrawn")
	return s.redirect(c, "/directory/people/"+p.ID+"/edit")
}
