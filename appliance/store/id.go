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

// NewID returns a new record ID: 48 bits of milliseconds then 32 bits, in
// lower-case Crockford base32, so IDs sort by creation time. Issuers call
// it and put the ID in the command; handlers never do.
//
// The 32 bits are random for the first ID of a millisecond and one more for
// every further ID this process draws in that millisecond (as ULID's
// monotonic mode does), so IDs drawn in one millisecond sort in the order
// they were drawn — listings newest-first by ID rely on it — and never
// repeat within the process. The first value has its top bit clear, which
// leaves room for 2³¹ more in the same millisecond.
func NewID(now time.Time) string {
	ms := uint64(now.UnixMilli())
	var b [10]byte
	binary.BigEndian.PutUint64(b[:8], ms<<16)
	binary.BigEndian.PutUint32(b[6:], drawn.next(ms))
	return idEncoding.EncodeToString(b[:])
}

// recentMillis is how many milliseconds the sequence remembers. One process
// draws in more than one "now" at a time: the machine's clock, and a clock
// that stands still (a test's fake clock, the demo writing its history). A
// millisecond in use stays remembered; one unused while recentMillis others
// were drawn in is forgotten, and an ID drawn in it again starts afresh
// (random), with no order against the earlier ones. The machine's clock
// never comes back to a millisecond that long gone.
const recentMillis = 64

// idSequence is the package's one piece of mutable state: the order of IDs
// must hold across every service of the process, and they share nothing
// else.
type idSequence struct {
	mu   sync.Mutex
	tick uint64 // draws so far: how recently each slot was used
	slot [recentMillis]struct {
		ms, used uint64 // used 0: empty
		last     uint32
	}
}

var drawn idSequence

// next returns the 32 bits for a new ID in millisecond ms.
func (s *idSequence) next(ms uint64) uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tick++
	oldest := 0
	for i := range s.slot {
		e := &s.slot[i]
		if e.used != 0 && e.ms == ms {
			e.last++ // 2³¹ draws in one millisecond before this could wrap
			e.used = s.tick
			return e.last
		}
		if e.used < s.slot[oldest].used {
			oldest = i
		}
	}
	var r [4]byte
	_, _ = rand.Read(r[:]) // never fails (crypto/rand since Go 1.24)
	e := &s.slot[oldest]
	e.ms, e.used, e.last = ms, s.tick, binary.BigEndian.Uint32(r[:])>>1
	return e.last
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
