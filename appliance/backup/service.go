package backup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"gatehouse/appliance/clock"
	"gatehouse/appliance/field"
	"gatehouse/appliance/secret"
	"gatehouse/appliance/store"
)

// Command types.
const (
	CmdSettings = "backup.settings.save"
	CmdRun      = "backup.run.record"
)

// Settings are what the administrator sets. The passphrase is not among
// them: only the site key it wrapped.
type Settings struct {
	Target string     `json:"target"` // a mounted USB drive or network share
	At     string     `json:"at"`     // "02:30", site time
	Policy Policy     `json:"policy"`
	Key    WrappedKey `json:"key"`
}

// DefaultAt is when the daily backup runs unless set.
const DefaultAt = "02:30"

func (s Settings) withDefaults() Settings {
	if s.At == "" {
		s.At = DefaultAt
	}
	if s.Policy == (Policy{}) {
		s.Policy = DefaultPolicy
	}
	return s
}

// Run is what one backup run did, kept for the administrator's page.
type Run struct {
	ID       string `json:"id"`
	Started  int64  `json:"started"` // Unix ns
	Millis   int64  `json:"ms"`
	Trigger  string `json:"trigger"` // "schedule", "manual", "shell"
	Kind     Kind   `json:"kind,omitempty"`
	File     string `json:"file,omitempty"` // base name in the target
	Size     int64  `json:"size,omitempty"`
	Keys     uint64 `json:"keys,omitempty"`
	Verified bool   `json:"verified"`
	Error    string `json:"error,omitempty"`
	Removed  int    `json:"removed,omitempty"` // files the rotation removed
}

// OK reports whether the run wrote a verified backup.
func (r Run) OK() bool { return r.Error == "" && r.Verified }

var settingsKey = store.Key(store.KindBackupSettings, "settings")

func runKey(started int64, id string) []byte {
	return append(append([]byte{byte(store.KindBackupRun)}, store.U64(uint64(started))...), id...)
}

// Register installs the backup commands.
func Register(reg store.Registrar) {
	reg.Register(CmdSettings, func(tx *store.Tx, cmd store.Command) (store.Effect, error) {
		var s Settings
		if err := cmd.Decode(&s); err != nil {
			return store.Effect{}, err
		}
		return store.Effect{Subject: "backup:settings", Note: fmt.Sprintf("passphrase set %t", s.Key.Set())}, tx.SetJSON(settingsKey, s)
	})
	reg.Register(CmdRun, func(tx *store.Tx, cmd store.Command) (store.Effect, error) {
		var r Run
		if err := cmd.Decode(&r); err != nil {
			return store.Effect{}, err
		}
		if !store.ValidID(r.ID) {
			return store.Effect{}, fmt.Errorf("%w: run id", field.ErrInvalid)
		}
		note := string(r.Kind) + " ok"
		if !r.OK() {
			note = "failed"
		}
		return store.Effect{Subject: "backup:" + r.ID, Note: note}, tx.SetJSON(runKey(r.Started, r.ID), r)
	})
}

// Service takes backups and keeps their settings and history. One backup
// runs at a time, whoever asks.
type Service struct {
	db      store.DB
	src     Source
	dataDir string
	clk     clock.Clock
	loc     *time.Location
	log     *slog.Logger
	site    string
	// KDF stretches passphrases; tests lower it.
	KDF KDF

	run       sync.Mutex // held while a backup runs
	mu        sync.Mutex // guards progress and last
	progress  *Progress  // nil when none runs
	lastTry   string     // site date of the last scheduled attempt
	lastPrune string     // site date the graveyard was last emptied with backups off
}

// pruner is the store's graveyard (store/DESIGN.md, Backups).
type pruner interface {
	PruneGraveyard(ctx context.Context, upto uint64) (int, error)
}

// New returns the service for the store src in dataDir (where site.key is).
func New(db store.DB, src Source, dataDir string, clk clock.Clock, loc *time.Location, site string, log *slog.Logger) *Service {
	return &Service{db: db, src: src, dataDir: dataDir, clk: clk, loc: loc, log: log, site: site, KDF: DefaultKDF}
}

// Settings returns the settings, with defaults filled in.
func (s *Service) Settings() (Settings, error) {
	var st Settings
	err := s.db.View(func(r *store.Reader) error { return r.GetJSON(settingsKey, &st) })
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Settings{}, err
	}
	return st.withDefaults(), nil
}

// SaveSettings checks and stores target, time and rotation, keeping the
// wrapped key.
func (s *Service) SaveSettings(ctx context.Context, actor, target, at string, p Policy) error {
	var es field.Errors
	target = strings.TrimSpace(target)
	if target != "" && !filepath.IsAbs(target) {
		es.Add("target", "backup.target_absolute")
	}
	if _, err := time.Parse("15:04", at); err != nil {
		es.Add("at", "backup.bad_time")
	}
	for name, n := range map[string]int{"daily": p.Daily, "weekly": p.Weekly, "monthly": p.Monthly} {
		if n < 0 || n > 400 {
			es.Add(name, "backup.bad_count")
		}
	}
	if p.Daily < 1 {
		es.Add("daily", "backup.bad_count")
	}
	if p.FullEvery < 1 || p.FullEvery > 31 {
		es.Add("full_every", "backup.bad_count")
	}
	if err := es.Err(); err != nil {
		return err
	}
	cur, err := s.Settings()
	if err != nil {
		return err
	}
	cur.Target, cur.At, cur.Policy = target, at, p
	_, err = store.Issue(ctx, s.db, CmdSettings, actor, s.clk.Now(), cur)
	return err
}

