package osdp

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"math/rand/v2"
	"testing"
)

// fixedRand hands out the given bytes, for reproducible handshakes.
type fixedRand struct{ b []byte }

func (r *fixedRand) Read(p []byte) (int, error) {
	n := copy(p, r.b)
	r.b = r.b[n:]
	if n < len(p) {
		return n, errors.New("fixedRand exhausted")
	}
	return n, nil
}

func b16(t testing.TB, s string) (b [16]byte) {
	copy(b[:], unhex(t, s))
	return b
}

// SIA OSDP Annex E, "secure channel" example: SCBK-D, RND.A = B0..B7,
// RND.B = A0..A7. Values as reproduced in libosdp
// tests/unit-tests/test-sc-sia-vectors.c.
func TestAnnexESessionVectors(t *testing.T) {
	rndA := [8]byte{0xB0, 0xB1, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7}
	rndB := [8]byte{0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7}
	wantMac1 := b16(t, "5E86C676603BDEE2D8BEAFE178637332")
	wantMac2 := b16(t, "6FDA86E857777E811320357582391 72E")
	wantEnc := b16(t, "BF8DC2A8329ACB8C67C6D0CD9A451682")
	wantServer := b16(t, "26D3356E07762D262801FC8E6665A891")
	wantClient := b16(t, "FDE5D2F428EC16312471EA3C02BD7796")
	wantRMACI := b16(t, "B2A30057EB98BA2229EC1F875662B524")

	enc, mac1, mac2 := sessionKeyBytes(DefaultKey(), rndA)
	if enc != wantEnc || mac1 != wantMac1 || mac2 != wantMac2 {
		t.Fatalf("session keys\nS-ENC  % X\nS-MAC1 % X\nS-MAC2 % X", enc, mac1, mac2)
	}

	// The same through the two ends of a handshake.
	var cp, pd Session
	a, err := cp.Challenge(&fixedRand{rndA[:]})
	if err != nil || a != rndA {
		t.Fatal(a, err)
	}
	uid := [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
	cc, err := pd.Respond(DefaultKey(), a, uid, &fixedRand{rndB[:]})
	if err != nil {
		t.Fatal(err)
	}
	if cc.Cryptogram != wantClient || cc.RndB != rndB || cc.UID != uid {
		t.Fatalf("client cryptogram % X", cc.Cryptogram)
	}
	server, err := cp.Accept(DefaultKey(), cc)
	if err != nil || server != wantServer {
		t.Fatalf("server cryptogram % X, %v", server, err)
	}
	rmac, err := pd.Confirm(server)
	if err != nil || rmac != wantRMACI {
		t.Fatalf("R-MAC-I % X, %v", rmac, err)
	}
	if err := cp.Establish(rmac); err != nil {
		t.Fatal(err)
	}
	if !cp.Active() || !pd.Active() {
		t.Fatal("session not active on both ends")
	}
}

func TestHandshakeWithTheWrongKey(t *testing.T) {
	other, _ := NewKey(bytes.Repeat([]byte{7}, 16))
	var cp, pd Session
	a, _ := cp.Challenge(&fixedRand{make([]byte, 8)})
	cc, _ := pd.Respond(other, a, [8]byte{}, &fixedRand{make([]byte, 8)})
	if _, err := cp.Accept(DefaultKey(), cc); !errors.Is(err, ErrCryptogram) {
		t.Fatalf("CP accepted a PD on another key: %v", err)
	}
	// A CP on the wrong key cannot make the PD accept its cryptogram either.
	var cp2 Session
	a, _ = cp2.Challenge(&fixedRand{make([]byte, 8)})
	cc, _ = pd.Respond(DefaultKey(), a, [8]byte{}, &fixedRand{make([]byte, 8)})
	cp2.state, cp2.keys, cp2.rndB = scAccepted, newSessionKeys(other, a), cc.RndB
	if _, err := pd.Confirm(serverCryptogram(cp2.keys.enc, a, cc.RndB)); !errors.Is(err, ErrCryptogram) {
		t.Fatalf("PD accepted a CP on another key: %v", err)
	}
	if pd.Active() {
		t.Fatal("PD session active after a failed handshake")
	}
}

// NIST SP 800-38A F.2.1 (AES-128-CBC) values as libosdp
// tests/unit-tests/test-sc.c applies them to the OSDP MAC and data
// encryption: key 2B7E…, IV 00 01 … 0F.
func TestMACAndEncryptionNISTVectors(t *testing.T) {
	key := unhex(t, "2b7e151628aed2a6abf7158809cf4f3c")
	iv := b16(t, "000102030405060708090a0b0c0d0e0f")
	pt := unhex(t, "6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51"+
		"30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710")
	k := &sessionKeys{enc: newCipher(key), mac1: newCipher(key), mac2: newCipher(key)}
	seq := unhex(t, "000102030405060708090a0b0c0d0e0f")

	for _, tc := range []struct {
		name string
		msg  []byte
		want string
	}{
		{"one block", pt[:16], "7649abac8119b246cee98e9b12e9197d"},
		{"four blocks", pt, "3ff1caa1681fac09120eca307586e1a7"},
		{"partial block padded 80", seq[:15], "c5311f3d23d086ea86f5ee7f85247b40"},
	} {
		if got := computeMAC(k, iv, tc.msg); got != b16(t, tc.want) {
			t.Errorf("MAC %s = % X", tc.name, got)
		}
	}
	// encryptData's IV is the complement of the MAC it is given.
	notIV := complement(iv)
	for _, tc := range []struct {
		name string
		pt   []byte
		want string
	}{
		{"0 bytes", nil, "4c08220c79d9191022dc6674874ceaf8"},
		{"15 bytes", seq[:15], "c5311f3d23d086ea86f5ee7f85247b40"},
		{"16 bytes pads a whole block", seq, "7df76b0c1ab899b33e42f047b91b546fe2fe5bd6c1dfcdd19124f03e1a134d3b"},
	} {
		ct := encryptData(k, notIV, tc.pt)
		if !bytes.Equal(ct, unhex(t, tc.want)) {
			t.Errorf("encrypt %s = % X", tc.name, ct)
		}
		back, err := decryptData(k, notIV, ct)
		if err != nil || !bytes.Equal(back, tc.pt) {
			t.Errorf("decrypt %s = % X, %v", tc.name, back, err)
		}
	}
	if _, err := decryptData(k, notIV, make([]byte, 15)); !errors.Is(err, ErrDecrypt) {
		t.Error("decrypted a partial block")
	}
	noMarker := make([]byte, 16)
	cipher.NewCBCEncrypter(k.enc, iv[:]).CryptBlocks(noMarker, noMarker)
	if _, err := decryptData(k, notIV, noMarker); !errors.Is(err, ErrDecrypt) {
		t.Error("decrypted data without the 0x80 marker")
	}
}

// Whole secure packets from OSDP.Net's CommandOutgoingMessageTest.cs: a
// security context with S-ENC, S-MAC1, S-MAC2 and R-MAC all zero, sequence
// number 2, to PD 0 (their leading 0xFF mark byte left out).
func TestSealOSDPNetVectors(t *testing.T) {
	zero := make([]byte, 16)
	key := unhex(t, "0001020304050607 0001020304050607")
	k, _ := NewKey(key)
	for _, tc := range []struct {
		name string
		code byte
		data []byte
		wire string
	}{
		{"poll", CmdPoll, nil, "53 00 0E 00 0E 02 15 60 4B 32 76 77 73 B6"},
		{"lstat", CmdLStat, nil, "53 00 0E 00 0E 02 15 64 6F 63 24 6F D0 50"},
		{"id", CmdID, RequestID, "53 00 1E 00 0E 02 17 61 D1 4E B7 AD 98 2C C5 F9 AA 25 31 8A 7E AE D6 26 9A E9 95 73 19 83"},
		{"cap", CmdCap, RequestID, "53 00 1E 00 0E 02 17 62 D1 4E B7 AD 98 2C C5 F9 AA 25 31 8A 7E AE D6 26 0F 6A 2A A7 38 70"},
		{"out", CmdOut, MarshalOutputs(OutputControl{0, OutPermOff, 100}, OutputControl{1, OutTempOff, 120}),
			"53 00 1E 00 0E 02 17 68 F7 EF A0 D4 76 4A 4E 29 26 75 96 F2 16 D8 A9 E8 C5 88 76 08 B9 08"},
		{"keyset", CmdKeySet, KeySet{Key: k}.Marshal(),
			"53 00 2E 00 0E 02 17 75 F0 DD EC 9A 0E D8 CE 4C 80 BA F5 D5 5C 18 43 6F 91 89 FD 66 C9 F2 23 DC 04 14 86 D8 33 57 DF 98 6C 1D 4B C2 B2 F2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mk := func() *Session {
				return &Session{state: scActive, keys: &sessionKeys{enc: newCipher(zero), mac1: newCipher(zero), mac2: newCipher(zero)}}
			}
			cp := mk()
			got, err := cp.Seal(Frame{Seq: 2, Code: tc.code, Data: tc.data})
			if err != nil {
				t.Fatal(err)
			}
			want := unhex(t, tc.wire)
			if !bytes.Equal(got, want) {
				t.Fatalf("sealed\n got % X\nwant % X", got, want)
			}
			// The PD's end opens it back to the plain data.
			pd := mk()
			var d Decoder
			d.Feed(want)
			f, err := d.Next()
			if err != nil {
				t.Fatal(err)
			}
			if err := pd.Open(&f); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(f.Data, tc.data) || f.Code != tc.code {
				t.Errorf("opened % X", f.Data)
			}
			if pd.cmac != cp.cmac {
				t.Error("C-MAC chains differ")
			}
		})
	}
}

