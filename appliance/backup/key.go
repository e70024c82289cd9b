package backup

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"

	"golang.org/x/crypto/argon2"

	"gatehouse/appliance/secret"
)

// KDF are argon2id parameters. The defaults take about a second and 64 MB
// on a lobby computer: a backup passphrase is typed rarely (set once,
// asked at a restore), so it can afford more than a sign-in.
type KDF struct {
	Time    uint32 `json:"t"`
	Memory  uint32 `json:"m"` // KiB
	Threads uint8  `json:"p"`
}

// DefaultKDF is what the administrator's passphrase is stretched with.
var DefaultKDF = KDF{Time: 3, Memory: 64 * 1024, Threads: 1}

// ok bounds the parameters read from a file, so a forged header cannot
// make a restore allocate gigabytes or spin for hours.
func (k KDF) ok() bool {
	return k.Time >= 1 && k.Time <= 16 && k.Memory >= 8 && k.Memory <= 1<<20 && k.Threads >= 1 && k.Threads <= 8
}

// WrappedKey is the site's master secret sealed with a key derived from the
// backup passphrase (argon2id, then AES-256-GCM). It is made once, when the
// administrator sets the passphrase, and copied into every backup header:
// the passphrase itself is never stored, and writing a backup needs none.
type WrappedKey struct {
	KDF    string `json:"kdf"` // "argon2id"
	Params KDF    `json:"params"`
	Salt   []byte `json:"salt"`
	Nonce  []byte `json:"nonce"`
	Sealed []byte `json:"sealed"` // the 32-byte master and the GCM tag
	KeyID  string `json:"key_id"` // secret.MasterID of the master
}

const wrapAAD = "gatehouse backup site key v1"

// MinPassphrase is the shortest backup passphrase accepted.
const MinPassphrase = 12

// Wrap seals master with passphrase.
func Wrap(master []byte, passphrase string, p KDF) (WrappedKey, error) {
	if len([]rune(passphrase)) < MinPassphrase {
		return WrappedKey{}, ErrShortPassphrase
	}
	if len(master) != 32 {
		return WrappedKey{}, secret.ErrBadKey
	}
	w := WrappedKey{KDF: "argon2id", Params: p, Salt: make([]byte, 16), KeyID: secret.MasterID(master)}
	if _, err := rand.Read(w.Salt); err != nil {
		return WrappedKey{}, err
	}
	aead, err := w.aead(passphrase)
	if err != nil {
		return WrappedKey{}, err
	}
	w.Nonce = make([]byte, aead.NonceSize())
	if _, err := rand.Read(w.Nonce); err != nil {
		return WrappedKey{}, err
	}
	w.Sealed = aead.Seal(nil, w.Nonce, master, []byte(wrapAAD+w.KeyID))
	return w, nil
}

// Unwrap returns the master secret, or ErrWrongPassphrase.
func (w WrappedKey) Unwrap(passphrase string) ([]byte, error) {
	if w.KDF != "argon2id" || !w.Params.ok() || len(w.Salt) < 8 || len(w.Nonce) != 12 || len(w.Sealed) != 48 {
		return nil, fmt.Errorf("%w: wrapped site key", ErrCorrupt)
	}
	aead, err := w.aead(passphrase)
	if err != nil {
		return nil, err
	}
	master, err := aead.Open(nil, w.Nonce, w.Sealed, []byte(wrapAAD+w.KeyID))
	if err != nil {
		return nil, ErrWrongPassphrase
	}
	if secret.MasterID(master) != w.KeyID {
		return nil, fmt.Errorf("%w: site key does not match its ID", ErrCorrupt)
	}
	return master, nil
}

// Set reports whether a key has been wrapped.
func (w WrappedKey) Set() bool { return len(w.Sealed) > 0 }

func (w WrappedKey) aead(passphrase string) (cipher.AEAD, error) {
	k := argon2.IDKey([]byte(passphrase), w.Salt, w.Params.Time, w.Params.Memory, w.Params.Threads, 32)
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
