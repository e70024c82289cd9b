package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

type note struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

var errEmpty = errors.New("empty note")

func openTest(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	s.Register("note.put", func(tx *Tx, cmd Command) (Effect, error) {
		var n note
		if err := json.Unmarshal(cmd.Payload, &n); err != nil {
			return Effect{}, err
		}
		if n.Text == "" {
			return Effect{}, errEmpty
		}
		// Index written in the same transaction as the record.
		if err := tx.SetJSON(Key(KindFloor, n.ID), n); err != nil {
			return Effect{}, err
		}
		return Effect{Subject: "note:" + n.ID}, tx.Set(Key(KindCompanyByName, n.Text, n.ID), nil)
	})
	return s
}

func put(t *testing.T, s *Store, id, text string) (Result, error) {
	t.Helper()
	cmd, err := NewCommand("note.put", "tester", 1, note{ID: id, Text: text})
	if err != nil {
		t.Fatal(err)
	}
	return s.Apply(context.Background(), cmd)
}

func TestApplyWritesRecordIndexAndAudit(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	res, err := put(t, s, "a", "hello")
	if err != nil {
		t.Fatal(err)
	}
	if res.Seq != 1 || res.Subject != "note:a" {
		t.Fatalf("result = %+v", res)
	}
	err = s.View(func(r *Reader) error {
		var n note
		if err := r.GetJSON(Key(KindFloor, "a"), &n); err != nil {
			return err
		}
		if ok, _ := r.Has(Key(KindCompanyByName, "hello", "a")); !ok {
			t.Error("index entry missing")
		}
		es, err := AuditPage(r, 0, 10)
		if err != nil {
			return err
		}
		if len(es) != 1 || es[0].Actor != "tester" || es[0].Type != "note.put" {
			t.Errorf("audit = %+v", es)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRefusedCommandWritesNothing(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	if _, err := put(t, s, "a", ""); !errors.Is(err, errEmpty) {
		t.Fatalf("err = %v, want errEmpty", err)
	}
	_, err := s.Apply(context.Background(), Command{Type: "nope"})
	if !errors.Is(err, ErrUnknownCommand) {
		t.Fatalf("err = %v, want ErrUnknownCommand", err)
	}
	_ = s.View(func(r *Reader) error {
		if _, err := r.Get(Key(KindFloor, "a")); !errors.Is(err, ErrNotFound) {
			t.Errorf("get after refused command: %v", err)
		}
		if n, err := VerifyAudit(r); n != 0 || err != nil {
			t.Errorf("audit after refused command: %d, %v", n, err)
		}
		return nil
	})
}

func TestAcknowledgedSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	for _, id := range []string{"a", "b", "c"} {
		if _, err := put(t, s, id, "x"+id); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, dir)
	defer s.Close()
	_ = s.View(func(r *Reader) error {
		n, err := VerifyAudit(r)
		if n != 3 || err != nil {
			t.Errorf("verify = %d, %v; want 3, nil", n, err)
		}
		return nil
	})
}

func TestNewerSchemaRefused(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	db := s.db
	_ = db.Update(func(txn *badger.Txn) error {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], SchemaVersion+1)
		return txn.Set(schemaKey, b[:])
	})
	s.Close()
	if _, err := Open(Options{Dir: dir}); !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("err = %v, want ErrNewerSchema", err)
	}
}

// TestAuditTamperDetected rewrites stored entries behind the store's back and
// checks that VerifyAudit names the first broken one.
func TestAuditTamperDetected(t *testing.T) {
	tamper := []struct {
		name    string
		edit    func(txn *badger.Txn) error
		wantSeq uint64
	}{
		{"actor rewritten", func(txn *badger.Txn) error {
			return rewrite(txn, 3, func(e *AuditEntry) { e.Actor = "someone-else" })
		}, 3},
		{"rewritten with fresh hash", func(txn *badger.Txn) error {
			return rewrite(txn, 2, func(e *AuditEntry) { e.Type = "note.other"; e.Hash = e.hash() })
		}, 3},
		{"entry deleted", func(txn *badger.Txn) error { return txn.Delete(auditKey(4)) }, 4},
		{"tail truncated", func(txn *badger.Txn) error { return txn.Delete(auditKey(5)) }, 5},
	}
	for _, tc := range tamper {
		t.Run(tc.name, func(t *testing.T) {
			s := openTest(t, t.TempDir())
			defer s.Close()
			for _, id := range []string{"a", "b", "c", "d", "e"} {
				if _, err := put(t, s, id, "t"); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.db.Update(tc.edit); err != nil {
				t.Fatal(err)
			}
			_ = s.View(func(r *Reader) error {
				_, err := VerifyAudit(r)
				var bl *BrokenLinkError
				if !errors.As(err, &bl) || !errors.Is(err, ErrAuditBroken) {
					t.Fatalf("verify = %v, want a broken link", err)
				}
				if bl.Seq != tc.wantSeq {
					t.Errorf("broken at %d (%s), want %d", bl.Seq, bl.Reason, tc.wantSeq)
				}
				return nil
			})
		})
	}
}

func rewrite(txn *badger.Txn, seq uint64, f func(*AuditEntry)) error {
	it, err := txn.Get(auditKey(seq))
	if err != nil {
		return err
	}
	var e AuditEntry
	if err := it.Value(func(v []byte) error { return json.Unmarshal(v, &e) }); err != nil {
		return err
	}
	f(&e)
	b, _ := json.Marshal(e)
	return txn.Set(auditKey(seq), b)
}

func TestDecodeCommandRejectsGarbage(t *testing.T) {
	for _, in := range []string{"", "{", `{"type":""}`, `[]`} {
		if _, err := DecodeCommand([]byte(in)); err == nil {
			t.Errorf("DecodeCommand(%q) accepted", in)
		}
	}
}

func FuzzDecodeCommand(f *testing.F) {
	f.Add([]byte(`{"type":"x","actor":"a","time":1,"payload":{}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeCommand(b)
		if err != nil {
			return
		}
		enc, err := c.Encode()
		if err != nil {
			t.Fatal(err)
		}
		c2, err := DecodeCommand(enc)
		if err != nil || c2.Type != c.Type || c2.Time != c.Time {
			t.Fatalf("round trip: %v %+v %+v", err, c, c2)
		}
	})
}

func TestNewIDSortsAndValidates(t *testing.T) {
	a := NewID(timeAt(1000))
	b := NewID(timeAt(2000))
	if !(a < b) || !ValidID(a) || !ValidID(b) {
		t.Fatalf("ids %q %q", a, b)
	}
	for _, bad := range []string{"", "short", "0123456789abcdeI", "../../etc/passwd0"} {
		if ValidID(bad) {
			t.Errorf("ValidID(%q) = true", bad)
		}
	}
}

func TestTypesListsTheRegisteredCommandTypes(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	s.Register("a.first", func(*Tx, Command) (Effect, error) { return Effect{}, nil })
	got := s.Types()
	// The store's own migration entries are on the trail too.
	if len(got) != 3 || got[0] != "a.first" || got[1] != "note.put" || got[2] != MigrateType {
		t.Fatalf("Types() = %v, want [a.first note.put %s]", got, MigrateType)
	}
}
