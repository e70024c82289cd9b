package modem

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// Errors about numbers, texts and PDUs. None carries the number or the
// text.
var (
	// ErrNumber: not a phone number: an optional "+", then 1 to 20 digits
	// (spaces, dashes, dots and brackets are ignored).
	ErrNumber = errors.New("modem: bad phone number")
	// ErrText: an empty text, or one that is not UTF-8.
	ErrText = errors.New("modem: text empty or not UTF-8")
	// ErrTooLong: the text needs more parts than allowed.
	ErrTooLong = errors.New("modem: text too long")
	// ErrPDU: a PDU that cannot be read.
	ErrPDU = errors.New("modem: malformed PDU")
)

// Coding is a data coding scheme (TP-DCS, TS 23.038 §4).
type Coding byte

// Codings.
const (
	GSM7  Coding = 0x00 // default alphabet, 7 bits a character, 160 to a message
	Data8 Coding = 0x04 // 8-bit data (decoded only)
	UCS2  Coding = 0x08 // UTF-16, 70 characters to a message
)

func (c Coding) String() string {
	switch c {
	case GSM7:
		return "gsm7"
	case Data8:
		return "8bit"
	case UCS2:
		return "ucs2"
	}
	return fmt.Sprintf("dcs-%02x", byte(c))
}

// Limits of one message's user data: 140 octets.
const (
	maxSeptets       = 160 // GSM7, one message
	maxSeptetsConcat = 153 // GSM7 after a 6-octet concatenation header (7 septets)
	maxUnits         = 70  // UCS-2 characters (UTF-16 units), one message
	maxUnitsConcat   = 67  // after the header
	maxUD            = 140
)

// Concat places a message among the parts of a long one (the user data
// header's concatenation element, TS 23.040 §9.2.3.24.1 and .8).
type Concat struct {
	Ref        uint16 // the same in every part of one message
	Total, Seq byte   // Seq counts from 1
	Wide       bool   // 16-bit reference (IEI 08); 8-bit (IEI 00) otherwise
}

// Submit is an SMS-SUBMIT TPDU (TS 23.040 §9.2.2.2): what a modem is asked
// to send in PDU mode.
type Submit struct {
	MR     byte   // TP-MR; 0 lets the modem choose
	Number string // "+8613800138000" (international) or "13800138000"
	Coding Coding
	Text   string
	Concat Concat // zero Total: a message in one part
	// Validity is the relative validity period (TP-VP, §9.2.3.12.1).
	// NoValidity leaves it out (TP-VPF 00).
	Validity   byte
	NoValidity bool
}

// ValidityFor is the relative validity period octet for d, rounded up, at
// most 63 weeks (§9.2.3.12.1).
func ValidityFor(d time.Duration) byte {
	switch {
	case d <= 12*time.Hour:
		return byte(max(ceil(d, 5*time.Minute)-1, 0))
	case d <= 24*time.Hour:
		return byte(143 + ceil(d-12*time.Hour, 30*time.Minute))
	case d <= 30*24*time.Hour:
		return byte(166 + ceil(d, 24*time.Hour))
	case d <= 63*7*24*time.Hour:
		return byte(192 + ceil(d, 7*24*time.Hour))
	}
	return 255
}

// ValidityPeriod is the duration a relative validity period octet stands
// for.
func ValidityPeriod(vp byte) time.Duration {
	v := time.Duration(vp)
	switch {
	case vp <= 143:
		return (v + 1) * 5 * time.Minute
	case vp <= 167:
		return 12*time.Hour + (v-143)*30*time.Minute
	case vp <= 196:
		return (v - 166) * 24 * time.Hour
	}
	return (v - 192) * 7 * 24 * time.Hour
}

func ceil(d, unit time.Duration) int { return int((d + unit - 1) / unit) }

