package wiegand

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestParseBitsKnownAnswers(t *testing.T) {
	tests := []struct {
		bits     string
		format   Format
		fc, card uint32
		display  string
		value    string
		hex      string
	}{
		{"10111101110110010011011101", H10301, 123, 45678, "FC 123 / 45678", "123:45678", "2F764DD"},
		{"10000000100000000000000010", H10301, 1, 1, "FC 1 / 1", "1:1", "2020002"},
		{"00000000000000000000000001", H10301, 0, 0, "FC 0 / 0", "0:0", "0000001"},
		{"01111111111111111111111111", H10301, 255, 65535, "FC 255 / 65535", "255:65535", "1FFFFFF"},
		{"1000001001101001011011101110101010", W34, 1234, 56789, "FC 1234 / 56789", "1234:56789", "209A5BBAA"},
		{"0000000000000000000000000000000001", W34, 0, 0, "FC 0 / 0", "0:0", "000000001"},
		{"0111111111111111111111111111111111", W34, 65535, 65535, "FC 65535 / 65535", "65535:65535", "1FFFFFFFF"},
	}
	for _, tt := range tests {
		t.Run(tt.display, func(t *testing.T) {
			c, err := ParseBits(tt.bits)
			if err != nil {
				t.Fatal(err)
			}
			if c.Format != tt.format || c.Facility != tt.fc || c.Number != tt.card {
				t.Fatalf("got %d-bit FC %d card %d", c.Format, c.Facility, c.Number)
			}
			if got := c.Display(); got != tt.display {
				t.Errorf("Display %q, want %q", got, tt.display)
			}
			if got := c.Value(); got != tt.value {
				t.Errorf("Value %q, want %q", got, tt.value)
			}
			if got := c.HexUID(); got != tt.hex {
				t.Errorf("HexUID %q, want %q", got, tt.hex)
			}
			if got := c.Bits(); got != tt.bits {
				t.Errorf("Bits %q, want %q", got, tt.bits)
			}
			enc, err := Encode(tt.format, tt.fc, tt.card)
			if err != nil || enc != c {
				t.Errorf("Encode = %+v, %v; want %+v", enc, err, c)
			}
		})
	}
}

func flip(s string, i int) string {
	b := []byte(s)
	b[i] ^= 1 // '0' <-> '1'
	return string(b)
}

func TestParseBitsRejects(t *testing.T) {
	good26 := "10111101110110010011011101"
	good34 := "1000001001101001011011101110101010"
	tests := []struct {
		name string
		bits string
		want error
	}{
		{"26: leading parity flipped", flip(good26, 0), ErrParity},
		{"26: trailing parity flipped", flip(good26, 25), ErrParity},
		{"26: facility bit flipped", flip(good26, 3), ErrParity},
		{"26: card bit flipped", flip(good26, 20), ErrParity},
		{"34: leading parity flipped", flip(good34, 0), ErrParity},
		{"34: trailing parity flipped", flip(good34, 33), ErrParity},
		{"34: bit 16 flipped", flip(good34, 16), ErrParity},
		{"34: bit 17 flipped", flip(good34, 17), ErrParity},
		{"one flip in each half", flip(flip(good26, 1), 14), ErrParity},
		{"25 bits", good26[:25], ErrLength},
		{"35 bits", good34 + "1", ErrLength},
		{"empty", "", ErrLength},
		{"not bits", "10111101110110010011011102", ErrBits},
		{"too long", strings.Repeat("1", 65), ErrLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseBits(tt.bits); !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
		})
	}
}

func TestParseBytesLeftAligned(t *testing.T) {
	tests := []struct {
		b        []byte
		n        int
		fc, card uint32
		err      error
	}{
		{[]byte{0xBD, 0xD9, 0x37, 0x40}, 26, 123, 45678, nil},
		{[]byte{0xBD, 0xD9, 0x37, 0x7F}, 26, 123, 45678, nil}, // pad bits ignored
		{[]byte{0x82, 0x69, 0x6E, 0xEA, 0x80}, 34, 1234, 56789, nil},
		{[]byte{0xBD, 0xD9, 0x37, 0x00}, 26, 0, 0, ErrParity},
		{[]byte{0xBD, 0xD9, 0x37}, 26, 0, 0, ErrLength},
		{nil, -1, 0, 0, ErrLength},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("% X/%d", tt.b, tt.n), func(t *testing.T) {
			c, err := ParseBytes(tt.b, tt.n)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if err == nil && (c.Facility != tt.fc || c.Number != tt.card) {
				t.Fatalf("FC %d card %d, want %d %d", c.Facility, c.Number, tt.fc, tt.card)
			}
		})
	}
}

func TestEncodeRejectsOversizedFields(t *testing.T) {
	if _, err := Encode(H10301, 256, 1); err == nil {
		t.Error("facility 256 fits 8 bits?")
	}
	if _, err := Encode(W34, 1, 65536); err == nil {
		t.Error("card 65536 fits 16 bits?")
	}
	if _, err := Encode(Format(37), 1, 1); !errors.Is(err, ErrLength) {
		t.Error("37-bit format accepted")
	}
}

func TestCardNeverPrintsItsNumber(t *testing.T) {
	c, _ := Encode(H10301, 123, 45678)
	var sb strings.Builder
	slog.New(slog.NewTextHandler(&sb, nil)).Info("read", "card", c)
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), sb.String()} {
		if strings.Contains(s, "45678") || strings.Contains(s, "2F764DD") {
			t.Errorf("card number leaked: %s", s)
		}
	}
}

func FuzzParseBytes(f *testing.F) {
	f.Add([]byte{0xBD, 0xD9, 0x37, 0x40}, 26)
	f.Add([]byte{0x82, 0x69, 0x6E, 0xEA, 0x80}, 34)
	f.Add([]byte{}, 0)
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		c, err := ParseBytes(b, n)
		if err != nil {
			return
		}
		again, err := Encode(c.Format, c.Facility, c.Number)
		if err != nil || again != c {
			t.Fatalf("decoded %+v re-encodes as %+v, %v", c, again, err)
		}
		if back, err := ParseBits(c.Bits()); err != nil || back != c {
			t.Fatalf("bits %s parse back as %+v, %v", c.Bits(), back, err)
		}
	})
}

func FuzzParseBits(f *testing.F) {
	f.Add("10111101110110010011011101")
	f.Add("1000001001101001011011101110101010")
	f.Add("2")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseBits(s)
		if err != nil {
			return
		}
		if c.Bits() != s {
			t.Fatalf("parsed %q, prints back %q", s, c.Bits())
		}
	})
}
