package osdp

import (
	"errors"
	"testing"
)

func TestCardNumber(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    CardRaw
		want string
		err  error
	}{
		// FC 1, card 1 worked by hand: P=1 | 00000001 | 0000000000000001 | P=0.
		{"H10301 FC 1 card 1", CardRaw{Format: RawFormatWiegand, Bits: 26, Data: []byte{0x80, 0x80, 0x00, 0x80}}, "1:1", nil},
		{"H10301 parity broken", CardRaw{Format: RawFormatWiegand, Bits: 26, Data: []byte{0x00, 0x80, 0x00, 0x80}}, "", ErrCardRead},
		{"raw UID in hex", CardRaw{Format: RawFormatUnspecified, Bits: 32, Data: []byte{0x04, 0xA2, 0x2B, 0xF1}}, "04A22BF1", nil},
		{"raw 26 bits are not split", CardRaw{Format: RawFormatUnspecified, Bits: 26, Data: []byte{0x80, 0x80, 0x00, 0x80}}, "80800080", nil},
		{"Wiegand 37 bits in hex", CardRaw{Format: RawFormatWiegand, Bits: 37, Data: []byte{1, 2, 3, 4, 5}}, "0102030405", nil},
	} {
		got, err := CardNumber(tc.c)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("%s: %q, %v; want %q, %v", tc.name, got, err, tc.want, tc.err)
		}
	}
}

func TestWiegandRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		bits     int
		fc, card uint
		want     string
	}{
		{26, 0, 0, "0:0"}, {26, 255, 65535, "255:65535"}, {26, 123, 4567, "123:4567"},
		{34, 0, 1, "0:1"}, {34, 65535, 65535, "65535:65535"}, {34, 4660, 22136, "4660:22136"},
	} {
		c, err := WiegandBits(tc.bits, tc.fc, tc.card)
		if err != nil {
			t.Fatal(err)
		}
		got, err := CardNumber(c)
		if err != nil || got != tc.want {
			t.Errorf("%d-bit %d:%d → %q, %v", tc.bits, tc.fc, tc.card, got, err)
		}
		// Any single flipped bit is caught by one of the parities.
		for i := range tc.bits {
			bad := CardRaw{Format: c.Format, Bits: c.Bits, Data: append([]byte(nil), c.Data...)}
			bad.Data[i/8] ^= 0x80 >> (i % 8)
			if _, err := CardNumber(bad); !errors.Is(err, ErrCardRead) {
				t.Errorf("%d-bit: flipping bit %d went unnoticed", tc.bits, i)
			}
		}
	}
	if _, err := WiegandBits(26, 256, 0); err == nil {
		t.Error("26-bit facility 256 accepted")
	}
	if _, err := WiegandBits(35, 1, 1); err == nil {
		t.Error("35-bit format accepted")
	}
}

func TestCardTextNumber(t *testing.T) {
	if v, err := CardTextNumber(CardText{Text: []byte(" 0012345 ")}); v != "0012345" || err != nil {
		t.Errorf("%q, %v", v, err)
	}
	for _, bad := range []string{"", "   ", "12\x0034"} {
		if _, err := CardTextNumber(CardText{Text: []byte(bad)}); !errors.Is(err, ErrCardRead) {
			t.Errorf("%q accepted", bad)
		}
	}
}
