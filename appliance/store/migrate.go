package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// SchemaVersion is the version of the layout this release writes.
//
//	1  the first release
//	2  people's mobile numbers (KindPerson, KindImportStage) sealed, as
//	   visitors' always were: "mobile" became "mobile_sealed" and
//	   "mobile_blind"
//	3  write sets: every audit entry commits to what its command wrote,
//	   and every record has a write mark (writes.go); the step marks the
//	   records an older release wrote, as they are, as a baseline
const SchemaVersion = 3

// Sealer seals personal data: what a migration needs to take it out of
// clear. *secret.Keys is one; the store declares only what it uses.
type Sealer interface {
	Seal(plain string) (string, error)
	Blind(kind, value string) string
}

// ErrNoKeys means the data needs a migration that seals personal data and
// Options.Keys was not given.
var ErrNoKeys = errors.New("store: upgrading this data seals personal data and needs the site keys")

// A migration moves the data from one schema version to the next. It is
// written against the bytes the older release wrote, never against today's
// domain types, which move on. It commits its own transactions, because a
// step that rewrites every record of a kind does not fit in one (see
// DESIGN.md, Memory), so it must be safe to run again from the start after
// a crash part-way: the new version is stamped only once it has returned.
type migration struct {
	seals bool // needs Options.Keys
	run   func(m *migrator) error
}

// migrations[i] moves the data from schema version i+1 to i+2. A release
// that changes the layout appends one and bumps SchemaVersion; old
// appliances upgrade on their first start.
var migrations = []migration{
	{seals: true, run: sealPeopleMobiles}, // 1 -> 2
	{run: markBaseline},                   // 2 -> 3
}

// MigrateType is the audit entry type of a migration's batches: a
// migration is not a command, but what it writes is on the trail with its
// write set like a command's, so the deep audit accounts for it.
const MigrateType = "store.migrate"

var schemaKey = Key(KindMeta, "schema")

// migrator is what a migration works with.
type migrator struct {
	db   *badger.DB
	keys Sealer
	to   uint32 // the version the step moves to, for the audit notes
}

// audit appends the audit entry of one batch of a migration, with the
// batch's write set, in the batch's transaction.
func (m *migrator) audit(txn *badger.Txn, note string, ws []write) error {
	if len(ws) == 0 {
		return nil
	}
	_, err := appendAudit(txn, AuditEntry{Time: time.Now().UnixNano(), Actor: "system", Type: MigrateType,
		Note: fmt.Sprintf("schema %d: %s", m.to, note)}, ws)
	return err
}

func (s *Store) migrate(keys Sealer) error {
	if len(migrations) != SchemaVersion-1 {
		panic("store: migrations and SchemaVersion disagree")
	}
	have, err := s.schema()
	if err != nil {
		return err
	}
	if have > SchemaVersion {
		return fmt.Errorf("%w: data is version %d, this release reads %d", ErrNewerSchema, have, SchemaVersion)
	}
	for v := have; v < SchemaVersion; v++ {
		step := migrations[v-1]
		if step.seals && keys == nil {
			return fmt.Errorf("store: migrate schema %d to %d: %w", v, v+1, ErrNoKeys)
		}
		if err := step.run(&migrator{db: s.db, keys: keys, to: v + 1}); err != nil {
			return fmt.Errorf("store: migrate schema %d to %d: %w", v, v+1, err)
		}
		if err := s.stampSchema(v + 1); err != nil {
			return err
		}
		s.log.Info("migrated schema", "from", v, "to", v+1)
	}
	return s.stampSchema(SchemaVersion)
}

// schema reads the stored layout version; a new, empty database is
// already at this release's.
func (s *Store) schema() (uint32, error) {
	var have uint32
	err := s.db.View(func(txn *badger.Txn) error {
		it, err := txn.Get(schemaKey)
		if errors.Is(err, badger.ErrKeyNotFound) {
			have = SchemaVersion
			return nil
		} else if err != nil {
			return err
		}
		return it.Value(func(v []byte) error {
			if len(v) != 4 {
				return errors.New("store: schema version record is malformed")
			}
			have = binary.BigEndian.Uint32(v)
			return nil
		})
	})
	return have, err
}

func (s *Store) stampSchema(v uint32) error {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	return s.db.Update(func(txn *badger.Txn) error { return txn.Set(schemaKey, b[:]) })
}

// Bounds of one migration transaction: well inside Badger's limit for one
// transaction with the memory options (15 % of a 16 MB memtable).
const (
	migrateBatchBytes = 1 << 20
	migrateBatchKeys  = 1000
)

