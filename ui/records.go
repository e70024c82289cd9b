package ui

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance/visit"
	"gatehouse/ui/views"
)

// names resolves the host, company and floor names of a list of visits.
func (s *Server) names(c echo.Context, vs []visit.Visit) (hosts, companies, floors map[string]string, err error) {
	hosts, companies = map[string]string{}, map[string]string{}
	if floors, err = s.floorNames(); err != nil {
		return
	}
	cs, err := s.app.Directory.Companies(true)
	if err != nil {
		return
	}
	for _, co := range cs {
		companies[co.ID] = co.Name
	}
	for _, v := range vs {
		if _, ok := hosts[v.HostID]; !ok {
			if p, err := s.app.Directory.Person(v.HostID); err == nil {
				hosts[v.HostID] = s.personName(c, p)
			}
		}
	}
	return
}

// recordsQuery reads the records search from the query string; a bad
// range is an error key in d.
func (s *Server) recordsQuery(c echo.Context) (views.RecordsData, visit.Query) {
	loc := s.app.Config.Location
	today := s.app.Clock.Now().In(loc).Format("2006-01-02")
	d := views.RecordsData{From: c.QueryParam("from"), To: c.QueryParam("to"), Company: c.QueryParam("company"),
		Floor: c.QueryParam("floor"), Name: c.QueryParam("name")}
	if d.From == "" {
		d.From = today
	}
	if d.To == "" {
		d.To = d.From
	}
	from, err1 := time.ParseInLocation("2006-01-02", strings.TrimSpace(d.From), loc)
	to, err2 := time.ParseInLocation("2006-01-02", strings.TrimSpace(d.To), loc)
	if err1 != nil || err2 != nil || to.Before(from) {
		d.Error = "records.bad_range"
		from, to = time.Time{}, time.Time{}
	}
	if r := []rune(d.Name); len(r) > 64 {
		d.Name = string(r[:64])
	}
	return d, visit.Query{From: from, To: to.AddDate(0, 0, 1), CompanyID: d.Company, FloorID: d.Floor, Name: d.Name}
}

func (s *Server) records(c echo.Context) error {
	d, q := s.recordsQuery(c)
	status := http.StatusOK
	if d.Error != "" {
		status = http.StatusUnprocessableEntity
	}
	var err error
	if d.Error == "" {
		q.Offset, q.Limit = intParam(c, "offset"), pageSize
		d.Page, err = s.app.Visits.Search(q)
		if err != nil {
			return err
		}
	}
	if d.HostOf, d.CompanyOf, d.FloorOf, err = s.names(c, d.Page.Visits); err != nil {
		return err
	}
	if d.Companies, err = s.app.Directory.Companies(true); err != nil {
		return err
	}
	if d.Floors, err = s.app.Directory.Floors(true); err != nil {
		return err
	}
	base := url.Values{}
	for _, k := range []string{"from", "to", "company", "floor", "name"} {
		if v := c.QueryParam(k); v != "" {
			base.Set(k, v)
		}
	}
	d.Pager = views.Pager{Offset: intParam(c, "offset"), Limit: pageSize, Total: d.Page.Total, Base: base, Path: "/desk/records"}
	d.Query = base.Encode()
	return s.render(c, status, views.Records(d))
}

func (s *Server) visitorHistory(c echo.Context) error {
	vs, total, err := s.app.Visits.HistoryOf(c.Param("id"), 200)
	if err != nil {
		return err
	}
	d := views.HistoryData{Total: total, Visits: vs}
	if len(vs) > 0 {
		d.Name, d.Masked = vs[0].Visitor.Name, vs[0].Visitor.MobileMasked
	}
	if d.HostOf, d.CompanyOf, d.FloorOf, err = s.names(c, vs); err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.VisitorHistory(d))
}
