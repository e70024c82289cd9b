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

// PurgeCount is what the retention purge removed, or would remove: the
// personal data of visits, visitor photos, and the personal data of people
// deactivated in the directory. Stamped counts deactivated people found
// without a deactivation time and given one (appliance/directory/purge.go);
// Credentials, the credentials whose copy of a purged holder's name went
// (appliance/access/purge.go); Cards, the visitors' ID-card bindings
// dropped with their visit's personal data (appliance/access/visitcard.go).
// A preview leaves these three 0.
type PurgeCount struct {
	Visits      int
	Photos      int
	People      int
	Stamped     int
	Credentials int
	Cards       int
}

// Purge runs the whole retention purge now under the settings' retention.
func (a *App) Purge(ctx context.Context, actor string) (PurgeCount, error) {
	v, err := a.Visits.Purge(ctx, actor, a.Retention())
	c := PurgeCount{Visits: v.Visits, Photos: v.Photos}
	if err != nil {
		return c, err
	}
	p, err := a.Directory.Purge(ctx, actor, a.Settings().PersonRetention())
	c.People, c.Stamped = p.People, p.Stamped
	if err != nil {
		return c, err
	}
	// Apart from the directory's purge, so that a run cut short between
	// the two catches up the next night.
	c.Credentials, err = a.Access.PurgeHolders(ctx, actor)
	if err != nil {
		return c, err
	}
	// A visitor's ID card binding goes with the visit's personal data.
	c.Cards, err = a.Access.PurgeVisitCards(ctx, actor)
	if err != nil {
		return c, err
	}
	// Face pictures go once their credential's validity has ended (a
	// visit over): appliance/access/face.go.
	faces, err := a.Access.PurgeFaces(ctx, actor)
	c.Photos += faces
	return c, err
}

// PurgePreview counts what Purge would remove now, without removing it:
// for the settings page and `gatehouse purge --dry-run`. Stamped is 0: a
// preview stamps nobody.
func (a *App) PurgePreview() (PurgeCount, error) {
	v, err := a.Visits.PurgePreview(a.Retention())
	if err != nil {
		return PurgeCount{}, err
	}
	people, err := a.Directory.PurgePreview(a.Settings().PersonRetention())
	return PurgeCount{Visits: v.Visits, Photos: v.Photos, People: people}, err
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
	n, err := a.Purge(ctx, "system:retention")
	if err != nil {
		a.Log.Error("retention purge failed", "err", err)
		return done // tried again in a minute
	}
	if n != (PurgeCount{}) {
		a.Log.Info("retention purge", "visits", n.Visits, "photos", n.Photos, "people", n.People, "stamped", n.Stamped, "credentials", n.Credentials, "cards", n.Cards)
	}
	return day
}
