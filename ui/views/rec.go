package views

import (
	"context"
	"time"
)

// clockOf is a time of day in the building's zone, "—" when zero.
func clockOf(ctx context.Context, t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(page(ctx).Location).Format("15:04")
}

// auditNext is the link to the audit page after d's.
func auditNext(d AuditData) string {
	q := d.Query
	if q != "" {
		q += "&"
	}
	return "/admin/audit?" + q + "before=" + u64(d.Next)
}
