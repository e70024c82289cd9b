package ui

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance/field"
	"gatehouse/appliance/store"
	"gatehouse/appliance/visit"
	"gatehouse/ui/views"
)

// Conference pages (reception and above): the list of conferences, a new
// conference, registering an attendee list (pasted or uploaded; every row
// checked, nothing written if any is wrong), a conference with its
// attendees, the printable pass sheet and the attendee exports.

// maxListBytes bounds an attendee list: 5,000 rows of name, mobile,
// company and title fit in well under a megabyte.
const maxListBytes = 2 << 20

const datetimeLocal = "2006-01-02T15:04"

// conferenceService is the conference side of the visit domain over the
// appliance's store, keys and screening.
func (s *Server) conferenceService() *visit.Conferences { return s.app.Conferences }

// meetingStatus says where a meeting is at now.
func meetingStatus(m visit.Meeting, now time.Time) string {
	from, until := m.Window()
	switch {
	case m.Closed != 0:
		return "closed"
	case !now.Before(until):
		return "ended"
	case now.Before(from):
		return "upcoming"
	}
	return "running"
}

func (s *Server) meetingHost(id string) string {
	if p, err := s.app.Directory.Person(id); err == nil {
		return p.Name
	}
	return ""
}

func (s *Server) conferenceList(c echo.Context) error {
	ms, err := s.conferenceService().List(200)
	if err != nil {
		return err
	}
	now, loc := s.app.Clock.Now(), s.app.Config.Location
	rows := make([]views.ConferenceRow, 0, len(ms))
	for _, m := range ms {
		rows = append(rows, views.ConferenceRow{Meeting: m, Host: s.meetingHost(m.HostID), Window: visit.WindowText(m, loc), Status: meetingStatus(m, now)})
	}
	return s.render(c, http.StatusOK, views.Conferences(rows))
}

func (s *Server) renderConferenceNew(c echo.Context, status int, d views.ConferenceFormData) error {
	cs, err := s.app.Directory.Companies(false)
	if err != nil {
		return err
	}
	d.Companies = cs
	if d.Form.HostID != "" {
		if p, err := s.app.Directory.Person(d.Form.HostID); err == nil && p.CanHost && p.Active {
			d.HostName = p.Name
		} else {
			d.Form.HostID = ""
		}
	}
	return s.render(c, status, views.ConferenceNew(d))
}

func (s *Server) conferenceNew(c echo.Context) error {
	day := s.app.Clock.Now().In(s.app.Config.Location).Format("2006-01-02")
	return s.renderConferenceNew(c, http.StatusOK, views.ConferenceFormData{Form: views.ConferenceForm{From: day + "T09:00", Until: day + "T17:00"}})
}

func (s *Server) conferenceCreate(c echo.Context) error {
	f := views.ConferenceForm{Name: c.FormValue("name"), Place: c.FormValue("place"), HostID: c.FormValue("host_id"),
		From: c.FormValue("from"), Until: c.FormValue("until")}
	d := views.ConferenceFormData{Form: f, Company: c.FormValue("company_id")}
	var es field.Errors
	at := func(name, v string) time.Time {
		t, err := time.ParseInLocation(datetimeLocal, strings.TrimSpace(v), s.app.Config.Location)
		if err != nil && strings.TrimSpace(v) != "" {
			es.Add(name, "invalid_datetime")
		}
		return t
	}
	in := visit.MeetingInput{Name: f.Name, Place: f.Place, HostID: f.HostID, From: at("from", f.From), Until: at("until", f.Until)}
	if len(es) == 0 {
		if !store.ValidID(in.HostID) {
			in.HostID = "" // reported as required, never looked up
		}
		m, err := s.conferenceService().Create(c.Request().Context(), actor(c), in)
		if fe, ok := field.As(err); ok {
			es = fe
		} else if err != nil {
			return err
		} else {
			s.flash(c, "flash.saved")
			return s.redirect(c, "/desk/conferences/"+m.ID)
		}
	}
	d.Errs = es
	return s.renderConferenceNew(c, http.StatusUnprocessableEntity, d)
}

func (s *Server) meetingParam(c echo.Context) (visit.Meeting, error) {
	id := c.Param("id")
	if !store.ValidID(id) {
		return visit.Meeting{}, echo.ErrNotFound
	}
	return s.conferenceService().Get(id)
}

