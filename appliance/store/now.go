package store

import (
	"sync"

	"github.com/dgraph-io/badger/v4"
)

// Reads that never wait for a write in flight.
//
// A Badger read transaction, when it starts, waits until every commit
// that has taken a timestamp is in the memtable (oracle.readTs waits on
// the commit watermark), so that it sees them. A gate decision's read
// started while the applier commits a large command (a conference's
// chunk of 500 rows) or while Badger stalls writes for a compaction waits
// for that commit: tens of milliseconds at a lane under load, for a
// command the decision does not need — it was not acknowledged yet.
//
// So the applier, right after each commit (it is the only writer of
// commands, so no other commit is in flight then), opens the read
// transaction the next gate reads share, and ViewNow reads from it
// without waiting. It holds every command acknowledged before the call:
// Apply returns only after the refresh that follows its commit. Writes
// the store makes outside the applier (the scrub's mark, the backup's
// grave pruning, migrations) are not commands and are seen from the
// next command on; nothing on the gate's path reads them.

// nowSnap is a shared read transaction and how many hold it (the store's
// "current" reference counts as one).
type nowSnap struct {
	txn  *badger.Txn
	refs int
}

type nowReads struct {
	mu  sync.Mutex
	cur *nowSnap
}

// refresh makes a new current snapshot, after a commit. The caller holds
// s.mu (no command commits meanwhile) and s.life for reading.
func (s *Store) refreshNow() {
	s.setNow(s.db.NewTransaction(false))
}

// dropNow retires the current snapshot (before the state is replaced or
// the store closed); reads fall back to View until the next commit.
func (s *Store) dropNow() { s.setNow(nil) }

func (s *Store) setNow(txn *badger.Txn) {
	var next *nowSnap
	if txn != nil {
		next = &nowSnap{txn: txn, refs: 1}
	}
	s.now.mu.Lock()
	old := s.now.cur
	s.now.cur = next
	s.now.mu.Unlock()
	s.releaseNow(old)
}

func (s *Store) releaseNow(sp *nowSnap) {
	if sp == nil {
		return
	}
	s.now.mu.Lock()
	sp.refs--
	done := sp.refs == 0
	s.now.mu.Unlock()
	if done {
		sp.txn.Discard()
	}
}

// ViewNow is View for the gates: fn reads a snapshot holding every command
// acknowledged before the call, without waiting for a commit in flight.
// A read-only Badger transaction may be read from several goroutines at
// once, so concurrent decisions share one.
func (s *Store) ViewNow(fn func(r *Reader) error) error {
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed {
		return ErrClosed
	}
	s.now.mu.Lock()
	sp := s.now.cur
	if sp != nil {
		sp.refs++
	}
	s.now.mu.Unlock()
	if sp == nil {
		return translate(s.db.View(func(txn *badger.Txn) error { return fn(&Reader{txn: txn, s: s}) }))
	}
	defer s.releaseNow(sp)
	return translate(fn(&Reader{txn: sp.txn, s: s}))
}

// NowViewer reads without waiting for a write in flight (Store.ViewNow).
type NowViewer interface {
	ViewNow(fn func(r *Reader) error) error
}

// ViewNow reads v through its ViewNow when it has one, else through View.
func ViewNow(v Viewer, fn func(r *Reader) error) error {
	if n, ok := v.(NowViewer); ok {
		return n.ViewNow(fn)
	}
	return v.View(fn)
}
