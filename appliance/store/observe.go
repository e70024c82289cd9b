package store

import "time"

// Observer hears of every command Apply commits, for the appliance's
// metrics. It is called on Apply's goroutine once the command is durable
// (ApplyAsync: committed), so it must be quick and must not apply commands
// itself.
type Observer interface {
	// Applied reports a committed command of type typ: took is the whole
	// Apply, waiting for the write lock included; commit is the part
	// after the handler: Badger's commit and the wait for the fsync the
	// command shares with its neighbours (none for ApplyAsync) — on an SD
	// card, most of took.
	Applied(typ string, took, commit time.Duration)
}

// Size reports the bytes Badger holds on disk: the LSM tree's tables and
// the value log. Both are Badger's own estimates, refreshed by Badger
// about once a minute; zero once the store is closed.
func (s *Store) Size() (lsm, vlog int64) {
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed {
		return 0, 0
	}
	return s.db.Size()
}

// SyncObserver is an Observer that also hears of every shared sync: how
// many commits it made durable and how long it took (Badger's sync of
// its write-ahead files, and of the files it rotated out).
type SyncObserver interface {
	Synced(commits int, took time.Duration)
}
