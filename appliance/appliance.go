// Package appliance wires the lobby's domains onto one store: it opens the
// data directory, registers every domain's command handlers and hands out
// the services that the web pages, the shell and (later) the drivers and the
// cluster use. It has no HTTP, serial port or Raft in it.
package appliance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"gatehouse/appliance/access"
	"gatehouse/appliance/auth"
	"gatehouse/appliance/backup"
	"gatehouse/appliance/clock"
	"gatehouse/appliance/config"
	"gatehouse/appliance/device"
	"gatehouse/appliance/directory"
	"gatehouse/appliance/journal"
	"gatehouse/appliance/keys"
	"gatehouse/appliance/metric"
	"gatehouse/appliance/notice"
	"gatehouse/appliance/notify"
	"gatehouse/appliance/pass"
	"gatehouse/appliance/report"
	"gatehouse/appliance/screen"
	"gatehouse/appliance/secret"
	"gatehouse/appliance/session"
	"gatehouse/appliance/site"
	"gatehouse/appliance/stock"
	"gatehouse/appliance/store"
	"gatehouse/appliance/visit"
	"gatehouse/cluster"
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
	DeviceWatch *device.Watch   // raises and clears the guard station's alarm for a device down too long
	Notify      *notify.Service // the notification outbox; serve runs its worker
	KeyRoom     *keys.Service   // customers' keys held at the desk
	KeySensors  *keys.Sensors   // key cabinets' slot sensors → key room commands
	Stock       *stock.Service  // card stock: blanks, badges, fobs
	Notices     *notice.Service // announcements and the message centre
	Reports     *report.Service // people-flow dashboard and periodic reports
	Metrics     *metric.Set     // served at /metrics; serve connects the worker and the device runtime
	Backups     *backup.Service // daily backups to a target directory
	Site        *site.Service   // the site settings the administrator stores
	Node        *cluster.Node   // this appliance's node in a site of several lobbies; nil for a single lobby (serve sets it)
	Keys        *secret.Keys
	Sessions    *session.Store // the staff signed in on this appliance (not replicated)
	Clock       clock.Clock
	// Config is the settings in force when the appliance opened: file,
	// environment and stored site settings together. What may change while
	// it runs (see Settings) is read from Settings instead.
	Config  config.Config
	Log     *slog.Logger
	DataDir string

	base   config.Config                 // the defaults, the file and the environment: what stored settings go under
	live   atomic.Pointer[config.Config] // the settings in force now
	digest *hostDigest                   // visit requests held for a host's digest
	signup *signupGate                   // employees signing up, waiting for their code

	// SiteWide, when set (a node of a site of several lobbies), says
	// whether this appliance runs the site's timed rules now: only the
	// leader does, so that each fires once site-wide (cluster/DESIGN.md).
	SiteWide func() bool

	journal  *journal.Journal // the lobby's gate events on their way to the store
	shipStop context.CancelFunc
	shipped  chan struct{} // closed when the shipping stopped
}

// OpenOptions adjust Open.
type OpenOptions struct {
	// Replicate, if set, is called with the store as soon as every
	// handler is registered and before anything is written: a node of a
	// site starts Raft there, so that no write bypasses the site's log.
	Replicate func(*store.Store) error
}

// RegisterCommands installs every command handler of the appliance: what
// Open does, and what a site's witness (which applies the site's commands
// but runs no services) does.
func RegisterCommands(st *store.Store) {
	directory.Register(st)
	auth.Register(st)
	visit.Register(st)
	visit.RegisterConference(st)
	screen.Register(st)
	access.Register(st)
	device.Register(st)
	notify.Register(st)
	keys.Register(st)
	stock.Register(st)
	notice.Register(st)
	report.Register(st)
	backup.Register(st)
	site.Register(st)
	cluster.Register(st)
}

// leads says whether the site's timed rules run here.
func (a *App) leads() bool { return a.SiteWide == nil || a.SiteWide() }

