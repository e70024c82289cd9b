package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestAuditSearch(t *testing.T) {
	s := openTest(t, t.TempDir())
	t.Cleanup(func() { s.Close() })
	s.Register("note.mark", func(tx *Tx, cmd Command) (Effect, error) { return Effect{Subject: "note:x"}, nil })
	s.Register("note.drop", func(tx *Tx, cmd Command) (Effect, error) { return Effect{Subject: "note:x"}, nil })
	ctx := context.Background()
	// Entries 1..30 at times 1..30 s: odd ones by ann (note.put), even ones by bob (note.drop).
	for i := int64(1); i <= 30; i++ {
		actor, typ := "account:ann", "note.mark"
		if i%2 == 0 {
			actor, typ = "account:bob", "note.drop"
		}
		if _, err := Issue(ctx, s, typ, actor, time.Unix(i, 0), struct{}{}); err != nil {
			t.Fatal(err)
		}
	}
	var base uint64 // entries the store wrote before ours (migrations)
	_ = s.View(func(r *Reader) error {
		es, err := AuditPage(r, 0, 31)
		base = es[len(es)-1].Seq - 1
		return err
	})
	seqs := func(es []AuditEntry) (out []uint64) {
		for _, e := range es {
			out = append(out, e.Seq-base)
		}
		return out
	}
	for _, tt := range []struct {
		name    string
		before  uint64
		f       AuditFilter
		limit   int
		maxScan int
		want    []uint64
		next    uint64
	}{
		{"ann's newest", 0, AuditFilter{Actor: "account:ann"}, 3, 100, []uint64{29, 27, 25}, 25},
		{"ann's next page", 25, AuditFilter{Actor: "account:ann"}, 3, 100, []uint64{23, 21, 19}, 19},
		{"by type", 0, AuditFilter{Type: "note.drop"}, 2, 100, []uint64{30, 28}, 28},
		{"a time range", 0, AuditFilter{From: 10e9, To: 13e9}, 10, 100, []uint64{12, 11, 10}, 0},
		{"bounded scan", 0, AuditFilter{Actor: "nobody"}, 10, 5, nil, 26},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.before
			if b > 0 {
				b += base
			}
			var es []AuditEntry
			var next uint64
			if err := s.View(func(r *Reader) (err error) { es, next, err = AuditSearch(r, b, tt.f, tt.limit, tt.maxScan); return err }); err != nil {
				t.Fatal(err)
			}
			if next > 0 {
				next -= base
			}
			if got := seqs(es); fmt.Sprint(got) != fmt.Sprint(tt.want) || next != tt.next {
				t.Errorf("got %v next %d, want %v next %d", got, next, tt.want, tt.next)
			}
		})
	}
}