// Split chooses the coding for text and cuts it into the texts of its
// parts: one part up to 160 GSM characters (an extension character counts
// two) or 70 UCS-2 units; more parts of 153 or 67 each otherwise. A part
// never ends inside an escape pair or a surrogate pair.
func Split(text string) (Coding, []string) {
	coding := GSM7
	size := func(r rune) int { return gsm.septets(r) }
	single, multi := maxSeptets, maxSeptetsConcat
	if _, ok := gsm.encode(text); !ok {
		coding, single, multi = UCS2, maxUnits, maxUnitsConcat
		size = utf16.RuneLen
	}
	total := 0
	for _, r := range text {
		total += size(r)
	}
	if total <= single {
		return coding, []string{text}
	}
	var parts []string
	start, n := 0, 0
	for i, r := range text {
		if k := size(r); n+k > multi {
			parts = append(parts, text[start:i])
			start, n = i, k
		} else {
			n += k
		}
	}
	return coding, append(parts, text[start:])
}

// normalizeNumber strips spaces, dashes, dots and brackets, and checks
// what is left: an optional "+" and 1 to 20 digits.
func normalizeNumber(s string) (string, error) {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '.', '(', ')':
			return -1
		}
		return r
	}, s)
	digits := strings.TrimPrefix(s, "+")
	if len(digits) == 0 || len(digits) > 20 {
		return "", ErrNumber
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return "", ErrNumber
		}
	}
	return s, nil
}

// Types of address (TS 23.040 §9.1.2.5, TS 24.008 §10.5.4.7): ISDN
// numbering plan, and the type of number in bits 4-6.
const (
	toaInternational = 0x91
	toaUnknown       = 0x81 // a national-format number: dialled as written
	tonMask          = 0x70
	tonInternational = 0x10
	tonAlphanumeric  = 0x50
)

// encodeAddress writes TP-DA: digit count, type, swapped semi-octets.
func encodeAddress(number string) ([]byte, error) {
	n, err := normalizeNumber(number)
	if err != nil {
		return nil, err
	}
	toa := byte(toaUnknown)
	digits, intl := strings.CutPrefix(n, "+")
	if intl {
		toa = toaInternational
	}
	out := []byte{byte(len(digits)), toa}
	for i := 0; i < len(digits); i += 2 {
		lo := digits[i] - '0'
		hi := byte(0x0F)
		if i+1 < len(digits) {
			hi = digits[i+1] - '0'
		}
		out = append(out, hi<<4|lo)
	}
	return out, nil
}

// Encode returns the TPDU. The modem is sent "00" (use the SIM's service
// centre), then the TPDU in hex; AT+CMGS takes the TPDU's length.
func (s Submit) Encode() ([]byte, error) {
	if !utf8.ValidString(s.Text) {
		return nil, ErrText
	}
	da, err := encodeAddress(s.Number)
	if err != nil {
		return nil, err
	}
	var udh []byte
	c := s.Concat
	if c.Total > 0 {
		if c.Seq == 0 || c.Seq > c.Total {
			return nil, fmt.Errorf("%w: part %d of %d", ErrPDU, c.Seq, c.Total)
		}
		if c.Wide {
			udh = []byte{6, 0x08, 4, byte(c.Ref >> 8), byte(c.Ref), c.Total, c.Seq}
		} else {
			udh = []byte{5, 0x00, 3, byte(c.Ref), c.Total, c.Seq}
		}
	}
	var udl int
	var ud []byte
	switch s.Coding {
	case GSM7:
		septets, ok := gsm.encode(s.Text)
		if !ok {
			return nil, fmt.Errorf("%w: text outside the GSM alphabet", ErrPDU)
		}
		hs := (len(udh)*8 + 6) / 7 // header septets, fill included
		udl = hs + len(septets)
		ud = append(udh, pack7(septets, hs*7-len(udh)*8)...)
		if udl > maxSeptets {
			return nil, ErrTooLong
		}
	case UCS2:
		ud = udh
		for _, u := range utf16.Encode([]rune(s.Text)) {
			ud = append(ud, byte(u>>8), byte(u))
		}
		udl = len(ud)
	default:
		return nil, fmt.Errorf("%w: coding %s", ErrPDU, s.Coding)
	}
	if len(ud) > maxUD {
		return nil, ErrTooLong
	}
	fo := byte(0x01) // SMS-SUBMIT
	if !s.NoValidity {
		fo |= 0x10 // TP-VPF relative
	}
	if udh != nil {
		fo |= 0x40 // TP-UDHI
	}
	out := []byte{fo, s.MR}
	out = append(out, da...)
	out = append(out, 0x00, byte(s.Coding)) // TP-PID: plain short message
	if !s.NoValidity {
		out = append(out, s.Validity)
	}
	out = append(out, byte(udl))
	return append(out, ud...), nil
}