// SetPassphrase wraps the site key with a new backup passphrase. Backups
// written before keep the passphrase they were written with.
func (s *Service) SetPassphrase(ctx context.Context, actor, passphrase string) error {
	master, err := secret.ReadMaster(s.dataDir)
	if err != nil {
		return err
	}
	w, err := Wrap(master, passphrase, s.KDF)
	if errors.Is(err, ErrShortPassphrase) {
		var es field.Errors
		es.Add("passphrase", "backup.short_passphrase")
		return es.Err()
	} else if err != nil {
		return err
	}
	cur, err := s.Settings()
	if err != nil {
		return err
	}
	cur.Key = w
	_, err = store.Issue(ctx, s.db, CmdSettings, actor, s.clk.Now(), cur)
	return err
}

// Wrap wraps the site key with passphrase without storing it: for a
// backup written from the shell before any passphrase is set.
func (s *Service) Wrap(passphrase string) (WrappedKey, error) {
	master, err := secret.ReadMaster(s.dataDir)
	if err != nil {
		return WrappedKey{}, err
	}
	return Wrap(master, passphrase, s.KDF)
}

// Runs returns the newest runs first.
func (s *Service) Runs(limit int) ([]Run, error) {
	var out []Run
	err := s.db.View(func(r *store.Reader) error {
		return r.Scan([]byte{byte(store.KindBackupRun)}, store.ScanOptions{Reverse: true}, func(_, v []byte) (bool, error) {
			var run Run
			if err := jsonUnmarshal(v, &run); err != nil {
				return false, err
			}
			out = append(out, run)
			return len(out) < limit, nil
		})
	})
	return out, err
}

// Progress returns the running backup's progress, if one runs.
func (s *Service) Progress() (Progress, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.progress == nil {
		return Progress{}, false
	}
	return *s.progress, true
}

// ErrBusy means a backup is already running.
var ErrBusy = errors.New("backup: a backup is already running")

// Now takes a backup into the configured target and rotates the target.
// progress (optional) sees what the page's bar shows. The run is recorded
// whether it succeeded or not.
func (s *Service) Now(ctx context.Context, actor, trigger string, progress func(Progress)) (Run, error) {
	if !s.run.TryLock() {
		return Run{}, ErrBusy
	}
	defer s.run.Unlock()
	s.setProgress(&Progress{Phase: "starting"})
	defer s.setProgress(nil)
	start := s.clk.Now()
	run := Run{ID: store.NewID(start), Started: start.UnixNano(), Trigger: trigger}
	info, removed, err := s.take(ctx, start, func(p Progress) {
		s.setProgress(&p)
		if progress != nil {
			progress(p)
		}
	})
	run.Millis = s.clk.Now().Sub(start).Milliseconds()
	if err != nil {
		run.Error = err.Error()
		if len(run.Error) > 300 {
			run.Error = run.Error[:300]
		}
	} else {
		run.Kind, run.File, run.Size, run.Keys, run.Verified, run.Removed = info.Kind, filepath.Base(info.Path), info.Size, info.Keys, true, removed
	}
	// A record of the run even if ctx ended: the page must show why.
	if _, rerr := store.Issue(context.WithoutCancel(ctx), s.db, CmdRun, actor, s.clk.Now(), run); rerr != nil && err == nil {
		err = rerr
	}
	return run, err
}

func (s *Service) take(ctx context.Context, now time.Time, progress func(Progress)) (Info, int, error) {
	set, err := s.Settings()
	if err != nil {
		return Info{}, 0, err
	}
	if !set.Key.Set() {
		return Info{}, 0, ErrNoPassphrase
	}
	if err := checkTarget(set.Target); err != nil {
		return Info{}, 0, err
	}
	CleanTemp(set.Target)
	files, err := List(set.Target)
	if err != nil {
		return Info{}, 0, err
	}
	master, err := secret.ReadMaster(s.dataDir)
	if err != nil {
		return Info{}, 0, err
	}
	if secret.MasterID(master) != set.Key.KeyID {
		return Info{}, 0, fmt.Errorf("%w: the stored passphrase wraps another site key; set the passphrase again", ErrNoPassphrase)
	}
	schema, err := s.src.Schema()
	if err != nil {
		return Info{}, 0, err
	}
	base := BaseFor(files, set.Key.KeyID, schema, now, set.Policy)
	info, err := Write(ctx, s.src, set.Target, WriteOptions{Base: base, Key: set.Key, Site: s.site, Now: now, Progress: progress})
	if errors.Is(err, store.ErrBaseTooOld) {
		// The newest full backup is older than the deletions kept (the
		// last one was removed by hand, or backups were off): start anew.
		info, err = Write(ctx, s.src, set.Target, WriteOptions{Key: set.Key, Site: s.site, Now: now, Progress: progress})
	}
	if err != nil {
		return Info{}, 0, err
	}
	if info.Kind == Full {
		if p, ok := s.src.(pruner); ok {
			if _, err := p.PruneGraveyard(ctx, info.Until); err != nil {
				s.log.Warn("pruning the deletion log after a full backup", "err", err)
			}
		}
	}
	removed := 0
	for _, f := range Rotate(append(files, info), set.Policy, s.loc) {
		if err := os.Remove(f.Path); err != nil {
			s.log.Warn("rotation could not remove a backup", "file", filepath.Base(f.Path), "err", err)
			continue
		}
		removed++
	}
	return info, removed, nil
}

