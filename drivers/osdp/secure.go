package osdp

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
)

// The secure channel (spec Annex D, "OSDP secure channel"). What each
// function computes follows the spec's description as implemented by
// libosdp src/osdp_sc.c; Annex E's worked example (reproduced in libosdp
// tests/unit-tests/test-sc-sia-vectors.c) and OSDP.Net's message tests
// (src/OSDP.Net.Tests/Messages/CommandOutgoingMessageTest.cs) are the
// known answers in secure_test.go.

// Errors of the secure channel.
var (
	ErrSCInactive  = errors.New("osdp: secure channel not established")
	ErrSCHandshake = errors.New("osdp: secure channel handshake out of order")
	ErrCryptogram  = errors.New("osdp: cryptogram mismatch (wrong key)")
	ErrMAC         = errors.New("osdp: MAC mismatch")
	ErrDecrypt     = errors.New("osdp: encrypted data malformed")
	ErrSCBType     = errors.New("osdp: security block type does not fit the message")
)

const blockLen = aes.BlockSize

type block = [blockLen]byte

// sessionKeyBytes derives S-ENC, S-MAC1 and S-MAC2: AES-ECB with the SCBK
// of the blocks 01 82 | RND.A[0..5] | 0…, 01 01 | … and 01 02 | ….
func sessionKeyBytes(scbk Key, rndA [8]byte) (sEnc, sMac1, sMac2 block) {
	c := newCipher(scbk.raw())
	for i, b := range []*block{&sEnc, &sMac1, &sMac2} {
		b[0] = 0x01
		b[1] = [3]byte{0x82, 0x01, 0x02}[i]
		copy(b[2:8], rndA[:6])
		c.Encrypt(b[:], b[:])
	}
	return
}

func newCipher(key []byte) cipher.Block {
	c, err := aes.NewCipher(key)
	if err != nil {
		panic("osdp: AES-128 key of the wrong length") // unreachable: keys are 16 bytes by type
	}
	return c
}

// sessionKeys are one session's ciphers.
type sessionKeys struct {
	enc, mac1, mac2 cipher.Block
}

func newSessionKeys(scbk Key, rndA [8]byte) *sessionKeys {
	e, m1, m2 := sessionKeyBytes(scbk, rndA)
	return &sessionKeys{enc: newCipher(e[:]), mac1: newCipher(m1[:]), mac2: newCipher(m2[:])}
}

func ecb(c cipher.Block, a, b [8]byte) (out block) {
	copy(out[:8], a[:])
	copy(out[8:], b[:])
	c.Encrypt(out[:], out[:])
	return out
}

// clientCryptogram is the PD's proof: AES-ECB(S-ENC, RND.A || RND.B).
func clientCryptogram(enc cipher.Block, rndA, rndB [8]byte) block { return ecb(enc, rndA, rndB) }

// serverCryptogram is the CP's proof: AES-ECB(S-ENC, RND.B || RND.A).
func serverCryptogram(enc cipher.Block, rndA, rndB [8]byte) block { return ecb(enc, rndB, rndA) }

// initialRMAC is R-MAC-I = AES-ECB(S-MAC2, AES-ECB(S-MAC1, server cryptogram)).
func initialRMAC(k *sessionKeys, server block) (out block) {
	k.mac1.Encrypt(out[:], server[:])
	k.mac2.Encrypt(out[:], out[:])
	return out
}

// computeMAC is the OSDP CBC-MAC of msg, chained from iv: msg padded with
// 80 00… to a whole number of blocks (not padded when it already is one),
// every block but the last through AES-CBC with S-MAC1, the last with
// S-MAC2. The full 16 bytes chain into the next message; the first four go
// on the wire.
func computeMAC(k *sessionKeys, iv block, msg []byte) block {
	x := iv
	n := len(msg)
	for off := 0; off < n || off == 0; off += blockLen {
		var b block
		c := copy(b[:], msg[off:])
		if c < blockLen {
			b[c] = 0x80
		}
		subtle.XORBytes(x[:], x[:], b[:])
		if off+blockLen >= n {
			k.mac2.Encrypt(x[:], x[:])
			break
		}
		k.mac1.Encrypt(x[:], x[:])
	}
	return x
}

