package device

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"gatehouse/appliance/clock"
	"gatehouse/appliance/field"
	"gatehouse/appliance/secret"
	"gatehouse/appliance/store"
)

// CmdKey records an OSDP reader's secure channel base key, sealed with the
// site key. The key never appears in clear in the store, the audit or a log.
const CmdKey = "device.key"

// KeyLen is the length of an OSDP secure channel base key (AES-128).
const KeyLen = 16

// ErrNoKey: the reader has no key of its own on file (a new reader, still
// on the install-mode key).
var ErrNoKey = errors.New("device: no secure channel key on file")

type keyPayload struct {
	ID     string `json:"id"`
	Sealed string `json:"sealed"` // secret.Keys.Seal of the key in hex
}

func applyKey(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p keyPayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	if !strings.HasPrefix(p.Sealed, "s1:") {
		return store.Effect{}, fmt.Errorf("%w: %s: key not sealed", store.ErrBadPayload, CmdKey)
	}
	d, err := get(&tx.Reader, p.ID)
	if err != nil {
		return store.Effect{}, err
	}
	if d.Protocol != OSDP {
		return store.Effect{}, fmt.Errorf("%w: %s: %s is no OSDP reader", store.ErrBadPayload, CmdKey, d.Name)
	}
	return store.Effect{Subject: "device:" + d.ID, Note: "secure channel key set"},
		tx.Set(store.Key(store.KindDeviceKey, d.ID), []byte(p.Sealed))
}

// ReaderKeys keeps the OSDP readers' secure channel keys in the store,
// sealed with the site key, by device ID. The driver runtime adapts it to
// the OSDP control panel's key store.
type ReaderKeys struct {
	db    store.DB
	clock clock.Clock
	keys  *secret.Keys
}

// NewReaderKeys returns the key store of the readers configured in db.
func NewReaderKeys(db store.DB, c clock.Clock, keys *secret.Keys) *ReaderKeys {
	return &ReaderKeys{db: db, clock: c, keys: keys}
}

// LoadKey returns the reader's key, or an error wrapping ErrNoKey.
func (k *ReaderKeys) LoadKey(_ context.Context, id string) ([]byte, error) {
	var sealed []byte
	err := k.db.View(func(r *store.Reader) error {
		var err error
		sealed, err = r.Get(store.Key(store.KindDeviceKey, id))
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNoKey
	}
	if err != nil {
		return nil, err
	}
	h, err := k.keys.Open(string(sealed))
	if err != nil {
		return nil, err
	}
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != KeyLen {
		return nil, fmt.Errorf("device: stored key of %s is damaged", id)
	}
	return b, nil
}

// SaveKey records the reader's new key durably (one synced command) before
// it returns, so the key is on file before the reader is told it.
func (k *ReaderKeys) SaveKey(ctx context.Context, id string, key []byte) error {
	if len(key) != KeyLen {
		return fmt.Errorf("device: a secure channel key is %d bytes", KeyLen)
	}
	sealed, err := k.keys.Seal(hex.EncodeToString(key))
	if err != nil {
		return err
	}
	_, err = store.Issue(ctx, k.db, CmdKey, "devices", k.clock.Now(), keyPayload{ID: id, Sealed: sealed})
	return err
}

// defaultKey is SCBK-D, the well-known install-mode key (30 31 … 3F).
var defaultKey = func() []byte {
	b := make([]byte, KeyLen)
	for i := range b {
		b[i] = 0x30 + byte(i)
	}
	return b
}()

// ParseKey reads a secure channel key as an administrator types it: 32
// hexadecimal characters, in either case, with spaces, colons or dashes
// between them allowed. A wrong one is a field error on "scbk" that never
// repeats the input.
func ParseKey(text string) ([]byte, error) {
	h := strings.Map(func(r rune) rune {
		if r == ' ' || r == ':' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, text)
	b, err := hex.DecodeString(h)
	switch {
	case len(text) > 128 || err != nil || len(b) != KeyLen:
		return nil, field.Errors{{Field: "scbk", Code: "device_key_invalid"}}
	case string(b) == string(defaultKey):
		// On file, SCBK-D would let the reader back onto the well-known key.
		return nil, field.Errors{{Field: "scbk", Code: "device_key_default"}}
	case string(b) == string(make([]byte, KeyLen)):
		return nil, field.Errors{{Field: "scbk", Code: "device_key_invalid"}}
	}
	return b, nil
}

// HasKey reports whether the reader has a key of its own on file (never
// what it is).
func (k *ReaderKeys) HasKey(id string) (bool, error) {
	var ok bool
	err := k.db.View(func(r *store.Reader) error {
		var err error
		ok, err = r.Has(store.Key(store.KindDeviceKey, id))
		return err
	})
	return ok, err
}

// EnterKey records a key the administrator typed for a reader that already
// holds one the appliance cannot learn through KEYSET: a reader moved from
// another panel, or kept when the appliance was replaced. It is sealed and
// recorded like a key the appliance drew (command device.key, audited as
// actor's); the control panel loads it at the reader's next session, so a
// reader refused for holding another key is reached at its next probe.
// Invalid text comes back as field.Errors; a device that is no OSDP reader
// too.
func (k *ReaderKeys) EnterKey(ctx context.Context, actor, id, text string) error {
	var d Device
	err := k.db.View(func(r *store.Reader) error {
		var err error
		d, err = get(r, id)
		return err
	})
	if err != nil {
		return err
	}
	if d.Protocol != OSDP {
		return field.Errors{{Field: "scbk", Code: "device_key_not_osdp"}}
	}
	key, err := ParseKey(text)
	if err != nil {
		return err
	}
	sealed, err := k.keys.Seal(hex.EncodeToString(key))
	if err != nil {
		return err
	}
	_, err = store.Issue(ctx, k.db, CmdKey, actor, k.clock.Now(), keyPayload{ID: id, Sealed: sealed})
	return err
}
