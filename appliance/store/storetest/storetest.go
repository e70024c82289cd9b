// Package storetest has helpers for tests that damage a store's files on
// purpose (corruption tests in store, ui and the shell).
package storetest

import (
	"math"
	"os"
	"path/filepath"
	"testing"
)

// Middle, as an offset to Flip, is the middle of the file.
const Middle int64 = math.MinInt64

// Flip inverts one byte of the largest file in dir matching pattern, at
// offset (from the start; negative: from the end; Middle: its middle), and
// returns the file's base name.
func Flip(t testing.TB, dir, pattern string, offset int64) string {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(dir, pattern))
	var name string
	var size int64
	for _, n := range names {
		if st, err := os.Stat(n); err == nil && (name == "" || st.Size() > size) {
			name, size = n, st.Size()
		}
	}
	if name == "" {
		t.Fatalf("no %s in %s", pattern, dir)
	}
	switch {
	case offset == Middle:
		offset = size / 2
	case offset < 0:
		offset += size
	}
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, offset); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xFF
	if _, err := f.WriteAt(b, offset); err != nil {
		t.Fatal(err)
	}
	return filepath.Base(name)
}
