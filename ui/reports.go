package ui

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance/report"
	"gatehouse/ui/i18n"
	"gatehouse/ui/views"
)

// Reports: a day, an ISO week, a month, a year or any range of whole days
// over the whole history, as a page with charts and tables, as CSV and
// XLSX (the same tables; XLSX one sheet each) and as a printable PDF.

const dateLayout = "2006-01-02"

// minReportYear bounds a report's range below, and next year above: any
// range over the building's history, but not ten thousand years of empty
// months by a typo.
const minReportYear = 2000

// reportQuery reads the period from the query string. A bad date or an
// empty range gives an error key and the default period.
func (s *Server) reportQuery(c echo.Context) (views.ReportQuery, time.Time, time.Time, string) {
	loc := s.app.Config.Location
	today := s.app.Clock.Now().In(loc)
	q := views.ReportQuery{Kind: c.QueryParam("kind"), Date: strings.TrimSpace(c.QueryParam("date")),
		From: strings.TrimSpace(c.QueryParam("from")), To: strings.TrimSpace(c.QueryParam("to"))}
	switch q.Kind {
	case report.Day, report.Week, report.Month, report.Year, report.Range:
	default:
		q.Kind = report.Week
	}
	if q.Date == "" {
		q.Date = today.Format(dateLayout)
	}
	if q.Kind == report.Range {
		if q.From == "" {
			q.From = today.Format(dateLayout)
		}
		if q.To == "" {
			q.To = q.From
		}
		from, err1 := time.ParseInLocation(dateLayout, q.From, loc)
		to, err2 := time.ParseInLocation(dateLayout, q.To, loc)
		if err1 != nil || err2 != nil || to.Before(from) || from.Year() < minReportYear || to.Year() > today.Year()+1 {
			f, t := report.Span(report.Week, today, loc)
			return q, f, t, "records.bad_range"
		}
		return q, from, to.AddDate(0, 0, 1), ""
	}
	day, err := time.ParseInLocation(dateLayout, q.Date, loc)
	if err != nil || day.Year() < minReportYear || day.Year() > today.Year()+1 {
		f, t := report.Span(q.Kind, today, loc)
		return q, f, t, "reports.bad_date"
	}
	f, t := report.Span(q.Kind, day, loc)
	return q, f, t, ""
}

func queryOf(q views.ReportQuery) string {
	v := url.Values{"kind": {q.Kind}}
	if q.Kind == report.Range {
		v.Set("from", q.From)
		v.Set("to", q.To)
	} else {
		v.Set("date", q.Date)
	}
	return v.Encode()
}

// periodTitle names the period: "Week 2026-11-23 – 2026-11-29".
func periodTitle(l i18n.Lang, kind string, from, to time.Time) string {
	last := to.AddDate(0, 0, -1)
	if kind == report.Day || from.Equal(last) {
		return l.T("reports.kind."+kind) + " " + from.Format(dateLayout)
	}
	return l.T("reports.kind."+kind) + " " + from.Format(dateLayout) + " – " + last.Format(dateLayout)
}

func nameOr(l i18n.Lang, s string) string {
	if s == "" {
		return l.T("reports.none")
	}
	return s
}

