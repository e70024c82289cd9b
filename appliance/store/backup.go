package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/pb"
	"google.golang.org/protobuf/proto"
)

// badgerBitDelete is Badger's tombstone bit in pb.KV.Meta (unexported in
// Badger as bitDelete). A backup that carries a deletion writes it; the
// round-trip tests fail if Badger ever moves it.
const badgerBitDelete byte = 1 << 0

// BackupProgress is what WriteBackup and LoadBackup report as they go.
type BackupProgress struct {
	Keys  uint64 // records written or loaded so far
	Bytes uint64 // stream bytes (before compression) so far
}

// BackupInfo describes the snapshot WriteBackup wrote.
type BackupInfo struct {
	Until     uint64 // the newest version in the snapshot: pass Until+1 as the next increment's since
	Keys      uint64
	Bytes     uint64
	AuditSeq  uint64 // the audit head in the snapshot
	AuditHash []byte
}

// WriteBackup writes every record whose newest version is at least since
// (0: all of them, a full backup) to w in Badger's backup stream format
// (what DB.Load reads), as of one read timestamp, while commands go on
// being applied. An increment (since > 0) also carries the deletions made
// since then, which Badger itself may already have compacted away: see the
// graveyard in DESIGN.md. progress, if not nil, is called as it goes.
func (s *Store) WriteBackup(ctx context.Context, w io.Writer, since uint64, progress func(BackupProgress)) (BackupInfo, error) {
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed {
		return BackupInfo{}, ErrClosed
	}
	if since > 0 {
		pruned, err := s.gravePruned()
		if err != nil {
			return BackupInfo{}, err
		}
		if since-1 < pruned {
			return BackupInfo{}, fmt.Errorf("%w: it covers versions up to %d, deletions are kept from %d", ErrBaseTooOld, since-1, pruned+1)
		}
	}
	// One read transaction is one snapshot. (Badger's Stream was tried
	// first: each of its producers reads at its own timestamp, it logs and
	// skips a key it cannot read, and its queues held ~300 MB for a 60 MB
	// store — too much for a 1 GB device. One iterator and 1 MB frames keep
	// a backup within a few MB.)
	txn := s.db.NewTransaction(false)
	defer txn.Discard()
	o := badger.DefaultIteratorOptions
	o.AllVersions = true // the newest version may be a tombstone, which an increment carries
	o.PrefetchSize = 64
	if since > 0 {
		o.SinceTs = since - 1 // Badger's iterator reads versions above SinceTs
	}
	it := txn.NewIterator(o)
	defer it.Close()

	var (
		info BackupInfo
		head auditHead
		list pb.KVList
		size int
		prev []byte
		// Keys and values are copied into one buffer per frame, reused
		// once the frame is written: less for the GC to chase.
		arena = make([]byte, 0, 2<<20)
	)
	cp := func(b []byte) []byte {
		if len(arena)+len(b) > cap(arena) {
			arena = make([]byte, 0, max(2<<20, len(b)))
		}
		n := len(arena)
		arena = append(arena, b...)
		return arena[n:len(arena):len(arena)]
	}
	flush := func() error {
		if len(list.Kv) == 0 {
			return nil
		}
		b, err := proto.Marshal(&list)
		if err != nil {
			return err
		}
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(b)))
		if _, err := w.Write(n[:]); err != nil {
			return err
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
		info.Keys += uint64(len(list.Kv))
		info.Bytes += uint64(len(b) + 8)
		list.Kv, size, arena = list.Kv[:0], 0, arena[:0]
		if progress != nil {
			progress(BackupProgress{Keys: info.Keys, Bytes: info.Bytes})
		}
		return nil
	}
	tombstone := []byte{badgerBitDelete}
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		key := item.Key()
		if prev != nil && bytes.Equal(key, prev) {
			continue // an older version: the store reads only the newest
		}
		prev = append(prev[:0], key...)
		v := item.Version()
		if v < since {
			continue
		}
		if info.Keys%1024 == 0 && ctx.Err() != nil {
			return BackupInfo{}, ctx.Err()
		}
		var kv *pb.KV
		switch {
		case Kind(key[0]) == KindGrave:
			if since == 0 || item.IsDeletedOrExpired() {
				continue
			}
			kv = &pb.KV{Key: cp(key[1:]), Version: v, Meta: tombstone}
		case item.IsDeletedOrExpired():
			if since == 0 {
				continue
			}
			kv = &pb.KV{Key: cp(key), Version: v, Meta: tombstone}
		default:
			var val []byte
			if err := item.Value(func(b []byte) error { val = cp(b); return nil }); err != nil {
				return BackupInfo{}, fmt.Errorf("store: backup: read %q: %w", printable(key), translate(err))
			}
			if bytes.Equal(key, auditHeadKey) {
				if err := json.Unmarshal(val, &head); err != nil {
					return BackupInfo{}, fmt.Errorf("store: backup: audit head: %w", err)
				}
			}
			kv = &pb.KV{Key: cp(key), Value: val, Version: v}
		}
		list.Kv = append(list.Kv, kv)
		if size += len(kv.Key) + len(kv.Value) + 16; size >= 1<<20 {
			if err := flush(); err != nil {
				return BackupInfo{}, err
			}
		}
	}
	if err := flush(); err != nil {
		return BackupInfo{}, err
	}
	info.Until = txn.ReadTs()
	if since > 0 && info.Until < since {
		info.Until = since - 1 // nothing written since: nothing newer to cover
	}
	info.AuditSeq, info.AuditHash = head.Seq, head.Hash
	return info, nil
}

