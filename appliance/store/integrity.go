package store

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/badger/v4/table"
	"github.com/dgraph-io/ristretto/v2/z"
)

// ErrCorrupt is wrapped by every *CorruptError: bytes on disk no longer
// match their checksum, so what the store reads back cannot be trusted.
var ErrCorrupt = errors.New("store: data corrupt")

// Cure is what an operator does about corruption; every corruption message
// ends with it.
const Cure = "restore from the last good backup: gatehouse restore --data DIR BACKUP"

// CorruptError names what could not be read: the Badger file, and the
// record when a value could not be read.
type CorruptError struct {
	File   string // base name of the Badger file ("000012.sst", "000003.vlog"), "" if unknown
	Record string // the record whose value failed ("account 06h..."), "" for a table
	Detail string // Badger's own message
}

func (e *CorruptError) Error() string {
	var b strings.Builder
	b.WriteString("store: data corrupt")
	if e.File != "" {
		b.WriteString(" in " + e.File)
	}
	if e.Record != "" {
		b.WriteString(" (" + e.Record + ")")
	}
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	b.WriteString("; " + Cure)
	return b.String()
}

func (e *CorruptError) Unwrap() error { return ErrCorrupt }

// Corrupt returns the first corruption the store has met since it was
// opened, or nil. Once corrupt, a store stays corrupt until it is reopened
// on good data: /healthz and the administrator's pages read this.
func (s *Store) Corrupt() error {
	if e := s.corrupt.Load(); e != nil {
		return e
	}
	return nil
}

// markCorrupt records the first corruption (or a later one that names the
// file when the first did not: a read finds a lost value, the scrub then
// finds its file) and returns e.
func (s *Store) markCorrupt(e *CorruptError) *CorruptError {
	if s == nil {
		return e
	}
	for {
		old := s.corrupt.Load()
		if old != nil && (old.File != "" || e.File == "") {
			return e
		}
		if s.corrupt.CompareAndSwap(old, e) {
			s.log.Error("store corrupt", "file", e.File, "record", e.Record, "detail", e.Detail, "cure", Cure)
			return e
		}
	}
}

// lostValue reports whether Badger gave back no value for an item that has
// one. When a value in the value log fails its checksum (or its file is
// gone), Badger v4 logs the error and hands the reader an empty value with
// no error (Item.yieldItemValue) — the silent empty list of issue 12. An
// item's ValueSize comes from its value pointer, which lives in the LSM
// tree, so an empty value with a non-zero size is a value that could not be
// read. Values in the value log are never empty (they are over the 1 KB
// threshold), and an empty value kept in the tree has size 0.
func lostValue(item *badger.Item, v []byte) bool { return len(v) == 0 && item.ValueSize() > 0 }

// valueError turns an error from Item.Value, or a lost value (err nil),
// into a *CorruptError naming the record. Badger flattens the errors it
// wraps into text (y.Wrap uses %+v outside its debug mode), so errors.Is
// cannot tell a checksum mismatch from another failure; any failure to read
// a value Badger listed is a value it cannot give back, which is
// corruption. The file is named by the scrub, which reads the value-log
// files itself.
func (s *Store) valueError(key []byte, err error) error {
	if errors.Is(err, badger.ErrDBClosed) {
		return ErrClosed
	}
	e := &CorruptError{Record: Describe(key), Detail: "the value cannot be read back from the value log"}
	if err != nil {
		e.Detail = err.Error()
	}
	return s.markCorrupt(e)
}

// tableOptions are what reading a table file on its own needs: the block
// size and compression the store writes with (options.go).
func tableOptions() table.Options {
	bo := badger.DefaultOptions("")
	return table.Options{ReadOnly: true, ChkMode: options.OnTableRead, BlockSize: bo.BlockSize, Compression: options.ZSTD}
}

