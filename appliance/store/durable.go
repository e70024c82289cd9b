package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Group commit. Badger is opened with SyncWrites off: a commit returns once
// its entries are in the write-ahead files (the memtable's WAL and the value
// log, both memory-mapped), in commit order, and a sync makes everything
// committed before it began durable. Apply commits under the store's mutex
// (so the audit chain is the order of the commits) and then waits, outside
// the mutex, for a sync that began after its commit: whoever finds no sync
// running starts one for everything committed so far; whoever arrives while
// one runs waits for the next. So eight writers share one fsync instead of
// queueing for eight. DESIGN.md ("Durability") has the argument from
// Badger's code.

// syncer shares the fsyncs among the store's commits.
type syncer struct {
	mu      sync.Mutex
	cond    sync.Cond
	running bool
	synced  uint64 // commits 1..synced are on disk
	err     error  // a failed sync: nothing is promised any more

	// Files Badger rotated out: a memtable's WAL and a value-log file
	// that stopped growing are not synced by Badger's DB.Sync (it syncs
	// the current ones) nor, with SyncWrites off, when they are rotated.
	// Only the running sync touches these.
	dir     string
	memFid  int // the newest memtable WAL when last looked
	vlogFid int // the newest value-log file when last looked

	slow time.Duration // tests: added to every sync, as a slow disk (an SD card) would

	kick chan struct{} // ApplyAsync: a commit waits for a sync
	quit chan struct{}
	done chan struct{}
}

// open notes the newest WAL and value-log files of the opened database.
func (g *syncer) open(dir string) error {
	g.cond.L = &g.mu
	g.dir = dir
	if dir == "" {
		return nil
	}
	es, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	for _, e := range es {
		name := e.Name()
		for _, f := range []struct {
			ext string
			max *int
		}{{".mem", &g.memFid}, {".vlog", &g.vlogFid}} {
			if n, ok := strings.CutSuffix(name, f.ext); ok {
				if id, err := strconv.Atoi(n); err == nil && id > *f.max {
					*f.max = id
				}
			}
		}
	}
	return nil
}

// start runs the flusher, which syncs what ApplyAsync committed.
func (g *syncer) start(s *Store) {
	g.kick = make(chan struct{}, 1)
	g.quit = make(chan struct{})
	g.done = make(chan struct{})
	go func() {
		defer close(g.done)
		for {
			select {
			case <-g.quit:
				return
			case <-g.kick:
			}
			s.life.RLock()
			if !s.closed {
				if err := s.waitDurable(s.committed.Load()); err != nil {
					s.log.Error("store: sync failed", "err", err)
				}
			}
			s.life.RUnlock()
		}
	}()
}

// stop ends the flusher; Close syncs what is left.
func (g *syncer) stop() {
	if g.quit == nil {
		return
	}
	select {
	case <-g.quit:
	default:
		close(g.quit)
	}
	<-g.done
}

func (g *syncer) kickFlusher() {
	select {
	case g.kick <- struct{}{}:
	default: // a sync is already asked for; it will cover this commit
	}
}

func (g *syncer) failed() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

// waitDurable returns once commits 1..n are on disk. The caller holds
// s.life for reading (or for writing, in Close).
func (s *Store) waitDurable(n uint64) error {
	g := &s.durable
	g.mu.Lock()
	defer g.mu.Unlock()
	for g.synced < n && g.err == nil {
		if g.running {
			g.cond.Wait()
			continue
		}
		// Lead a sync for everything committed until now: every
		// commit counted in target has returned from Badger. A
		// command being applied right now would miss this sync and
		// wait a whole one more; let it commit first (one apply, a
		// fraction of an fsync), so that the sync covers it too.
		g.running = true
		g.mu.Unlock()
		if !s.mu.TryLock() {
			s.mu.Lock()
		}
		s.mu.Unlock()
		target := s.committed.Load()
		start := time.Now()
		err := s.syncFiles()
		took := time.Since(start)
		g.mu.Lock()
		g.running = false
		if err != nil {
			g.err = fmt.Errorf("store: sync: %w", err)
		} else {
			if so, ok := s.obs.(SyncObserver); ok {
				so.Synced(int(target-g.synced), took)
			}
			g.synced = max(g.synced, target)
		}
		g.cond.Broadcast()
	}
	return g.err
}

// syncWrites makes the store's own writes outside Apply durable
// (migrations, the graveyard's pruning, the scrub's mark).
func (s *Store) syncWrites() error { return s.waitDurable(s.committed.Add(1)) }

// syncFiles is one sync: Badger's, then the files it rotated out since
// the last one. Only one runs at a time (waitDurable).
//
// Order matters. DB.Sync syncs the current memtable's WAL and the current
// value-log file. A commit that returned before it began is in one of
// those, or in a file that was rotated out before the sync began — so a
// newer file exists by the time DB.Sync returns, and the look that follows
// finds it and syncs the older one. Looking first would miss a rotation
// that happened between the look and DB.Sync.
func (s *Store) syncFiles() error {
	g := &s.durable
	if g.slow > 0 {
		time.Sleep(g.slow)
	}
	if err := s.db.Sync(); err != nil {
		return err
	}
	if g.dir == "" {
		return nil
	}
	rotated := false
	for _, f := range []struct {
		fid  *int
		name func(int) string
	}{
		{&g.memFid, func(id int) string { return fmt.Sprintf("%05d.mem", id) }},
		{&g.vlogFid, func(id int) string { return fmt.Sprintf("%06d.vlog", id) }},
	} {
		for {
			_, err := os.Stat(filepath.Join(g.dir, f.name(*f.fid+1)))
			if errors.Is(err, fs.ErrNotExist) {
				break
			} else if err != nil {
				return err
			}
			// A newer file exists: the one before it gets no more
			// writes. A memtable already flushed to a table (synced
			// by Badger) has been deleted.
			if err := syncPath(filepath.Join(g.dir, f.name(*f.fid))); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			*f.fid++
			rotated = true
		}
	}
	if rotated { // the new files' names
		return syncPath(g.dir)
	}
	return nil
}

func syncPath(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	return errors.Join(err, f.Close())
}
