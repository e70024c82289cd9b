// Package pass makes and checks QR passes: compact tokens signed with the
// site's Ed25519 key, so any lobby of the site verifies them offline.
//
// A token is "GH1." followed by base64url (no padding) of
//
//	version(1) keyID(4) passID(10) visitID(10) notBefore(4) notAfter(4) signature(64)
//
// — 97 bytes, 134 characters. Decoding is strict (no stray trailing bits),
// so a token has exactly one spelling and a replay cannot hide behind another. IDs are the
// 80-bit store IDs; times are seconds since 2024-01-01 UTC. The key ID (the
// first bytes of SHA-256 of the public key) tells a token signed by another
// key ("forged") from one whose bytes were changed after signing
// ("altered"). Verify checks only the token itself; whether its visit is
// still good (revoked) or the pass is being used a second time (replayed)
// is local state, checked by Check with the caller's lookup.
package pass

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"time"
)

// Reason says why a pass is refused.
type Reason string

// Reasons, stable codes shown to guards and stored with gate events.
const (
	Malformed   Reason = "pass_malformed"
	Forged      Reason = "pass_forged"
	Altered     Reason = "pass_altered"
	NotYetValid Reason = "pass_not_yet_valid"
	Expired     Reason = "pass_expired"
	Revoked     Reason = "pass_revoked"
	Replayed    Reason = "pass_replayed"
)

// RejectError is a refused pass.
type RejectError struct{ Reason Reason }

func (e *RejectError) Error() string { return "pass refused: " + string(e.Reason) }

// ReasonOf returns the reason of a refusal, or "" for other errors.
func ReasonOf(err error) Reason {
	var re *RejectError
	if errors.As(err, &re) {
		return re.Reason
	}
	return ""
}

// Claims are what a pass says.
type Claims struct {
	PassID    string
	VisitID   string
	NotBefore time.Time
	NotAfter  time.Time
}

const (
	prefix  = "GH1."
	version = 1
	bodyLen = 1 + 4 + 10 + 10 + 4 + 4
	tokLen  = bodyLen + ed25519.SignatureSize
)

var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func keyID(pub ed25519.PublicKey) []byte {
	sum := sha256.Sum256(pub)
	return sum[:4]
}

func secs(t time.Time) (uint32, bool) {
	d := t.Sub(epoch) / time.Second
	if d < 0 || d > 1<<32-1 {
		return 0, false
	}
	return uint32(d), true
}

// ErrBadClaims means the claims cannot be put in a token.
var ErrBadClaims = errors.New("pass: IDs must be store IDs and the window must lie after 2024")

// Sign makes a token.
func Sign(key ed25519.PrivateKey, c Claims) (string, error) {
	pid, err1 := idBytes(c.PassID)
	vid, err2 := idBytes(c.VisitID)
	nb, ok1 := secs(c.NotBefore)
	na, ok2 := secs(c.NotAfter)
	if err1 != nil || err2 != nil || !ok1 || !ok2 || na < nb {
		return "", ErrBadClaims
	}
	b := make([]byte, 0, tokLen)
	b = append(b, version)
	b = append(b, keyID(key.Public().(ed25519.PublicKey))...)
	b = append(b, pid...)
	b = append(b, vid...)
	b = binary.BigEndian.AppendUint32(b, nb)
	b = binary.BigEndian.AppendUint32(b, na)
	b = append(b, ed25519.Sign(key, b)...)
	return prefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// Verify checks a token's signature and window and returns its claims.
func Verify(pub ed25519.PublicKey, token string, now time.Time) (Claims, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(token), prefix)
	if !ok || len(rest) != base64.RawURLEncoding.EncodedLen(tokLen) {
		return Claims{}, &RejectError{Malformed}
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(rest)
	if err != nil || len(b) != tokLen || b[0] != version {
		return Claims{}, &RejectError{Malformed}
	}
	if !bytes.Equal(b[1:5], keyID(pub)) {
		return Claims{}, &RejectError{Forged}
	}
	if !ed25519.Verify(pub, b[:bodyLen], b[bodyLen:]) {
		return Claims{}, &RejectError{Altered}
	}
	c := Claims{
		PassID:    idString(b[5:15]),
		VisitID:   idString(b[15:25]),
		NotBefore: epoch.Add(time.Duration(binary.BigEndian.Uint32(b[25:29])) * time.Second),
		NotAfter:  epoch.Add(time.Duration(binary.BigEndian.Uint32(b[29:33])) * time.Second),
	}
	if r := c.Window(now, Grace{}); r != "" {
		return c, &RejectError{r}
	}
	return c, nil
}

// Grace widens a pass's window at the gates: a visitor may come Early
// before it opens and pass until Late after it closes (a site setting,
// docs/decisions.md). The token itself keeps the visit's own window.
type Grace struct {
	Early, Late time.Duration
}

// Window says whether now lies in the pass's window widened by g: "",
// NotYetValid or Expired. The window is [NotBefore-Early, NotAfter+Late).
func (c Claims) Window(now time.Time, g Grace) Reason {
	switch {
	case now.Before(c.NotBefore.Add(-max(g.Early, 0))):
		return NotYetValid
	case !now.Before(c.NotAfter.Add(max(g.Late, 0))):
		return Expired
	}
	return ""
}

// State is what the lobby knows about a pass now.
type State struct {
	Known   bool // the pass was issued and not withdrawn
	Usable  bool // its visit is approved (or in/out) and not closed, rejected or cancelled
	Inside  bool // the holder is inside: a second entry is a replay
	Outside bool // the holder has not entered: an exit is a replay
}

// Check verifies a token and then its state from lookup, for entry (in =
// true) or exit.
func Check(pub ed25519.PublicKey, token string, now time.Time, in bool, lookup func(c Claims) (State, error)) (Claims, error) {
	c, err := Verify(pub, token, now)
	if err != nil {
		return c, err
	}
	st, err := lookup(c)
	if err != nil {
		return c, err
	}
	switch {
	case !st.Known || !st.Usable:
		return c, &RejectError{Revoked}
	case in && st.Inside, !in && st.Outside:
		return c, &RejectError{Replayed}
	}
	return c, nil
}