// verifyTable reads every block of one table file and checks its
// checksum. It opens the file on its own (read-only mmap), so it works on a
// directory Badger refuses to open and on a live one alike: table files are
// never changed once written.
func verifyTable(path string) (err error) {
	mf, err := z.OpenMmapFile(path, os.O_RDONLY, 0)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil // compacted away since it was listed
		}
		return &CorruptError{File: filepath.Base(path), Detail: err.Error()}
	}
	defer func() {
		// Table.VerifyChecksum (badger v4.9.6) dereferences the nil block it
		// failed to read while wrapping the error, so a bad block panics
		// instead of returning. Nothing else in OpenTable panics on bad bytes.
		if p := recover(); p != nil {
			_ = mf.Close(-1)
			err = &CorruptError{File: filepath.Base(path), Detail: "a block fails its checksum (or does not decompress)"}
		}
	}()
	t, err := table.OpenTable(mf, tableOptions())
	if err != nil {
		// OpenTable has unmapped the file on a checksum failure; on other
		// failures it may not have, and Close on an unmapped file is harmless.
		_ = mf.Close(-1)
		return &CorruptError{File: filepath.Base(path), Detail: err.Error()}
	}
	// Never t.DecrRef: at zero references it deletes the file.
	return t.MmapFile.Close(-1)
}

// CheckDir verifies every table and value-log file in a closed data
// directory, for `gatehouse check` when Badger refuses to open it: it
// returns one *CorruptError per bad file.
func CheckDir(dir string) []*CorruptError {
	names, _ := filepath.Glob(filepath.Join(dir, "*.sst"))
	sort.Strings(names)
	var bad []*CorruptError
	for _, n := range names {
		var ce *CorruptError
		if err := verifyTable(n); errors.As(err, &ce) {
			bad = append(bad, ce)
		}
	}
	vlogs := vlogFiles(dir)
	for i, n := range vlogs {
		var ce *CorruptError
		if _, err := verifyVlog(n, i == len(vlogs)-1, nil); errors.As(err, &ce) {
			bad = append(bad, ce)
		}
	}
	return bad
}

// VerifyTables reads every block of every table once, as Badger's
// OnTableRead would at open, and marks the store corrupt on the first bad
// one, which it returns. It is not part of Open: on a lobby computer it
// takes seconds per 100 MB of tables, and the gates should not wait for it
// (the appliance runs it first thing in Run). Badger's own open-time check
// would also refuse to open over a bad block, stopping the gates, where
// this lets them decide on what still reads.
func (s *Store) VerifyTables(ctx context.Context) error {
	s.life.RLock()
	if s.closed {
		s.life.RUnlock()
		return ErrClosed
	}
	dir, tables, inMemory := s.db.Opts().Dir, s.db.Tables(), s.db.Opts().InMemory
	s.life.RUnlock()
	if inMemory {
		return nil
	}
	var first *CorruptError
	err := verifyTables(ctx, dir, tables, func(ce *CorruptError, _ int64) {
		if ce != nil && first == nil {
			first = s.markCorrupt(ce)
		}
	})
	if err != nil {
		return err
	}
	if first != nil {
		return first
	}
	return nil
}

// verifyTables verifies each table file, telling done about each (with
// the corruption found, if any, and the file's size).
func verifyTables(ctx context.Context, dir string, tables []badger.TableInfo, done func(*CorruptError, int64)) error {
	for _, t := range tables {
		if err := ctx.Err(); err != nil {
			return err
		}
		var ce *CorruptError
		if err := verifyTable(table.NewFilename(t.ID, dir)); err != nil && !errors.As(err, &ce) {
			return err
		}
		done(ce, int64(t.OnDiskSize))
	}
	return nil
}

// ScrubOptions paces a scrub.
type ScrubOptions struct {
	// BytesPerSecond caps how fast the scrub reads, so that the gates keep
	// their latency while it runs; 0 reads as fast as the disk goes.
	BytesPerSecond int64
	// Sleep waits between batches (time.Sleep unless a test replaces it);
	// it returns early when ctx ends.
	Sleep func(ctx context.Context, d time.Duration)
}

// ScrubReport is what a scrub read, and what it found.
type ScrubReport struct {
	Tables    int
	ValueLogs int
	Versions  int   // key versions read, values included
	Bytes     int64 // table bytes plus value bytes
	Took      time.Duration
	Corrupt   []*CorruptError // the first few found, in the order found
}

const maxScrubFindings = 20

// scrubBatch is how many key versions one read transaction visits: short
// transactions let compaction and value-log GC move on during a long scrub,
// and the pacing between them keeps the reads in small bursts.
const scrubBatch = 500

