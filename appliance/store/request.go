package store

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Request IDs (cluster/DESIGN.md, "Request IDs"). In a site of several
// lobbies a command travels from the node where it was issued to the
// leader, and the answer may be lost on the way back (the leader died, the
// connection was cut) after the command was committed. The issuing node
// stamps every command with a request ID (Command.Req) before it sends it,
// and sends the very same bytes again when an answer is lost. The applier
// keeps, for every command it applied from the site's log with a request
// ID, what it answered (KindRequest); a later log entry with the same bytes
// is answered from that record and changes nothing, so a retry is applied
// once however many times it is sent.
//
// Records are kept RequestTTL by the command's own (issuer-stamped) time
// and pruned deterministically while later commands are applied (every
// pruneEvery'th log index): every node prunes the same records at the
// same log index.

// RequestTTL is how long an applied request ID is remembered, by the
// issuer's clock. A node retries a lost answer for a few seconds (its
// context or cluster.Config.NoQuorumAfter, 5 s, twice at most); the site
// keeps clocks within cluster.MaxClockSkew (10 s) of the leader's. Ten
// minutes is far beyond both, and at a busy site's few commands a second
// the table stays a few thousand small records.
const RequestTTL = 10 * time.Minute

// Pruning runs at every pruneEvery'th log index (an iterator costs a
// command about 25 allocations and 5 KB: amortised, it is next to
// nothing) and deletes at most prunePerRound records: far more than the
// pruneEvery records a round can add, so the table shrinks after a burst
// (or after rounds lost to refused commands, which write nothing), and
// few enough that no command pays for many.
const (
	pruneEvery    = 8
	prunePerRound = 128
)

// ErrBadRequestID: a command's request ID is not one NewRequestID makes.
var ErrBadRequestID = errors.New("store: malformed request ID")

// NewRequestID returns 16 random bytes in the IDs' base32 (26
// characters): random, not time-ordered like NewID, since two nodes may
// draw one in the same millisecond and a collision would answer one
// command with another's result.
func NewRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand since Go 1.24)
	return idEncoding.EncodeToString(b[:])
}

func validRequestID(s string) bool {
	if len(s) != 26 {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdefghjkmnpqrstvwxyz", c) {
			return false
		}
	}
	return true
}

// requestRecord is what the applier answered a request: enough to answer
// it again. Sum is the first half of the command's SHA-256: a request ID
// again with other bytes is another command, and is applied.
type requestRecord struct {
	Index   uint64 `json:"i"` // the log index it was applied at
	Seq     uint64 `json:"q"` // its audit entry
	Subject string `json:"s,omitempty"`
	Note    string `json:"n,omitempty"`
	Sum     []byte `json:"h"`
}

// requestKey is KindRequest, the command's time (u64 BE ns: records sort
// by it, so pruning reads only expired ones) and its request ID.
func requestKey(cmd Command) []byte {
	k := make([]byte, 0, 1+8+len(cmd.Req))
	k = append(k, byte(KindRequest))
	k = binary.BigEndian.AppendUint64(k, uint64(max(cmd.Time, 0)))
	return append(k, cmd.Req...)
}

// answered returns the result cmd got when the same bytes (sum) were
// applied before, if they were and the record is kept.
func answered(txn *badger.Txn, cmd Command, sum []byte) (Result, bool, error) {
	item, err := txn.Get(requestKey(cmd))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return Result{}, false, nil
	}
	if err != nil {
		return Result{}, false, err
	}
	var rec requestRecord
	if err := item.Value(func(v []byte) error { return json.Unmarshal(v, &rec) }); err != nil {
		return Result{}, false, fmt.Errorf("store: request record: %w", err)
	}
	if !bytes.Equal(rec.Sum, sum[:16]) {
		return Result{}, false, nil
	}
	return Result{Seq: rec.Seq, Subject: rec.Subject, Note: rec.Note}, true, nil
}

// recordRequest keeps what cmd, applied at index, answered.
func recordRequest(txn *badger.Txn, cmd Command, sum []byte, index uint64, res Result) error {
	v, err := json.Marshal(requestRecord{Index: index, Seq: res.Seq, Subject: res.Subject, Note: res.Note, Sum: sum[:16]})
	if err != nil {
		return err
	}
	return txn.Set(requestKey(cmd), v)
}

// pruneRequests deletes, at every pruneEvery'th index, up to prunePerRound
// records of requests issued more than RequestTTL before now (the applied
// command's time): a function of the state, the index and the command, so
// every node prunes the same ones.
func pruneRequests(txn *badger.Txn, index uint64, now int64) error {
	horizon := now - int64(RequestTTL)
	if index%pruneEvery != 0 || horizon <= 0 {
		return nil
	}
	prefix := []byte{byte(KindRequest)}
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	var old [][]byte
	for it.Rewind(); it.Valid() && len(old) < prunePerRound; it.Next() {
		k := it.Item().Key()
		if len(k) < 9 || int64(binary.BigEndian.Uint64(k[1:9])) >= horizon {
			break
		}
		old = append(old, it.Item().KeyCopy(nil))
	}
	for _, k := range old {
		if err := txn.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