func complement(b block) block {
	for i := range b {
		b[i] = ^b[i]
	}
	return b
}

// encryptData pads data with 80 00… (always: a whole block of padding when
// data fills its last block) and encrypts it with AES-CBC under S-ENC, the
// IV being the complement of the last MAC received.
func encryptData(k *sessionKeys, lastMAC block, data []byte) []byte {
	n := (len(data)/blockLen + 1) * blockLen
	out := make([]byte, n)
	copy(out, data)
	out[len(data)] = 0x80
	iv := complement(lastMAC)
	cipher.NewCBCEncrypter(k.enc, iv[:]).CryptBlocks(out, out)
	return out
}

// decryptData reverses encryptData.
func decryptData(k *sessionKeys, lastMAC block, ct []byte) ([]byte, error) {
	if len(ct) == 0 || len(ct)%blockLen != 0 {
		return nil, fmt.Errorf("%w: %d bytes", ErrDecrypt, len(ct))
	}
	out := make([]byte, len(ct))
	iv := complement(lastMAC)
	cipher.NewCBCDecrypter(k.enc, iv[:]).CryptBlocks(out, ct)
	i := len(out) - 1
	for i > len(out)-blockLen && out[i] == 0 {
		i--
	}
	if out[i] != 0x80 {
		return nil, fmt.Errorf("%w: no padding marker", ErrDecrypt)
	}
	return out[:i], nil
}

// Session is one end of a secure channel, for the CP or for a PD: the
// handshake state, then the session keys and the MAC chain. The zero
// Session is inactive. A Session is not safe for concurrent use.
type Session struct {
	keys       *sessionKeys
	rndA, rndB [8]byte
	server     block // server cryptogram, kept to check R-MAC-I
	state      scState
	cmac, rmac block // last command MAC, last reply MAC
}

type scState uint8

const (
	scIdle       scState = iota
	scChallenged         // CP: CHLNG sent
	scAccepted           // CP: CCRYPT checked, SCRYPT sent; PD: CCRYPT sent
	scActive
)

// Active reports whether the channel is established.
func (s *Session) Active() bool { return s.state == scActive }

// Reset ends the session and forgets its keys.
func (s *Session) Reset() { *s = Session{} }

// Challenge starts a handshake on the CP's side: it draws RND.A for
// osdp_CHLNG.
func (s *Session) Challenge(rnd io.Reader) ([8]byte, error) {
	s.Reset()
	if _, err := io.ReadFull(rnd, s.rndA[:]); err != nil {
		return s.rndA, fmt.Errorf("osdp: drawing RND.A: %w", err)
	}
	s.state = scChallenged
	return s.rndA, nil
}

// Accept checks the PD's osdp_CCRYPT against scbk on the CP's side and
// returns the server cryptogram for osdp_SCRYPT. ErrCryptogram means the
// PD holds another key.
func (s *Session) Accept(scbk Key, c CCrypt) ([16]byte, error) {
	if s.state != scChallenged || scbk.IsZero() {
		return [16]byte{}, ErrSCHandshake
	}
	k := newSessionKeys(scbk, s.rndA)
	want := clientCryptogram(k.enc, s.rndA, c.RndB)
	if subtle.ConstantTimeCompare(want[:], c.Cryptogram[:]) != 1 {
		s.Reset()
		return [16]byte{}, ErrCryptogram
	}
	s.keys, s.rndB = k, c.RndB
	s.server = serverCryptogram(k.enc, s.rndA, s.rndB)
	s.state = scAccepted
	return s.server, nil
}

// Establish checks the PD's osdp_RMAC_I on the CP's side and opens the
// channel.
func (s *Session) Establish(rmacI [16]byte) error {
	if s.state != scAccepted {
		return ErrSCHandshake
	}
	want := initialRMAC(s.keys, s.server)
	if subtle.ConstantTimeCompare(want[:], rmacI[:]) != 1 {
		s.Reset()
		return ErrCryptogram
	}
	s.rmac = want
	s.state = scActive
	return nil
}

