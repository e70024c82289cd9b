package store

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestReplaceFromLoadsInPieces: a state loaded a few frames at a time (a
// piece of 4 KB here, 16 MB in use) is the whole state, values over the
// value-log threshold included, with the same audit head.
func TestReplaceFromLoadsInPieces(t *testing.T) {
	defer func(p int64) { loadPiece = p }(loadPiece)
	loadPiece = 4 << 10
	src := openTest(t, t.TempDir())
	defer src.Close()
	for i := range 300 {
		text := fmt.Sprintf("n%d", i)
		if i%3 == 0 {
			text = strings.Repeat("v", 2<<10) + text // to the value log
		}
		if _, _, err := src.ApplyReplicated(uint64(i+1), encodedNote(t, fmt.Sprint(i), text)); err != nil {
			t.Fatal(err)
		}
	}
	var snap bytes.Buffer
	if _, err := src.WriteSnapshot(context.Background(), &snap); err != nil {
		t.Fatal(err)
	}
	if snap.Len() < 20*int(loadPiece) {
		t.Fatalf("a snapshot of %d bytes is too small to test pieces of %d", snap.Len(), loadPiece)
	}
	dst := openTest(t, t.TempDir())
	defer dst.Close()
	if err := dst.ReplaceFrom(&snap); err != nil {
		t.Fatal(err)
	}
	ws, wh := head(t, src)
	gs, gh := head(t, dst)
	if gs != ws || !bytes.Equal(gh, wh) {
		t.Fatalf("audit head %d %x, want %d %x", gs, gh, ws, wh)
	}
	for _, i := range []int{0, 1, 150, 299} {
		if got, err := noteNow(t, dst, fmt.Sprint(i)); err != nil || !strings.HasSuffix(got, fmt.Sprintf("n%d", i)) {
			t.Fatalf("note %d: %.12q… %v", i, got, err)
		}
	}
	if idx, _ := dst.AppliedIndex(); idx != 300 {
		t.Fatalf("applied index %d, want 300", idx)
	}
}

// TestReplaceFromRefusesATruncatedFrame: a stream cut inside a frame is an
// error, never a state taken for whole.
func TestReplaceFromRefusesATruncatedFrame(t *testing.T) {
	src := openTest(t, t.TempDir())
	defer src.Close()
	if _, _, err := src.ApplyReplicated(1, encodedNote(t, "a", "b")); err != nil {
		t.Fatal(err)
	}
	var snap bytes.Buffer
	if _, err := src.WriteSnapshot(context.Background(), &snap); err != nil {
		t.Fatal(err)
	}
	dst := openTest(t, t.TempDir())
	defer dst.Close()
	if err := dst.ReplaceFrom(bytes.NewReader(snap.Bytes()[:snap.Len()-3])); err == nil {
		t.Fatal("a truncated snapshot was loaded")
	}
}