// Open opens the data directory and finishes any work a crash interrupted.
func Open(ctx context.Context, dataDir string, cfg config.Config, clk clock.Clock, log *slog.Logger) (*App, error) {
	return OpenWith(ctx, dataDir, cfg, clk, log, OpenOptions{})
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, dataDir string, cfg config.Config, clk clock.Clock, log *slog.Logger, o OpenOptions) (*App, error) {
	if clk == nil {
		clk = clock.System{}
	}
	if log == nil {
		log = slog.Default()
	}
	// A restore that did not finish leaves its marker: the directory must
	// not pass for good data (appliance/backup/DESIGN.md).
	if _, err := os.Stat(filepath.Join(dataDir, backup.IncompleteMarker)); err == nil {
		return nil, fmt.Errorf("appliance: %s holds an unfinished restore (%s): restore again into a new directory", dataDir, backup.IncompleteMarker)
	}
	siteKeys, err := secret.LoadOrCreate(dataDir)
	if err != nil {
		return nil, err
	}
	// The keys come first: an upgrade may seal what an older release kept
	// in clear (store/DESIGN.md).
	metrics := metric.New(Version)
	st, err := store.Open(store.Options{Dir: dataDir, Logger: log, Keys: siteKeys, Observer: metrics})
	if err != nil {
		return nil, err
	}
	RegisterCommands(st)
	if o.Replicate != nil {
		if err := o.Replicate(st); err != nil {
			st.Close()
			return nil, err
		}
	}
	scr := screen.New(st, clk, siteKeys)
	visits := visit.New(st, clk, siteKeys).WithScreener(scr)
	// The stored site settings go under the file's and the environment's;
	// the base URL an earlier release kept with the notification settings
	// counts until they are first saved (appliance/site).
	base := cfg
	siteSvc := site.New(st, clk)
	ntf := notify.New(st, clk, siteKeys, notify.Options{Log: log, PrivatePaths: []string{StatusPath}})
	legacy, err := ntf.LegacyBaseURL()
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("appliance: read the notification settings: %w", err)
	}
	cfg, bad, err := siteSvc.Effective(base, legacy)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("appliance: read the site settings: %w", err)
	}
	if len(bad) > 0 {
		log.Warn("stored site settings left out", "problems", bad.Error())
	}
	a := &App{
		Store:       st,
		Directory:   directory.New(st, clk, siteKeys),
		Auth:        auth.New(st, clk, cfg.LockFor()),
		Visits:      visits,
		Conferences: visit.NewConferences(st, clk, siteKeys).WithScreener(scr),
		Access:      access.New(st, clk, cfg.Location, siteKeys.Verifier(), visits).WithSecrets(siteKeys),
		Screen:      scr,
		Devices:     device.New(st, clk),
		Notify:      ntf,
		Site:        siteSvc,
		base:        base,
		Keys:        siteKeys,
		Clock:       clk,
		Config:      cfg,
		Log:         log,
		DataDir:     dataDir,
		Metrics:     metrics,
		digest:      newHostDigest(),
		signup:      newSignupGate(),
	}
	a.live.Store(&cfg)
	early, late := cfg.VisitorGrace()
	a.Access.SetVisitorGrace(pass.Grace{Early: early, Late: late})
	st.OnReplicated(a.settingsReplicated)
	st.OnReplicated(a.Access.Replicated)  // the other lobbies' gates on the guard station
	st.OnReplicated(a.Devices.Replicated) // a device changed on another lobby's pages
	ntf.SetBaseURL(func() string { return a.Settings().BaseURL })
	a.Access.SetObserver(metrics)
	a.DeviceWatch = device.NewWatch(a.Devices, a.Access, clk, log, time.Duration(cfg.DeviceAlarmSec)*time.Second)
	metrics.Watch(metric.Sources{Store: st, Outbox: a.Notify, Devices: a.Devices, Lanes: a.Access})
	a.Backups = backup.New(st, st, dataDir, clk, cfg.Location, cfg.SiteName, log)
	a.Backups.ConfigPath = cfg.Path // every backup carries the settings file
	a.Reports = report.New(st, clk, cfg.Location, a.Access, log)
	visits.WithHook(notices{a}.hook).WithCodeSender(codes{a})
	a.KeyRoom = keys.New(st, clk, a.Auth)
	a.KeySensors = keys.NewSensors(a.KeyRoom, keyTaken{a})
	a.Stock = stock.New(st, clk, cfg.Location).WithBlocker(cardBlocker{a.Access})
	a.Notices = notice.New(st, notice.Options{Location: cfg.Location, PerMonth: cfg.BroadcastsPerMonth, SiteName: cfg.SiteName,
		Outbox: a.Notify, People: board{a}, Clock: clk, Keys: siteKeys})
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
	// People stored before the host search (or before its terms last
	// changed) are indexed for it once, by command (directory/hosts.go).
	// A node of a site leaves it to the leader's timed loop (Run): here it
	// may have no leader to write through, or be the shell on a node's
	// data, which writes nothing.
	if o.Replicate == nil {
		if err := a.Directory.IndexHosts(ctx); err != nil {
			log.Warn("host search: people stored before it are not indexed yet", "err", err)
		}
	}
	if err := a.Conferences.Recover(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("appliance: finish interrupted conference registrations: %w", err)
	}
	// Sessions are this appliance's own: a file under the data directory,
	// never a store command (appliance/session, cluster/DESIGN.md).
	sessDir := ""
	if dataDir != "" {
		sessDir = filepath.Join(dataDir, SessionDir)
	}
	a.Sessions, err = session.Open(sessDir, func() (time.Duration, time.Duration) {
		set := a.Settings()
		return set.SessionIdle(), set.SessionMax()
	}, clk.Now())
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("appliance: open the sessions: %w", err)
	}
	if a.Sessions.Damaged {
		log.Warn("sessions: a damaged record was cut off (a power cut while it was written)")
	}
	if err := a.startJournal(); err != nil {
		a.Sessions.Close()
		st.Close()
		return nil, err
	}
	return a, nil
}

