package ui

import (
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance/directory"
	"gatehouse/appliance/store"
	"gatehouse/appliance/visit"
	"gatehouse/ui/views"
)

// The visitors list (DOMAIN: people views, visitors with visit count) and
// the exports of the records search and the directory list. Exports read
// their rows inside sendTable's slot of heavy work; mobiles are masked as
// on the pages.

// exportMax bounds a listing export's rows.
const exportMax = 100_000

func (s *Server) visitorsQuery(c echo.Context) visit.VisitorQuery {
	q := visit.VisitorQuery{Name: c.QueryParam("name")}
	if r := []rune(q.Name); len(r) > 64 {
		q.Name = string(r[:64])
	}
	return q
}

func (s *Server) visitors(c echo.Context) error {
	q := s.visitorsQuery(c)
	q.Offset, q.Limit = intParam(c, "offset"), pageSize
	pg, err := s.app.Visits.Visitors(c.Request().Context(), q)
	if err != nil {
		return err
	}
	d := views.VisitorsData{Name: q.Name, Rows: pg.Rows}
	if _, d.CompanyOf, _, err = s.names(c, nil); err != nil {
		return err
	}
	base := url.Values{}
	if q.Name != "" {
		base.Set("name", q.Name)
	}
	d.Query = base.Encode()
	d.Pager = views.Pager{Offset: q.Offset, Limit: pageSize, Total: pg.Total, Base: base, Path: "/desk/visitors"}
	return s.render(c, http.StatusOK, views.Visitors(d))
}

func (s *Server) visitorsExport(format string) echo.HandlerFunc {
	return func(c echo.Context) error {
		q := s.visitorsQuery(c)
		q.Limit = exportMax
		l := langOf(c)
		_, companies, _, err := s.names(c, nil)
		if err != nil {
			return err
		}
		var failed error
		return s.sendTable(c, format, table{
			name: "visitors-" + s.app.Clock.Now().In(s.app.Config.Location).Format(dateLayout),
			header: []string{l.T("visit.visitor"), l.T("field.mobile"), l.T("export.visitor_company"), l.T("visitors.count"),
				l.T("visitors.last"), l.T("visitors.last_company")},
			failed: func() error { return failed },
			rows: func(yield func([]any) bool) {
				var pg visit.VisitorPage
				if failed = s.app.Store.View(func(r *store.Reader) (err error) {
					pg, err = visit.Visitors(c.Request().Context(), r, q)
					return err
				}); failed != nil {
					return
				}
				for _, row := range pg.Rows {
					v := row.Latest
					if !yield([]any{v.Visitor.Name, v.Visitor.MobileMasked, v.Visitor.Company, row.Visits, time.Unix(0, v.From),
						companies[v.CompanyID]}) {
						return
					}
				}
			},
		})
	}
}

// recordsExport downloads every visit the records search matches, at most
// exportMax.
func (s *Server) recordsExport(format string) echo.HandlerFunc {
	return func(c echo.Context) error {
		d, q := s.recordsQuery(c)
		if d.Error != "" {
			return s.records(c)
		}
		l := langOf(c)
		var failed error
		t := visitTable(l, "visits-"+d.From+"-"+d.To, nil)
		t.failed = func() error { return failed }
		t.rows = func(yield func([]any) bool) {
			var rows []visit.ExportRow
			if failed = s.app.Store.View(func(r *store.Reader) error {
				vs, err := visit.SearchAll(r, q, exportMax)
				if err != nil {
					return err
				}
				rows, err = visit.ExportRows(r, vs)
				return err
			}); failed != nil {
				return
			}
			visitTable(l, "", rows).rows(yield)
		}
		return s.sendTable(c, format, t)
	}
}

// peopleExport downloads the directory list's people of the current
// filter, every page of it.
func (s *Server) peopleExport(format string) echo.HandlerFunc {
	return func(c echo.Context) error {
		q := peopleQuery(c)
		l := langOf(c)
		floors, err := s.floorNames()
		if err != nil {
			return err
		}
		_, companies, _, err := s.names(c, nil)
		if err != nil {
			return err
		}
		var failed error
		return s.sendTable(c, format, table{
			name: "people-" + string(q.Kind),
			header: []string{l.T("field.name"), l.T("field.english_name"), l.T("field.employee_no"), l.T("field.company"),
				l.T("field.floor"), l.T("field.position"), l.T("field.mobile"), l.T("field.status")},
			failed: func() error { return failed },
			rows: func(yield func([]any) bool) {
				q.Limit = directory.MaxPageSize
				for q.Offset = 0; q.Offset < exportMax; q.Offset += q.Limit {
					var pg directory.Page
					if failed = s.app.Store.View(func(r *store.Reader) (err error) { pg, err = directory.Search(r, q); return err }); failed != nil {
						return
					}
					ps, err := s.app.Directory.WithMobiles(pg.People)
					if failed = err; err != nil {
						return
					}
					for _, p := range ps {
						state := l.T("status.active")
						if !p.Active {
							state = l.T("status.inactive")
						}
						if !yield([]any{s.personName(c, p), p.EnglishName, p.EmployeeNo, companies[p.CompanyID], floors[p.FloorID],
							p.Position, visit.MaskMobile(p.Mobile), state}) {
							return
						}
					}
					if q.Offset+len(pg.People) >= pg.Total || len(pg.People) == 0 {
						return
					}
				}
			},
		})
	}
}
