package ui

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance/store"
	"gatehouse/ui/views"
)

const auditPageSize = 100

func (s *Server) auditPage(c echo.Context, d views.AuditData) error {
	before, _ := strconv.ParseUint(c.QueryParam("before"), 10, 64)
	err := s.app.Store.View(func(r *store.Reader) error {
		var err error
		d.Entries, err = store.AuditPage(r, before, auditPageSize)
		return err
	})
	if err != nil {
		return err
	}
	if n := len(d.Entries); n == auditPageSize && d.Entries[n-1].Seq > 1 {
		d.Next = d.Entries[n-1].Seq
	}
	return s.render(c, http.StatusOK, views.Audit(d))
}

func (s *Server) audit(c echo.Context) error { return s.auditPage(c, views.AuditData{}) }

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