func (s *Service) setProgress(p *Progress) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.progress = p
}

// Due reports whether the daily backup should run now: backups are set
// up, today's time has passed (site time) and today has no scheduled
// attempt yet. A backup missed while the appliance was off runs when it
// comes back.
func (s *Service) Due(now time.Time) bool {
	set, err := s.Settings()
	if err != nil || set.Target == "" {
		return false
	}
	at, err := time.Parse("15:04", set.At)
	if err != nil {
		return false
	}
	local := now.In(s.loc)
	y, m, d := local.Date()
	when := time.Date(y, m, d, at.Hour(), at.Minute(), 0, 0, s.loc)
	if local.Before(when) {
		return false
	}
	day := local.Format("2006-01-02")
	s.mu.Lock()
	tried := s.lastTry == day
	s.mu.Unlock()
	if tried {
		return false
	}
	// After a restart: a run recorded since today's time counts.
	runs, err := s.Runs(1)
	if err == nil && len(runs) > 0 && runs[0].Started >= when.UnixNano() && runs[0].OK() {
		s.markTried(day)
		return false
	}
	return true
}

func (s *Service) markTried(day string) {
	s.mu.Lock()
	s.lastTry = day
	s.mu.Unlock()
}

// Tick runs the daily backup if it is due. The appliance calls it every
// minute and raises an alarm on the error it returns. With backups off it
// empties the store's graveyard once a day instead: the first backup will
// be a full one, which needs none of it.
func (s *Service) Tick(ctx context.Context) (Run, bool, error) {
	now := s.clk.Now()
	if set, err := s.Settings(); err == nil && set.Target == "" {
		day := now.In(s.loc).Format("2006-01-02")
		s.mu.Lock()
		done := s.lastPrune == day
		s.lastPrune = day
		s.mu.Unlock()
		if p, ok := s.src.(pruner); ok && !done {
			if _, err := p.PruneGraveyard(ctx, math.MaxUint64); err != nil {
				s.log.Warn("emptying the deletion log", "err", err)
			}
		}
		return Run{}, false, nil
	}
	if !s.Due(now) {
		return Run{}, false, nil
	}
	s.markTried(now.In(s.loc).Format("2006-01-02"))
	run, err := s.Now(ctx, "system", "schedule", nil)
	return run, true, err
}

// Health is what /healthz says about backups.
type Health struct {
	State string // "off" (no target), "pending" (none run yet), "ok", "failed", "missed"
	Last  Run    // the newest run, if any
}

// Health tells whether the newest backup run succeeded and is recent:
// with backups set up, none in the last 26 hours is "missed".
func (s *Service) Health() Health {
	set, err := s.Settings()
	if err != nil {
		return Health{State: "failed"}
	}
	if set.Target == "" {
		return Health{State: "off"}
	}
	runs, err := s.Runs(1)
	if err != nil {
		return Health{State: "failed"}
	}
	if len(runs) == 0 {
		return Health{State: "pending"}
	}
	h := Health{Last: runs[0]}
	switch {
	case !runs[0].OK():
		h.State = "failed"
	case s.clk.Now().Sub(time.Unix(0, runs[0].Started)) > 26*time.Hour:
		h.State = "missed"
	default:
		h.State = "ok"
	}
	return h
}

// File returns the path of a backup in the target by its base name, for
// downloading; only files that are backups.
func (s *Service) File(name string) (Info, error) {
	set, err := s.Settings()
	if err != nil {
		return Info{}, err
	}
	if name != filepath.Base(name) || !strings.HasPrefix(name, "gatehouse-") || !strings.HasSuffix(name, suffix) || set.Target == "" {
		return Info{}, store.ErrNotFound
	}
	in, err := Stat(filepath.Join(set.Target, name))
	if errors.Is(err, os.ErrNotExist) {
		return Info{}, store.ErrNotFound
	}
	return in, err
}

// Files lists the backups in the target, newest first.
func (s *Service) Files() ([]Info, error) {
	set, err := s.Settings()
	if err != nil || set.Target == "" {
		return nil, err
	}
	fs, err := List(set.Target)
	for i, j := 0, len(fs)-1; i < j; i, j = i+1, j-1 {
		fs[i], fs[j] = fs[j], fs[i]
	}
	return fs, err
}