// Respond answers osdp_CHLNG on a PD's side: it draws RND.B and returns
// the osdp_CCRYPT reply for a PD whose client UID is uid.
func (s *Session) Respond(scbk Key, rndA, uid [8]byte, rnd io.Reader) (CCrypt, error) {
	s.Reset()
	if scbk.IsZero() {
		return CCrypt{}, ErrNoKey
	}
	if _, err := io.ReadFull(rnd, s.rndB[:]); err != nil {
		return CCrypt{}, fmt.Errorf("osdp: drawing RND.B: %w", err)
	}
	s.rndA = rndA
	s.keys = newSessionKeys(scbk, rndA)
	s.state = scAccepted
	return CCrypt{UID: uid, RndB: s.rndB, Cryptogram: clientCryptogram(s.keys.enc, rndA, s.rndB)}, nil
}

// Confirm checks the CP's osdp_SCRYPT on a PD's side, opens the channel
// and returns R-MAC-I for osdp_RMAC_I.
func (s *Session) Confirm(server [16]byte) ([16]byte, error) {
	if s.state != scAccepted {
		return [16]byte{}, ErrSCHandshake
	}
	want := serverCryptogram(s.keys.enc, s.rndA, s.rndB)
	if subtle.ConstantTimeCompare(want[:], server[:]) != 1 {
		s.Reset()
		return [16]byte{}, ErrCryptogram
	}
	s.rmac = initialRMAC(s.keys, want)
	s.state = scActive
	return s.rmac, nil
}

// Seal encrypts and MACs f for the wire: a command (from the CP) when f's
// address lacks the reply bit, a reply (from a PD) otherwise. It sets the
// security block — SCS_17/SCS_18 with encrypted data, SCS_15/SCS_16 when
// there is no data — and moves the MAC chain on.
func (s *Session) Seal(f Frame) ([]byte, error) {
	if s.state != scActive {
		return nil, ErrSCInactive
	}
	reply := f.IsReply()
	iv := s.rmac
	if reply {
		iv = s.cmac
	}
	f.SCBData = nil
	switch {
	case len(f.Data) == 0 && !reply:
		f.SCB = SCS15
	case len(f.Data) == 0:
		f.SCB = SCS16
	case !reply:
		f.SCB, f.Data = SCS17, encryptData(s.keys, iv, f.Data)
	default:
		f.SCB, f.Data = SCS18, encryptData(s.keys, iv, f.Data)
	}
	auth, err := f.appendAuth(nil)
	if err != nil {
		return nil, err
	}
	mac := computeMAC(s.keys, iv, auth)
	if reply {
		s.rmac = mac
	} else {
		s.cmac = mac
	}
	pkt := append(auth, mac[:macLen]...)
	return f.appendCheck(pkt, pkt), nil
}

// Open checks the MAC of a received frame and decrypts its data in place.
// The chain moves on only when the MAC is good; the caller ends the
// session on any error, as the spec requires.
func (s *Session) Open(f *Frame) error {
	if s.state != scActive {
		return ErrSCInactive
	}
	reply := f.IsReply()
	want := [2]byte{SCS15, SCS17}
	iv := s.rmac
	if reply {
		want = [2]byte{SCS16, SCS18}
		iv = s.cmac
	}
	if f.SCB != want[0] && f.SCB != want[1] {
		return fmt.Errorf("%w: %#x", ErrSCBType, f.SCB)
	}
	auth, err := f.appendAuth(nil)
	if err != nil {
		return err
	}
	mac := computeMAC(s.keys, iv, auth)
	if subtle.ConstantTimeCompare(mac[:macLen], f.MAC[:]) != 1 {
		return ErrMAC
	}
	var data []byte
	if f.SCB == want[1] {
		if data, err = decryptData(s.keys, iv, f.Data); err != nil {
			return err
		}
	} else if len(f.Data) != 0 {
		// SCS_15/16 carry no data in this implementation's peers; data in
		// clear under a MAC is still authentic, so accept it.
		data = bytes.Clone(f.Data)
	}
	if reply {
		s.rmac = mac
	} else {
		s.cmac = mac
	}
	f.Data = data
	return nil
}