// rewrite passes every value under prefix to fn and writes back what fn
// changed, in transactions of bounded size. fn must return changed=false
// for a value it already rewrote, so that a rewrite interrupted by a crash
// can simply run again.
func (m *migrator) rewrite(prefix []byte, fn func(val []byte) (out []byte, changed bool, err error)) (int, error) {
	total := 0
	start := prefix
	for done := false; !done; {
		err := m.db.Update(func(txn *badger.Txn) error {
			type kv struct{ k, v []byte }
			var batch []kv
			size := 0
			io := badger.DefaultIteratorOptions
			io.Prefix = prefix
			it := txn.NewIterator(io)
			done = true
			for it.Seek(start); it.ValidForPrefix(prefix); it.Next() {
				if size >= migrateBatchBytes || len(batch) >= migrateBatchKeys {
					start, done = it.Item().KeyCopy(nil), false
					break
				}
				var out []byte
				var changed bool
				err := it.Item().Value(func(v []byte) error {
					var err error
					out, changed, err = fn(v)
					return err
				})
				if err != nil {
					it.Close()
					return fmt.Errorf("%q: %w", printable(it.Item().Key()), err)
				}
				if changed {
					batch = append(batch, kv{it.Item().KeyCopy(nil), out})
					size += len(out) + len(it.Item().Key())
				}
			}
			it.Close()
			ws := make([]write, 0, len(batch))
			for _, e := range batch {
				if err := txn.Set(e.k, e.v); err != nil {
					return err
				}
				ws = append(ws, write{key: hashKey(e.k), val: hashValue(e.v)})
			}
			total += len(batch)
			return m.audit(txn, fmt.Sprintf("%d records rewritten", len(ws)), ws)
		})
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// sealPeopleMobiles (schema 1 to 2) seals the mobile number of every person
// in the directory (appliance/directory) and of every row of an employee
// import staged but not yet written, which Recover finishes after the
// upgrade. The number leaves the record; what replaces it is what the
// directory service writes since: mobile_sealed (secret.Keys.Seal) and
// mobile_blind (Blind "mobile", over the number as stored, which the
// directory had already normalised).
func sealPeopleMobiles(m *migrator) error {
	sealOne := func(rec map[string]json.RawMessage) (bool, error) {
		raw, ok := rec["mobile"]
		if !ok {
			return false, nil // sealed already, by a run a crash interrupted
		}
		var mobile string
		if err := json.Unmarshal(raw, &mobile); err != nil {
			return false, fmt.Errorf("mobile: %w", err)
		}
		delete(rec, "mobile")
		if mobile == "" {
			return true, nil
		}
		sealed, err := m.keys.Seal(mobile)
		if err != nil {
			return false, err
		}
		rec["mobile_sealed"], _ = json.Marshal(sealed)
		rec["mobile_blind"], _ = json.Marshal(m.keys.Blind("mobile", mobile))
		return true, nil
	}
	if _, err := m.rewrite([]byte{byte(KindPerson)}, func(v []byte) ([]byte, bool, error) {
		var rec map[string]json.RawMessage
		if err := json.Unmarshal(v, &rec); err != nil {
			return nil, false, err
		}
		changed, err := sealOne(rec)
		if err != nil || !changed {
			return nil, false, err
		}
		out, err := json.Marshal(rec)
		return out, true, err
	}); err != nil {
		return fmt.Errorf("people: %w", err)
	}
	if _, err := m.rewrite([]byte{byte(KindImportStage)}, func(v []byte) ([]byte, bool, error) {
		var rows []map[string]json.RawMessage
		if err := json.Unmarshal(v, &rows); err != nil {
			return nil, false, err
		}
		touched := false
		for _, rec := range rows {
			changed, err := sealOne(rec)
			if err != nil {
				return nil, false, err
			}
			touched = touched || changed
		}
		if !touched {
			return nil, false, nil
		}
		out, err := json.Marshal(rows)
		return out, true, err
	}); err != nil {
		return fmt.Errorf("staged import rows: %w", err)
	}
	return nil
}

// markBaseline (schema 2 to 3) gives every record an older release wrote a
// write mark, as it stands, in batches, each on the audit trail as a
// migration entry with its write set: from here on the deep audit can tell
// a record changed outside the command path. What was changed before the
// upgrade is taken as it is; the chain of older entries is still verified.
// Run again after a crash, it marks everything again, which is harmless.
func markBaseline(m *migrator) error {
	start := []byte{byte(KindWriteMark) + 1}
	for done := false; !done; {
		err := m.db.Update(func(txn *badger.Txn) error {
			var ws []write
			io := badger.DefaultIteratorOptions
			io.PrefetchValues = false
			it := txn.NewIterator(io)
			defer it.Close()
			done = true
			for it.Seek(start); it.Valid(); it.Next() {
				item := it.Item()
				if len(ws) >= migrateBatchKeys {
					start, done = item.KeyCopy(nil), false
					break
				}
				err := item.Value(func(v []byte) error {
					ws = append(ws, write{key: hashKey(item.Key()), val: hashValue(v)})
					return nil
				})
				if err != nil {
					return fmt.Errorf("%q: %w", printable(item.Key()), err)
				}
			}
			return m.audit(txn, fmt.Sprintf("baseline of %d records", len(ws)), ws)
		})
		if err != nil {
			return err
		}
	}
	return nil
}
