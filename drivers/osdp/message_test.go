package osdp

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func TestMessageCodecs(t *testing.T) {
	key, _ := NewKey(unhex(t, "000102030405060708090A0B0C0D0E0F"))
	// LED data from OSDP.Net ReaderLedControlsTest.cs: two records, reader
	// 2 LED 3 and reader 5 LED 6, temporary cyan/black 1/2 timer 4,
	// permanent blue/amber 2/6.
	ledData := unhex(t, "02 03 02 01 02 06 00 04 00 01 02 06 04 03  05 06 02 01 02 06 00 04 00 01 02 06 04 03")
	led := func(r, n byte) LEDControl {
		return LEDControl{Reader: r, LED: n,
			Temporary: LEDTemporary{LEDTempSet, 1, 2, ColorCyan, ColorBlack, 4},
			Permanent: LEDPermanent{LEDPermSet, 2, 6, ColorBlue, ColorAmber}}
	}
	for _, tc := range []struct {
		name    string
		code    byte
		command bool
		data    []byte
		want    any
	}{
		{"POLL", CmdPoll, true, nil, struct{}{}},
		{"ID", CmdID, true, []byte{0}, byte(0)},
		{"CAP", CmdCap, true, []byte{0}, byte(0)},
		{"LSTAT", CmdLStat, true, nil, struct{}{}},
		{"LED (OSDP.Net)", CmdLED, true, ledData, []LEDControl{led(2, 3), led(5, 6)}},
		{"BUZ (OSDP.Net)", CmdBuz, true, unhex(t, "00 02 05 02 01"), Buzzer{0, ToneDefault, 5, 2, 1}},
		{"OUT (OSDP.Net)", CmdOut, true, unhex(t, "00 03 64 00 01 06 78 00"),
			[]OutputControl{{0, OutPermOff, 100}, {1, OutTempOff, 120}}},
		{"KEYSET", CmdKeySet, true, append([]byte{1, 16}, key.Bytes()...), KeySet{Key: key}},
		{"CHLNG", CmdChlng, true, unhex(t, "B0B1B2B3B4B5B6B7"), [8]byte{0xB0, 0xB1, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7}},
		{"SCRYPT", CmdSCrypt, true, bytes.Repeat([]byte{9}, 16), [16]byte{9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9}},

		{"ACK", ReplyACK, false, nil, struct{}{}},
		{"BUSY", ReplyBusy, false, nil, struct{}{}},
		{"NAK", ReplyNAK, false, []byte{NakSeq}, Nak{Code: NakSeq}},
		{"NAK with data", ReplyNAK, false, []byte{NakSCCond, 7}, Nak{Code: NakSCCond, Data: []byte{7}}},
		{"PDID", ReplyPDID, false, unhex(t, "5C2601 0A 02 78563412 010203"),
			PDID{Vendor: [3]byte{0x5C, 0x26, 0x01}, Model: 10, Version: 2, Serial: 0x12345678, Firmware: [3]byte{1, 2, 3}}},
		{"PDCAP", ReplyPDCap, false, unhex(t, "090101 0A0004"), []Capability{{9, 1, 1}, {10, 0, 4}}},
		{"LSTATR", ReplyLStatR, false, []byte{1, 0}, LocalStatus{Tamper: 1}},
		// From the libosdp-conformance README's "present card" example.
		{"RAW", ReplyRaw, false, unhex(t, "00 00 4b 00 09 a4 49 4a a3 27 4c d5 2b c0"),
			CardRaw{Reader: 0, Format: 0, Bits: 75, Data: unhex(t, "09a4494aa3274cd52bc0")}},
		{"FMT", ReplyFmt, false, append([]byte{0, 0, 4}, "1234"...), CardText{Text: []byte("1234")}},
		{"KEYPPAD", ReplyKeypad, false, []byte{0, 3, '1', '2', KeyPound}, Keypad{Keys: []byte{'1', '2', KeyPound}}},
		{"CCRYPT", ReplyCCrypt, false, bytes.Repeat([]byte{1}, 32),
			CCrypt{UID: [8]byte{1, 1, 1, 1, 1, 1, 1, 1}, RndB: [8]byte{1, 1, 1, 1, 1, 1, 1, 1}, Cryptogram: [16]byte{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}}},
		{"RMAC_I", ReplyRMACI, false, make([]byte, 16), [16]byte{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parse := ParseReply
			if tc.command {
				parse = ParseCommand
			}
			got, err := parse(tc.code, tc.data)
			if err != nil {
				t.Fatal(err)
			}
			if ks, ok := got.(KeySet); ok {
				if !ks.Key.Equal(tc.want.(KeySet).Key) {
					t.Fatal("KEYSET key differs")
				}
			} else if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("parsed %#v, want %#v", got, tc.want)
			}
			if b, ok := marshal(got); ok && !bytes.Equal(b, tc.data) {
				t.Errorf("marshalled % X, want % X", b, tc.data)
			}
			// Every field is required: one byte less never parses, and
			// fixed-size messages refuse one byte more.
			if len(tc.data) > 0 {
				if _, err := parse(tc.code, tc.data[:len(tc.data)-1]); err == nil &&
					tc.code != ReplyNAK && tc.code != ReplyPDCap {
					t.Errorf("parsed a short message")
				}
			}
		})
	}
}