// cbcMAC is an independent reading of the spec's MAC, written apart from
// computeMAC with crypto/cipher's CBC mode: pad with 80 00…, CBC under
// S-MAC1 for all blocks but the last, then one CBC step under S-MAC2.
func cbcMAC(k1, k2 []byte, iv [16]byte, msg []byte) [16]byte {
	m := append([]byte(nil), msg...)
	if len(m)%16 != 0 {
		m = append(m, 0x80)
		for len(m)%16 != 0 {
			m = append(m, 0)
		}
	}
	c1, _ := aes.NewCipher(k1)
	c2, _ := aes.NewCipher(k2)
	chain := iv[:]
	if len(m) > 16 {
		head := make([]byte, len(m)-16)
		cipher.NewCBCEncrypter(c1, iv[:]).CryptBlocks(head, m[:len(m)-16])
		chain = head[len(head)-16:]
	}
	var out [16]byte
	cipher.NewCBCEncrypter(c2, chain).CryptBlocks(out[:], m[len(m)-16:])
	return out
}

func TestMACAgreesWithIndependentCBC(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		k1, k2 := make([]byte, 16), make([]byte, 16)
		for i := range k1 {
			k1[i], k2[i] = byte(rng.Uint32()), byte(rng.Uint32())
		}
		var iv [16]byte
		for i := range iv {
			iv[i] = byte(rng.Uint32())
		}
		msg := make([]byte, 1+rng.IntN(100))
		for i := range msg {
			msg[i] = byte(rng.Uint32())
		}
		k := &sessionKeys{mac1: newCipher(k1), mac2: newCipher(k2)}
		if got, want := computeMAC(k, iv, msg), cbcMAC(k1, k2, iv, msg); got != want {
			t.Fatalf("len %d: MAC % X, independent % X", len(msg), got, want)
		}
	}
}

