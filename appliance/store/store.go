// Package store is the one place that touches Badger.
//
// Every change of state is a Command applied through Store.Apply: the
// command's handler, its secondary indexes and its audit entry are written in
// one Badger transaction, and Apply returns once it is on disk, so that an
// acknowledged command survives kill -9 and power loss; concurrent commands
// share one fsync (group commit, durable.go). Reads go through Store.View, which
// hands out a read-only Reader. See DESIGN.md for the key layout and the
// memory options chosen for a 1 GB device.
package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Errors returned by the store. Handlers may return their own errors, which
// Apply passes through unchanged.
var (
	// ErrNotFound means the key (or record) does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrUnknownCommand means no handler is registered for a command type.
	ErrUnknownCommand = errors.New("store: unknown command type")
	// ErrNewerSchema means the data directory was written by a newer release.
	ErrNewerSchema = errors.New("store: data written by a newer schema version")
	// ErrClosed means the store has been closed.
	ErrClosed = errors.New("store: closed")
)

// Command is a typed, serialisable change of state. Whoever issues it stamps
// Time, Actor and any new IDs in Payload; handlers read no clock and draw no
// random numbers, so replaying the same commands reaches the same state.
type Command struct {
	Type    string          `json:"type"`
	Actor   string          `json:"actor"`
	Time    int64           `json:"time"` // Unix nanoseconds
	Payload json.RawMessage `json:"payload"`
	// Req is the request ID a cluster node stamps on a command it issues
	// (NewRequestID), so that the same bytes sent again after a lost answer
	// are applied once (request.go). Empty on a single appliance.
	Req string `json:"req,omitempty"`
}

// Encode returns the deterministic encoding of c, as sent through a Raft log.
func (c Command) Encode() ([]byte, error) { return json.Marshal(c) }

// DecodeCommand is the inverse of Command.Encode.
func DecodeCommand(b []byte) (Command, error) {
	var c Command
	if err := json.Unmarshal(b, &c); err != nil {
		return Command{}, fmt.Errorf("store: decode command: %w", err)
	}
	if c.Type == "" {
		return Command{}, errors.New("store: decode command: no type")
	}
	return c, nil
}

// NewCommand builds a command with payload encoded as JSON.
func NewCommand(typ, actor string, time int64, payload any) (Command, error) {
	p, err := json.Marshal(payload)
	if err != nil {
		return Command{}, fmt.Errorf("store: encode %s payload: %w", typ, err)
	}
	return Command{Type: typ, Actor: actor, Time: time, Payload: p}, nil
}

// Effect is what a handler reports about the change it made, for the audit
// trail: the record it touched and a short note ("locked", "3 rows").
// Neither may contain personal data such as phone or ID numbers.
type Effect struct {
	Subject string
	Note    string
}

// Handler applies one command type inside a write transaction.
type Handler func(tx *Tx, cmd Command) (Effect, error)

// Result is what Apply returns once the command is durable.
type Result struct {
	Seq     uint64 // audit sequence number of the command
	Subject string
	Note    string
}

// Applier is the seam where a cluster plugs in: single-node mode uses
// *Store directly, cluster mode routes the same command through Raft.
type Applier interface {
	Apply(ctx context.Context, cmd Command) (Result, error)
}

// Viewer gives read-only access to the state.
type Viewer interface {
	View(fn func(r *Reader) error) error
}

// DB is what the domain services need: apply commands, read views.
type DB interface {
	Applier
	Viewer
}

// Store wraps a Badger database.
type Store struct {
	db   *badger.DB
	log  *slog.Logger
	mu   sync.Mutex   // serialises apply (not the sync) so the audit chain stays linear
	life sync.RWMutex // held for reading by every use of db, for writing by Close
	dir  string       // "" in memory
	// committed counts commits made durable by a sync (commands and the
	// store's own writes), incremented after each commit; durable
	// shares the fsyncs among them (durable.go).
	committed atomic.Uint64
	durable   syncer
	closed    bool
	handlers  map[string]Handler
	corrupt   atomic.Pointer[CorruptError] // the first corruption met, see Corrupt
	obs       Observer                     // nil: nobody listens
	opts      Options                      // as opened (replica.go)
	repl      atomic.Pointer[Applier]      // set: every Apply goes through the cluster (replica.go)
	hookMu    sync.Mutex
	hooks     []func(cmd Command) // OnReplicated
	now       nowReads            // the gates' reads (now.go)
}

// Options configures Open.
type Options struct {
	Dir      string
	InMemory bool // tests only; never durable
	Logger   *slog.Logger
	// Keys seal the personal data that an upgrade from an older release
	// takes out of clear (see migrate.go). The appliance loads them before
	// it opens the store; without them such an upgrade is refused
	// (ErrNoKeys), never skipped.
	Keys Sealer
	// Observer, if set, hears how long each applied command took (metrics).
	Observer Observer
}

