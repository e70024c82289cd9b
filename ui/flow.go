package ui

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance/report"
	"gatehouse/ui/i18n"
	"gatehouse/ui/views"
)

// The people-flow dashboard: who is inside now, today's entries and exits
// per hour against the same weekday's average, visitors against
// employees, the busiest lanes, and a picture of the building's floors.
// The page polls /flow/live every 10 s for the same fragment, which is
// cheaper than a stream per tablet and as fresh as a glance needs.

func (s *Server) flowData(c echo.Context) (views.FlowData, error) {
	d, err := s.app.Reports.Dashboard()
	if err != nil {
		return views.FlowData{}, err
	}
	v := flowView(langOf(c), d)
	v.At = d.At.In(s.app.Config.Location).Format("15:04:05")
	return v, nil
}

// flowView turns the dashboard's figures into the page's charts.
func flowView(l i18n.Lang, d report.Dashboard) views.FlowData {
	v := views.FlowData{D: d}
	labels := make([]string, 24)
	in, out, avgIn, avgOut := make([]float64, 24), make([]float64, 24), make([]float64, 24), make([]float64, 24)
	for h, hf := range d.Hours {
		labels[h] = fmt.Sprintf("%02d", h)
		in[h], out[h], avgIn[h], avgOut[h] = float64(hf.In), float64(hf.Out), hf.AvgIn, hf.AvgOt
	}
	series := []views.Series{{Name: l.T("flow.entries"), Class: "c-in", Values: in}, {Name: l.T("flow.exits"), Class: "c-out", Values: out}}
	if d.AvgWeeks > 0 {
		series = append(series, views.Series{Name: l.T("flow.avg_entries"), Class: "c-avg", Values: avgIn, Line: true},
			views.Series{Name: l.T("flow.avg_exits"), Class: "c-avgout", Values: avgOut, Line: true})
	}
	v.Hourly = views.Chart{ID: "chart-hourly", Title: l.T("flow.hourly"), Labels: labels, Series: series, Every: 2,
		Desc: l.T("flow.hourly_desc", d.In, d.Out, d.AvgWeeks)}
	for _, f := range d.Floors {
		name := f.Name
		if f.ID == "" {
			name = l.T("flow.no_floor")
		}
		v.Floors = append(v.Floors, views.Floor{Name: name, N: f.N})
	}
	v.Groups = []views.Part{
		{Name: l.T("flow.employees"), Class: "c-emp", N: d.TodayBy[report.GroupEmployee]},
		{Name: l.T("flow.visitors"), Class: "c-vis", N: d.TodayBy[report.GroupVisitor]},
		{Name: l.T("flow.others"), Class: "c-oth", N: d.TodayBy[report.GroupOther]},
	}
	if len(v.D.Companies) > 12 {
		v.D.Companies = v.D.Companies[:12]
	}
	if len(v.D.Lanes) > 8 {
		v.D.Lanes = v.D.Lanes[:8]
	}
	return v
}

func (s *Server) flow(c echo.Context) error {
	d, err := s.flowData(c)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.Flow(d))
}

// flowLive is the dashboard's fragment, polled by the page.
func (s *Server) flowLive(c echo.Context) error {
	d, err := s.flowData(c)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.FlowLive(d))
}
