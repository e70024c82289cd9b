// Package session keeps the staff's sign-in sessions on this appliance, so
// that a restart — an upgrade, a power cut, a kill -9 — does not send the
// guard station back to the sign-in page.
//
// Sessions belong to one appliance, not to the site: they are not store
// commands, so they are neither replicated through Raft, nor backed up, nor
// replaced by a snapshot restore (cluster/DESIGN.md, "Sessions are per
// node"). A guard signed in at the east lobby is signed in there only.
//
// What is kept is the SHA-256 of each session token, never the token: a copy
// of the data directory (or of a backup of it) signs nobody in.
//
// The file, sessions.log in the directory given to Open, is an append-only
// log of records
//
//	len (u32 BE) crc32c(body) (u32 BE) body
//	body = op (1 byte) sha256(token) (32 bytes) rest
//	  'C' created (i64 BE ns) last seen (i64 BE ns) account (u8 len, bytes) role (u8 len, bytes)
//	  'T' last seen (i64 BE ns)
//	  'D' (nothing): the session ended
//
// A sign-in and a sign-out are synced before they are answered: a sign-in
// acknowledged survives a power cut, and a sign-out is final. A request
// slides the idle timeout in memory at once, but the last-seen time reaches
// the file at most once per Coarse (a minute) per session, written and not
// synced — a kill -9 keeps it, a power cut may lose what the kernel had not
// written back. So a restart may shorten an idle window by up to a minute
// (a little more after a power cut), never lengthen it; the absolute
// timeout counts from the sign-in, which is always synced. Close writes
// every last-seen time and syncs.
//
// Open drops what has expired and rewrites the log with what is left; a
// torn last record (a power cut during a write) is cut off. The log is
// rewritten the same way when ended sessions outnumber live ones.
package session

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// FileName is the session log's name in its directory.
const FileName = "sessions.log"

// Coarse is how often, at most, a session's last-seen time is written.
const Coarse = time.Minute

// MaxSessions is how many sessions the store holds; past it the least
// recently used tenth ends.
const MaxSessions = 10000

// Errors.
var ErrClosed = errors.New("session: store closed")

// Session is one signed-in browser.
type Session struct {
	Account  string
	Role     string // the account's role at sign-in: a change of role ends the session
	Created  time.Time
	LastSeen time.Time
}

// Limits gives the idle and absolute timeouts in force; the store asks on
// every use, so a change of the site settings applies to open sessions.
type Limits func() (idle, maxAge time.Duration)

type entry struct {
	Session
	saved time.Time // the last-seen time the file holds
}

// Store is the sessions of one appliance.
type Store struct {
	mu      sync.Mutex
	dir     string
	f       *os.File // nil: in memory only (no directory)
	byHash  map[[32]byte]*entry
	limits  Limits
	records int // records in the file
	max     int
	closed  bool

	// Damaged is set when Open cut off a torn or corrupt tail.
	Damaged bool
}

// Open reads the sessions kept in dir (made if missing) and drops those
// expired at now. An empty dir keeps sessions in memory only.
func Open(dir string, limits Limits, now time.Time) (*Store, error) {
	s := &Store{dir: dir, byHash: map[[32]byte]*entry{}, limits: limits, max: MaxSessions}
	if dir == "" {
		return s, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("session: %w", err)
	}
	recs, used := Parse(b)
	s.Damaged = used < len(b)
	for _, r := range recs {
		switch r.Op {
		case OpCreate:
			s.byHash[r.Hash] = &entry{Session: r.Session, saved: r.Session.LastSeen}
		case OpTouch:
			if e, ok := s.byHash[r.Hash]; ok && r.Session.LastSeen.After(e.LastSeen) {
				e.LastSeen, e.saved = r.Session.LastSeen, r.Session.LastSeen
			}
		case OpDelete:
			delete(s.byHash, r.Hash)
		}
	}
	idle, maxAge := s.limits()
	for h, e := range s.byHash {
		if expired(e, now, idle, maxAge) {
			delete(s.byHash, h)
		}
	}
	if err := s.rewriteLocked(); err != nil {
		return nil, err
	}
	return s, nil
}

func expired(e *entry, now time.Time, idle, maxAge time.Duration) bool {
	return now.Sub(e.LastSeen) > idle || now.Sub(e.Created) > maxAge
}

// Hash is what the store keeps of a token.
func Hash(token string) [32]byte { return sha256.Sum256([]byte(token)) }

func newToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Create starts a session for account and returns its token, which only
// the browser keeps. It returns once the session is on disk.
func (s *Store) Create(account, role string, now time.Time) (string, Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", Session{}, ErrClosed
	}
	if len(s.byHash) >= s.max {
		s.evictLocked(now)
	}
	tok, err := newToken()
	if err != nil {
		return "", Session{}, fmt.Errorf("session: %w", err)
	}
	h := Hash(tok)
	ss := Session{Account: account, Role: role, Created: now, LastSeen: now}
	if err := s.appendLocked(true, Record{Op: OpCreate, Hash: h, Session: ss}); err != nil {
		return "", Session{}, err
	}
	s.byHash[h] = &entry{Session: ss, saved: now}
	return tok, ss, nil
}

// Get returns the live session of token and marks it used at now; an
// expired one ends.
func (s *Store) Get(token string, now time.Time) (Session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := Hash(token)
	e, ok := s.byHash[h]
	if !ok || s.closed {
		return Session{}, false
	}
	idle, maxAge := s.limits()
	if expired(e, now, idle, maxAge) {
		delete(s.byHash, h)
		// Not synced: an expired session found again after a crash is
		// still expired.
		_ = s.appendLocked(false, Record{Op: OpDelete, Hash: h})
		return Session{}, false
	}
	if now.After(e.LastSeen) {
		e.LastSeen = now
	}
	if e.LastSeen.Sub(e.saved) >= Coarse {
		// A failed write only shortens the idle window after a restart.
		if s.appendLocked(false, Record{Op: OpTouch, Hash: h, Session: Session{LastSeen: e.LastSeen}}) == nil {
			e.saved = e.LastSeen
		}
	}
	return e.Session, true
}

// Delete ends the session of token (signing out); it returns once that is
// on disk.
func (s *Store) Delete(token string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	h := Hash(token)
	if _, ok := s.byHash[h]; !ok {
		return nil
	}
	delete(s.byHash, h)
	return s.appendLocked(true, Record{Op: OpDelete, Hash: h})
}

// Len is the number of sessions held, expired ones not yet swept included.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byHash)
}

// Sweep ends the sessions expired at now and rewrites the log when it has
// grown well past what it holds.
func (s *Store) Sweep(now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	idle, maxAge := s.limits()
	for h, e := range s.byHash {
		if expired(e, now, idle, maxAge) {
			delete(s.byHash, h)
			if err := s.appendLocked(false, Record{Op: OpDelete, Hash: h}); err != nil {
				return err
			}
		}
	}
	if s.f != nil && s.records > 4*len(s.byHash)+256 {
		return s.rewriteLocked()
	}
	return nil
}

// evictLocked makes room when the store is full: expired sessions go,
// then the least recently used tenth.
func (s *Store) evictLocked(now time.Time) {
	idle, maxAge := s.limits()
	type seen struct {
		h [32]byte
		t time.Time
	}
	var all []seen
	for h, e := range s.byHash {
		if expired(e, now, idle, maxAge) {
			delete(s.byHash, h)
			_ = s.appendLocked(false, Record{Op: OpDelete, Hash: h})
			continue
		}
		all = append(all, seen{h, e.LastSeen})
	}
	if len(s.byHash) < s.max {
		return
	}
	slices.SortFunc(all, func(a, b seen) int { return a.t.Compare(b.t) })
	for _, x := range all[:max(1, s.max/10)] {
		delete(s.byHash, x.h)
		_ = s.appendLocked(false, Record{Op: OpDelete, Hash: x.h})
	}
}

// Close writes every session's last-seen time, syncs and closes the file.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.f == nil {
		return nil
	}
	var err error
	for h, e := range s.byHash {
		if e.LastSeen.After(e.saved) {
			if err = s.appendLocked(false, Record{Op: OpTouch, Hash: h, Session: Session{LastSeen: e.LastSeen}}); err != nil {
				break
			}
		}
	}
	if err == nil {
		err = s.f.Sync()
	}
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	s.f = nil
	return err
}

func (s *Store) appendLocked(sync bool, r Record) error {
	if s.f == nil {
		return nil
	}
	if _, err := s.f.Write(r.encode(nil)); err != nil {
		return fmt.Errorf("session: write: %w", err)
	}
	s.records++
	if sync {
		if err := s.f.Sync(); err != nil {
			return fmt.Errorf("session: sync: %w", err)
		}
	}
	return nil
}