// Open opens (or creates) the store in dir and runs pending migrations.
func Open(o Options) (*Store, error) {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	bo := badgerOptions(o.Dir, o.InMemory, log)
	var damaged *CorruptError // found in the newest value log before Badger cuts it
	if !o.InMemory {
		damaged = guardNewestVlog(o.Dir)
	}
	db, err := badger.Open(bo)
	if err != nil {
		// A table whose index or last block is damaged stops Badger here;
		// name the file rather than pass on Badger's words alone.
		if !o.InMemory {
			if bad := CheckDir(o.Dir); len(bad) > 0 {
				return nil, fmt.Errorf("store: open %s: %w", o.Dir, bad[0])
			}
		}
		return nil, fmt.Errorf("store: open %s: %w", o.Dir, err)
	}
	s := &Store{db: db, log: log, handlers: make(map[string]Handler), obs: o.Observer, opts: o}
	if !o.InMemory {
		s.dir = o.Dir
	}
	if damaged != nil {
		s.markCorrupt(damaged)
	}
	if !o.InMemory {
		if err := dropHalfReplaced(db, o.Dir, log); err != nil {
			_ = db.Close()
			return nil, err
		}
	}
	if err := s.durable.open(s.dir); err != nil {
		_ = db.Close()
		return nil, err
	}
	if err := s.migrate(o.Keys); err != nil {
		_ = db.Close()
		return nil, err
	}
	if err := s.syncWrites(); err != nil { // the migration's batches and the schema stamp
		_ = db.Close()
		return nil, err
	}
	s.durable.start(s)
	return s, nil
}

// Close syncs, flushes and closes the database.
func (s *Store) Close() error {
	s.durable.stop() // before life.Lock: the flusher takes life for reading
	s.life.Lock()
	defer s.life.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.dropNow()
	err := s.syncWrites() // what ApplyAsync committed last
	return errors.Join(err, s.db.Close())
}

// Register installs the handler for a command type. It panics on a
// duplicate, which is a programming error found at start-up.
func (s *Store) Register(typ string, h Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.handlers[typ]; dup {
		panic("store: duplicate handler for " + typ)
	}
	s.handlers[typ] = h
}

// Types lists the registered command types and the store's own
// (MigrateType), sorted: what the audit trail can show, so the UI can name
// every one.
func (s *Store) Types() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	types := make([]string, 0, len(s.handlers)+1)
	for typ := range s.handlers {
		types = append(types, typ)
	}
	types = append(types, MigrateType)
	sort.Strings(types)
	return types
}

// Apply runs cmd's handler and appends its audit entry in one transaction,
// and returns once the transaction is on disk. Concurrent callers share one
// fsync (group commit, see durable.go); the audit chain is in the order the
// commands were applied.
func (s *Store) Apply(ctx context.Context, cmd Command) (Result, error) {
	return s.applyCommand(ctx, cmd, true)
}

// ApplyAsync is Apply without waiting for the disk: it returns once the
// command is committed — visible to every later read and command, in its
// place in the audit chain — and a sync that covers it is started at once
// (or as soon as the one in progress ends). A power cut before that sync
// ends can lose it, together with every command applied after it, never
// one before it (DESIGN.md, Durability). For gate decisions only: a lane
// should not wait on the disk, a page action should.
func (s *Store) ApplyAsync(ctx context.Context, cmd Command) (Result, error) {
	return s.applyCommand(ctx, cmd, false)
}

func (s *Store) applyCommand(ctx context.Context, cmd Command, wait bool) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	if r := s.repl.Load(); r != nil {
		return (*r).Apply(ctx, cmd)
	}
	raw, err := cmd.Encode()
	if err != nil {
		return Result{}, err
	}
	start := time.Now()
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed {
		return Result{}, ErrClosed
	}
	if err := s.durable.failed(); err != nil {
		return Result{}, err
	}
	s.mu.Lock()
	res, _, built, err := s.apply(cmd, raw, 0)
	if err == nil {
		s.refreshNow()
	}
	s.mu.Unlock()
	if err != nil {
		return Result{}, err
	}
	n := s.committed.Add(1) // after the commit: a sync that reads n covers it
	if wait {
		err = s.waitDurable(n)
	} else {
		s.durable.kickFlusher()
	}
	if err != nil {
		return Result{}, err
	}
	if s.obs != nil {
		now := time.Now()
		s.obs.Applied(cmd.Type, now.Sub(start), now.Sub(built))
	}
	return res, nil
}

