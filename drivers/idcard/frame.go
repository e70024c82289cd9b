// Package idcard drives the desk readers of China's second-generation
// resident identity card (二代身份证阅读器): a SAM security module behind a
// UART or USB-serial port speaking the public protocol of GA 467, 115200
// baud by default.
//
// The wire: every frame starts with the preamble AA AA AA 96 69, then a
// 2-byte big-endian length that counts everything after itself — the
// command and parameter (CMD PARA DATA) going out, the three status bytes
// (SW1 SW2 SW3 DATA) coming back — up to and including the checksum; the
// checksum is the XOR of the length bytes and every byte after them but
// itself (the preamble is not covered). Find card is AA AA AA 96 69 00 03
// 20 01 22.
//
// A read is find (20 01, SW3 9F: found), select (20 02) and read (30 01);
// the read's data is the text block's length and the photo's (2 bytes each,
// big-endian), 256 bytes of text in UCS-2 little-endian and 1,024 bytes of
// photo. The photo is encrypted: turning it into an image needs the
// vendor's decoder library (WLT to BMP), which this package does not have
// and does not try to replace, so the photo is left out of a Card.
//
// The text block holds one of three cards, told apart by the type field
// (byte 248): the resident identity card (a blank), the foreigners'
// permanent residence identity card of 2017 ("I") and the residence permit
// for residents of Hong Kong, Macao and Taiwan ("J"). See text.go for the
// layouts and what could not be confirmed.
//
// Personal data: a Card's fields never reach a log or an error. Errors name
// fields and status codes; Card.LogValue shows the kind only.
package idcard

import (
	"encoding/binary"
	"errors"
)

// Preamble starts every frame.
var Preamble = []byte{0xAA, 0xAA, 0xAA, 0x96, 0x69}

// MaxLength is the longest length field accepted. The longest reply in
// the protocol, text, photo and fingerprints (30 10), is 2,321 bytes; a
// longer length is noise that happens to follow a preamble.
const MaxLength = 4096

// Framing errors.
var (
	// ErrIncomplete: the buffer ends inside a frame; read more.
	ErrIncomplete = errors.New("idcard: frame incomplete")
	// ErrGarbled: bytes that are not a frame (noise before a preamble, an
	// impossible length, a bad checksum). They are skipped and counted.
	ErrGarbled = errors.New("idcard: garbled frame")
)

// Command builds a frame to the reader: CMD PARA DATA.
func Command(cmd, para byte, data []byte) []byte {
	return frame(append([]byte{cmd, para}, data...))
}

// ReplyFrame builds a frame from the reader: SW1 SW2 SW3 DATA.
func ReplyFrame(sw1, sw2, sw3 byte, data []byte) []byte {
	return frame(append([]byte{sw1, sw2, sw3}, data...))
}

func frame(body []byte) []byte {
	n := len(body) + 1
	b := make([]byte, 0, len(Preamble)+2+n)
	b = append(b, Preamble...)
	b = binary.BigEndian.AppendUint16(b, uint16(n))
	b = append(b, body...)
	return append(b, xor(b[len(Preamble):]))
}

func xor(b []byte) byte {
	var x byte
	for _, c := range b {
		x ^= c
	}
	return x
}

// Cut finds the first frame in buf. It returns the frame's body (between
// the length and the checksum) and how many bytes of buf to consume. With
// ErrGarbled, n bytes are not a frame and are to be skipped (the search
// goes on after them); with ErrIncomplete nothing is consumed, or only the
// noise before a preamble (n > 0) — counted by the caller as garbled.
func Cut(buf []byte) (body []byte, n int, err error) {
	i := indexPreamble(buf)
	if i < 0 {
		// Keep a tail that may be the start of a preamble.
		keep := min(len(buf), len(Preamble)-1)
		for keep > 0 && !startsPreamble(buf[len(buf)-keep:]) {
			keep--
		}
		if skip := len(buf) - keep; skip > 0 {
			return nil, skip, ErrGarbled
		}
		return nil, 0, ErrIncomplete
	}
	if i > 0 {
		return nil, i, ErrGarbled
	}
	if len(buf) < len(Preamble)+2 {
		return nil, 0, ErrIncomplete
	}
	l := int(binary.BigEndian.Uint16(buf[len(Preamble):]))
	if l < 3 || l > MaxLength { // the shortest body is CMD PARA
		return nil, 1, ErrGarbled
	}
	end := len(Preamble) + 2 + l
	if len(buf) < end {
		return nil, 0, ErrIncomplete
	}
	if xor(buf[len(Preamble):end-1]) != buf[end-1] {
		return nil, 1, ErrGarbled
	}
	return buf[len(Preamble)+2 : end-1], end, nil
}

func indexPreamble(buf []byte) int {
	for i := 0; i+len(Preamble) <= len(buf); i++ {
		if startsPreamble(buf[i:]) && len(buf[i:]) >= len(Preamble) {
			return i
		}
	}
	return -1
}

// startsPreamble reports whether b (possibly shorter) agrees with the
// preamble as far as it goes.
func startsPreamble(b []byte) bool {
	for i := 0; i < len(b) && i < len(Preamble); i++ {
		if b[i] != Preamble[i] {
			return false
		}
	}
	return true
}

// Reply is a frame from the reader.
type Reply struct {
	SW1, SW2, SW3 byte
	Data          []byte
}

// ParseReply reads a reply's body (from Cut).
func ParseReply(body []byte) (Reply, error) {
	if len(body) < 3 {
		return Reply{}, ErrGarbled
	}
	return Reply{SW1: body[0], SW2: body[1], SW3: body[2], Data: body[3:]}, nil
}
