package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// A write is one Set or Delete of a command (or a migration), as the audit
// trail commits to it: the key and the value, each as the first 16 bytes of
// its SHA-256. Hashing the key keeps personal data that keys carry (a
// lowered name in an index key) out of the trail, which is never purged.
type write struct {
	key [16]byte
	val [16]byte // zero: deleted
}

const writeSize = 32

func hashKey(key []byte) (h [16]byte) {
	sum := sha256.Sum256(key)
	copy(h[:], sum[:16])
	return h
}

func hashValue(val []byte) (h [16]byte) {
	sum := sha256.Sum256(val)
	copy(h[:], sum[:16])
	if h == ([16]byte{}) {
		h[15] = 1 // never mistaken for a deletion
	}
	return h
}

// writeSetChunk bounds one KindAuditWrites value (64 KB).
const writeSetChunk = 2048

func writeSetKey(seq uint64, chunk uint32) []byte {
	k := make([]byte, 13)
	k[0] = byte(KindAuditWrites)
	binary.BigEndian.PutUint64(k[1:], seq)
	binary.BigEndian.PutUint32(k[9:], chunk)
	return k
}

func markKey(kh [16]byte) []byte { return append([]byte{byte(KindWriteMark)}, kh[:]...) }

// tracked reports whether the deep audit accounts for key: everything but
// the audit trail itself and the store's own meta records, which the chain
// (audit head) and Open (schema version) check.
// tracked reports whether the deep audit checks key: not the audit's own
// records, nor the graveyard of deletions that the backups keep, nor the
// applier's record of answered requests (request.go).
func tracked(key []byte) bool {
	return len(key) > 0 && key[0] > byte(KindWriteMark) && key[0] != byte(KindGrave) && key[0] != byte(KindRequest)
}

