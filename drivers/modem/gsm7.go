package modem

import "strings"

// The GSM 7-bit default alphabet and its extension table (3GPP TS 23.038
// §6.2.1). 0x1B is the escape to the extension table.
const gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

const gsmEscape = 0x1B

// gsm is the alphabet, built once and only read.
var gsm = gsmAlphabet()

// gsmTables are the two tables, both ways.
type gsmTables struct {
	basic [128]rune
	ext   map[byte]rune
	enc   map[rune][]byte // rune → one septet, or escape and septet
}

func gsmAlphabet() *gsmTables {
	t := &gsmTables{
		ext: map[byte]rune{0x0A: '\f', 0x14: '^', 0x28: '{', 0x29: '}', 0x2F: '\\', 0x3C: '[', 0x3D: '~', 0x3E: ']', 0x40: '|', 0x65: '€'},
		enc: make(map[rune][]byte, 140),
	}
	i := 0
	for _, r := range gsmBasic {
		t.basic[i] = r
		if i != gsmEscape {
			t.enc[r] = []byte{byte(i)}
		}
		i++
	}
	for c, r := range t.ext {
		t.enc[r] = []byte{gsmEscape, c}
	}
	return t
}

// encode returns text's septets, or false when a character is not in
// the default alphabet or its extension.
func (t *gsmTables) encode(text string) ([]byte, bool) {
	out := make([]byte, 0, len(text))
	for _, r := range text {
		s, ok := t.enc[r]
		if !ok {
			return nil, false
		}
		out = append(out, s...)
	}
	return out, true
}

// decode reads septets. An escape before a code the extension table lacks
// reads as the basic character (TS 23.038 §6.2.1.1); a final escape is
// dropped.
func (t *gsmTables) decode(septets []byte) string {
	var b strings.Builder
	for i := 0; i < len(septets); i++ {
		c := septets[i] & 0x7F
		if c == gsmEscape {
			if i+1 == len(septets) {
				break
			}
			i++
			c = septets[i] & 0x7F
			if r, ok := t.ext[c]; ok {
				b.WriteRune(r)
				continue
			}
			if c == gsmEscape {
				b.WriteByte(' ')
				continue
			}
		}
		b.WriteRune(t.basic[c])
	}
	return b.String()
}

// septets counts the septets a rune takes: 1, 2 (extension), or 0 when
// it has none.
func (t *gsmTables) septets(r rune) int {
	return len(t.enc[r])
}

// pack7 packs septets into octets, least significant bit first, after fill
// zero bits (TS 23.038 §6.1.2.1.1; the fill aligns text after a user data
// header to a septet boundary, TS 23.040 §9.2.3.24).
func pack7(septets []byte, fill int) []byte {
	out := make([]byte, (fill+7*len(septets)+7)/8)
	pos := fill
	for _, s := range septets {
		s &= 0x7F
		i, bit := pos/8, pos%8
		out[i] |= s << bit
		if bit > 1 {
			out[i+1] |= s >> (8 - bit)
		}
		pos += 7
	}
	return out
}

// unpack7 reads n septets from octets after fill bits. It returns false if
// the octets are too few.
func unpack7(octets []byte, fill, n int) ([]byte, bool) {
	if fill < 0 || n < 0 || (fill+7*n+7)/8 > len(octets) {
		return nil, false
	}
	out := make([]byte, n)
	pos := fill
	for k := range out {
		i, bit := pos/8, pos%8
		v := uint16(octets[i]) >> bit
		if bit > 1 {
			v |= uint16(octets[i+1]) << (8 - bit)
		}
		out[k] = byte(v) & 0x7F
		pos += 7
	}
	return out, true
}
