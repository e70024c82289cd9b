package backup

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadHeader: the header parser takes outside bytes (a file on a USB
// drive); it must never panic or allocate beyond its bound.
func FuzzReadHeader(f *testing.F) {
	hb, _ := encodeHeader(Header{Format: 1, ID: "x", Kind: Full, Schema: 2, Key: WrappedKey{Sealed: []byte{1}}})
	f.Add(hb)
	f.Add([]byte(magic + "\x00\x00\x00\x02{}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := ReadHeader(bytes.NewReader(b))
		if err == nil && (n > int64(len(b)) || h.check() != nil) {
			t.Fatalf("accepted %q as %+v", b, h)
		}
		if err != nil {
			return
		}
		// A header that parses: the rest of the file must not panic either.
		p := filepath.Join(t.TempDir(), "f.ghb")
		if os.WriteFile(p, b, 0o600) == nil {
			_, _ = Open(p, ReadOptions{})
		}
	})
}
