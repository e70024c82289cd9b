// Package journal keeps what one appliance must not lose before the site
// has it: an append-only log of records in segment files, written before the
// caller acts on them and shipped later. The lobby's gate events use it
// (appliance/access, ship.go): a decision is written here, the lane opens,
// and the event reaches the replicated store in a batch — at once when the
// store answers, later when the lobby is cut off from its site.
//
// The journal is local to the appliance: it is not in the store, so it is
// neither replicated, nor backed up, nor replaced by a Raft snapshot, and a
// snapshot restore cannot wipe what the lobby has not shipped yet.
//
// Records are numbered from 1. A segment file is named by the number of its
// first record and holds records of the form
//
//	len (u32 BE) crc32c(body) (u32 BE) body = seq (u64 BE) data
//
// Appended records are written at once (a kill -9 of the process keeps
// them) and synced by a flusher that starts on every append, shared by the
// appends that arrive while it runs (the same promise as the store's
// ApplyAsync: docs/decisions.md, "The gate does not wait on the disk"). A
// torn last record — a power cut during a write — is cut off at open.
// Segments whose records are all shipped are deleted; shipping is idempotent
// on the receiving side, so a record shipped just before a crash and
// shipped again after it does no harm.
package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// MaxRecord is the largest record body the journal accepts.
const MaxRecord = 64 << 10

// segmentSize is the size after which a new segment starts.
const segmentSize = 4 << 20

const headerLen = 8

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Errors.
var (
	ErrClosed   = errors.New("journal: closed")
	ErrTooLarge = errors.New("journal: record too large")
)

// Record is one stored record.
type Record struct {
	Seq  uint64
	Data []byte
}

type segment struct {
	first uint64 // number of its first record
	path  string
}

// Journal is an append-only log of records. It is safe for concurrent use.
type Journal struct {
	dir string

	mu      sync.Mutex
	f       *os.File // the segment appended to
	size    int64
	segs    []segment // oldest first; the last is f
	next    uint64    // number of the next record
	shipped uint64    // records below it are shipped
	err     error     // a failed write or sync: nothing more is promised
	closed  bool

	// the flusher
	kick    chan struct{}
	synced  uint64 // records below it are on disk
	syncing sync.Cond
	done    chan struct{}

	// Damaged counts records cut off at open (a torn tail, a damaged
	// segment's rest): told, never fatal.
	Damaged int
}

// Open opens (creating) the journal in dir and returns it with every
// record still in it, oldest first: those not known to be shipped.
func Open(dir string) (*Journal, []Record, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("journal: %w", err)
	}
	es, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("journal: %w", err)
	}
	j := &Journal{dir: dir, next: 1, kick: make(chan struct{}, 1), done: make(chan struct{})}
	j.syncing.L = &j.mu
	for _, e := range es {
		name, ok := strings.CutSuffix(e.Name(), ".seg")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(name, 16, 64)
		if err != nil || n == 0 {
			continue
		}
		j.segs = append(j.segs, segment{first: n, path: filepath.Join(dir, e.Name())})
	}
	slices.SortFunc(j.segs, func(a, b segment) int { return cmpU64(a.first, b.first) })
	var recs []Record
	for i, s := range j.segs {
		last := i == len(j.segs)-1
		rs, good, damaged, err := readSegment(s.path)
		if err != nil {
			return nil, nil, err
		}
		j.Damaged += damaged
		if damaged > 0 && last {
			// A torn tail: cut it so that appends follow the last good record.
			if err := os.Truncate(s.path, good); err != nil {
				return nil, nil, fmt.Errorf("journal: cut a torn record: %w", err)
			}
		}
		for _, r := range rs {
			if r.Seq >= j.next {
				j.next = r.Seq + 1
				recs = append(recs, r)
			}
		}
		if s.first > j.next {
			j.next = s.first
		}
	}
	if len(recs) > 0 {
		j.shipped = recs[0].Seq
	} else {
		j.shipped = j.next
	}
	j.synced = j.next
	if err := j.openTail(); err != nil {
		return nil, nil, err
	}
	go j.flusher()
	return j, recs, nil
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// openTail opens the last segment for appending, or starts one.
func (j *Journal) openTail() error {
	if len(j.segs) == 0 {
		return j.startSegment()
	}
	s := j.segs[len(j.segs)-1]
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("journal: %w", err)
	}
	j.f, j.size = f, st.Size()
	return nil
}

// startSegment starts a segment at j.next; the directory is synced so that
// the new file's name survives a power cut.
func (j *Journal) startSegment() error {
	path := filepath.Join(j.dir, fmt.Sprintf("%016x.seg", j.next))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if err := syncDir(j.dir); err != nil {
		f.Close()
		return err
	}
	j.f, j.size = f, 0
	j.segs = append(j.segs, segment{first: j.next, path: path})
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("journal: sync %s: %w", dir, err)
	}
	return nil
}

// readSegment reads a segment's records up to the first damaged one; good
// is the length of the undamaged part, damaged 1 when something followed it.
func readSegment(path string) (recs []Record, good int64, damaged int, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("journal: %w", err)
	}
	recs, n := Parse(b)
	if n < len(b) {
		damaged = 1
	}
	return recs, int64(n), damaged, nil
}