// establish runs a handshake between a CP and a PD session on key.
func establish(t testing.TB, key Key) (cp, pd *Session) {
	t.Helper()
	cp, pd = new(Session), new(Session)
	a, err := cp.Challenge(&fixedRand{bytes.Repeat([]byte{0x11}, 8)})
	if err != nil {
		t.Fatal(err)
	}
	cc, err := pd.Respond(key, a, [8]byte{}, &fixedRand{bytes.Repeat([]byte{0x22}, 8)})
	if err != nil {
		t.Fatal(err)
	}
	server, err := cp.Accept(key, cc)
	if err != nil {
		t.Fatal(err)
	}
	rmac, err := pd.Confirm(server)
	if err != nil {
		t.Fatal(err)
	}
	if err := cp.Establish(rmac); err != nil {
		t.Fatal(err)
	}
	return cp, pd
}

func sealAndDecode(t testing.TB, s *Session, f Frame) Frame {
	t.Helper()
	w, err := s.Seal(f)
	if err != nil {
		t.Fatal(err)
	}
	var d Decoder
	d.Feed(w)
	g, err := d.Next()
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestSessionChainsMACs(t *testing.T) {
	cp, pd := establish(t, DefaultKey())
	for i, data := range [][]byte{nil, {1}, bytes.Repeat([]byte{2}, 16), bytes.Repeat([]byte{3}, 40)} {
		cmd := sealAndDecode(t, cp, Frame{Addr: 1, Seq: byte(i%3 + 1), Code: CmdLED, Data: data})
		if err := pd.Open(&cmd); err != nil || !bytes.Equal(cmd.Data, data) {
			t.Fatalf("command %d: %v % X", i, err, cmd.Data)
		}
		rep := sealAndDecode(t, pd, Frame{Addr: 0x81, Seq: cmd.Seq, Code: ReplyRaw, Data: data})
		if err := cp.Open(&rep); err != nil || !bytes.Equal(rep.Data, data) {
			t.Fatalf("reply %d: %v", i, err)
		}
	}
}

func TestSessionRejects(t *testing.T) {
	cp, pd := establish(t, DefaultKey())
	first := sealAndDecode(t, cp, Frame{Addr: 1, Seq: 1, Code: CmdBuz, Data: []byte{1, 2, 3, 4, 5}})
	replay := first
	if err := pd.Open(&first); err != nil {
		t.Fatal(err)
	}
	// Before any reply the same bytes verify again: that is the CP's resend
	// after a lost reply, which the sequence number catches, not the MAC.
	again := replay
	if err := pd.Open(&again); err != nil {
		t.Fatalf("resend before a reply: %v", err)
	}
	sealAndDecode(t, pd, Frame{Addr: 0x81, Seq: 1, Code: ReplyACK})
	before := *pd
	// After a reply, replaying the old command fails: the chain moved on.
	if err := pd.Open(&replay); !errors.Is(err, ErrMAC) {
		t.Errorf("replayed command: %v", err)
	}
	if pd.cmac != before.cmac || pd.rmac != before.rmac {
		t.Error("a rejected frame moved the MAC chain")
	}
	// A flipped bit in the data fails the MAC.
	cmd := sealAndDecode(t, cp, Frame{Addr: 1, Seq: 2, Code: CmdBuz, Data: []byte{1, 2, 3, 4, 5}})
	cmd.Data[0] ^= 1
	if err := pd.Open(&cmd); !errors.Is(err, ErrMAC) {
		t.Errorf("tampered command: %v", err)
	}
	// A command's security block type on a reply is refused.
	f := Frame{Addr: 0x81, SCB: SCS17, Code: ReplyACK}
	if err := cp.Open(&f); !errors.Is(err, ErrSCBType) {
		t.Errorf("reply with SCS_17: %v", err)
	}
	var idle Session
	if _, err := idle.Seal(Frame{Code: CmdPoll}); !errors.Is(err, ErrSCInactive) {
		t.Errorf("seal without a session: %v", err)
	}
	if _, err := idle.Accept(DefaultKey(), CCrypt{}); !errors.Is(err, ErrSCHandshake) {
		t.Errorf("accept before challenge: %v", err)
	}
}
