package cluster

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/appliance/store"
)

// cmdCount adds its payload to a counter: not idempotent, so a command
// applied twice shows.
const cmdCount = "test.count.add"

var countKey = store.Key(store.KindFloor, "test-counter")

func registerCounter(st *store.Store) {
	st.Register(cmdCount, func(tx *store.Tx, cmd store.Command) (store.Effect, error) {
		var n uint64
		if err := cmd.Decode(&n); err != nil {
			return store.Effect{}, err
		}
		v, err := tx.Get(countKey)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return store.Effect{}, err
		}
		if len(v) > 0 {
			had, err := strconv.ParseUint(string(v), 10, 64)
			if err != nil {
				return store.Effect{}, err
			}
			n += had
		}
		return store.Effect{Subject: "counter"}, tx.Set(countKey, []byte(strconv.FormatUint(n, 10)))
	})
}

// counted is tn's counter and the audit entries of cmdCount, newest first.
func counted(t *testing.T, tn *testNode) (uint64, []store.AuditEntry) {
	t.Helper()
	var n uint64
	var adds []store.AuditEntry
	err := tn.st.View(func(r *store.Reader) error {
		if v, err := r.Get(countKey); err == nil {
			if n, err = strconv.ParseUint(string(v), 10, 64); err != nil {
				return err
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		es, err := store.AuditPage(r, 0, 1000)
		for _, e := range es {
			if e.Type == cmdCount {
				adds = append(adds, e)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n, adds
}

// loseFirstCount loses the answer to the first cmdCount committed, on
// whichever node leads.
func loseFirstCount(lost *atomic.Bool) func(*Config) {
	return func(c *Config) {
		c.loseAnswer = func(raw []byte) bool {
			cmd, err := store.DecodeCommand(raw)
			return err == nil && cmd.Type == cmdCount && lost.CompareAndSwap(false, true)
		}
	}
}

// expectOnce checks that the write whose answer was lost was applied
// exactly once on every node and answered with that application's result.
func expectOnce(t *testing.T, s *testSite, lost *atomic.Bool, res store.Result, err error) {
	t.Helper()
	if !lost.Load() {
		t.Fatal("no answer was lost: the test did not test anything")
	}
	if err != nil {
		t.Fatalf("the write whose answer was lost: %v, want it retried and answered", err)
	}
	s.converged(5 * time.Second)
	for _, tn := range s.nodes {
		n, adds := counted(t, tn)
		if n != 5 || len(adds) != 1 {
			t.Fatalf("%s: counter %d from %d commands, want 5 from 1: the retry was applied again", tn.id, n, len(adds))
		}
		if res.Seq != adds[0].Seq {
			t.Fatalf("%s: answered with audit entry %d, the command is entry %d", tn.id, res.Seq, adds[0].Seq)
		}
	}
}

// A write made on a follower is forwarded; the leader commits it and the
// connection is cut before it answers. The follower sends the same bytes
// to the leader again, and the site applies the write once and answers
// it with the first application's result.
func TestForwardedWriteWhoseAnswerIsLostIsAppliedOnce(t *testing.T) {
	var lost atomic.Bool
	s := newTestSite(t, 3, loseFirstCount(&lost))
	f := s.follower()
	res, err := store.Issue(context.Background(), f.st, cmdCount, "admin", time.Now(), uint64(5))
	expectOnce(t, s, &lost, res, err)
}

// A write on the leader itself: its commit is reported as leadership lost
// although the entry was committed. Apply sends it again and it is
// applied once.
func TestLeaderWriteWhoseCommitIsUncertainIsAppliedOnce(t *testing.T) {
	var lost atomic.Bool
	s := newTestSite(t, 3, loseFirstCount(&lost))
	lead := s.leader(5 * time.Second)
	res, err := store.Issue(context.Background(), lead.st, cmdCount, "admin", time.Now(), uint64(5))
	expectOnce(t, s, &lost, res, err)
}