// rewriteLocked writes the live sessions to a new log, syncs it and puts it
// in place of the old one, then appends to it.
func (s *Store) rewriteLocked() error {
	path := filepath.Join(s.dir, FileName)
	tmp := path + ".tmp"
	var buf []byte
	for h, e := range s.byHash {
		buf = Record{Op: OpCreate, Hash: h, Session: e.Session}.encode(buf)
		e.saved = e.LastSeen
	}
	if err := writeSynced(tmp, buf); err != nil {
		return err
	}
	if s.f != nil {
		s.f.Close()
		s.f = nil
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("session: %w", err)
	}
	if err := syncDir(s.dir); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("session: %w", err)
	}
	s.f, s.records = f, len(s.byHash)
	return nil
}

func writeSynced(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("session: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("session: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("session: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("session: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("session: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("session: sync %s: %w", dir, err)
	}
	return nil
}

// Record operations.
const (
	OpCreate byte = 'C'
	OpTouch  byte = 'T'
	OpDelete byte = 'D'
)

// Record is one entry of the log.
type Record struct {
	Op      byte
	Hash    [32]byte
	Session Session // OpCreate: all of it; OpTouch: LastSeen
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

const headerLen = 8

// maxBody bounds a record: op, hash, two times and two short strings.
const maxBody = 1 + 32 + 16 + 2*(1+255)

func (r Record) encode(dst []byte) []byte {
	body := make([]byte, 0, 64)
	body = append(body, r.Op)
	body = append(body, r.Hash[:]...)
	switch r.Op {
	case OpCreate:
		body = binary.BigEndian.AppendUint64(body, uint64(r.Session.Created.UnixNano()))
		body = binary.BigEndian.AppendUint64(body, uint64(r.Session.LastSeen.UnixNano()))
		body = appendShort(body, r.Session.Account)
		body = appendShort(body, r.Session.Role)
	case OpTouch:
		body = binary.BigEndian.AppendUint64(body, uint64(r.Session.LastSeen.UnixNano()))
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(body)))
	dst = binary.BigEndian.AppendUint32(dst, crc32.Checksum(body, castagnoli))
	return append(dst, body...)
}

func appendShort(b []byte, s string) []byte {
	if len(s) > 255 {
		s = s[:255]
	}
	return append(append(b, byte(len(s))), s...)
}

// Parse reads the records of a log, stopping at the first that is torn or
// does not check; used is how many bytes the good records take.
func Parse(b []byte) (recs []Record, used int) {
	for {
		rest := b[used:]
		if len(rest) < headerLen {
			return recs, used
		}
		n := binary.BigEndian.Uint32(rest)
		if n > maxBody || uint64(len(rest)-headerLen) < uint64(n) {
			return recs, used
		}
		body := rest[headerLen : headerLen+int(n)]
		if crc32.Checksum(body, castagnoli) != binary.BigEndian.Uint32(rest[4:]) {
			return recs, used
		}
		r, ok := decode(body)
		if !ok {
			return recs, used
		}
		recs = append(recs, r)
		used += headerLen + int(n)
	}
}

func decode(b []byte) (Record, bool) {
	if len(b) < 33 {
		return Record{}, false
	}
	r := Record{Op: b[0]}
	copy(r.Hash[:], b[1:33])
	b = b[33:]
	switch r.Op {
	case OpCreate:
		if len(b) < 16 {
			return Record{}, false
		}
		r.Session.Created = time.Unix(0, int64(binary.BigEndian.Uint64(b)))
		r.Session.LastSeen = time.Unix(0, int64(binary.BigEndian.Uint64(b[8:])))
		b = b[16:]
		var ok bool
		if r.Session.Account, b, ok = short(b); !ok {
			return Record{}, false
		}
		if r.Session.Role, b, ok = short(b); !ok {
			return Record{}, false
		}
	case OpTouch:
		if len(b) < 8 {
			return Record{}, false
		}
		r.Session.LastSeen = time.Unix(0, int64(binary.BigEndian.Uint64(b)))
		b = b[8:]
	case OpDelete:
	default:
		return Record{}, false
	}
	return r, len(b) == 0
}

func short(b []byte) (string, []byte, bool) {
	if len(b) < 1 || len(b) < 1+int(b[0]) {
		return "", nil, false
	}
	n := int(b[0])
	return string(b[1 : 1+n]), b[1+n:], true
}
