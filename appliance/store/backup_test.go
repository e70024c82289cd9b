package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func openNotes(t *testing.T, dir string) *Store {
	t.Helper()
	s := openTest(t, dir)
	s.Register("note.del", func(tx *Tx, cmd Command) (Effect, error) {
		var n note
		if err := json.Unmarshal(cmd.Payload, &n); err != nil {
			return Effect{}, err
		}
		return Effect{Subject: "note:" + n.ID}, tx.Delete(Key(KindFloor, n.ID))
	})
	return s
}

func del(t *testing.T, s *Store, id string) {
	t.Helper()
	cmd, _ := NewCommand("note.del", "tester", 1, note{ID: id})
	if _, err := s.Apply(context.Background(), cmd); err != nil {
		t.Fatal(err)
	}
}

func notes(t *testing.T, s *Store) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := s.View(func(r *Reader) error {
		return r.Scan([]byte{byte(KindFloor)}, ScanOptions{}, func(k, v []byte) (bool, error) {
			var n note
			if err := json.Unmarshal(v, &n); err != nil {
				return false, err
			}
			out[n.ID] = n.Text
			return true, nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A full backup and an increment restore to the same records and audit
// head, deletions included, even after Badger has compacted the
// tombstones away (which Badger's own incremental backup would miss).
func TestBackupFullIncrementRestore(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	s := openNotes(t, src)
	defer func() { s.Close() }()
	for _, id := range []string{"a", "b", "c"} {
		if _, err := put(t, s, id, "x"+id); err != nil {
			t.Fatal(err)
		}
	}
	var full bytes.Buffer
	fi, err := s.WriteBackup(ctx, &full, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Keys == 0 || fi.Until == 0 || fi.AuditSeq != 3 {
		t.Fatalf("full backup info %+v", fi)
	}
	del(t, s, "a")
	if _, err := put(t, s, "b", "changed"); err != nil {
		t.Fatal(err)
	}
	if _, err := put(t, s, "d", "xd"); err != nil {
		t.Fatal(err)
	}
	// Flush the memtable (close, open) and push everything to the last
	// level: the tombstone of "a" goes.
	s.Close()
	s = openNotes(t, src)
	if err := s.db.Flatten(1); err != nil {
		t.Fatal(err)
	}
	var inc bytes.Buffer
	ii, err := s.WriteBackup(ctx, &inc, fi.Until+1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ii.Until <= fi.Until || ii.AuditSeq != 6 || inc.Len() >= full.Len()*2 {
		t.Fatalf("increment info %+v (%d bytes, full %d)", ii, inc.Len(), full.Len())
	}
	var none bytes.Buffer
	ni, err := s.WriteBackup(ctx, &none, ii.Until+1, nil)
	if err != nil || ni.Until != ii.Until || ni.Keys != 0 {
		t.Fatalf("empty increment %+v, %v", ni, err)
	}

	dir := filepath.Join(t.TempDir(), "restored")
	l, err := NewLoader(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []*bytes.Buffer{&full, &inc, &none} {
		if err := l.Load(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	r := openNotes(t, dir)
	defer r.Close()
	want := map[string]string{"b": "changed", "c": "xc", "d": "xd"}
	if got := notes(t, r); len(got) != len(want) || got["b"] != "changed" || got["d"] != "xd" || got["a"] != "" {
		t.Fatalf("restored %v, want %v", got, want)
	}
	err = r.View(func(rd *Reader) error {
		n, err := VerifyAudit(rd)
		if err != nil || n != 6 {
			t.Errorf("restored audit: %d, %v", n, err)
		}
		seq, hash, err := AuditHead(rd)
		if err != nil || seq != ii.AuditSeq || !bytes.Equal(hash, ii.AuditHash) {
			t.Errorf("restored head %d %x, backup says %d %x", seq, hash, ii.AuditSeq, ii.AuditHash)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The restored store goes on from where the backup ended.
	if res, err := put(t, r, "e", "xe"); err != nil || res.Seq != 7 {
		t.Fatalf("apply after restore: %+v %v", res, err)
	}

	// Once a full backup covers them, the graveyard forgets deletions, and
	// an increment against an older backup is refused.
	n, err := s.PruneGraveyard(ctx, ii.Until)
	if err != nil || n != 1 {
		t.Fatalf("prune: %d %v", n, err)
	}
	if _, err := s.WriteBackup(ctx, &bytes.Buffer{}, fi.Until+1, nil); !errors.Is(err, ErrBaseTooOld) {
		t.Fatalf("increment against a pruned base: %v", err)
	}
	if _, err := s.WriteBackup(ctx, &bytes.Buffer{}, ii.Until+1, nil); err != nil {
		t.Fatalf("increment against the newest: %v", err)
	}
}

func TestLoaderRefusesNonEmptyDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewLoader(dir); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("err = %v, want ErrNotEmpty", err)
	}
}

func TestBackupAfterCloseIsRefused(t *testing.T) {
	s := openNotes(t, t.TempDir())
	s.Close()
	if _, err := s.WriteBackup(context.Background(), &bytes.Buffer{}, 0, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("err = %v", err)
	}
}