// SessionDir is where, under the data directory, the staff's sessions on
// this appliance are kept (appliance/session).
const SessionDir = "sessions"

// JournalDir is where, under the data directory, the lobby's gate events
// wait to reach the store (appliance/journal).
const JournalDir = "gate-journal"

// startJournal opens the lobby's gate journal and starts shipping what it
// holds: events a crash, or a cut-off from the site, left unshipped.
func (a *App) startJournal() error {
	if a.DataDir == "" {
		return nil
	}
	j, recs, err := journal.Open(filepath.Join(a.DataDir, JournalDir))
	if err != nil {
		return fmt.Errorf("appliance: open the gate journal: %w", err)
	}
	if j.Damaged > 0 {
		a.Log.Warn("gate journal: a damaged record was cut off (a power cut while it was written)", "segments", j.Damaged)
	}
	if err := a.Access.UseJournal(j, recs, ""); err != nil {
		j.Close()
		return err
	}
	if len(recs) > 0 {
		a.Log.Info("gate journal: shipping events written before the last stop", "events", len(recs))
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.journal, a.shipStop, a.shipped = j, cancel, make(chan struct{})
	go func() { defer close(a.shipped); a.Access.Ship(ctx) }()
	return nil
}

// Run does the appliance's timed work until ctx ends: every minute it
// applies the visit rules (no-shows, overstays, day end, escalation) and
// the key room's (overdue, curfew, escalation) and tells the desk, hosts,
// key holders and managers through the notification outbox. Weekly it
// scrubs the store, and it raises the guard station's alarm when the store
// is corrupt. The caller owns it: serve starts it and waits for it on
// shutdown.
func (a *App) Run(ctx context.Context) {
	alert := notices{a}
	keyRules := keys.SweepRules{Location: a.Config.Location, EscalateAfter: time.Duration(a.Config.KeyEscalateMin) * time.Minute}
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	doors := time.NewTicker(5 * time.Second)
	defer doors.Stop()
	badgeDay, purgeDay := "", ""
	check := newIntegrity(a)
	defer check.wait() // the store outlives Run, not the scrub
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
	// The daily backup runs beside the sweeps: it may take minutes, and the
	// doors are checked every 5 s.
	backups := make(chan struct{})
	defer func() { <-backups }()
	go func() {
		defer close(backups)
		a.backupLoop(ctx)
	}()
	// A lost card written off just before a crash may still open the gates.
	if n, err := a.Stock.BlockPending(ctx); err != nil {
		a.Log.Error("blocking lost stock cards failed", "err", err)
	} else if n > 0 {
		a.Log.Info("lost stock cards blocked at the gates", "cards", n)
	}
	hostsIndexed := false
	for {
		check.alarm(ctx)
		check.tick(ctx)
		if a.leads() {
			badgeDay, purgeDay = a.siteRules(ctx, keyRules, alert, badgeDay, purgeDay)
			if !hostsIndexed { // one read once done (directory/hosts.go)
				if err := a.Directory.IndexHosts(ctx); err != nil && ctx.Err() == nil {
					a.Log.Warn("host search: indexing people stored before it failed", "err", err)
				} else {
					hostsIndexed = err == nil
				}
			}
		}
		for waiting := true; waiting; {
			select {
			case <-ctx.Done():
				return
			case <-doors.C:
				a.Access.CheckDoors(ctx) // held-open doors, every 5 s
				// Devices down too long: each lobby's own, so not leader-only.
				if err := a.DeviceWatch.Check(ctx); err != nil && ctx.Err() == nil {
					a.Log.Error("device alarms", "err", err)
				}
				check.alarm(ctx)
				if a.leads() {
					alert.sendDigests(ctx)
				}
			case <-check.ended:
				check.alarm(ctx)
			case <-t.C:
				waiting = false
			}
		}
	}
}

// siteRules runs the timed rules that must fire once per site: in a site
// of several lobbies only the leader runs them (each lobby's own doors,
// integrity and backups are its own, and run everywhere).
func (a *App) siteRules(ctx context.Context, keyRules keys.SweepRules, alert notices, badgeDay, purgeDay string) (string, string) {
	if _, err := a.Conferences.CloseEnded(ctx, a.Clock.Now()); err != nil {
		a.Log.Error("closing ended conferences failed", "err", err)
	}
	badgeDay = a.badgeAlarm(ctx, badgeDay)
	purgeDay = a.nightlyPurge(ctx, purgeDay)
	if n, err := a.KeyRoom.Sweep(ctx, keyRules, keyNotices{a}); err != nil {
		a.Log.Error("key sweep failed", "err", err)
	} else if n > 0 {
		a.Log.Info("key sweep", "alerts", n)
	}
	// The day end may change while the appliance runs (Settings).
	rules := visit.SweepRules{Location: a.Config.Location, DayEnd: a.Settings().DayEndDur,
		EscalateAfter: time.Duration(a.Config.EscalateMin) * time.Minute}
	if res, err := a.Visits.Sweep(ctx, rules, alert); err != nil {
		a.Log.Error("visit sweep failed", "err", err)
	} else if res != (visit.SweepResult{}) {
		a.Log.Info("visit sweep", "no_shows", res.NoShows, "expired", res.Expired, "overstays", res.Overstays,
			"closed", res.Closed, "reminders", res.Reminders, "escalations", res.Escalations)
	}
	return badgeDay, purgeDay
}

// backupLoop runs the daily backup when it is due, raises an alarm on the
// guard station when it fails (target missing, full, unwritable), and tells
// the administrators when backups fail, are missed or work again.
func (a *App) backupLoop(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		run, ran, err := a.Backups.Tick(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			a.Log.Error("daily backup failed", "err", err)
			if aerr := a.Access.Raise(ctx, "system", access.AlarmBackup, "", shorten(err.Error(), 120)); aerr != nil {
				a.Log.Error("backup alarm", "err", aerr)
			}
		case ran:
			a.Log.Info("daily backup written", "kind", run.Kind, "file", run.File, "bytes", run.Size, "ms", run.Millis)
		}
		if ctx.Err() == nil {
			a.tellBackups(ctx) // failed, missed, or working again: once per episode
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func shorten(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// Close closes the store.
func (a *App) Close() error {
	if a.journal != nil {
		// One last try to ship the lobby's events, unless the store is
		// refusing them already; what stays is shipped after the restart.
		if st := a.Access.Shipping(); st.Waiting > 0 && st.Err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = a.Access.Flush(ctx)
			cancel()
		}
		a.shipStop()
		<-a.shipped
		if err := a.journal.Close(); err != nil {
			a.Log.Error("gate journal: close failed", "err", err)
		}
	}
	if a.Sessions != nil {
		if err := a.Sessions.Close(); err != nil {
			a.Log.Error("sessions: close failed", "err", err)
		}
	}
	return a.Store.Close()
}

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
	end := time.Date(y, m, d, 0, 0, 0, 0, loc).Add(a.Settings().DayEndDur)
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

// keyNotices raises the key room's alerts on the guard station (as access
// alarms, so they show live there) and tells the holder in the page; an
// escalation also tells every manager.
type keyNotices struct{ a *App }

// KeyAlert implements keys.Alerter.
func (n keyNotices) KeyAlert(ctx context.Context, kind string, k keys.Key, c keys.Checkout) {
	a := n.a
	name := k.Tag + " · " + c.Holder.Name
	if err := a.Access.Raise(ctx, "system", access.Alarm(kind), "", name); err != nil {
		a.Log.Error("key alarm", "kind", kind, "err", err)
	}
	due := time.Unix(0, c.Due).In(a.Config.Location).Format("01-02 15:04")
	var note notify.Note
	switch kind {
	case keys.AlertCurfew:
		note = notify.Note{Kind: kind, Subject: "钥匙宵禁已过 Key past its curfew: " + k.Tag,
			Body: fmt.Sprintf("钥匙 %s（%s）应在宵禁前归还。\nKey %s (%s) should be back before the curfew.", k.Tag, k.Customer, k.Tag, k.Customer)}
	case keys.AlertEscalated:
		note = notify.Note{Kind: kind, Subject: "钥匙严重逾期 Key long overdue: " + k.Tag,
			Body: fmt.Sprintf("%s 持有的钥匙 %s 应于 %s 归还。\nKey %s held by %s was due back at %s.", c.Holder.Name, k.Tag, due, k.Tag, c.Holder.Name, due)}
	default:
		note = notify.Note{Kind: kind, Subject: "钥匙逾期 Key overdue: " + k.Tag,
			Body: fmt.Sprintf("钥匙 %s 应于 %s 归还。\nKey %s was due back at %s.", k.Tag, due, k.Tag, due)}
	}
	note.Link = "/keys/" + k.ID
	to := []string{c.Holder.ID}
	if kind == keys.AlertEscalated {
		if as, err := a.Auth.Accounts(); err == nil {
			for _, acc := range as {
				if acc.Role == auth.Manager && !acc.Disabled && acc.ID != c.Holder.ID {
					to = append(to, acc.ID)
				}
			}
		}
	}
	for _, id := range to {
		if err := a.Notify.Tell(ctx, "system", notify.Recipient{AccountID: id}, note); err != nil {
			a.Log.Warn("key notification not queued", "kind", kind, "err", err)
		}
	}
}

// cardBlocker reports lost in access the credential carrying a lost stock
// card's number, so the gates refuse it.
type cardBlocker struct{ acc *access.Service }

// BlockLostCard implements stock.Blocker.
func (b cardBlocker) BlockLostCard(ctx context.Context, actor, number, note string) (string, error) {
	c, err := b.acc.CredentialByCard(number)
	if errors.Is(err, access.ErrNotFound) {
		return "", nil
	} else if err != nil {
		return "", err
	}
	if c.State != access.Active && c.State != access.StateSuspended {
		return c.ID, nil // lost, returned or revoked already: the gates refuse it
	}
	return c.ID, b.acc.SetState(ctx, actor, c.ID, access.StateLost, note)
}
