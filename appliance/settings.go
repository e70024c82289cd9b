package appliance

import (
	"context"

	"gatehouse/appliance/config"
	"gatehouse/appliance/pass"
	"gatehouse/appliance/site"
	"gatehouse/appliance/store"
)

// Settings are the settings in force now. The page's changes to the base
// URL, lockout, session limits, broadcast cap, day end, retention, site
// name, address, map and language take effect at once; a new time zone
// waits for a restart (RestartNeeded), because the gates' schedules, the
// flow counters' hours, the backup time and the reports were all set up
// in the zone the appliance opened with, and changing it under them would
// split a day between two zones.
func (a *App) Settings() config.Config {
	if c := a.live.Load(); c != nil {
		return *c
	}
	return a.Config
}

// BaseSettings are the defaults with the file and the environment on top:
// what the stored settings go under, and what says which keys are
// overridden (config.Config.Overridden).
func (a *App) BaseSettings() config.Config { return a.base }

// RestartKeys are the settings that take effect only at the next start.
var RestartKeys = []string{"time_zone"}

// RestartNeeded lists the settings stored since the start that wait for a
// restart.
func (a *App) RestartNeeded() []string {
	var out []string
	now := a.Settings()
	for _, k := range RestartKeys {
		if now.Get(k) != a.Config.Get(k) {
			out = append(out, k)
		}
	}
	return out
}

// SaveSettings checks and stores the site settings the page sends (key ->
// text, config.SiteKeys), and puts what may change at once into force.
// Problems are field.Errors naming the keys.
func (a *App) SaveSettings(ctx context.Context, actor string, values map[string]string) (config.Config, error) {
	c, err := a.Site.Save(ctx, actor, a.base, values)
	if err != nil {
		return a.Settings(), err
	}
	a.inForce(c)
	return c, nil
}

// inForce puts settings into force.
func (a *App) inForce(c config.Config) {
	a.live.Store(&c)
	a.Auth.SetLockout(c.LockFor())
	a.Notices.SetPerMonth(c.BroadcastsPerMonth)
	early, late := c.VisitorGrace()
	a.Access.SetVisitorGrace(pass.Grace{Early: early, Late: late})
}

// settingsReplicated puts the site settings into force when another lobby
// of the site saved them (store.OnReplicated): each appliance keeps them in
// memory.
func (a *App) settingsReplicated(cmd store.Command) {
	if cmd.Type != site.CmdSave {
		return
	}
	go func() {
		legacy, err := a.Notify.LegacyBaseURL()
		if err != nil {
			a.Log.Error("site settings from another lobby", "err", err)
			return
		}
		c, _, err := a.Site.Effective(a.base, legacy)
		if err != nil {
			a.Log.Error("site settings from another lobby", "err", err)
			return
		}
		a.inForce(c)
	}()
}