// DecodeSubmit reads an SMS-SUBMIT TPDU. It refuses anything it cannot
// read whole: other message types, compressed or reserved codings, user
// data longer or shorter than its length says, trailing bytes.
func DecodeSubmit(b []byte) (Submit, error) {
	r := reader{b: b}
	fo := r.byte()
	if fo&0x03 != 0x01 {
		return Submit{}, fmt.Errorf("%w: not an SMS-SUBMIT", ErrPDU)
	}
	s := Submit{MR: r.byte()}
	s.Number = r.address()
	r.byte() // TP-PID
	dcs := r.byte()
	switch fo >> 3 & 0x03 { // TP-VPF
	case 0:
		s.NoValidity = true
	case 2:
		s.Validity = r.byte()
	default: // enhanced or absolute: seven octets
		s.NoValidity = true
		r.take(7)
	}
	udl := int(r.byte())
	if r.err != nil {
		return Submit{}, r.err
	}
	coding, err := codingOf(dcs)
	if err != nil {
		return Submit{}, err
	}
	s.Coding = coding
	rest := r.b[r.i:]
	n := udl // octets of user data
	if coding == GSM7 {
		if udl > maxSeptets {
			return Submit{}, fmt.Errorf("%w: %d septets", ErrPDU, udl)
		}
		n = (udl*7 + 7) / 8
	}
	if n > maxUD || len(rest) != n {
		return Submit{}, fmt.Errorf("%w: user data length %d, %d octets follow", ErrPDU, udl, len(rest))
	}
	ud, hdr := rest, 0
	if fo&0x40 != 0 { // TP-UDHI
		if len(ud) == 0 || int(ud[0])+1 > len(ud) {
			return Submit{}, fmt.Errorf("%w: header longer than the user data", ErrPDU)
		}
		hdr = int(ud[0]) + 1
		if s.Concat, err = parseHeader(ud[1:hdr]); err != nil {
			return Submit{}, err
		}
	}
	switch coding {
	case GSM7:
		hs := (hdr*8 + 6) / 7
		if hs > udl {
			return Submit{}, fmt.Errorf("%w: header longer than the user data", ErrPDU)
		}
		septets, ok := unpack7(ud[hdr:], hs*7-hdr*8, udl-hs)
		if !ok {
			return Submit{}, fmt.Errorf("%w: user data cut short", ErrPDU)
		}
		s.Text = gsm.decode(septets)
	case UCS2:
		t := ud[hdr:]
		if len(t)%2 != 0 {
			return Submit{}, fmt.Errorf("%w: odd UCS-2 length", ErrPDU)
		}
		units := make([]uint16, len(t)/2)
		for i := range units {
			units[i] = uint16(t[2*i])<<8 | uint16(t[2*i+1])
		}
		s.Text = string(utf16.Decode(units))
	case Data8:
		s.Text = string(ud[hdr:])
	}
	return s, nil
}