// marshal re-encodes a parsed message with its own encoder.
func marshal(v any) ([]byte, bool) {
	switch m := v.(type) {
	case PDID:
		return m.Marshal(), true
	case []Capability:
		return MarshalCaps(m), true
	case LocalStatus:
		return m.Marshal(), true
	case []OutputControl:
		return MarshalOutputs(m...), true
	case []LEDControl:
		return MarshalLEDs(m...), true
	case Buzzer:
		return m.Marshal(), true
	case KeySet:
		return m.Marshal(), true
	case CCrypt:
		return m.Marshal(), true
	case Nak:
		return m.Marshal(), true
	case CardRaw:
		return m.Marshal(), true
	case CardText:
		return m.Marshal(), true
	case Keypad:
		return m.Marshal(), true
	}
	return nil, false
}

func TestMessagesRefuseMalformedData(t *testing.T) {
	for _, tc := range []struct {
		name string
		code byte
		cmd  bool
		data []byte
	}{
		{"POLL with data", CmdPoll, true, []byte{0}},
		{"ID without data", CmdID, true, nil},
		{"LED of 13 bytes", CmdLED, true, make([]byte, 13)},
		{"OUT of 5 bytes", CmdOut, true, make([]byte, 5)},
		{"KEYSET of key type 2", CmdKeySet, true, append([]byte{2, 16}, make([]byte, 16)...)},
		{"KEYSET claiming 8 bytes", CmdKeySet, true, append([]byte{1, 8}, make([]byte, 16)...)},
		{"unknown command", 0x99, true, nil},
		{"ACK with data", ReplyACK, false, []byte{1}},
		{"NAK without code", ReplyNAK, false, nil},
		{"PDCAP of 4 bytes", ReplyPDCap, false, make([]byte, 4)},
		{"RAW bit count too high", ReplyRaw, false, []byte{0, 0, 26, 0, 1, 2, 3}},
		{"RAW bit count too low", ReplyRaw, false, []byte{0, 0, 8, 0, 1, 2}},
		{"RAW of zero bits", ReplyRaw, false, []byte{0, 0, 0, 0, 1}},
		{"RAW bit count overflowing", ReplyRaw, false, []byte{0, 0, 0xFF, 0xFF, 1}},
		{"FMT length wrong", ReplyFmt, false, []byte{0, 0, 5, '1'}},
		{"KEYPPAD count wrong", ReplyKeypad, false, []byte{0, 9, '1'}},
		{"CCRYPT of 31 bytes", ReplyCCrypt, false, make([]byte, 31)},
		{"unknown reply", 0x99, false, nil},
	} {
		parse := ParseReply
		if tc.cmd {
			parse = ParseCommand
		}
		if _, err := parse(tc.code, tc.data); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestSupportsSecure(t *testing.T) {
	if !SupportsSecure([]Capability{{4, 1, 0}, {9, 1, 1}}) {
		t.Error("function 9 compliance 1 is the secure channel")
	}
	if SupportsSecure([]Capability{{9, 0, 0}}) || SupportsSecure(nil) {
		t.Error("no secure channel announced")
	}
}

func TestClientUID(t *testing.T) {
	id := PDID{Vendor: [3]byte{1, 2, 3}, Model: 4, Serial: 0x08070605}
	if got := id.ClientUID(); got != [8]byte{1, 2, 3, 4, 5, 6, 7, 8} {
		t.Errorf("cUID % X", got)
	}
}
