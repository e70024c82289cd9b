// Package secret holds the site's keys: one 32-byte master secret in the
// data directory (mode 0600), from which HKDF derives
//
//   - the AES-256-GCM key that seals personal data (phone and ID numbers,
//     photos) before it is put in a command, so it is encrypted in the
//     store, in the command log and in backups;
//   - the HMAC key of blind indexes, so a sealed value can still be looked
//     up by equality (blacklist by phone, returning visitors) without
//     storing it in clear;
//   - the Ed25519 key that signs QR passes, so any lobby of the site can
//     verify a pass offline.
//
// Sealing draws a random nonce, so it happens where commands are issued,
// never inside a handler. Lobbies of one site share the master secret
// (a cluster join copies it); losing it makes sealed data unreadable, so
// backups include it.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// FileName is the master secret's file in the data directory.
const FileName = "site.key"

// Errors.
var (
	ErrBadSeal = errors.New("secret: sealed value is damaged or from another site")
	ErrBadKey  = errors.New("secret: key file is not 32 bytes")
)

// Keys are the site's derived keys.
type Keys struct {
	aead   cipher.AEAD
	blind  []byte
	signer ed25519.PrivateKey
}

// LoadOrCreate reads dir/site.key, creating it on first start.
func LoadOrCreate(dir string) (*Keys, error) {
	p := filepath.Join(dir, FileName)
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		b = make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		if err := writeNew(p, b); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	return FromMaster(b)
}

// writeNew writes the key durably (file and directory synced) and refuses
// to overwrite an existing one.
func writeNew(p string, b []byte) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("secret: create %s: %w", p, err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(p))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// FromMaster derives the keys from a 32-byte master secret.
func FromMaster(master []byte) (*Keys, error) {
	if len(master) != 32 {
		return nil, ErrBadKey
	}
	derive := func(label string, n int) []byte {
		k, err := hkdf.Key(sha256.New, master, nil, "gatehouse "+label, n)
		if err != nil {
			panic(err) // only for n larger than HKDF allows
		}
		return k
	}
	block, err := aes.NewCipher(derive("seal v1", 32))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Keys{
		aead:   aead,
		blind:  derive("blind index v1", 32),
		signer: ed25519.NewKeyFromSeed(derive("pass signing v1", ed25519.SeedSize)),
	}, nil
}

const sealPrefix = "s1:"

// Seal encrypts a personal value; "" stays "". The result is text, for JSON.
func (k *Keys) Seal(plain string) (string, error) {
	if plain == "" {
		return "", nil
	}
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	ct := k.aead.Seal(nonce, nonce, []byte(plain), []byte(sealPrefix))
	return sealPrefix + base64.RawStdEncoding.EncodeToString(ct), nil
}

// Open decrypts what Seal made.
func (k *Keys) Open(sealed string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	rest, ok := strings.CutPrefix(sealed, sealPrefix)
	if !ok {
		return "", ErrBadSeal
	}
	ct, err := base64.RawStdEncoding.DecodeString(rest)
	if err != nil || len(ct) < k.aead.NonceSize() {
		return "", ErrBadSeal
	}
	pt, err := k.aead.Open(nil, ct[:k.aead.NonceSize()], ct[k.aead.NonceSize():], []byte(sealPrefix))
	if err != nil {
		return "", ErrBadSeal
	}
	return string(pt), nil
}

// Blind returns a keyed hash of value for equality lookups within one kind
// ("phone", "id", "name"); values are compared as given, so normalise first.
func (k *Keys) Blind(kind, value string) string {
	m := hmac.New(sha256.New, k.blind)
	m.Write([]byte(kind))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:20])
}

// Signer is the pass-signing key.
func (k *Keys) Signer() ed25519.PrivateKey { return k.signer }

// Verifier is the pass-verification key.
func (k *Keys) Verifier() ed25519.PublicKey { return k.signer.Public().(ed25519.PublicKey) }

// ReadMaster returns the master secret in dir/site.key: what a backup
// carries (wrapped) so that a new appliance can read the sealed data.
func ReadMaster(dir string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	if len(b) != 32 {
		return nil, ErrBadKey
	}
	return b, nil
}

// WriteMaster writes a master secret into dir/site.key durably, refusing
// to overwrite one: what a restore does with the key a backup carried.
func WriteMaster(dir string, master []byte) error {
	if len(master) != 32 {
		return ErrBadKey
	}
	return writeNew(filepath.Join(dir, FileName), master)
}

// MasterID names a master secret without revealing it: a backup records
// it, so a backup wrapped for another site's key is told apart.
func MasterID(master []byte) string {
	k, err := hkdf.Key(sha256.New, master, nil, "gatehouse key id v1", 8)
	if err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(k)
}
