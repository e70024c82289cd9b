package store

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// SchemaVersion is the version of the key layout this release writes.
const SchemaVersion = 1

// migrations[i] moves the data from schema version i+1 to i+2, inside one
// transaction. A release that changes the layout appends a function and bumps
// SchemaVersion; old appliances upgrade on their first start.
var migrations = []func(txn *badger.Txn) error{}

var schemaKey = Key(KindMeta, "schema")

func (s *Store) migrate() error {
	if len(migrations) != SchemaVersion-1 {
		panic("store: migrations and SchemaVersion disagree")
	}
	return s.db.Update(func(txn *badger.Txn) error {
		var have uint32
		it, err := txn.Get(schemaKey)
		switch {
		case errors.Is(err, badger.ErrKeyNotFound):
			have = SchemaVersion // a new, empty database
		case err != nil:
			return err
		default:
			if err := it.Value(func(v []byte) error {
				if len(v) != 4 {
					return errors.New("store: schema version record is malformed")
				}
				have = binary.BigEndian.Uint32(v)
				return nil
			}); err != nil {
				return err
			}
		}
		if have > SchemaVersion {
			return fmt.Errorf("%w: data is version %d, this release reads %d", ErrNewerSchema, have, SchemaVersion)
		}
		for v := have; v < SchemaVersion; v++ {
			if err := migrations[v-1](txn); err != nil {
				return fmt.Errorf("store: migrate schema %d to %d: %w", v, v+1, err)
			}
			s.log.Info("migrated schema", "from", v, "to", v+1)
		}
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], SchemaVersion)
		return txn.Set(schemaKey, b[:])
	})
}
