package appliance

import (
	"context"
	"time"

	"gatehouse/appliance/visit"
)

// purgeAt is the site time of the nightly retention purge: after the
// backup (02:30), before the morning.
const purgeAt = 3*time.Hour + 30*time.Minute

// Retention is the retention of visitors' data the settings ask for.
func (a *App) Retention() visit.Retention {
	personal, photos := a.Settings().Retention()
	return visit.Retention{Personal: personal, Photos: photos}
}

// nightlyPurge runs the retention purge once a day after purgeAt, site
// time; done is the day it last ran ("2006-01-02"), returned updated.
func (a *App) nightlyPurge(ctx context.Context, done string) string {
	now := a.Clock.Now().In(a.Config.Location)
	day := now.Format("2006-01-02")
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
	if day == done || now.Sub(midnight) < purgeAt {
		return done
	}
	n, err := a.Visits.Purge(ctx, "system:retention", a.Retention())
	if err != nil {
		a.Log.Error("retention purge failed", "err", err)
		return done // tried again in a minute
	}
	if n != (visit.PurgeCount{}) {
		a.Log.Info("retention purge", "visits", n.Visits, "photos", n.Photos)
	}
	return day
}
