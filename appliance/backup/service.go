package backup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"gatehouse/appliance/clock"
	"gatehouse/appliance/secret"
	"gatehouse/appliance/store"
)

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
	// ConfigPath is the settings file every backup carries (the appliance
	// sets the one it was started with); "" or a missing file: none.
	ConfigPath string

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
	cfg, err := ReadConfig(s.ConfigPath)
	if err != nil {
		return Info{}, 0, err
	}
	base := BaseFor(files, set.Key.KeyID, schema, now, set.Policy)
	info, err := Write(ctx, s.src, set.Target, WriteOptions{Base: base, Key: set.Key, Site: s.site, Config: cfg, Now: now, Progress: progress})
	if errors.Is(err, store.ErrBaseTooOld) {
		// The newest full backup is older than the deletions kept (the
		// last one was removed by hand, or backups were off): start anew.
		info, err = Write(ctx, s.src, set.Target, WriteOptions{Key: set.Key, Site: s.site, Config: cfg, Now: now, Progress: progress})
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
