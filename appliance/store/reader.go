package store

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// Reader is a read-only view of one consistent snapshot.
type Reader struct {
	txn *badger.Txn
	s   *Store // told when a value cannot be read back (corruption)
}

// Get returns a copy of the value at key, or ErrNotFound.
func (r *Reader) Get(key []byte) ([]byte, error) {
	it, err := r.txn.Get(key)
	if err != nil {
		return nil, translate(err)
	}
	v, err := it.ValueCopy(nil)
	if err != nil || lostValue(it, v) {
		return nil, r.s.valueError(key, err)
	}
	return v, nil
}

// Has reports whether key exists.
func (r *Reader) Has(key []byte) (bool, error) {
	_, err := r.txn.Get(key)
	if err == badger.ErrKeyNotFound {
		return false, nil
	}
	return err == nil, translate(err)
}

// GetJSON decodes the JSON value at key into v.
func (r *Reader) GetJSON(key []byte, v any) error {
	b, err := r.Get(key)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("store: decode %q: %w", printable(key), err)
	}
	return nil
}

// ScanOptions controls Scan.
type ScanOptions struct {
	KeysOnly bool   // do not fetch values (fn receives a nil value)
	Reverse  bool   // iterate from the end of the prefix backwards
	Start    []byte // first key to visit (inclusive); must start with the prefix
}

// Scan calls fn for every key with the given prefix, in key order, until fn
// returns false or an error. Key and value are only valid during the call.
func (r *Reader) Scan(prefix []byte, o ScanOptions, fn func(key, val []byte) (bool, error)) error {
	io := badger.DefaultIteratorOptions
	io.Prefix = prefix
	io.Reverse = o.Reverse
	io.PrefetchValues = !o.KeysOnly
	if !o.KeysOnly {
		io.PrefetchSize = 16
	}
	it := r.txn.NewIterator(io)
	defer it.Close()
	start := prefix
	if o.Start != nil {
		start = o.Start
	}
	if o.Reverse && o.Start == nil {
		// Seek past the last key with the prefix.
		start = append(bytes.Clone(prefix), 0xFF, 0xFF, 0xFF, 0xFF)
	}
	for it.Seek(start); it.ValidForPrefix(prefix); it.Next() {
		item := it.Item()
		var more bool
		var err error
		if o.KeysOnly {
			more, err = fn(item.Key(), nil)
		} else {
			// No copy: the value is only valid during fn, as documented.
			var lost bool
			verr := item.Value(func(v []byte) error {
				if lost = lostValue(item, v); lost {
					return nil
				}
				more, err = fn(item.Key(), v)
				return nil
			})
			if verr != nil || lost {
				return r.s.valueError(item.Key(), verr)
			}
		}
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// Tx is a write transaction, handed to command handlers only.
type Tx struct {
	Reader
	writes []write // in order, for the audit entry's write set
}

// Set writes val at key.
func (t *Tx) Set(key, val []byte) error {
	if err := t.txn.Set(bytes.Clone(key), val); err != nil {
		return translate(err)
	}
	t.writes = append(t.writes, write{key: hashKey(key), val: hashValue(val)})
	return nil
}

// SetJSON writes v encoded as JSON at key.
func (t *Tx) SetJSON(key []byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("store: encode %q: %w", printable(key), err)
	}
	return t.Set(key, b)
}

// Delete removes key; deleting a missing key is not an error. It also
// marks the key in the graveyard, in the same transaction, so that an
// incremental backup carries the deletion even after Badger has compacted
// its tombstone away (DESIGN.md, Backups).
func (t *Tx) Delete(key []byte) error {
	if err := t.txn.Delete(bytes.Clone(key)); err != nil {
		return translate(err)
	}
	t.writes = append(t.writes, write{key: hashKey(key)})
	return translate(t.txn.Set(graveKey(key), nil))
}

func graveKey(key []byte) []byte { return append([]byte{byte(KindGrave)}, key...) }

func printable(key []byte) string {
	var b bytes.Buffer
	for _, c := range key {
		if c >= 0x20 && c < 0x7F {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "\\x%02x", c)
		}
	}
	return b.String()
}
