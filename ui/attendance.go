package ui

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance/report"
	"gatehouse/ui/i18n"
	"gatehouse/ui/views"
)

// Attendance: the property manager's first-in / last-out per employee and
// day, from the gate events (appliance/report/attendance.go), for a range
// of days (this week by default, at most report.MaxAttendanceDays) and a
// company; a page of rows, and the whole selection as CSV or XLSX, one row
// per person-day.

const attendancePageSize = 100

// attendanceQuery reads the range and company. A bad range gives an error
// key and this week.
func (s *Server) attendanceQuery(c echo.Context) (views.AttendanceData, report.AttendanceQuery) {
	loc := s.app.Config.Location
	today := s.app.Clock.Now().In(loc)
	d := views.AttendanceData{From: strings.TrimSpace(c.QueryParam("from")), To: strings.TrimSpace(c.QueryParam("to")),
		Company: c.QueryParam("company")}
	wf, wt := report.Span(report.Week, today, loc)
	if d.From == "" && d.To == "" {
		d.From, d.To = wf.Format(dateLayout), wt.AddDate(0, 0, -1).Format(dateLayout)
	}
	if d.To == "" {
		d.To = d.From
	}
	if d.From == "" {
		d.From = d.To
	}
	q := report.AttendanceQuery{CompanyID: d.Company}
	from, err1 := time.ParseInLocation(dateLayout, d.From, loc)
	to, err2 := time.ParseInLocation(dateLayout, d.To, loc)
	switch {
	case err1 != nil || err2 != nil || to.Before(from):
		d.Error = "records.bad_range"
	case to.AddDate(0, 0, 1).Sub(from) > time.Duration(report.MaxAttendanceDays)*24*time.Hour+time.Hour:
		d.Error = "attendance.too_long"
	}
	if d.Error != "" {
		q.From, q.To = wf, wt
		return d, q
	}
	q.From, q.To = from, to.AddDate(0, 0, 1)
	return d, q
}

func (s *Server) attendanceRows(c echo.Context, q report.AttendanceQuery) ([]report.AttendanceDay, map[string]string, error) {
	rows, err := s.app.Reports.Attendance(c.Request().Context(), q)
	if errors.Is(err, report.ErrAttendanceRange) {
		err = nil // the form said so already
	}
	if err != nil {
		return nil, nil, err
	}
	cs, err := s.app.Directory.Companies(true)
	if err != nil {
		return nil, nil, err
	}
	names := make(map[string]string, len(cs))
	for _, co := range cs {
		names[co.ID] = co.Name
	}
	return rows, names, nil
}

func (s *Server) attendance(c echo.Context) error {
	d, q := s.attendanceQuery(c)
	status := http.StatusOK
	if d.Error != "" {
		status = http.StatusUnprocessableEntity
	}
	rows, names, err := s.attendanceRows(c, q)
	if err != nil {
		return err
	}
	if d.Companies, err = s.app.Directory.Companies(true); err != nil {
		return err
	}
	d.CompanyOf = names
	people := map[string]bool{}
	for _, r := range rows {
		people[r.PersonID] = true
	}
	d.People = len(people)
	off := intParam(c, "offset")
	if off < len(rows) {
		d.Rows = rows[off:min(len(rows), off+attendancePageSize)]
	}
	base := url.Values{"from": {d.From}, "to": {d.To}}
	if d.Company != "" {
		base.Set("company", d.Company)
	}
	d.Query = base.Encode()
	d.Pager = views.Pager{Offset: off, Limit: attendancePageSize, Total: len(rows), Base: base, Path: "/reports/attendance"}
	return s.render(c, status, views.Attendance(d))
}

// attendanceExport downloads the selection, one row per person-day. A bad
// range is refused (422) rather than exported for another one.
func (s *Server) attendanceExport(format string) echo.HandlerFunc {
	return func(c echo.Context) error {
		d, q := s.attendanceQuery(c)
		if d.Error != "" {
			return s.attendance(c)
		}
		rows, names, err := s.attendanceRows(c, q)
		if err != nil {
			return err
		}
		l := langOf(c)
		name := "attendance-" + d.From + "-" + d.To
		return s.sendTable(c, format, attendanceTable(l, name, rows, names))
	}
}

func attendanceTable(l i18n.Lang, name string, rows []report.AttendanceDay, companies map[string]string) table {
	return table{
		name: name,
		header: []string{l.T("field.company"), l.T("field.name"), l.T("field.employee_no"), l.T("attendance.day"),
			l.T("attendance.first_in"), l.T("attendance.last_out"), l.T("attendance.days")},
		rows: func(yield func([]any) bool) {
			for _, r := range rows {
				who := r.Name
				if who == "" {
					who = l.T("attendance.removed")
				}
				if !yield([]any{companies[r.CompanyID], who, r.EmployeeNo, r.Day.Format(dateLayout), r.FirstIn, r.LastOut, r.Days}) {
					return
				}
			}
		},
	}
}
