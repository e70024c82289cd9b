package ui

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

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

func (s *Server) auditVerify(c echo.Context) error {
	n, err := s.app.VerifyAudit()
	l := langOf(c)
	var bl *store.BrokenLinkError
	switch {
	case errors.As(err, &bl):
		s.log.Error("audit chain broken", "seq", bl.Seq, "reason", bl.Reason)
		return s.auditPage(c, views.AuditData{Verified: l.T("audit.broken", bl.Error()), Broken: true})
	case err != nil:
		return err
	}
	return s.auditPage(c, views.AuditData{Verified: l.T("audit.intact", fmt.Sprint(n))})
}
