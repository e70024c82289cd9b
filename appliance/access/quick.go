package access

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"gatehouse/appliance/secret"
	"gatehouse/appliance/store"
)

// An employee's quick pass is a QR that changes every 30 seconds, so a
// screenshot cannot be lent for long: "GQ1.<credential id>.<code>", where
// code is the RFC 6238 TOTP (HMAC-SHA1, 30 s steps, 8 digits) of the
// credential's secret. The gate accepts the current step and the one
// before (a phone's clock a little behind, a slow scan). The secret is
// sealed with the site key in the credential; it never leaves the
// appliance except as codes.
const (
	quickPrefix = "GQ1."
	quickStep   = 30 * time.Second
	quickDigits = 8
)

// ErrQuickBad is a quick pass that does not verify.
var ErrQuickBad = errors.New("access: quick pass code does not match")

func totp(secret []byte, step int64) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(step))
	m := hmac.New(sha1.New, secret)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	n := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%0*d", quickDigits, n%100000000)
}

// QuickCode is the code of the step containing t.
func QuickCode(secretRaw []byte, t time.Time) string {
	return totp(secretRaw, t.Unix()/int64(quickStep/time.Second))
}

// QuickText is what the employee's phone shows as a QR at t.
func QuickText(credID string, secretRaw []byte, t time.Time) string {
	return quickPrefix + credID + "." + QuickCode(secretRaw, t)
}

// checkQuick verifies a quick-pass code against the current and previous step.
func checkQuick(secretRaw []byte, code string, now time.Time) bool {
	step := now.Unix() / int64(quickStep/time.Second)
	for _, s := range []int64{step, step - 1} {
		if hmac.Equal([]byte(totp(secretRaw, s)), []byte(code)) {
			return true
		}
	}
	return false
}

// parseQuick splits "GQ1.<id>.<code>".
func parseQuick(v string) (id, code string, ok bool) {
	rest, found := strings.CutPrefix(v, quickPrefix)
	if !found {
		return "", "", false
	}
	id, code, ok = strings.Cut(rest, ".")
	return id, code, ok && store.ValidID(id) && len(code) == quickDigits
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// IssueQuickPass gives an employee a quick pass with the rights of their
// card (groups, profile), or replaces the secret of the one they have.
func (s *Service) IssueQuickPass(ctx context.Context, actor string, keys *secret.Keys, from Credential) (Credential, error) {
	raw := make([]byte, 20)
	if _, err := rand.Read(raw); err != nil {
		return Credential{}, err
	}
	sealed, err := keys.Seal(b32.EncodeToString(raw))
	if err != nil {
		return Credential{}, err
	}
	q := from
	q.ID, q.Kind, q.Number, q.Secret, q.State, q.Replaces = "", Quick, "", sealed, Active, ""
	return s.Enrol(ctx, actor, q)
}

// QuickSecret opens a quick pass's secret, for the employee's page.
func QuickSecret(keys *secret.Keys, c Credential) ([]byte, error) {
	if c.Kind != Quick {
		return nil, ErrNotFound
	}
	txt, err := keys.Open(c.Secret)
	if err != nil {
		return nil, err
	}
	return b32.DecodeString(txt)
}

// QuickPassOf finds the active quick pass of a directory person.
func (s *Service) QuickPassOf(personID string) (Credential, error) {
	var found Credential
	err := s.db.View(func(r *store.Reader) error {
		return r.Scan(store.Prefix(store.KindCredByHolder, personID), store.ScanOptions{KeysOnly: true}, func(k, _ []byte) (bool, error) {
			c, err := getJSON[Credential](r, store.Key(store.KindCred, string(k[len(k)-16:])))
			if err != nil {
				return true, nil
			}
			if c.Kind == Quick && c.State == Active {
				found = c
				return false, nil
			}
			return true, nil
		})
	})
	if err == nil && found.ID == "" {
		err = ErrNotFound
	}
	return found, err
}
