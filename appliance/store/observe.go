package store

import "time"

// Observer hears of every command Apply commits, for the appliance's
// metrics. It is called on Apply's goroutine while the store's write lock
// is held, so it must be quick and must not apply commands itself.
type Observer interface {
	// Applied reports a committed command of type typ: took is the whole
	// Apply, waiting for the write lock included; commit is the part
	// spent in Badger's commit, which writes the write-ahead log and
	// fsyncs it (SyncWrites) — on an SD card, most of took.
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
