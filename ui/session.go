package ui

import (
	"crypto/rand"
	"encoding/base64"
	"time"

	"gatehouse/appliance/auth"
	sessions "gatehouse/appliance/session"
)

// A session is kept by the appliance (appliance/session): it survives a
// restart, on this appliance only, and dies after the idle timeout, after
// the maximum age, when its account is disabled, when the account's
// password changes after it began, or when the account's role changes.
type session struct {
	id        string // the cookie's token: the store keeps only its hash
	accountID string
	role      auth.Role
	created   time.Time
}

// sessionStore is the server's view of the appliance's sessions.
type sessionStore struct{ st *sessions.Store }

func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// open starts a session for a; it returns once the session is on disk.
func (s sessionStore) open(a auth.Account, now time.Time) (*session, error) {
	tok, ss, err := s.st.Create(a.ID, string(a.Role), now)
	if err != nil {
		return nil, err
	}
	return &session{id: tok, accountID: a.ID, role: a.Role, created: ss.Created}, nil
}

// get returns the live session with id and marks it used.
func (s sessionStore) get(id string, now time.Time) (*session, bool) {
	ss, ok := s.st.Get(id, now)
	if !ok {
		return nil, false
	}
	return &session{id: id, accountID: ss.Account, role: auth.Role(ss.Role), created: ss.Created}, true
}

// delete ends a session; a failure to record it is the caller's error.
func (s sessionStore) delete(id string) error { return s.st.Delete(id) }

func (s sessionStore) sweep(now time.Time) error { return s.st.Sweep(now) }