// reportTables are the report's tables in the user's language: the page,
// the exports and the PDF all show these.
func reportTables(l i18n.Lang, r report.Report) []report.Table {
	mins := int(r.AvgLength.Round(time.Minute) / time.Minute)
	ts := []report.Table{{Title: l.T("reports.summary"), Header: []string{l.T("reports.item"), l.T("reports.value")}, Rows: [][]any{
		{l.T("flow.entries"), r.In}, {l.T("flow.exits"), r.Out}, {l.T("reports.in_denied"), r.InDenied}, {l.T("reports.out_denied"), r.OutDeny},
		{l.T("reports.visits"), r.Visits}, {l.T("reports.no_shows"), r.NoShows}, {l.T("reports.avg_length"), mins}, {l.T("reports.timed"), r.Timed},
	}}}
	series := report.Table{Title: l.T("reports.series"), Header: []string{l.T("reports.date"), l.T("flow.entries"), l.T("flow.exits"), l.T("reports.visits")}}
	for _, b := range r.Series {
		label := b.Start.Format(dateLayout)
		if b.Monthly {
			label = b.Start.Format("2006-01")
		}
		series.Rows = append(series.Rows, []any{label, b.In, b.Out, b.Visits})
	}
	hours := report.Table{Title: l.T("reports.hour_of_day"), Header: []string{l.T("reports.hour"), l.T("flow.entries")}}
	for h, n := range r.HourOfDay {
		hours.Rows = append(hours.Rows, []any{fmt.Sprintf("%02d:00", h), n})
	}
	peaks := report.Table{Title: l.T("reports.peaks"), Header: []string{l.T("reports.hour"), l.T("flow.entries")}}
	for _, p := range r.Peaks {
		peaks.Rows = append(peaks.Rows, []any{p.Start.Format("2006-01-02 15:00"), p.In})
	}
	groups := report.Table{Title: l.T("reports.groups"), Header: []string{l.T("reports.group"), l.T("flow.entries")}, Rows: [][]any{
		{l.T("flow.employees"), r.ByGroup[report.GroupEmployee]}, {l.T("flow.visitors"), r.ByGroup[report.GroupVisitor]},
		{l.T("flow.others"), r.ByGroup[report.GroupOther]},
	}}
	lanes := report.Table{Title: l.T("reports.lanes"), Header: []string{l.T("flow.lane"), l.T("flow.entries"), l.T("flow.exits"), l.T("flow.denied")}}
	for _, lf := range r.Lanes {
		name := lf.Name
		if name == "" {
			name = l.T("reports.lane_gone")
		}
		lanes.Rows = append(lanes.Rows, []any{name, lf.In, lf.Out, lf.Denied})
	}
	counts := func(title, col string, cs []report.Count, label func(report.Count) string) report.Table {
		t := report.Table{Title: title, Header: []string{col, l.T("reports.visits")}}
		for _, c := range cs {
			t.Rows = append(t.Rows, []any{label(c), c.N})
		}
		return t
	}
	byName := func(c report.Count) string { return nameOr(l, c.Name) }
	ts = append(ts, series, hours, peaks, groups, lanes,
		counts(l.T("reports.by_company"), l.T("field.company"), r.ByCompany, byName),
		counts(l.T("reports.by_floor"), l.T("field.floor"), r.ByFloor, byName),
		counts(l.T("reports.by_mode"), l.T("visit.mode"), r.ByMode, func(c report.Count) string { return l.T("mode." + c.ID) }),
		counts(l.T("reports.by_outcome"), l.T("field.status"), r.ByOutcome, func(c report.Count) string { return l.T("state." + c.ID) }),
		counts(l.T("reports.no_show_by"), l.T("field.company"), r.NoShowBy, byName))
	return ts
}

// reportCharts draws the page's charts.
func reportCharts(l i18n.Lang, r report.Report) []views.Chart {
	var labels []string
	var in, out, visits []float64
	for _, b := range r.Series {
		label := b.Start.Format("01-02")
		if b.Monthly {
			label = b.Start.Format("2006-01")
		}
		labels = append(labels, label)
		in, out, visits = append(in, float64(b.In)), append(out, float64(b.Out)), append(visits, float64(b.Visits))
	}
	hl := make([]string, 24)
	hv := make([]float64, 24)
	for h, n := range r.HourOfDay {
		hl[h], hv[h] = fmt.Sprintf("%02d", h), float64(n)
	}
	return []views.Chart{
		{ID: "chart-series", Title: l.T("reports.series"), Desc: l.T("reports.series_desc", r.In, r.Out), Labels: labels,
			Series: []views.Series{{Name: l.T("flow.entries"), Class: "c-in", Values: in}, {Name: l.T("flow.exits"), Class: "c-out", Values: out}}},
		{ID: "chart-visits", Title: l.T("reports.visits"), Desc: l.T("reports.visits_desc", r.Visits, r.NoShows), Labels: labels,
			Series: []views.Series{{Name: l.T("reports.visits"), Class: "c-vis", Values: visits}}},
		{ID: "chart-hours", Title: l.T("reports.hour_of_day"), Desc: l.T("reports.hours_desc"), Labels: hl, Every: 2,
			Series: []views.Series{{Name: l.T("flow.entries"), Class: "c-in", Values: hv}}},
	}
}

