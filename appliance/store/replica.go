package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/dgraph-io/badger/v4"
)

// Replication (cluster/DESIGN.md). In a site of several lobbies every
// command goes through the Raft log; each node's state machine hands the
// command's bytes to ApplyReplicated, which runs the very same handler and
// audit append as a single appliance's Apply. The log index is recorded in
// the same transaction, so a log entry replayed after a restart (Raft
// replays from its last snapshot) is recognised and skipped: every command
// is applied exactly once on every node, in log order.

// appliedKey holds the Raft log index of the last command applied here.
var appliedKey = Key(KindMeta, "raft-applied")

// ErrReplicaClosed is returned to a state machine asked to apply on a
// store that is closing: Raft stops with the node.
var ErrReplicaClosed = errors.New("store: closed while replicating")

// SetReplicator routes every later Apply through r (a cluster node), so
// that no write can bypass the replicated log; nil restores local writes.
func (s *Store) SetReplicator(r Applier) {
	if r == nil {
		s.repl.Store(nil)
		return
	}
	s.repl.Store(&r)
}

// AppliedIndex is the Raft log index of the last command applied to this
// store (0: none, a single appliance's store).
func (s *Store) AppliedIndex() (uint64, error) {
	var idx uint64
	err := s.View(func(r *Reader) error {
		var err error
		idx, err = appliedIndex(r.txn)
		return err
	})
	return idx, err
}

func appliedIndex(txn *badger.Txn) (uint64, error) {
	item, err := txn.Get(appliedKey)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var idx uint64
	err = item.Value(func(v []byte) error {
		if len(v) != 8 {
			return fmt.Errorf("store: applied index is %d bytes", len(v))
		}
		idx = binary.BigEndian.Uint64(v)
		return nil
	})
	return idx, err
}

// ApplyReplicated applies the encoded command committed at Raft log index.
// An index at or below the one already applied is skipped (skipped is
// true): the command is in the state already. A command whose handler
// refuses it is refused the same way on every node, since every node
// applies the same commands in the same order to the same state; nothing
// of it is written.
func (s *Store) ApplyReplicated(index uint64, raw []byte) (res Result, skipped bool, err error) {
	cmd, err := DecodeCommand(raw)
	if err != nil {
		return Result{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed {
		return Result{}, false, ErrReplicaClosed
	}
	var done uint64
	if err := s.db.View(func(txn *badger.Txn) error {
		var err error
		done, err = appliedIndex(txn)
		return err
	}); err != nil {
		return Result{}, false, err
	}
	if index <= done {
		return Result{}, true, nil
	}
	res, _, err = s.applyLocked(cmd, raw, index)
	return res, false, err
}

// Sync makes everything applied so far durable.
func (s *Store) Sync() error {
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return s.db.Sync()
}

// WriteSnapshot writes the whole state as of now (Badger's backup stream,
// see WriteBackup) and returns the applied index it includes.
func (s *Store) WriteSnapshot(ctx context.Context, w io.Writer) (BackupInfo, error) {
	return s.WriteBackup(ctx, w, 0, nil)
}

// ReplaceFrom replaces the whole state with the snapshot r (a stream
// WriteSnapshot wrote): it is loaded into a new directory beside the
// store's, synced, and only then swapped in, so a failed or interrupted
// load leaves the old state untouched. Nothing applies or reads while the
// swap runs.
func (s *Store) ReplaceFrom(r io.Reader) error {
	if s.opts.InMemory || s.opts.Dir == "" {
		return errors.New("store: an in-memory store cannot be replaced")
	}
	dir := filepath.Clean(s.opts.Dir)
	next, old := dir+".incoming", dir+".replaced"
	if err := os.RemoveAll(next); err != nil {
		return err
	}
	l, err := NewLoader(next)
	if err != nil {
		return err
	}
	if err := l.Load(r); err != nil {
		_ = l.Close()
		_ = os.RemoveAll(next)
		return err
	}
	if err := l.Close(); err != nil {
		_ = os.RemoveAll(next)
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.life.Lock()
	defer s.life.Unlock()
	if s.closed {
		_ = os.RemoveAll(next)
		return ErrClosed
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: close before replacing: %w", err)
	}
	_ = os.RemoveAll(old)
	if err := os.Rename(dir, old); err != nil {
		return s.reopenAfter(fmt.Errorf("store: set the old state aside: %w", err))
	}
	if err := os.Rename(next, dir); err != nil {
		_ = os.Rename(old, dir)
		return s.reopenAfter(fmt.Errorf("store: move the new state in: %w", err))
	}
	if err := syncDir(filepath.Dir(dir)); err != nil {
		return s.reopenAfter(err)
	}
	if err := s.reopenAfter(nil); err != nil {
		return err
	}
	return os.RemoveAll(old)
}

// reopenAfter reopens the database in the store's directory after a
// replacement (or a failed one), and returns cause or the open's error.
func (s *Store) reopenAfter(cause error) error {
	db, err := badger.Open(badgerOptions(s.opts.Dir, false, s.log))
	if err != nil {
		s.closed = true // nothing to serve from: every use answers ErrClosed
		return errors.Join(cause, fmt.Errorf("store: reopen %s: %w", s.opts.Dir, err))
	}
	s.db = db
	return cause
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
