// Package wiegand decodes the Wiegand card formats that readers and
// Wiegand-to-serial converters pass on: 26-bit H10301 and the common 34-bit
// format, parity checked, facility code and card number split out.
//
// Bits are counted from the first one sent (bit 0, the leading even parity)
// to the last (the trailing odd parity). Byte input is packed first bit in
// the top bit of the first byte, left-aligned, as OSDP's osdp_RAW carries it.
package wiegand

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
)

// Errors.
var (
	ErrLength = errors.New("wiegand: unsupported bit count")
	ErrBits   = errors.New("wiegand: not a bit string")
	ErrParity = errors.New("wiegand: parity error")
)

// Format is a Wiegand format, named by its bit count.
type Format int

// Formats.
const (
	H10301 Format = 26 // 8-bit facility code, 16-bit card number
	W34    Format = 34 // 16-bit facility code, 16-bit card number
)

// layout says where a format's fields sit.
type layout struct {
	fcBits, cardBits int
}

var layouts = map[Format]layout{
	H10301: {8, 16},
	W34:    {16, 16},
}

// Card is a decoded card read.
type Card struct {
	Format   Format
	Facility uint32
	Number   uint32
	Raw      uint64 // all bits, parity included, first bit most significant
}

// Display is the card as people read it: "FC 123 / 45678".
func (c Card) Display() string {
	return fmt.Sprintf("FC %d / %d", c.Facility, c.Number)
}

// Value is the card as gate.Presentation carries it: "FC:NUMBER".
func (c Card) Value() string {
	return strconv.FormatUint(uint64(c.Facility), 10) + ":" + strconv.FormatUint(uint64(c.Number), 10)
}

// HexUID is every bit of the read, parity included, as upper-case hex
// (7 digits for 26 bits, 9 for 34): what readers that report a raw UID show.
func (c Card) HexUID() string {
	digits := (int(c.Format) + 3) / 4
	return fmt.Sprintf("%0*X", digits, c.Raw)
}

// String names the format only: a card number opens doors and must not
// reach a log by accident through %v.
func (c Card) String() string { return fmt.Sprintf("wiegand %d-bit card", c.Format) }

// LogValue keeps card numbers out of structured logs too.
func (c Card) LogValue() slog.Value { return slog.StringValue(c.String()) }

// ParseBits decodes a string of '0' and '1', first bit first.
func ParseBits(s string) (Card, error) {
	if strings.Trim(s, "01") != "" {
		return Card{}, ErrBits
	}
	var raw uint64
	if len(s) > 64 {
		return Card{}, fmt.Errorf("%w: %d", ErrLength, len(s))
	}
	for i := 0; i < len(s); i++ {
		raw = raw<<1 | uint64(s[i]-'0')
	}
	return decode(raw, len(s))
}

// ParseBytes decodes n bits packed left-aligned in b.
func ParseBytes(b []byte, n int) (Card, error) {
	if n < 0 || n > len(b)*8 || n > 64 {
		return Card{}, fmt.Errorf("%w: %d bits in %d bytes", ErrLength, n, len(b))
	}
	var raw uint64
	for i := 0; i < n; i++ {
		bit := b[i/8] >> (7 - i%8) & 1
		raw = raw<<1 | uint64(bit)
	}
	return decode(raw, n)
}

// decode checks parity and splits the fields of an n-bit read.
func decode(raw uint64, n int) (Card, error) {
	l, ok := layouts[Format(n)]
	if !ok {
		return Card{}, fmt.Errorf("%w: %d", ErrLength, n)
	}
	data := n - 2
	half := data / 2
	payload := raw >> 1 & (1<<data - 1)
	lead := raw >> (n - 1) & 1
	trail := raw & 1
	// Even parity: the leading bit makes the first half's ones even.
	// Odd parity: the trailing bit makes the second half's ones odd.
	if (ones(payload>>half)+lead)%2 != 0 {
		return Card{}, fmt.Errorf("%w: leading even parity", ErrParity)
	}
	if (ones(payload&(1<<half-1))+trail)%2 != 1 {
		return Card{}, fmt.Errorf("%w: trailing odd parity", ErrParity)
	}
	return Card{
		Format:   Format(n),
		Facility: uint32(payload >> l.cardBits),
		Number:   uint32(payload & (1<<l.cardBits - 1)),
		Raw:      raw,
	}, nil
}

// Encode builds the read a reader would send for a facility code and card
// number: for simulators and tests.
func Encode(f Format, facility, number uint32) (Card, error) {
	l, ok := layouts[f]
	if !ok {
		return Card{}, fmt.Errorf("%w: %d", ErrLength, f)
	}
	if facility >= 1<<l.fcBits || number >= 1<<l.cardBits {
		return Card{}, fmt.Errorf("wiegand: facility or number too large for %d bits", f)
	}
	n := int(f)
	data := n - 2
	half := data / 2
	payload := uint64(facility)<<l.cardBits | uint64(number)
	lead := ones(payload>>half) % 2
	trail := 1 - ones(payload&(1<<half-1))%2
	raw := lead<<(n-1) | payload<<1 | trail
	return Card{Format: f, Facility: facility, Number: number, Raw: raw}, nil
}

// Bits is the read as a string of '0' and '1'.
func (c Card) Bits() string {
	return fmt.Sprintf("%0*b", int(c.Format), c.Raw)
}

func ones(v uint64) uint64 {
	var n uint64
	for ; v != 0; v &= v - 1 {
		n++
	}
	return n
}
