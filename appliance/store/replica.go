package store

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/pb"
	"google.golang.org/protobuf/proto"
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

// OnReplicated calls fn with the type of every command applied from the
// site's log (on every node, the one that issued it included), after it is
// applied, on the goroutine that applies the site's log. A service that
// keeps something of the state in memory refreshes it there: fn must be
// quick, and must neither apply commands nor wait for one (hand slow work
// to a goroutine).
func (s *Store) OnReplicated(fn func(cmd Command)) {
	s.hookMu.Lock()
	defer s.hookMu.Unlock()
	s.hooks = append(s.hooks, fn)
}

func (s *Store) replicated(cmd Command) {
	s.hookMu.Lock()
	hooks := s.hooks
	s.hookMu.Unlock()
	for _, fn := range hooks {
		fn(cmd)
	}
}

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
// of it is written. A command sent again after a lost answer (the same
// bytes, with a request ID) is answered with the first one's result and
// applied once (request.go).
func (s *Store) ApplyReplicated(index uint64, raw []byte) (res Result, skipped bool, err error) {
	cmd, err := DecodeCommand(raw)
	if err != nil {
		return Result{}, false, err
	}
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed {
		return Result{}, false, ErrReplicaClosed
	}
	if err := s.durable.failed(); err != nil {
		return Result{}, false, err
	}
	s.mu.Lock()
	var done uint64
	if err := s.db.View(func(txn *badger.Txn) error {
		var err error
		done, err = appliedIndex(txn)
		return err
	}); err != nil {
		s.mu.Unlock()
		return Result{}, false, err
	}
	if index <= done {
		s.mu.Unlock()
		return Result{}, true, nil
	}
	res, again, _, err := s.apply(cmd, raw, index)
	if err == nil {
		s.refreshNow()
	}
	s.mu.Unlock()
	if err != nil {
		return Result{}, false, err
	}
	// Raft's log holds the command durably already; Badger's copy is
	// synced soon (and before any snapshot lets Raft drop the entry).
	s.committed.Add(1)
	s.durable.kickFlusher()
	if !again { // a retry answered again changed nothing to hear of
		s.replicated(cmd)
	}
	return res, false, nil
}

// Sync makes everything applied so far durable.
func (s *Store) Sync() error {
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return s.syncWrites()
}

// WriteSnapshot writes the whole state as of now (Badger's backup stream,
// see WriteBackup) and returns the applied index it includes.
func (s *Store) WriteSnapshot(ctx context.Context, w io.Writer) (BackupInfo, error) {
	return s.WriteBackup(ctx, w, 0, nil)
}

// replacingMarker is left in the store's directory while ReplaceFrom
// runs: a store opened with it present holds a half-loaded state, which
// Open drops (the node then gets the state from the site again).
const replacingMarker = "store.replacing"

// ReplaceFrom replaces the whole state with the snapshot r (a stream
// WriteSnapshot wrote). Nothing applies or reads while it runs. Until the
// new state is loaded and synced a marker file says the state is not to
// be trusted, so an interrupted replacement is never taken for a state
// (see Open). The store's directory holds more than Badger's files (the
// site key, the settings), so the state is replaced inside Badger rather
// than by swapping directories.
func (s *Store) ReplaceFrom(r io.Reader) error {
	if s.opts.InMemory || s.opts.Dir == "" {
		return errors.New("store: an in-memory store cannot be replaced")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.life.Lock()
	defer s.life.Unlock()
	if s.closed {
		return ErrClosed
	}
	marker := filepath.Join(s.opts.Dir, replacingMarker)
	if err := os.WriteFile(marker, []byte("a replacement of the state is under way\n"), 0o600); err != nil {
		return err
	}
	if err := syncDir(s.opts.Dir); err != nil {
		return err
	}
	s.dropNow() // reads go to View until the next command
	if err := s.db.DropAll(); err != nil {
		return fmt.Errorf("store: clear before replacing: %w", err)
	}
	if err := loadInPieces(s.db, r, 4); err != nil {
		return fmt.Errorf("store: load the new state: %w", err)
	}
	// Every file the load wrote, rotated ones too (durable.go); the sync
	// takes s.mu itself.
	s.mu.Unlock()
	err := s.syncWrites()
	s.mu.Lock()
	if err != nil {
		return err
	}
	if err := os.Remove(marker); err != nil {
		return err
	}
	return syncDir(s.opts.Dir)
}

// dropHalfReplaced clears a state that a replacement left half-loaded.
func dropHalfReplaced(db *badger.DB, dir string, log interface{ Warn(string, ...any) }) error {
	marker := filepath.Join(dir, replacingMarker)
	if _, err := os.Stat(marker); err != nil {
		return nil
	}
	log.Warn("the store holds a replacement that did not finish; clearing it so the site sends the state again")
	if err := db.DropAll(); err != nil {
		return fmt.Errorf("store: clear a half-replaced state: %w", err)
	}
	if err := os.Remove(marker); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// ErrBadSnapshot: a snapshot stream is not a whole state (damaged,
// truncated, or not a snapshot at all).
var ErrBadSnapshot = errors.New("store: the snapshot is damaged or incomplete")

// maxSnapshotFrame bounds one frame of a snapshot stream (WriteBackup
// writes ~1 MB frames; a value is at most a few MB).
const maxSnapshotFrame = 64 << 20

// CheckSnapshot reads a whole snapshot stream (as WriteSnapshot wrote it)
// without loading it: every frame whole and decodable, and the state's
// audit head in it. ReplaceFrom clears the state before it loads, so a
// damaged snapshot must be found before: a node then keeps the state it
// had and asks again.
func CheckSnapshot(r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var buf []byte
	var head, kvs bool
	for {
		var n [8]byte
		if _, err := io.ReadFull(br, n[:]); err == io.EOF {
			break
		} else if err != nil {
			return fmt.Errorf("%w: %v", ErrBadSnapshot, err)
		}
		sz := binary.LittleEndian.Uint64(n[:])
		if sz == 0 || sz > maxSnapshotFrame {
			return fmt.Errorf("%w: a frame of %d bytes", ErrBadSnapshot, sz)
		}
		if uint64(cap(buf)) < sz {
			buf = make([]byte, sz)
		}
		if _, err := io.ReadFull(br, buf[:sz]); err != nil {
			return fmt.Errorf("%w: %v", ErrBadSnapshot, err)
		}
		var list pb.KVList
		if err := proto.Unmarshal(buf[:sz], &list); err != nil {
			return fmt.Errorf("%w: %v", ErrBadSnapshot, err)
		}
		for _, kv := range list.Kv {
			if len(kv.Key) == 0 {
				return fmt.Errorf("%w: an empty key", ErrBadSnapshot)
			}
			kvs = true
			head = head || bytes.Equal(kv.Key, auditHeadKey)
		}
	}
	if !kvs || !head {
		return fmt.Errorf("%w: no audit head in it", ErrBadSnapshot)
	}
	return nil
}