func (s *Server) reportData(c echo.Context) (views.ReportsData, int, error) {
	q, from, to, bad := s.reportQuery(c)
	l := langOf(c)
	d := views.ReportsData{Q: q, Error: bad, Query: queryOf(q), Title: periodTitle(l, q.Kind, from, to)}
	rep, err := s.app.Reports.Report(from, to)
	if err != nil {
		return d, 0, err
	}
	d.Rebuilding = rep.Rebuilding
	d.Tables = reportTables(l, rep)
	d.Charts = reportCharts(l, rep)
	d.Groups = []views.Part{
		{Name: l.T("flow.employees"), Class: "c-emp", N: rep.ByGroup[report.GroupEmployee]},
		{Name: l.T("flow.visitors"), Class: "c-vis", N: rep.ByGroup[report.GroupVisitor]},
		{Name: l.T("flow.others"), Class: "c-oth", N: rep.ByGroup[report.GroupOther]},
	}
	d.Name = "report-" + q.Kind + "-" + from.Format(dateLayout)
	if bad != "" {
		return d, http.StatusUnprocessableEntity, nil
	}
	return d, http.StatusOK, nil
}

func (s *Server) reports(c echo.Context) error {
	d, status, err := s.reportData(c)
	if err != nil {
		return err
	}
	return s.render(c, status, views.Reports(d))
}

// reportExport downloads the report as csv, xlsx or pdf. A bad period is
// refused (422) rather than silently exported for another one.
func (s *Server) reportExport(format string) echo.HandlerFunc {
	return func(c echo.Context) error {
		d, status, err := s.reportData(c)
		if err != nil {
			return err
		}
		if status != http.StatusOK {
			return s.render(c, status, views.Reports(d))
		}
		l := langOf(c)
		var buf bytes.Buffer
		var ctype string
		switch format {
		case formatCSV:
			ctype, err = "text/csv; charset=utf-8", writeReportCSV(&buf, d.Title, d.Tables)
		case formatXLSX:
			ctype, err = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", writeXLSX(&buf, s.app.Config.Location, reportSheets(d.Tables)...)
		case "pdf":
			ctype = "application/pdf"
			err = report.WritePDF(&buf, l.T("reports.title"), d.Title, s.app.Config.SiteName+" · "+
				s.app.Clock.Now().In(s.app.Config.Location).Format("2006-01-02 15:04"), d.Tables)
		default:
			return echo.ErrNotFound
		}
		if err != nil {
			return err
		}
		h := c.Response().Header()
		h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.%s"`, unsafeFileName.ReplaceAllString(d.Name, "-"), format))
		h.Set("Cache-Control", "no-store")
		return c.Blob(http.StatusOK, ctype, buf.Bytes())
	}
}

// writeReportCSV writes the tables one after another: each under a line
// with its title, separated by an empty line.
func writeReportCSV(w *bytes.Buffer, title string, ts []report.Table) error {
	w.WriteString("\xEF\xBB\xBF")
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write([]string{csvCell(title, time.UTC)}); err != nil {
		return err
	}
	for _, t := range ts {
		_ = cw.Write(nil)
		if err := cw.Write([]string{csvCell(t.Title, time.UTC)}); err != nil {
			return err
		}
		if err := cw.Write(t.Header); err != nil {
			return err
		}
		for _, row := range t.Rows {
			rec := make([]string, len(row))
			for i, v := range row {
				rec[i] = csvCell(report.Cell(v), time.UTC)
			}
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// reportSheets are the report's tables as export tables, one sheet each;
// numbers stay numbers.
func reportSheets(ts []report.Table) []table {
	out := make([]table, len(ts))
	for i, t := range ts {
		out[i] = table{sheet: t.Title, header: t.Header, rows: slices.Values(t.Rows)}
	}
	return out
}