// Scrub reads every table file block by block and every kept version of
// every value, so that every checksum Badger keeps is verified, at most at
// o.BytesPerSecond. It reports what it read; any corruption found is in the
// report, marks the store corrupt and is returned as the error (the first
// one). It does not stop at the first finding, so one run names every bad
// file it can.
func (s *Store) Scrub(ctx context.Context, o ScrubOptions) (ScrubReport, error) {
	start := time.Now()
	if o.Sleep == nil {
		o.Sleep = func(ctx context.Context, d time.Duration) {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-ctx.Done():
			case <-t.C:
			}
		}
	}
	var rep ScrubReport
	pace := func() {
		if o.BytesPerSecond <= 0 {
			return
		}
		due := time.Duration(float64(rep.Bytes) / float64(o.BytesPerSecond) * float64(time.Second))
		if ahead := due - time.Since(start); ahead > 0 {
			o.Sleep(ctx, ahead)
		}
	}
	found := func(e *CorruptError) {
		s.markCorrupt(e)
		if len(rep.Corrupt) < maxScrubFindings {
			rep.Corrupt = append(rep.Corrupt, e)
		}
	}

	s.life.RLock()
	if s.closed {
		s.life.RUnlock()
		return rep, ErrClosed
	}
	dir, tables := s.db.Opts().Dir, s.db.Tables()
	inMemory := s.db.Opts().InMemory
	s.life.RUnlock()

	if !inMemory {
		if err := verifyTables(ctx, dir, tables, func(ce *CorruptError, size int64) {
			if ce != nil {
				found(ce)
			}
			rep.Tables++
			rep.Bytes += size
			pace()
		}); err != nil {
			return rep, err
		}
	}

	if !inMemory {
		vlogs := vlogFiles(dir)
		for i, n := range vlogs {
			if err := ctx.Err(); err != nil {
				return rep, err
			}
			_, err := verifyVlog(n, i == len(vlogs)-1, func(read int64) { rep.Bytes += read; pace() })
			var ce *CorruptError
			if errors.As(err, &ce) {
				found(ce)
			} else if err != nil {
				return rep, err
			}
			rep.ValueLogs++
		}
	}

	var last []byte // the key the previous batch stopped in
	for done := false; !done; {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		err := s.scrubBatch(&last, &done, &rep, found)
		if err != nil {
			return rep, err
		}
		pace()
	}
	rep.Took = time.Since(start)
	if len(rep.Corrupt) > 0 {
		return rep, rep.Corrupt[0]
	}
	return rep, nil
}

// scrubBatch reads up to scrubBatch key versions after *last, in one read
// transaction, forcing every value to be read (and its checksum verified).
func (s *Store) scrubBatch(last *[]byte, done *bool, rep *ScrubReport, found func(*CorruptError)) error {
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return s.db.View(func(txn *badger.Txn) error {
		io := badger.DefaultIteratorOptions
		io.AllVersions = true
		io.PrefetchValues = false
		it := txn.NewIterator(io)
		defer it.Close()
		n := 0
		it.Rewind()
		if *last != nil {
			// Versions of one key are never split between batches: skip
			// the key the last batch finished.
			for it.Seek(*last); it.Valid() && string(it.Item().Key()) == string(*last); it.Next() {
			}
		}
		for ; it.Valid(); it.Next() {
			item := it.Item()
			if n >= scrubBatch && string(item.Key()) != string(*last) {
				return nil
			}
			n++
			rep.Versions++
			*last = item.KeyCopy(*last)
			if item.IsDeletedOrExpired() {
				continue
			}
			var lost bool
			err := item.Value(func(v []byte) error { rep.Bytes += int64(len(v)); lost = lostValue(item, v); return nil })
			if err != nil || lost {
				var ce *CorruptError
				if errors.As(s.valueError(item.Key(), err), &ce) {
					found(ce)
				}
			}
		}
		*done = true
		return nil
	})
}

var scrubKey = Key(KindMeta, "scrub")

// LastScrub is when MarkScrubbed last recorded a finished scrub (zero:
// never).
func (s *Store) LastScrub() (time.Time, error) {
	var t time.Time
	err := s.View(func(r *Reader) error {
		v, err := r.Get(scrubKey)
		if errors.Is(err, ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if len(v) == 8 {
			t = time.Unix(0, int64(binary.BigEndian.Uint64(v)))
		}
		return nil
	})
	return t, err
}

// MarkScrubbed records when a scrub finished, by the caller's clock. Like
// the schema version it is the store's own bookkeeping, written outside
// the command path (a meta record, which the deep audit leaves out).
func (s *Store) MarkScrubbed(at time.Time) error {
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed {
		return ErrClosed
	}
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(scrubKey, U64(uint64(at.UnixNano()))) }); err != nil {
		return translate(err)
	}
	return s.syncWrites()
}
