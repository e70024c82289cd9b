package osdp

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// ErrCardRead is returned for a card read that cannot be a credential: bad
// Wiegand parity, or formatted text that is not printable.
var ErrCardRead = errors.New("osdp: unusable card read")

// CardNumber turns osdp_RAW into gate.Presentation.Value, the way
// appliance/gate documents it:
//
//   - Wiegand format (P/data/P) of 26 bits (H10301: 8-bit facility code,
//     16-bit card number) or 34 bits (16-bit facility, 16-bit card), with
//     both parity bits checked: "FC:NUMBER" in decimal, e.g. "123:4567";
//   - anything else — a card UID read raw, or a Wiegand length this
//     package does not split — the data bytes in upper-case hex.
//
// A Wiegand read with bad parity is ErrCardRead: a misread must not open
// or deny a door on someone else's number.
func CardNumber(c CardRaw) (string, error) {
	if c.Format == RawFormatWiegand && (c.Bits == 26 || c.Bits == 34) {
		return wiegand(c)
	}
	return strings.ToUpper(hex.EncodeToString(c.Data)), nil
}

func bit(data []byte, i int) uint {
	return uint(data[i/8]>>(7-i%8)) & 1
}

func bits(data []byte, from, n int) (v uint) {
	for i := range n {
		v = v<<1 | bit(data, from+i)
	}
	return v
}

// wiegand checks the leading even parity over the first half and the
// trailing odd parity over the second half, then splits facility and card.
func wiegand(c CardRaw) (string, error) {
	n := int(c.Bits)
	half := n / 2
	var even, odd uint
	for i := range half {
		even ^= bit(c.Data, i)
	}
	for i := half; i < n; i++ {
		odd ^= bit(c.Data, i)
	}
	if even != 0 || odd != 1 {
		return "", fmt.Errorf("%w: %d-bit Wiegand parity", ErrCardRead, n)
	}
	fcBits := 8
	if n == 34 {
		fcBits = 16
	}
	fc := bits(c.Data, 1, fcBits)
	card := bits(c.Data, 1+fcBits, n-2-fcBits)
	return fmt.Sprintf("%d:%d", fc, card), nil
}

// WiegandBits builds the Data of a CardRaw in Wiegand format for a facility
// code and card number, parity included: 26 bits (fc < 256) or 34 bits
// (fc < 65536), card < 65536. Simulators and tests use it.
func WiegandBits(n int, fc, card uint) (CardRaw, error) {
	fcBits := 8
	if n == 34 {
		fcBits = 16
	} else if n != 26 {
		return CardRaw{}, fmt.Errorf("osdp: %d-bit Wiegand not supported", n)
	}
	if fc >= 1<<fcBits || card >= 1<<16 {
		return CardRaw{}, fmt.Errorf("osdp: facility %d or card %d out of range", fc, card)
	}
	payload := fc<<16 | card
	data := make([]byte, (n+7)/8)
	set := func(i int, v uint) {
		if v != 0 {
			data[i/8] |= 0x80 >> (i % 8)
		}
	}
	for i := range n - 2 {
		set(1+i, payload>>(n-3-i)&1)
	}
	var even, odd uint
	for i := 1; i < n/2; i++ {
		even ^= bit(data, i)
	}
	for i := n / 2; i < n-1; i++ {
		odd ^= bit(data, i)
	}
	set(0, even)
	set(n-1, odd^1)
	return CardRaw{Format: RawFormatWiegand, Bits: uint16(n), Data: data}, nil
}

// CardTextNumber turns osdp_FMT into gate.Presentation.Value: the text,
// which must be printable ASCII.
func CardTextNumber(c CardText) (string, error) {
	s := strings.TrimSpace(string(c.Text))
	if s == "" {
		return "", fmt.Errorf("%w: empty formatted read", ErrCardRead)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7E {
			return "", fmt.Errorf("%w: formatted read is not printable", ErrCardRead)
		}
	}
	return s, nil
}
