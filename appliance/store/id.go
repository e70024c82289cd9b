package store

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"strings"
	"time"
)

var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// NewID returns a new record ID: 48 bits of milliseconds then 32 random bits,
// in lower-case Crockford base32, so IDs sort by creation time. Issuers call
// it and put the ID in the command; handlers never do.
func NewID(now time.Time) string {
	var b [10]byte
	ms := uint64(now.UnixMilli())
	binary.BigEndian.PutUint64(b[:8], ms<<16)
	_, _ = rand.Read(b[6:])
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
