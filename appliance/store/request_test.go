package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"
)

// counterKey holds what count.add commands added: applied twice, a
// command shows it.
var counterKey = Key(KindFloor, "counter")

// openCounter is openTest with count.add, a command that is not
// idempotent: it adds its payload to a counter.
func openCounter(t *testing.T, dir string) *Store {
	t.Helper()
	s := openTest(t, dir)
	t.Cleanup(func() { s.Close() })
	s.Register("count.add", func(tx *Tx, cmd Command) (Effect, error) {
		var n uint64
		if err := cmd.Decode(&n); err != nil {
			return Effect{}, err
		}
		v, err := tx.Get(counterKey)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return Effect{}, err
		}
		if len(v) == 8 {
			n += binary.BigEndian.Uint64(v)
		}
		return Effect{Subject: "counter", Note: "added"}, tx.Set(counterKey, U64(n))
	})
	return s
}

func counter(t *testing.T, s *Store) uint64 {
	t.Helper()
	var n uint64
	if err := s.View(func(r *Reader) error {
		v, err := r.Get(counterKey)
		if err == nil {
			n = binary.BigEndian.Uint64(v)
		}
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// addCommand encodes count.add of n issued at 'at' with request ID req.
func addCommand(t *testing.T, n uint64, at time.Time, req string) []byte {
	t.Helper()
	cmd, err := NewCommand("count.add", "tester", at.UnixNano(), n)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Req = req
	raw, err := cmd.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// The same command sent again after its answer was lost (the same bytes,
// the same request ID, a later log entry) changes the state once, and the
// second is answered with the first one's result.
func TestARetriedRequestIsAppliedOnce(t *testing.T) {
	s := openCounter(t, t.TempDir())
	now := time.Now()
	req := NewRequestID()
	raw := addCommand(t, 1, now, req)
	first, _, err := s.ApplyReplicated(1, raw)
	if err != nil {
		t.Fatal(err)
	}
	seq, headBefore := head(t, s)
	again, skipped, err := s.ApplyReplicated(2, raw)
	if err != nil || skipped {
		t.Fatalf("the retry: skipped=%v err=%v", skipped, err)
	}
	if again != first {
		t.Fatalf("the retry was answered %+v, the first %+v", again, first)
	}
	if got := counter(t, s); got != 1 {
		t.Fatalf("counter = %d after a command and its retry, want 1", got)
	}
	if seq2, head2 := head(t, s); seq2 != seq || !bytes.Equal(head2, headBefore) {
		t.Fatalf("the retry added to the audit trail: %d -> %d", seq, seq2)
	}
	if idx, err := s.AppliedIndex(); err != nil || idx != 2 {
		t.Fatalf("applied index = %d (%v), want 2: the retry's entry is applied", idx, err)
	}
	// Other bytes under the same request ID are another command.
	if _, _, err := s.ApplyReplicated(3, addCommand(t, 5, now, req)); err != nil {
		t.Fatal(err)
	}
	// Without a request ID nothing is deduplicated (a single appliance's
	// commands, and the log's own replay is the applied index's business).
	plain := addCommand(t, 10, now, "")
	for i := uint64(4); i <= 5; i++ {
		if _, _, err := s.ApplyReplicated(i, plain); err != nil {
			t.Fatal(err)
		}
	}
	if got := counter(t, s); got != 1+5+10+10 {
		t.Fatalf("counter = %d, want 26", got)
	}
	// The applier's records are not taken for writes outside the command path.
	if err := s.View(func(r *Reader) error { _, err := VerifyDeep(r); return err }); err != nil {
		t.Fatal(err)
	}
	// A request ID that NewRequestID did not make is refused, on every node alike.
	if _, _, err := s.ApplyReplicated(6, addCommand(t, 1, now, "not\x00an id")); !errors.Is(err, ErrBadRequestID) {
		t.Fatalf("a malformed request ID: %v", err)
	}
}

// A request is remembered RequestTTL by its own time: a command issued
// later than that prunes it (at an index where pruning runs), and the
// same bytes are then applied again.
func TestAnExpiredRequestIDNoLongerDedupes(t *testing.T) {
	s := openCounter(t, t.TempDir())
	t0 := time.Now()
	raw := addCommand(t, 1, t0, NewRequestID())
	if _, _, err := s.ApplyReplicated(1, raw); err != nil {
		t.Fatal(err)
	}
	// Just inside the bound it is still remembered.
	if _, _, err := s.ApplyReplicated(pruneEvery, addCommand(t, 100, t0.Add(RequestTTL-time.Second), NewRequestID())); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.ApplyReplicated(pruneEvery+1, raw); err != nil {
		t.Fatal(err)
	}
	if got := counter(t, s); got != 101 {
		t.Fatalf("counter = %d, want 101: a retry within RequestTTL was applied again", got)
	}
	// A command issued past the bound prunes it.
	if _, _, err := s.ApplyReplicated(2*pruneEvery, addCommand(t, 1000, t0.Add(RequestTTL+time.Second), NewRequestID())); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.ApplyReplicated(2*pruneEvery+1, raw); err != nil {
		t.Fatal(err)
	}
	if got := counter(t, s); got != 1102 {
		t.Fatalf("counter = %d, want 1102: an expired request ID still deduplicated", got)
	}
}

// The table is in the store, so a snapshot carries it: a node restored
// from one answers a retry of a command applied before the snapshot.
func TestASnapshotCarriesTheAppliedRequests(t *testing.T) {
	ctx := context.Background()
	leader, node := openCounter(t, t.TempDir()), openCounter(t, t.TempDir())
	raw := addCommand(t, 1, time.Now(), NewRequestID())
	if _, _, err := leader.ApplyReplicated(1, raw); err != nil {
		t.Fatal(err)
	}
	var snap bytes.Buffer
	if _, err := leader.WriteSnapshot(ctx, &snap); err != nil {
		t.Fatal(err)
	}
	if err := node.ReplaceFrom(&snap); err != nil {
		t.Fatal(err)
	}
	if _, _, err := node.ApplyReplicated(2, raw); err != nil {
		t.Fatal(err)
	}
	if got := counter(t, node); got != 1 {
		t.Fatalf("counter = %d on the restored node after the retry, want 1", got)
	}
}