// Loader fills a new data directory from backup streams, before the
// appliance opens it: no migration runs and nothing else writes while it
// loads. The full backup goes first, then its increments in order.
type Loader struct {
	db *badger.DB
}

// ErrNotEmpty means a restore was asked to write into a directory that
// already holds something.
var ErrNotEmpty = errors.New("store: restore needs a new, empty directory")

// NewLoader opens dir, which must be empty or missing, for loading.
func NewLoader(dir string) (*Loader, error) {
	if err := emptyDir(dir); err != nil {
		return nil, err
	}
	db, err := badger.Open(badgerOptions(dir, false, discardLogger()).WithSyncWrites(false))
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", dir, err)
	}
	return &Loader{db: db}, nil
}

// Load applies one backup stream. Writes are synced by Close.
func (l *Loader) Load(r io.Reader) error {
	// A few pending batches, and a piece of the stream at a time, bound the
	// memory (load.go).
	if err := loadInPieces(l.db, r, 4); err != nil {
		return fmt.Errorf("store: load backup: %w", err)
	}
	return nil
}

// Close syncs and closes what was loaded.
func (l *Loader) Close() error {
	if err := l.db.Sync(); err != nil {
		_ = l.db.Close()
		return err
	}
	return l.db.Close()
}

// ErrBaseTooOld means an increment was asked for since a version whose
// deletions the graveyard no longer holds: take a full backup.
var ErrBaseTooOld = errors.New("store: the deletions since that backup are no longer kept")

var gravePrunedKey = Key(KindMeta, "grave-pruned")

// PruneGraveyard forgets the deletions at or below version upto (at most
// the newest version): once a full backup up to there is safe, no increment
// needs them again. It records how far it pruned, so an increment against
// an older backup is refused (ErrBaseTooOld) rather than written without
// its deletions. It may be stopped and run again.
func (s *Store) PruneGraveyard(ctx context.Context, upto uint64) (int, error) {
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed {
		return 0, ErrClosed
	}
	// At most what is committed. (Badger's DB.MaxVersion reads the
	// memtable unlocked, which the race detector catches; a read
	// transaction's timestamp says the same.)
	txn := s.db.NewTransaction(false)
	upto = min(upto, txn.ReadTs())
	txn.Discard()
	if cur, err := s.gravePruned(); err != nil {
		return 0, err
	} else if upto > cur {
		if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(gravePrunedKey, U64(upto)) }); err != nil {
			return 0, translate(err)
		}
	}
	var keys [][]byte
	err := s.db.View(func(txn *badger.Txn) error {
		o := badger.DefaultIteratorOptions
		o.Prefix = []byte{byte(KindGrave)}
		o.PrefetchValues = false
		it := txn.NewIterator(o)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if it.Item().Version() <= upto {
				keys = append(keys, it.Item().KeyCopy(nil))
			}
		}
		return nil
	})
	if err != nil {
		return 0, translate(err)
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for i, k := range keys {
		if i%1000 == 0 && ctx.Err() != nil {
			return 0, ctx.Err()
		}
		if err := wb.Delete(k); err != nil {
			return 0, translate(err)
		}
	}
	if err := wb.Flush(); err != nil {
		return 0, translate(err)
	}
	return len(keys), s.syncWrites()
}

func (s *Store) gravePruned() (uint64, error) {
	var v uint64
	err := s.db.View(func(txn *badger.Txn) error {
		it, err := txn.Get(gravePrunedKey)
		if err != nil {
			return err
		}
		return it.Value(func(b []byte) error {
			if len(b) == 8 {
				v = binary.BigEndian.Uint64(b)
			}
			return nil
		})
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, nil
	}
	return v, translate(err)
}

// Schema returns the layout version of the open store (SchemaVersion once
// Open has migrated it).
func (s *Store) Schema() (uint32, error) {
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed {
		return 0, ErrClosed
	}
	return s.schema()
}

// AuditHead returns the last audit entry's sequence number and hash (0 and
// nil on a store nothing was applied to).
func AuditHead(r *Reader) (uint64, []byte, error) {
	var h auditHead
	err := r.GetJSON(auditHeadKey, &h)
	if errors.Is(err, ErrNotFound) {
		return 0, nil, nil
	}
	return h.Seq, h.Hash, err
}

// emptyDir succeeds if dir is missing or holds nothing.
func emptyDir(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if len(ents) > 0 {
		return fmt.Errorf("%w: %s has %d entries", ErrNotEmpty, dir, len(ents))
	}
	return nil
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
