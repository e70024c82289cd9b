package store

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func encodedNote(t *testing.T, id, text string) []byte {
	t.Helper()
	cmd, err := NewCommand("note.put", "tester", 1, note{ID: id, Text: text})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := cmd.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func head(t *testing.T, s *Store) (uint64, []byte) {
	t.Helper()
	var seq uint64
	var h []byte
	if err := s.View(func(r *Reader) error {
		if _, err := VerifyAudit(r); err != nil {
			return err
		}
		var err error
		seq, h, err = AuditHead(r)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return seq, h
}

func TestApplyReplicatedAppliesEachIndexOnce(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	for i, text := range []string{"one", "two"} {
		if _, skipped, err := s.ApplyReplicated(uint64(i+1), encodedNote(t, text, text)); err != nil || skipped {
			t.Fatalf("apply %d: skipped=%v err=%v", i+1, skipped, err)
		}
	}
	// Raft replays entry 2 after a restart: it is in the state already.
	if _, skipped, err := s.ApplyReplicated(2, encodedNote(t, "two", "two")); err != nil || !skipped {
		t.Fatalf("replay of 2: skipped=%v err=%v", skipped, err)
	}
	// A refused command is refused, writes nothing, and is refused again.
	for range 2 {
		if _, _, err := s.ApplyReplicated(3, encodedNote(t, "x", "")); !errors.Is(err, errEmpty) {
			t.Fatalf("refused command: %v", err)
		}
	}
	if idx, err := s.AppliedIndex(); err != nil || idx != 2 {
		t.Fatalf("applied index = %d, %v; want 2", idx, err)
	}
	if seq, _ := head(t, s); seq != 2 {
		t.Fatalf("audit head at %d, want 2", seq)
	}
}

func TestReplicatedStoreRefusesLocalWrites(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	s.SetReplicator(refuser{})
	if _, err := put(t, s, "a", "hello"); !errors.Is(err, errRefused) {
		t.Fatalf("a local Apply bypassed the replicator: %v", err)
	}
	if seq, _ := head(t, s); seq != 0 {
		t.Fatal("something was written")
	}
}

var errRefused = errors.New("refused by the test replicator")

type refuser struct{}

func (refuser) Apply(context.Context, Command) (Result, error) { return Result{}, errRefused }

func TestReplaceFromTakesTheWholeStateAndKeepsTheDirectory(t *testing.T) {
	src := openTest(t, t.TempDir())
	defer src.Close()
	for i, text := range []string{"a", "b", "c"} {
		if _, _, err := src.ApplyReplicated(uint64(10+i), encodedNote(t, text, text)); err != nil {
			t.Fatal(err)
		}
	}
	var snap bytes.Buffer
	if _, err := src.WriteSnapshot(context.Background(), &snap); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	dst := openTest(t, dir)
	defer dst.Close()
	if _, err := put(t, dst, "old", "to be replaced"); err != nil {
		t.Fatal(err)
	}
	// The data directory holds more than Badger's files.
	keyFile := filepath.Join(dir, "site.key")
	if err := os.WriteFile(keyFile, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := dst.ReplaceFrom(&snap); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(keyFile); err != nil || string(b) != "secret" {
		t.Fatalf("the site key did not survive: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(dir, replacingMarker)); !os.IsNotExist(err) {
		t.Fatal("the marker stayed after a finished replacement")
	}
	ws, wh := head(t, src)
	gs, gh := head(t, dst)
	if gs != ws || !bytes.Equal(gh, wh) {
		t.Fatalf("audit head %d %x, want %d %x", gs, gh, ws, wh)
	}
	if idx, _ := dst.AppliedIndex(); idx != 12 {
		t.Fatalf("applied index %d, want 12", idx)
	}
	var old bool
	_ = dst.View(func(r *Reader) error {
		_, err := r.Get(Key(KindFloor, "old"))
		old = err == nil
		return nil
	})
	if old {
		t.Fatal("the replaced state kept a record of the old one")
	}
}

func TestAHalfReplacedStateIsClearedAtOpen(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	if _, _, err := s.ApplyReplicated(5, encodedNote(t, "a", "a")); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	// As if the power went while ReplaceFrom loaded a new state.
	if err := os.WriteFile(filepath.Join(dir, replacingMarker), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, dir)
	defer s.Close()
	if idx, _ := s.AppliedIndex(); idx != 0 {
		t.Fatalf("applied index %d after a half replacement: the node would trust a partial state", idx)
	}
	if seq, _ := head(t, s); seq != 0 {
		t.Fatalf("audit head at %d: the half-loaded state was kept", seq)
	}
}
