package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// FuzzCheckSnapshot: whatever arrives as a snapshot, CheckSnapshot says
// ErrBadSnapshot or accepts it; it never panics nor allocates a frame
// larger than the bound.
func FuzzCheckSnapshot(f *testing.F) {
	frame := func(b []byte) []byte {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(b)))
		return append(n[:], b...)
	}
	f.Add([]byte{})
	f.Add(frame([]byte{0x0a, 0x04, 0x0a, 0x02, 0x01, 0x02}))
	f.Add(frame(bytes.Repeat([]byte{0xff}, 20)))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f})
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := CheckSnapshot(bytes.NewReader(b)); err != nil && !errors.Is(err, ErrBadSnapshot) {
			t.Fatalf("an error that is not ErrBadSnapshot: %v", err)
		}
	})
}