func (s *Server) conferenceShow(c echo.Context) error {
	m, err := s.meetingParam(c)
	if err != nil {
		return err
	}
	vs, err := s.conferenceService().Attendees(m.ID)
	if err != nil {
		return err
	}
	d := views.ConferenceData{Meeting: m, Host: s.meetingHost(m.HostID), Window: visit.WindowText(m, s.app.Config.Location),
		Status: meetingStatus(m, s.app.Clock.Now()), Attendees: vs}
	if co, err := s.app.Directory.Company(m.CompanyID); err == nil {
		d.Company = co.Name
	}
	if fl, err := s.app.Directory.Floor(m.FloorID); err == nil {
		d.Floor = fl.Name
	}
	counts := map[visit.State]int{}
	for _, v := range vs {
		counts[v.State]++
		if v.State.PassValid() {
			d.Passes++
		}
	}
	for _, st := range []visit.State{visit.Approved, visit.In, visit.Out, visit.Closed, visit.NoShow, visit.Cancelled} {
		if counts[st] > 0 {
			d.Counts = append(d.Counts, views.StateCount{State: st, N: counts[st]})
		}
	}
	return s.render(c, http.StatusOK, views.Conference(d))
}

func (s *Server) registerData(m visit.Meeting) views.ConferenceRegisterData {
	return views.ConferenceRegisterData{Meeting: m, Window: visit.WindowText(m, s.app.Config.Location)}
}

func (s *Server) conferenceRegisterPage(c echo.Context) error {
	m, err := s.meetingParam(c)
	if err != nil {
		return err
	}
	d := s.registerData(m)
	status := http.StatusOK
	if m.Ended(s.app.Clock.Now()) {
		d.Message, status = "conference.ended", http.StatusConflict
	}
	return s.render(c, status, views.ConferenceRegister(d))
}

// attendeeListInput is the uploaded file if there is one, else the pasted text.
func attendeeListInput(c echo.Context) ([]byte, field.Errors) {
	if fh, err := c.FormFile("file"); err == nil && fh.Size > 0 {
		if fh.Size > maxListBytes {
			return nil, field.Errors{{Field: "file", Code: "file_too_big", Arg: "2 MB"}}
		}
		f, err := fh.Open()
		if err != nil {
			return nil, field.Errors{{Field: "file", Code: "not_text"}}
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, maxListBytes+1))
		if err != nil || len(b) > maxListBytes {
			return nil, field.Errors{{Field: "file", Code: "file_too_big", Arg: "2 MB"}}
		}
		return b, nil
	}
	text := c.FormValue("list")
	if strings.TrimSpace(text) == "" {
		return nil, field.Errors{{Field: "list", Code: "required"}}
	}
	if len(text) > maxListBytes {
		return nil, field.Errors{{Field: "list", Code: "file_too_big", Arg: "2 MB"}}
	}
	return []byte(text), nil
}

func (s *Server) conferenceRegister(c echo.Context) error {
	m, err := s.meetingParam(c)
	if err != nil {
		return err
	}
	d := s.registerData(m)
	if text := c.FormValue("list"); len(text) <= maxListBytes {
		d.List = text
	}
	list, es := attendeeListInput(c)
	if len(es) > 0 {
		d.Errs = es
		return s.render(c, http.StatusUnprocessableEntity, views.ConferenceRegister(d))
	}
	_, err = s.conferenceService().Register(c.Request().Context(), actor(c), m.ID, list)
	var fe field.Errors
	switch {
	case errors.As(err, &fe):
		d.Errs, d.More = fe, len(fe) >= 100
		return s.render(c, http.StatusUnprocessableEntity, views.ConferenceRegister(d))
	case errors.Is(err, visit.ErrConferenceEnded):
		d.Message = "conference.ended"
		return s.render(c, http.StatusConflict, views.ConferenceRegister(d))
	case errors.Is(err, visit.ErrRegistrationRunning):
		d.Message = "conference.busy"
		return s.render(c, http.StatusConflict, views.ConferenceRegister(d))
	case err != nil:
		return err
	}
	s.flash(c, "flash.attendees_registered")
	return s.redirect(c, "/desk/conferences/"+m.ID)
}

// conferencePasses is the printable sheet of every good pass, shown in
// the browser's PDF viewer to be printed.
func (s *Server) conferencePasses(c echo.Context) error {
	m, err := s.meetingParam(c)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	err = s.conferenceService().PassSheet(&buf, m.ID, visit.SheetOptions{Location: s.app.Config.Location,
		Footer: langOf(c).T("conference.sheet_footer")})
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Content-Disposition", `inline; filename="passes-`+m.ID+`.pdf"`)
	h.Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "application/pdf", buf.Bytes())
}

// conferenceExport downloads a conference's attendees.
func (s *Server) conferenceExport(format string) echo.HandlerFunc {
	return func(c echo.Context) error {
		m, err := s.meetingParam(c)
		if err != nil {
			return err
		}
		vs, err := s.conferenceService().Attendees(m.ID)
		if err != nil {
			return err
		}
		var rows []visit.ExportRow
		err = s.app.Store.View(func(r *store.Reader) error { rows, err = visit.ExportRows(r, vs); return err })
		if err != nil {
			return err
		}
		day := time.Unix(0, m.From).In(s.app.Config.Location).Format("2006-01-02")
		return s.sendTable(c, format, visitTable(langOf(c), "conference-"+day+"-"+m.ID, rows))
	}
}