// apply is the single applier: it runs one command (raw is its encoding,
// whose hash the audit entry keeps) deterministically — the handler, the
// write set, the audit entry — in one Badger transaction, and commits it
// without waiting for the disk. The caller holds s.mu, so commands commit
// in the order of the audit chain, and makes the commit durable. A Raft
// FSM would call this with the log entry's bytes. built is when the
// transaction was ready to commit.
//
// index > 0 is the Raft log index the command was committed at, recorded
// in the same transaction (replica.go). Such a command with a request ID
// that was applied before (the same bytes sent again after a lost answer)
// is answered as it was then and changes nothing but the applied index
// (again is true); one applied now is recorded for that, and requests
// older than RequestTTL are pruned (request.go).
func (s *Store) apply(cmd Command, raw []byte, index uint64) (res Result, again bool, built time.Time, err error) {
	h, ok := s.handlers[cmd.Type]
	if !ok {
		return Result{}, false, built, fmt.Errorf("%w: %q", ErrUnknownCommand, cmd.Type)
	}
	dedupe := index > 0 && cmd.Req != ""
	if dedupe && !validRequestID(cmd.Req) {
		return Result{}, false, built, fmt.Errorf("%w: %s", ErrBadRequestID, cmd.Type)
	}
	sum := sha256.Sum256(raw)
	err = s.db.Update(func(txn *badger.Txn) error {
		if dedupe {
			prev, ok, err := answered(txn, cmd, sum[:])
			if err != nil {
				return err
			}
			if ok {
				res, again, built = prev, true, time.Now()
				return txn.Set(appliedKey, binary.BigEndian.AppendUint64(nil, index))
			}
		}
		tx := &Tx{Reader: Reader{txn: txn, s: s}}
		eff, err := h(tx, cmd)
		if err != nil {
			return err
		}
		seq, err := appendAudit(txn, AuditEntry{
			Time:    cmd.Time,
			Actor:   cmd.Actor,
			Type:    cmd.Type,
			Subject: eff.Subject,
			Note:    eff.Note,
			Command: sum[:],
		}, append([]write{}, tx.writes...))
		if err != nil {
			return err
		}
		res = Result{Seq: seq, Subject: eff.Subject, Note: eff.Note}
		if index > 0 {
			if err := txn.Set(appliedKey, binary.BigEndian.AppendUint64(nil, index)); err != nil {
				return err
			}
			if dedupe {
				if err := recordRequest(txn, cmd, sum[:], index, res); err != nil {
					return err
				}
			}
			if err := pruneRequests(txn, index, cmd.Time); err != nil {
				return err
			}
		}
		built = time.Now()
		return nil
	})
	if err != nil {
		return Result{}, false, built, translate(err)
	}
	return res, again, built, nil
}

// View runs fn with a consistent read-only snapshot.
func (s *Store) View(fn func(r *Reader) error) error {
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return translate(s.db.View(func(txn *badger.Txn) error { return fn(&Reader{txn: txn, s: s}) }))
}

func translate(err error) error {
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
		return ErrNotFound
	case errors.Is(err, badger.ErrDBClosed):
		return ErrClosed
	}
	return err
}

// ErrBadPayload means a command's payload does not decode into its type.
var ErrBadPayload = errors.New("store: malformed command payload")

// Decode decodes the command's payload into v.
func (c Command) Decode(v any) error {
	if err := json.Unmarshal(c.Payload, v); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrBadPayload, c.Type, err)
	}
	return nil
}

// Registrar is where domain packages install their handlers (a *Store).
type Registrar interface {
	Register(typ string, h Handler)
}

// Issue stamps a command with time and actor and applies it: what every
// domain service does to change state.
func Issue(ctx context.Context, a Applier, typ, actor string, now time.Time, payload any) (Result, error) {
	cmd, err := NewCommand(typ, actor, now.UnixNano(), payload)
	if err != nil {
		return Result{}, err
	}
	return a.Apply(ctx, cmd)
}

// AsyncApplier applies a command without waiting for the disk (*Store's
// ApplyAsync).
type AsyncApplier interface {
	ApplyAsync(ctx context.Context, cmd Command) (Result, error)
}

// IssueAsync is Issue for a command that must not wait on the disk — a
// gate's decision, whose lane opens on it: through ApplyAsync when a has
// it, else Apply.
func IssueAsync(ctx context.Context, a Applier, typ, actor string, now time.Time, payload any) (Result, error) {
	cmd, err := NewCommand(typ, actor, now.UnixNano(), payload)
	if err != nil {
		return Result{}, err
	}
	if aa, ok := a.(AsyncApplier); ok {
		return aa.ApplyAsync(ctx, cmd)
	}
	return a.Apply(ctx, cmd)
}