// Parse decodes the records at the start of b and returns them with the
// length of b they took: it stops at the first record that is short, too
// large or fails its checksum.
func Parse(b []byte) ([]Record, int) {
	var out []Record
	off := 0
	for len(b)-off >= headerLen {
		n := int(binary.BigEndian.Uint32(b[off:]))
		sum := binary.BigEndian.Uint32(b[off+4:])
		if n < 8 || n > MaxRecord+8 || len(b)-off-headerLen < n {
			break
		}
		body := b[off+headerLen : off+headerLen+n]
		if crc32.Checksum(body, castagnoli) != sum {
			break
		}
		out = append(out, Record{Seq: binary.BigEndian.Uint64(body), Data: slices.Clone(body[8:])})
		off += headerLen + n
	}
	return out, off
}

// encode lays out one record.
func encode(seq uint64, data []byte) []byte {
	b := make([]byte, headerLen+8+len(data))
	binary.BigEndian.PutUint32(b, uint32(8+len(data)))
	binary.BigEndian.PutUint64(b[headerLen:], seq)
	copy(b[headerLen+8:], data)
	binary.BigEndian.PutUint32(b[4:], crc32.Checksum(b[headerLen:], castagnoli))
	return b
}

// Append writes a record and returns its number. It returns once the record
// is written to the file (a crash of the process keeps it); the sync to the
// disk starts at once and Sync waits for it.
func (j *Journal) Append(data []byte) (uint64, error) {
	if len(data) > MaxRecord {
		return 0, ErrTooLarge
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return 0, ErrClosed
	}
	if j.err != nil {
		return 0, j.err
	}
	seq := j.next
	b := encode(seq, data)
	if _, err := j.f.Write(b); err != nil {
		// A short write leaves a torn record that the next open cuts off;
		// nothing after it may be promised.
		j.err = fmt.Errorf("journal: write: %w", err)
		return 0, j.err
	}
	j.next++
	j.size += int64(len(b))
	select {
	case j.kick <- struct{}{}:
	default:
	}
	return seq, nil
}

// flusher syncs the appended records, one sync for all that arrived since
// the last one began.
func (j *Journal) flusher() {
	defer close(j.done)
	for range j.kick {
		j.mu.Lock()
		f, upto := j.f, j.next
		j.mu.Unlock()
		err := f.Sync()
		j.mu.Lock()
		if err != nil && j.err == nil && !errors.Is(err, os.ErrClosed) {
			j.err = fmt.Errorf("journal: sync: %w", err)
		}
		if f == j.f && upto > j.synced {
			j.synced = upto
		}
		j.syncing.Broadcast()
		j.mu.Unlock()
	}
}

// Sync waits until every record appended before the call is on the disk.
func (j *Journal) Sync() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	want := j.next
	for j.synced < want && j.err == nil && !j.closed {
		select {
		case j.kick <- struct{}{}:
		default:
		}
		j.syncing.Wait()
	}
	if j.err != nil {
		return j.err
	}
	if j.synced < want {
		return ErrClosed
	}
	return nil
}

// Shipped records that every record below upto has reached the site, so
// the segments holding only such records can go.
func (j *Journal) Shipped(upto uint64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return ErrClosed
	}
	if upto > j.next {
		upto = j.next
	}
	if upto <= j.shipped {
		return nil
	}
	j.shipped = upto
	// A full segment whose records are all shipped is replaced by a fresh
	// one, so that the journal does not grow while the site answers.
	if j.shipped == j.next && j.size >= segmentSize && j.err == nil {
		if err := j.syncLocked(); err != nil {
			return err
		}
		old := j.f
		if err := j.startSegment(); err != nil {
			return err
		}
		old.Close()
	}
	// Every segment but the last, whose successor starts at or below
	// shipped, holds only shipped records.
	for len(j.segs) > 1 && j.segs[1].first <= j.shipped {
		if err := os.Remove(j.segs[0].path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("journal: %w", err)
		}
		j.segs = j.segs[1:]
	}
	return nil
}

// syncLocked syncs the current segment with j.mu held (rare: at rotation).
func (j *Journal) syncLocked() error {
	if err := j.f.Sync(); err != nil {
		j.err = fmt.Errorf("journal: sync: %w", err)
		return j.err
	}
	j.synced = j.next
	return nil
}

// Waiting is the number of records not yet shipped.
func (j *Journal) Waiting() uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.next - j.shipped
}

// Close syncs and closes the journal.
func (j *Journal) Close() error {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return nil
	}
	err := j.f.Sync()
	if err == nil {
		j.synced = j.next
	}
	j.closed = true
	close(j.kick)
	j.syncing.Broadcast()
	j.mu.Unlock()
	<-j.done
	if cerr := j.f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("journal: close: %w", err)
	}
	return nil
}

// ReadAll returns every record in dir without opening the journal for
// writing (the shell's view of a stopped appliance).
func ReadAll(dir string) ([]Record, error) {
	es, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	var out []Record
	for _, e := range es {
		if !strings.HasSuffix(e.Name(), ".seg") {
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("journal: %w", err)
		}
		b, err := io.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("journal: %w", err)
		}
		rs, _ := Parse(b)
		out = append(out, rs...)
	}
	slices.SortFunc(out, func(a, b Record) int { return cmpU64(a.Seq, b.Seq) })
	return out, nil
}
