package ui

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance/store"
	"gatehouse/ui/i18n"
	"gatehouse/ui/views"
)

// The audit trail: entries newest first, their actors and records by name
// (audit_names.go), filtered by who, what and a date range, a page at a
// time from a cursor (the seq to go on below), and the filtered entries as
// CSV or XLSX.

const (
	auditPageSize = 100
	// auditScan bounds the entries one page reads: a filter that matches
	// rarely pages on ("searched down to #n") instead of reading years.
	auditScan = 20_000
	// auditExportMax bounds an export's rows; a longer trail is exported
	// by date range.
	auditExportMax = 100_000
)

// auditFilter reads the filter from the query string. A bad date range is
// an error key, and the filter then has no dates.
func (s *Server) auditFilter(c echo.Context) (views.AuditQuery, store.AuditFilter) {
	loc := s.app.Config.Location
	q := views.AuditQuery{Actor: c.QueryParam("actor"), Type: strings.TrimSpace(c.QueryParam("type")),
		From: strings.TrimSpace(c.QueryParam("from")), To: strings.TrimSpace(c.QueryParam("to"))}
	f := store.AuditFilter{Actor: q.Actor, Type: q.Type}
	var from, to time.Time
	var err1, err2 error
	if q.From != "" {
		from, err1 = time.ParseInLocation(dateLayout, q.From, loc)
	}
	if q.To != "" {
		to, err2 = time.ParseInLocation(dateLayout, q.To, loc)
	}
	if err1 != nil || err2 != nil || (q.From != "" && q.To != "" && to.Before(from)) {
		q.Error = "records.bad_range"
		return q, f
	}
	if q.From != "" {
		f.From = from.UnixNano()
	}
	if q.To != "" {
		f.To = to.AddDate(0, 0, 1).UnixNano()
	}
	return q, f
}

// auditQueryString is the filter as a query string, for the next page and
// the exports.
func auditQueryString(q views.AuditQuery) string {
	v := url.Values{}
	for k, x := range map[string]string{"actor": q.Actor, "type": q.Type, "from": q.From, "to": q.To} {
		if x != "" {
			v.Set(k, x)
		}
	}
	return v.Encode()
}

func (s *Server) auditPage(c echo.Context, d views.AuditData) error {
	before, _ := strconv.ParseUint(c.QueryParam("before"), 10, 64)
	var f store.AuditFilter
	d.Q, f = s.auditFilter(c)
	status := http.StatusOK
	if d.Q.Error != "" {
		status = http.StatusUnprocessableEntity
	}
	var es []store.AuditEntry
	err := s.app.Store.View(func(r *store.Reader) error {
		var err error
		es, d.Next, err = store.AuditSearch(r, before, f, auditPageSize, auditScan)
		return err
	})
	if err != nil {
		return err
	}
	d.Searched = len(es) < auditPageSize && d.Next > 0
	names := s.newAuditNames(c)
	if d.Rows, err = names.rows(es); err != nil {
		return err
	}
	d.Query = auditQueryString(d.Q)
	if before > 0 {
		d.First = "/admin/audit?" + d.Query
	}
	d.Actors = s.auditActors(names)
	d.Types = auditTypes(langOf(c))
	return s.render(c, status, views.Audit(d))
}

// auditActors are the choices of the "who" filter: every account and
// token by name, and the system.
func (s *Server) auditActors(n *auditNames) []views.Option {
	out := []views.Option{{Value: "system", Label: n.l.T("audit.system")}}
	for _, kind := range []string{"account", "token"} {
		var opts []views.Option
		for id, name := range n.list(kind) {
			opts = append(opts, views.Option{Value: kind + ":" + id, Label: name})
		}
		slices.SortFunc(opts, func(a, b views.Option) int { return strings.Compare(a.Label, b.Label) })
		out = append(out, opts...)
	}
	return out
}

// auditTypes are the choices of the "what" filter: every command type the
// catalogue names, by its name.
func auditTypes(l i18n.Lang) []views.Option {
	var out []views.Option
	for _, k := range i18n.Keys() {
		if typ, ok := strings.CutPrefix(k, "audit.cmd."); ok {
			out = append(out, views.Option{Value: typ, Label: l.Command(typ)})
		}
	}
	slices.SortFunc(out, func(a, b views.Option) int { return strings.Compare(a.Label, b.Label) })
	return out
}

func (s *Server) audit(c echo.Context) error { return s.auditPage(c, views.AuditData{}) }

// auditExport downloads the filtered entries, newest first, at most
// auditExportMax, read a page at a time inside the export's slot of heavy
// work.
func (s *Server) auditExport(format string) echo.HandlerFunc {
	return func(c echo.Context) error {
		q, f := s.auditFilter(c)
		if q.Error != "" {
			return s.audit(c)
		}
		l := langOf(c)
		names := s.newAuditNames(c)
		var failed error
		t := table{
			name: "audit-" + s.app.Clock.Now().In(s.app.Config.Location).Format(dateLayout),
			header: []string{"#", l.T("audit.time"), l.T("audit.actor"), l.T("audit.action"),
				l.T("audit.subject"), l.T("audit.subject_ref"), l.T("audit.note")},
			failed: func() error { return failed },
			rows: func(yield func([]any) bool) {
				var before uint64
				n := 0
				for n < auditExportMax {
					var rows [][]any
					err := s.app.Store.View(func(r *store.Reader) error {
						es, next, err := store.AuditSearch(r, before, f, 1000, auditScan)
						for _, e := range es {
							rows = append(rows, []any{int64(e.Seq), time.Unix(0, e.Time), names.name(r, e.Actor), l.Command(e.Type),
								names.name(r, e.Subject), e.Subject, e.Note})
						}
						before = next
						return err
					})
					if err != nil {
						failed = err
						return
					}
					for _, row := range rows {
						if n++; n > auditExportMax || !yield(row) {
							return
						}
					}
					if before == 0 {
						return
					}
				}
			},
		}
		return s.sendTable(c, format, t)
	}
}

// auditVerify walks the chain; with deep=1 it also checks every record
// against the last command that wrote it (store.VerifyDeep).
func (s *Server) auditVerify(c echo.Context) error {
	deep := c.FormValue("deep") == "1"
	var n uint64
	var rep store.DeepReport
	var err error
	if deep {
		rep, err = s.app.VerifyAuditDeep()
		n = rep.Entries
	} else {
		n, err = s.app.VerifyAudit()
	}
	l := langOf(c)
	var bl *store.BrokenLinkError
	var te *store.TamperedError
	switch {
	case errors.As(err, &bl):
		s.log.Error("audit chain broken", "seq", bl.Seq, "reason", bl.Reason)
		return s.auditPage(c, views.AuditData{Verified: l.T("audit.broken", bl.Error()), Broken: true})
	case errors.As(err, &te):
		s.log.Error("records changed outside the command path", "findings", len(te.Findings)+te.More, "first", te.Findings[0].String())
		var b strings.Builder
		for i, f := range te.Findings {
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString(f.String())
		}
		if te.More > 0 {
			fmt.Fprintf(&b, "; +%d", te.More)
		}
		return s.auditPage(c, views.AuditData{Verified: l.T("audit.tampered", b.String()), Broken: true})
	case err != nil:
		return err
	}
	if deep {
		return s.auditPage(c, views.AuditData{Verified: l.T("audit.deep_intact", fmt.Sprint(n), fmt.Sprint(rep.Records))})
	}
	return s.auditPage(c, views.AuditData{Verified: l.T("audit.intact", fmt.Sprint(n))})
}
