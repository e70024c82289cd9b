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

// AuditEntry is one link of the append-only, hash-chained audit trail. It
// records who did what and when; Command is the SHA-256 of the full command
// encoding, so the chain commits to every byte of the command without
// keeping personal data (phone numbers, password hashes) in the trail.
type AuditEntry struct {
	Seq     uint64 `json:"seq"`
	Time    int64  `json:"time"`
	Actor   string `json:"actor"`
	Type    string `json:"type"`
	Subject string `json:"subject,omitempty"`
	Note    string `json:"note,omitempty"`
	Command []byte `json:"cmd"`
	// Writes is the SHA-256 over the command's write set (writes.go): every
	// key it set or deleted, in order, with the value's hash. Entries
	// written before write sets have none, and their JSON, hence their
	// hash, is what it always was.
	Writes []byte `json:"writes,omitempty"`
	Prev   []byte `json:"prev"`
	Hash   []byte `json:"hash"`
}

// ErrAuditBroken is wrapped by the error VerifyAudit returns on a broken chain.
var ErrAuditBroken = errors.New("audit chain broken")

// BrokenLinkError names the first audit entry that does not verify.
type BrokenLinkError struct {
	Seq    uint64
	Reason string
}

func (e *BrokenLinkError) Error() string {
	return fmt.Sprintf("audit chain broken at entry %d: %s", e.Seq, e.Reason)
}

func (e *BrokenLinkError) Unwrap() error { return ErrAuditBroken }

type auditHead struct {
	Seq  uint64 `json:"seq"`
	Hash []byte `json:"hash"`
}

var auditHeadKey = Key(KindMeta, "audit-head")

func auditKey(seq uint64) []byte { return append([]byte{byte(KindAudit)}, U64(seq)...) }

// hash computes the entry's hash over every field but Hash itself.
func (e AuditEntry) hash() []byte {
	e.Hash = nil
	b, _ := json.Marshal(e) // cannot fail: plain fields only
	sum := sha256.Sum256(b)
	return sum[:]
}

// appendAudit appends e to the chain with the write set ws (nil: none).
func appendAudit(txn *badger.Txn, e AuditEntry, ws []write) (uint64, error) {
	var head auditHead
	it, err := txn.Get(auditHeadKey)
	switch {
	case err == nil:
		if err := it.Value(func(v []byte) error { return json.Unmarshal(v, &head) }); err != nil {
			return 0, fmt.Errorf("store: read audit head: %w", err)
		}
	case errors.Is(err, badger.ErrKeyNotFound):
		head.Hash = make([]byte, sha256.Size) // genesis
	default:
		return 0, err
	}
	e.Seq = head.Seq + 1
	e.Prev = head.Hash
	if ws != nil {
		sum, err := recordWrites(txn, e.Seq, ws)
		if err != nil {
			return 0, err
		}
		e.Writes = sum
	}
	e.Hash = e.hash()
	b, err := json.Marshal(e)
	if err != nil {
		return 0, err
	}
	if err := txn.Set(auditKey(e.Seq), b); err != nil {
		return 0, err
	}
	hb, _ := json.Marshal(auditHead{Seq: e.Seq, Hash: e.Hash})
	if err := txn.Set(auditHeadKey, hb); err != nil {
		return 0, err
	}
	return e.Seq, nil
}

// VerifyAudit walks the whole chain and returns the number of entries, or a
// *BrokenLinkError naming the first entry that is altered, missing or out of
// place.
func VerifyAudit(r *Reader) (uint64, error) {
	prev := make([]byte, sha256.Size)
	var want uint64 = 1
	var broken error
	err := r.Scan([]byte{byte(KindAudit)}, ScanOptions{}, func(key, val []byte) (bool, error) {
		seq := binary.BigEndian.Uint64(key[1:])
		if seq != want {
			broken = &BrokenLinkError{Seq: want, Reason: "entry missing"}
			return false, nil
		}
		var e AuditEntry
		if err := json.Unmarshal(val, &e); err != nil {
			broken = &BrokenLinkError{Seq: seq, Reason: "entry unreadable"}
			return false, nil
		}
		switch {
		case e.Seq != seq:
			broken = &BrokenLinkError{Seq: seq, Reason: "sequence number altered"}
		case !bytes.Equal(e.Prev, prev):
			broken = &BrokenLinkError{Seq: seq, Reason: "does not link to the previous entry"}
		case !bytes.Equal(e.hash(), e.Hash):
			broken = &BrokenLinkError{Seq: seq, Reason: "contents altered (hash mismatch)"}
		}
		if broken != nil {
			return false, nil
		}
		prev = e.Hash
		want++
		return true, nil
	})
	if err != nil {
		return 0, err
	}
	if broken != nil {
		return 0, broken
	}
	n := want - 1
	var head auditHead
	switch err := r.GetJSON(auditHeadKey, &head); {
	case errors.Is(err, ErrNotFound):
		if n > 0 {
			return 0, &BrokenLinkError{Seq: n, Reason: "chain head missing"}
		}
	case err != nil:
		return 0, err
	case head.Seq != n || !bytes.Equal(head.Hash, prev):
		// Entries after the last one found were removed, or the head was rewritten.
		return 0, &BrokenLinkError{Seq: n + 1, Reason: fmt.Sprintf("chain ends at %d but head says %d", n, head.Seq)}
	}
	return n, nil
}