// DecodeSubmitHex reads what a modem is sent after the PDU-mode prompt:
// the service centre address (its length octet first; 00 for the SIM's
// own), then the TPDU, in hex. length is AT+CMGS's, the TPDU's octets.
func DecodeSubmitHex(s string, length int) (Submit, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) == 0 {
		return Submit{}, fmt.Errorf("%w: not hex", ErrPDU)
	}
	sca := 1 + int(b[0])
	if length < 0 || sca+length != len(b) {
		return Submit{}, fmt.Errorf("%w: %d octets, AT+CMGS said %d after a %d-octet service centre", ErrPDU, len(b), length, sca)
	}
	return DecodeSubmit(b[sca:])
}

// codingOf reads TP-DCS: the general data coding groups (00xx, 01xx
// without compression) and the data coding/message class group (1111).
func codingOf(dcs byte) (Coding, error) {
	switch {
	case dcs&0xC0 == 0x00 || dcs&0xC0 == 0x40:
		if dcs&0x20 != 0 {
			return 0, fmt.Errorf("%w: compressed text", ErrPDU)
		}
		switch dcs & 0x0C {
		case 0x00:
			return GSM7, nil
		case 0x04:
			return Data8, nil
		case 0x08:
			return UCS2, nil
		}
	case dcs&0xF0 == 0xF0:
		if dcs&0x04 != 0 {
			return Data8, nil
		}
		return GSM7, nil
	}
	return 0, fmt.Errorf("%w: data coding %02X", ErrPDU, dcs)
}

// parseHeader finds the concatenation element in a user data header; other
// elements are skipped.
func parseHeader(h []byte) (Concat, error) {
	var c Concat
	for i := 0; i < len(h); {
		if i+2 > len(h) || i+2+int(h[i+1]) > len(h) {
			return Concat{}, fmt.Errorf("%w: user data header element cut short", ErrPDU)
		}
		iei, data := h[i], h[i+2:i+2+int(h[i+1])]
		i += 2 + len(data)
		switch {
		case iei == 0x00 && len(data) == 3:
			c = Concat{Ref: uint16(data[0]), Total: data[1], Seq: data[2]}
		case iei == 0x08 && len(data) == 4:
			c = Concat{Ref: uint16(data[0])<<8 | uint16(data[1]), Total: data[2], Seq: data[3], Wide: true}
		default:
			continue
		}
		if c.Total == 0 || c.Seq == 0 || c.Seq > c.Total {
			return Concat{}, fmt.Errorf("%w: part %d of %d", ErrPDU, c.Seq, c.Total)
		}
	}
	return c, nil
}

// reader takes octets off a PDU, remembering the first shortfall.
type reader struct {
	b   []byte
	i   int
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || r.i+n > len(r.b) {
		r.err = fmt.Errorf("%w: cut short", ErrPDU)
		return nil
	}
	p := r.b[r.i : r.i+n]
	r.i += n
	return p
}

func (r *reader) byte() byte {
	if p := r.take(1); p != nil {
		return p[0]
	}
	return 0
}

// address reads an address field: digits (semi-octets, swapped, F-filled)
// or, for an alphanumeric type, packed GSM characters.
func (r *reader) address() string {
	n := int(r.byte())
	toa := r.byte()
	if r.err == nil && n > 20 {
		r.err = fmt.Errorf("%w: address of %d digits", ErrPDU, n)
	}
	p := r.take((n + 1) / 2)
	if r.err != nil {
		return ""
	}
	if toa&tonMask == tonAlphanumeric {
		septets, _ := unpack7(p, 0, n*4/7)
		return gsm.decode(septets)
	}
	const digits = "0123456789*#abc"
	var b strings.Builder
	if toa&tonMask == tonInternational {
		b.WriteByte('+')
	}
	for i := range n {
		d := p[i/2] >> (4 * (i % 2)) & 0x0F
		if d == 0x0F {
			r.err = fmt.Errorf("%w: filler inside an address", ErrPDU)
			return ""
		}
		b.WriteByte(digits[d])
	}
	if n%2 == 1 && p[n/2]>>4 != 0x0F {
		r.err = fmt.Errorf("%w: address not filled with F", ErrPDU)
		return ""
	}
	return b.String()
}
