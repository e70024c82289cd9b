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
