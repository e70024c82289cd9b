package device

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"gatehouse/appliance/clock"
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