// recordWrites stores the write set of audit entry seq and moves each
// key's write mark to seq, in txn; it returns the hash the entry commits to.
func recordWrites(txn *badger.Txn, seq uint64, ws []write) ([]byte, error) {
	h := sha256.New()
	buf := make([]byte, 0, min(len(ws), writeSetChunk)*writeSize)
	var chunk uint32
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		if err := txn.Set(writeSetKey(seq, chunk), buf); err != nil {
			return err
		}
		chunk++
		buf = make([]byte, 0, cap(buf))
		return nil
	}
	var mark [24]byte
	binary.BigEndian.PutUint64(mark[:8], seq)
	for _, w := range ws {
		h.Write(w.key[:])
		h.Write(w.val[:])
		buf = append(append(buf, w.key[:]...), w.val[:]...)
		if len(buf) == cap(buf) {
			if err := flush(); err != nil {
				return nil, err
			}
		}
		copy(mark[8:], w.val[:])
		if err := txn.Set(markKey(w.key), bytes.Clone(mark[:])); err != nil {
			return nil, err
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// readWriteSet returns the write set of entry seq and the hash over it.
func readWriteSet(r *Reader, seq uint64) ([]write, []byte, error) {
	var ws []write
	h := sha256.New()
	prefix := append([]byte{byte(KindAuditWrites)}, U64(seq)...)
	err := r.Scan(prefix, ScanOptions{}, func(_, v []byte) (bool, error) {
		if len(v)%writeSize != 0 {
			return false, fmt.Errorf("store: write set of entry %d is malformed", seq)
		}
		h.Write(v)
		for i := 0; i < len(v); i += writeSize {
			var w write
			copy(w.key[:], v[i:i+16])
			copy(w.val[:], v[i+16:i+32])
			ws = append(ws, w)
		}
		return true, nil
	})
	return ws, h.Sum(nil), err
}

type writeMark struct {
	seq uint64
	val [16]byte
}

func getMark(r *Reader, kh [16]byte) (writeMark, bool, error) {
	v, err := r.Get(markKey(kh))
	if errors.Is(err, ErrNotFound) {
		return writeMark{}, false, nil
	} else if err != nil {
		return writeMark{}, false, err
	}
	if len(v) != 24 {
		return writeMark{}, true, nil // malformed: seq 0 fails every check
	}
	m := writeMark{seq: binary.BigEndian.Uint64(v[:8])}
	copy(m.val[:], v[8:])
	return m, true, nil
}

// Finding is one thing the deep audit found wrong: a record changed,
// added or removed outside the command path, or the bookkeeping that
// proves it altered.
type Finding struct {
	Record string // the record, by Describe ("account 06h..."), when the store still has it
	Seq    uint64 // the audit entry that last wrote it (or whose write set is at fault), 0 if none
	Type   string // that entry's command type
	Reason string
}

func (f Finding) String() string {
	s := f.Reason
	if f.Record != "" {
		s = f.Record + ": " + s
	}
	if f.Seq != 0 {
		s += fmt.Sprintf(" (last written by audit entry %d, %s)", f.Seq, f.Type)
	}
	return s
}

// ErrTampered is wrapped by the error VerifyDeep returns when records do
// not match what the commands wrote.
var ErrTampered = errors.New("records changed outside the command path")

// TamperedError lists what the deep audit found, the first few of them.
type TamperedError struct {
	Findings []Finding
	More     int // found beyond those listed
}

func (e *TamperedError) Error() string {
	s := "records changed outside the command path: " + e.Findings[0].String()
	if n := len(e.Findings) - 1 + e.More; n > 0 {
		s += fmt.Sprintf(", and %d more", n)
	}
	return s
}

func (e *TamperedError) Unwrap() error { return ErrTampered }

const maxFindings = 20

// DeepReport is what VerifyDeep checked.
type DeepReport struct {
	Entries uint64 // audit entries in the chain
	Writes  int    // writes of commands with write sets, checked against the marks
	Records int    // records checked against their last write
}

// VerifyDeep checks the hash chain (VerifyAudit), then that every record
// the store holds is exactly what the last command (or migration) to write
// it wrote, so a record edited, added or deleted directly in Badger is
// named. Three walks, each needing memory only for one entry's write set:
//
//  1. every entry with a write set: the set hashes to what the entry
//     (chained) says, and each key's mark is at this entry with this value
//     or at a later entry;
//  2. every mark: it is the last write of its key in its entry's write set;
//  3. every record: its mark exists, is not a deletion and has its value's
//     hash; then the marks that are not deletions must all have been met,
//     or a record was deleted.
//
// Entries from before write sets (older releases) have none; the write
// marks of the records they wrote come from the schema 3 baseline.
func VerifyDeep(r *Reader) (DeepReport, error) {
	var rep DeepReport
	n, err := VerifyAudit(r)
	if err != nil {
		return rep, err
	}
	rep.Entries = n
	te := &TamperedError{}
	add := func(f Finding) {
		if len(te.Findings) < maxFindings {
			te.Findings = append(te.Findings, f)
		} else {
			te.More++
		}
	}
	types := map[uint64]string{}
	typeOf := func(seq uint64) string {
		if t, ok := types[seq]; ok {
			return t
		}
		var e AuditEntry
		if err := r.GetJSON(auditKey(seq), &e); err != nil {
			return "unknown entry"
		}
		if len(types) >= 10_000 {
			clear(types) // bounded: a trail of years has millions of entries
		}
		types[seq] = e.Type
		return e.Type
	}

	// 1. Write sets against the chain, marks not older than any write.
	err = r.Scan([]byte{byte(KindAudit)}, ScanOptions{}, func(_, val []byte) (bool, error) {
		var e AuditEntry
		if err := json.Unmarshal(val, &e); err != nil {
			return false, err
		}
		if e.Writes == nil {
			return true, nil
		}
		ws, sum, err := readWriteSet(r, e.Seq)
		if err != nil {
			return false, err
		}
		if !bytes.Equal(sum, e.Writes) {
			add(Finding{Seq: e.Seq, Type: e.Type, Reason: "the entry's write set was altered"})
			return true, nil
		}
		last := make(map[[16]byte][16]byte, len(ws))
		for _, w := range ws {
			last[w.key] = w.val
		}
		for kh, vh := range last {
			rep.Writes++
			m, ok, err := getMark(r, kh)
			switch {
			case err != nil:
				return false, err
			case !ok:
				add(Finding{Seq: e.Seq, Type: e.Type, Reason: "the write mark of a record this entry wrote was removed"})
			case m.seq < e.Seq:
				add(Finding{Seq: e.Seq, Type: e.Type, Reason: fmt.Sprintf("a record this entry wrote is marked as last written by the earlier entry %d (rolled back?)", m.seq)})
			case m.seq == e.Seq && m.val != vh:
				add(Finding{Seq: e.Seq, Type: e.Type, Reason: "the write mark of a record this entry wrote was altered"})
			}
		}
		return true, nil
	})
	if err != nil {
		return rep, err
	}

	// 2. Every mark is a write its entry made. Entries' write sets are
	// read once each, the last few kept.
	cache := map[uint64]map[[16]byte][16]byte{}
	live := 0 // marks of keys that should exist
	err = r.Scan([]byte{byte(KindWriteMark)}, ScanOptions{}, func(key, val []byte) (bool, error) {
		var kh [16]byte
		copy(kh[:], key[1:])
		m := writeMark{}
		if len(val) == 24 {
			m.seq = binary.BigEndian.Uint64(val[:8])
			copy(m.val[:], val[8:])
		}
		set, ok := cache[m.seq]
		if !ok {
			ws, _, err := readWriteSet(r, m.seq)
			if err != nil {
				return false, err
			}
			set = make(map[[16]byte][16]byte, len(ws))
			for _, w := range ws {
				set[w.key] = w.val
			}
			if len(cache) > 64 {
				clear(cache)
			}
			cache[m.seq] = set
		}
		if vh, ok := set[kh]; !ok || vh != m.val {
			add(Finding{Seq: m.seq, Type: typeOf(m.seq), Reason: "a write mark does not match its entry's write set (forged)"})
		}
		if m.val != ([16]byte{}) {
			live++
		}
		return true, nil
	})
	if err != nil {
		return rep, err
	}

	// 3. Every record against its mark.
	seen := 0
	err = r.Scan(nil, ScanOptions{}, func(key, val []byte) (bool, error) {
		if !tracked(key) {
			return true, nil
		}
		rep.Records++
		m, ok, err := getMark(r, hashKey(key))
		switch {
		case err != nil:
			return false, err
		case !ok:
			add(Finding{Record: Describe(key), Reason: "written outside the command path (no command wrote it)"})
		case m.val == ([16]byte{}):
			add(Finding{Record: Describe(key), Seq: m.seq, Type: typeOf(m.seq), Reason: "present although its last command deleted it"})
		case m.val != hashValue(val):
			seen++
			add(Finding{Record: Describe(key), Seq: m.seq, Type: typeOf(m.seq), Reason: "changed outside the command path"})
		default:
			seen++
		}
		return true, nil
	})
	if err != nil {
		return rep, err
	}
	if seen != live {
		if err := findDeleted(r, add, typeOf); err != nil {
			return rep, err
		}
	}
	if len(te.Findings) > 0 {
		return rep, te
	}
	return rep, nil
}

// findDeleted names the entries whose records are gone although no
// command deleted them. Only run when the counts disagree, since it holds
// every record's key hash in memory.
func findDeleted(r *Reader, add func(Finding), typeOf func(uint64) string) error {
	have := map[[16]byte]struct{}{}
	err := r.Scan(nil, ScanOptions{KeysOnly: true}, func(key, _ []byte) (bool, error) {
		if tracked(key) {
			have[hashKey(key)] = struct{}{}
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	return r.Scan([]byte{byte(KindWriteMark)}, ScanOptions{}, func(key, val []byte) (bool, error) {
		var kh [16]byte
		copy(kh[:], key[1:])
		if len(val) != 24 || bytes.Equal(val[8:], make([]byte, 16)) {
			return true, nil
		}
		if _, ok := have[kh]; !ok {
			seq := binary.BigEndian.Uint64(val[:8])
			add(Finding{Seq: seq, Type: typeOf(seq), Reason: "a record was deleted outside the command path"})
		}
		return true, nil
	})
}
