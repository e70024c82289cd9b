package ui

import (
	"crypto/rand"
	"encoding/base64"
	"sync"
	"time"
)

// Sessions live in memory: a restart signs everyone out, which a lobby
// accepts, and nothing about a session is worth an fsync per request. A
// session dies after an idle timeout, after a maximum age, when its account
// is disabled, or when the account's password changes after it was made.
type session struct {
	id        string
	accountID string
	created   time.Time
	lastSeen  time.Time
}

type sessionStore struct {
	mu      sync.Mutex
	byID    map[string]*session
	idle    time.Duration
	maxAge  time.Duration
	maxSize int
}

func newSessionStore(idle, maxAge time.Duration) *sessionStore {
	return &sessionStore{byID: map[string]*session{}, idle: idle, maxAge: maxAge, maxSize: 10000}
}

// setLimits changes the timeouts; sessions already open are measured
// against the new ones from their next request on.
func (s *sessionStore) setLimits(idle, maxAge time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.idle, s.maxAge = idle, maxAge
}

func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *sessionStore) create(accountID string, now time.Time) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.byID) >= s.maxSize {
		s.evictLocked(now, true)
	}
	ss := &session{id: newToken(), accountID: accountID, created: now, lastSeen: now}
	s.byID[ss.id] = ss
	return ss
}

// get returns the live session with id and marks it used.
func (s *sessionStore) get(id string, now time.Time) (*session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.byID[id]
	if !ok {
		return nil, false
	}
	if now.Sub(ss.lastSeen) > s.idle || now.Sub(ss.created) > s.maxAge {
		delete(s.byID, id)
		return nil, false
	}
	ss.lastSeen = now
	cp := *ss
	return &cp, true
}

func (s *sessionStore) delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, id)
}

// sweep drops expired sessions; with force, also the least recently used
// tenth when the store is full.
func (s *sessionStore) sweep(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.evictLocked(now, false)
}

func (s *sessionStore) evictLocked(now time.Time, force bool) {
	for id, ss := range s.byID {
		if now.Sub(ss.lastSeen) > s.idle || now.Sub(ss.created) > s.maxAge {
			delete(s.byID, id)
		}
	}
	if force && len(s.byID) >= s.maxSize {
		cutoff := now
		n := 0
		for _, ss := range s.byID {
			if ss.lastSeen.Before(cutoff) {
				cutoff = ss.lastSeen
			}
		}
		for id, ss := range s.byID {
			if !ss.lastSeen.After(cutoff) || n < s.maxSize/10 {
				delete(s.byID, id)
				n++
			}
		}
	}
}
