package osdp

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
)

// KeyLen is the length of an AES-128 secure channel key.
const KeyLen = 16

// Errors about keys.
var (
	ErrNoKey     = errors.New("osdp: reader has no secure channel key")
	ErrKeyLength = errors.New("osdp: secure channel key must be 16 bytes")
)

// Key is an AES-128 secure channel base key (SCBK). It prints as a
// redaction under every fmt verb and in slog. The bytes are held by a
// closure, which reflection cannot look into: even a struct holding a Key
// in an unexported field, printed with any verb, shows a function address
// and not the key (a pointer would be followed by fmt's %!s(…) path).
// Bytes is the one way out, for a KeyStore to seal. A Key is immutable and
// not comparable with ==: use Equal. The zero Key is "no key".
type Key struct {
	material func() *[KeyLen]byte
}

func keyOf(k [KeyLen]byte) Key {
	return Key{material: func() *[KeyLen]byte { return &k }}
}

// raw is the key itself, for the ciphers; never let it out of the package.
func (k Key) raw() []byte { return k.material()[:] }

// NewKey copies b into a Key.
func NewKey(b []byte) (Key, error) {
	if len(b) != KeyLen {
		return Key{}, ErrKeyLength
	}
	return keyOf([KeyLen]byte(b)), nil
}

// RandomKey draws a fresh key from r (crypto/rand.Reader in production).
func RandomKey(r io.Reader) (Key, error) {
	var k [KeyLen]byte
	if _, err := io.ReadFull(r, k[:]); err != nil {
		return Key{}, fmt.Errorf("osdp: drawing a key: %w", err)
	}
	return keyOf(k), nil
}

// DefaultKey returns SCBK-D, the spec's install-mode key 0x30..0x3F. It
// protects nothing against anyone who has read the spec; the CP uses it only
// to hand a reader its own key with osdp_KEYSET.
func DefaultKey() Key {
	var k [KeyLen]byte
	for i := range k {
		k[i] = 0x30 + byte(i)
	}
	return keyOf(k)
}

// IsZero reports whether k is the zero Key (no key).
func (k Key) IsZero() bool { return k.material == nil }

// Bytes returns a copy of the key, for a KeyStore to seal. Never log it.
func (k Key) Bytes() []byte {
	if k.IsZero() {
		return nil
	}
	return append([]byte(nil), k.raw()...)
}

// Equal compares two keys in constant time.
func (k Key) Equal(o Key) bool {
	if k.IsZero() || o.IsZero() {
		return k.IsZero() && o.IsZero()
	}
	return subtle.ConstantTimeCompare(k.raw(), o.raw()) == 1
}

// IsDefault reports whether k is SCBK-D.
func (k Key) IsDefault() bool { return k.Equal(DefaultKey()) }

const redacted = "osdp.Key(redacted)"

// String returns a redaction.
func (k Key) String() string { return redacted }

// GoString returns a redaction.
func (k Key) GoString() string { return redacted }

// Format prints a redaction whatever the verb.
func (k Key) Format(s fmt.State, _ rune) { _, _ = io.WriteString(s, redacted) }

// LogValue keeps keys out of structured logs.
func (k Key) LogValue() slog.Value { return slog.StringValue(redacted) }

// KeyStore keeps each reader's SCBK between runs. The appliance implements
// it and seals keys at rest; the CP never logs or persists a key itself.
type KeyStore interface {
	// LoadKey returns the reader's SCBK, or an error wrapping ErrNoKey when
	// none was ever set (a reader still on SCBK-D, in install mode).
	LoadKey(ctx context.Context, reader string) (Key, error)
	// SaveKey records a reader's new SCBK. The CP calls it before it sends
	// the key with osdp_KEYSET, so a key the reader may hold is never lost.
	SaveKey(ctx context.Context, reader string, k Key) error
}

// MemoryKeys is a KeyStore in memory, for tests and the demo.
type MemoryKeys struct {
	mu   sync.Mutex
	keys map[string]Key
}

// LoadKey implements KeyStore.
func (m *MemoryKeys) LoadKey(_ context.Context, reader string) (Key, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.keys[reader]
	if !ok {
		return Key{}, fmt.Errorf("%w: %s", ErrNoKey, reader)
	}
	return k, nil
}

// SaveKey implements KeyStore.
func (m *MemoryKeys) SaveKey(_ context.Context, reader string, k Key) error {
	if k.IsZero() {
		return ErrKeyLength
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.keys == nil {
		m.keys = make(map[string]Key)
	}
	m.keys[reader] = k
	return nil
}