// AuditPage returns up to limit entries older than before (0: the newest),
// newest first.
func AuditPage(r *Reader, before uint64, limit int) ([]AuditEntry, error) {
	o := ScanOptions{Reverse: true}
	if before > 0 {
		o.Start = auditKey(before - 1)
	}
	var out []AuditEntry
	err := r.Scan([]byte{byte(KindAudit)}, o, func(_, val []byte) (bool, error) {
		var e AuditEntry
		if err := json.Unmarshal(val, &e); err != nil {
			return false, err
		}
		out = append(out, e)
		return len(out) < limit, nil
	})
	return out, err
}

// AuditFor returns up to limit entries about subject, newest first. It scans
// the trail backwards; fine for the record pages, which show recent history.
func AuditFor(r *Reader, subject string, limit, maxScan int) ([]AuditEntry, error) {
	var out []AuditEntry
	scanned := 0
	err := r.Scan([]byte{byte(KindAudit)}, ScanOptions{Reverse: true}, func(_, val []byte) (bool, error) {
		scanned++
		var e AuditEntry
		if err := json.Unmarshal(val, &e); err != nil {
			return false, err
		}
		if e.Subject == subject {
			out = append(out, e)
		}
		return len(out) < limit && scanned < maxScan, nil
	})
	return out, err
}

// AuditStream checks the audit entries of a backup stream as they pass, in
// key order (WriteBackup's one iterator writes keys in order): each entry's
// hash, sequence and link to the one before. A full backup starts at the
// genesis; an increment after its base's head. Records of other kinds are
// ignored.
type AuditStream struct {
	want    uint64
	prev    []byte
	lenient bool // an increment checked without its base: the first entry sets the start
	n       uint64
	err     error
}

// NewAuditStream checks a stream whose first entry follows seq and hash
// (0 and nil: the genesis, a full backup). With lenient, the first entry
// found is taken as the start (an increment checked on its own).
func NewAuditStream(seq uint64, hash []byte, lenient bool) *AuditStream {
	if seq == 0 && hash == nil {
		hash = make([]byte, sha256.Size)
	}
	return &AuditStream{want: seq + 1, prev: hash, lenient: lenient}
}

// Add looks at one record of the stream (deleted ones have a nil value
// and are not audit entries: the trail is append-only).
func (a *AuditStream) Add(key, val []byte) {
	if a.err != nil || len(key) != 9 || Kind(key[0]) != KindAudit {
		return
	}
	seq := binary.BigEndian.Uint64(key[1:])
	var e AuditEntry
	if err := json.Unmarshal(val, &e); err != nil {
		a.err = &BrokenLinkError{Seq: seq, Reason: "entry unreadable"}
		return
	}
	if a.lenient && a.n == 0 {
		a.want, a.prev = seq, e.Prev
	}
	switch {
	case seq != a.want:
		a.err = &BrokenLinkError{Seq: a.want, Reason: "entry missing"}
	case e.Seq != seq:
		a.err = &BrokenLinkError{Seq: seq, Reason: "sequence number altered"}
	case !bytes.Equal(e.Prev, a.prev):
		a.err = &BrokenLinkError{Seq: seq, Reason: "does not link to the previous entry"}
	case !bytes.Equal(e.hash(), e.Hash):
		a.err = &BrokenLinkError{Seq: seq, Reason: "contents altered (hash mismatch)"}
	}
	a.prev, a.want = e.Hash, a.want+1
	a.n++
}

// Finish returns the number of entries seen, or the first broken link; the
// last entry must be the head the backup recorded (seq 0: none expected).
func (a *AuditStream) Finish(headSeq uint64, headHash []byte) (uint64, error) {
	if a.err != nil {
		return a.n, a.err
	}
	if a.n == 0 && a.lenient {
		return 0, nil
	}
	if a.want-1 != headSeq || (headSeq > 0 && !bytes.Equal(a.prev, headHash)) {
		return a.n, &BrokenLinkError{Seq: a.want, Reason: fmt.Sprintf("chain ends at %d but the head says %d", a.want-1, headSeq)}
	}
	return a.n, nil
}
