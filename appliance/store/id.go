package store

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"strings"
	"sync"
	"time"
)

var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// lastID is the newest ID this process made, so that IDs made in the same
// millisecond still sort in the order they were made.
var lastID struct {
	sync.Mutex
	ms, low uint64
}

// NewID returns a new record ID: 48 bits of milliseconds then 32 random bits,
// in lower-case Crockford base32, so IDs sort by creation time. Within one
// millisecond the process's IDs strictly increase: the low bits step up from
// the previous ID by a random amount, so readers that page or replay "after
// ID x" (the in-page notification stream) neither skip nor repeat one.
// Issuers call it and put the ID in the command; handlers never do.
func NewID(now time.Time) string {
	var b [10]byte
	ms := uint64(now.UnixMilli()) & (1<<48 - 1)
	_, _ = rand.Read(b[6:])
	low := uint64(binary.BigEndian.Uint32(b[6:]))
	lastID.Lock()
	if ms == lastID.ms {
		step := 1 + low&0xFFFF
		if lastID.low+step <= 0xFFFFFFFF {
			low = lastID.low + step
		} else if lastID.low < 0xFFFFFFFF {
			low = lastID.low + 1
		} // else: 2^32 IDs in one millisecond cannot happen; stay random
	}
	lastID.ms, lastID.low = ms, low
	lastID.Unlock()
	binary.BigEndian.PutUint64(b[:8], ms<<16|low>>16)
	binary.BigEndian.PutUint16(b[8:], uint16(low))
	return idEncoding.EncodeToString(b[:])
}

// ValidID reports whether s looks like an ID made by NewID. Handlers check IDs
// that arrive in commands, so a key can never be built from arbitrary bytes.
func ValidID(s string) bool {
	if len(s) != 16 {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdefghjkmnpqrstvwxyz", c) {
			return false
		}
	}
	return true
}
