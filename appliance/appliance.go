// Package appliance wires the lobby's domains onto one store: it opens the
// data directory, registers every domain's command handlers and hands out
// the services that the web pages, the shell and (later) the drivers and the
// cluster use. It has no HTTP, serial port or Raft in it.
package appliance

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"gatehouse/appliance/access"
	"gatehouse/appliance/auth"
	"gatehouse/appliance/clock"
	"gatehouse/appliance/config"
	"gatehouse/appliance/device"
	"gatehouse/appliance/directory"
	"gatehouse/appliance/notify"
	"gatehouse/appliance/report"
	"gatehouse/appliance/screen"
	"gatehouse/appliance/secret"
	"gatehouse/appliance/store"
	"gatehouse/appliance/visit"
)

// Version is set at build time with -ldflags "-X gatehouse/appliance.Version=...".
var Version = "dev"

// App is one appliance's domain services over its store.
type App struct {
	Store       *store.Store
	Directory   *directory.Service
	Auth        *auth.Service
	Visits      *visit.Service
	Conferences *visit.Conferences
	Screen      *screen.Service
	Access      *access.Service
	Devices     *device.Service // device configuration; serve attaches the driver runtime
	Notify      *notify.Service // the notification outbox; serve runs its worker
	Reports     *report.Service // people-flow dashboard and periodic reports
	Keys        *secret.Keys
	Clock       clock.Clock
	Config      config.Config
	Log         *slog.Logger
}

// Open opens the data directory and finishes any work a crash interrupted.
func Open(ctx context.Context, dataDir string, cfg config.Config, clk clock.Clock, log *slog.Logger) (*App, error) {
	if clk == nil {
		clk = clock.System{}
	}
	if log == nil {
		log = slog.Default()
	}
	keys, err := secret.LoadOrCreate(dataDir)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(store.Options{Dir: dataDir, Logger: log})
	if err != nil {
		return nil, err
	}
	directory.Register(st)
	auth.Register(st)
	visit.Register(st)
	visit.RegisterConference(st)
	screen.Register(st)
	access.Register(st)
	device.Register(st)
	notify.Register(st)
	report.Register(st)
	scr := screen.New(st, clk, keys)
	visits := visit.New(st, clk, keys).WithScreener(scr)
	a := &App{
		Store:       st,
		Directory:   directory.New(st, clk),
		Auth:        auth.New(st, clk, cfg.LockFor()),
		Visits:      visits,
		Conferences: visit.NewConferences(st, clk, keys).WithScreener(scr),
		Access:      access.New(st, clk, cfg.Location, keys.Verifier(), visits).WithSecrets(keys),
		Screen:      scr,
		Devices:     device.New(st, clk),
		Notify:      notify.New(st, clk, keys, notify.Options{Log: log}),
		Keys:        keys,
		Clock:       clk,
		Config:      cfg,
		Log:         log,
	}
	a.Reports = report.New(st, clk, cfg.Location, a.Access, log)
	visits.WithHook(notices{a}.hook)
	// The gate's hourly counters start before any gate runs; Run counts
	// the events an earlier release stored without them.
	if err := a.Reports.Start(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("appliance: start the flow counters: %w", err)
	}
	if err := a.Directory.Recover(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("appliance: finish interrupted imports: %w", err)
	}
	if err := a.Conferences.Recover(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("appliance: finish interrupted conference registrations: %w", err)
	}
	return a, nil
}

// Run does the appliance's timed work until ctx ends: every minute it
// applies the visit rules (no-shows, overstays, day end, escalation) and
// tells the desk and hosts through the notification outbox. The caller
// owns it: serve starts it and waits for it on shutdown.
func (a *App) Run(ctx context.Context) {
	alert := notices{a}
	rules := visit.SweepRules{Location: a.Config.Location, DayEnd: a.Config.DayEndDur,
		EscalateAfter: time.Duration(a.Config.EscalateMin) * time.Minute}
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	doors := time.NewTicker(5 * time.Second)
	defer doors.Stop()
	badgeDay := ""
	if a.Reports.Rebuilding() {
		done := make(chan struct{})
		defer func() { <-done }() // the store outlives Run, not the rebuild
		go func() {
			defer close(done)
			a.Log.Info("counting older gate events for the flow reports")
			if err := a.Reports.Rebuild(ctx); err != nil && ctx.Err() == nil {
				a.Log.Error("flow counters rebuild failed", "err", err)
				return
			}
			if ctx.Err() == nil {
				a.Log.Info("flow counters rebuilt")
			}
		}()
	}
	for {
		if _, err := a.Conferences.CloseEnded(ctx, a.Clock.Now()); err != nil {
			a.Log.Error("closing ended conferences failed", "err", err)
		}
		badgeDay = a.badgeAlarm(ctx, badgeDay)
		if res, err := a.Visits.Sweep(ctx, rules, alert); err != nil {
			a.Log.Error("visit sweep failed", "err", err)
		} else if res != (visit.SweepResult{}) {
			a.Log.Info("visit sweep", "no_shows", res.NoShows, "expired", res.Expired, "overstays", res.Overstays,
				"closed", res.Closed, "reminders", res.Reminders, "escalations", res.Escalations)
		}
		for waiting := true; waiting; {
			select {
			case <-ctx.Done():
				return
			case <-doors.C:
				a.Access.CheckDoors(ctx) // held-open doors, every 5 s
			case <-t.C:
				waiting = false
			}
		}
	}
}

// Close closes the store.
func (a *App) Close() error { return a.Store.Close() }

// VerifyAudit walks the audit chain.
func (a *App) VerifyAudit() (n uint64, err error) {
	err = a.Store.View(func(r *store.Reader) error { n, err = store.VerifyAudit(r); return err })
	return n, err
}

// badgeAlarm raises, once a day after the day's end, an alarm for the
// temporary badges handed out that day and not returned. It returns the
// day it has dealt with.
func (a *App) badgeAlarm(ctx context.Context, done string) string {
	loc := a.Config.Location
	now := a.Clock.Now().In(loc)
	y, m, d := now.Date()
	end := time.Date(y, m, d, 0, 0, 0, 0, loc).Add(a.Config.DayEndDur)
	day := now
	if now.Before(end) {
		day = now.AddDate(0, 0, -1) // today's end not reached: yesterday's is the last one passed
	}
	key := day.Format("2006-01-02")
	if key == done {
		return done
	}
	out, err := a.Visits.UnreturnedBadges(day, loc)
	if err != nil {
		a.Log.Error("unreturned badges", "err", err)
		return done
	}
	if len(out) > 0 {
		if err := a.Access.Raise(ctx, "system", access.AlarmBadges, "", fmt.Sprintf("%s: %d", key, len(out))); err != nil {
			a.Log.Error("unreturned badges alarm", "err", err)
			return done
		}
	}
	return key
}
