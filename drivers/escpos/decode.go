package escpos

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// Op is what a piece of an ESC/POS stream does.
type Op int

// Ops a Decoder reports.
const (
	OpText     Op = iota // Text: characters to print
	OpLF                 // print the line, feed one
	OpFeed               // ESC d n: print, feed N lines
	OpInit               // ESC @
	OpAlign              // ESC a n: N
	OpBold               // ESC E n: N is 0 or 1
	OpSize               // GS ! n: N is the size byte
	OpChinese            // FS & (N 1), FS . (N 0)
	OpCut                // GS V m [n], ESC i, ESC m: N is m
	OpQRModel            // GS ( k fn 65: N is n1
	OpQRModule           // GS ( k fn 67: N dots
	OpQRLevel            // GS ( k fn 69: N is 48..51
	OpQRStore            // GS ( k fn 80: Data
	OpQRPrint            // GS ( k fn 81
	OpStatus             // DLE EOT n: N
	OpOther              // a command known by its length only: Data holds it
	OpUnknown            // bytes that are no command the decoder knows: Data
)

// Event is one thing the stream says.
type Event struct {
	Op   Op
	N    int
	Text string // OpText
	Data []byte // OpQRStore, OpOther, OpUnknown (a copy)
}

// maxRaster bounds a GS v 0 image the decoder will wait for.
const maxRaster = 1 << 20

// Decoder reads an ESC/POS byte stream as a printer does, one command at
// a time, across arbitrary chunking. It holds at most one command's bytes
// (a QR store command: 64 KiB). Text outside Chinese mode is read as ASCII
// (other bytes become U+FFFD); in Chinese mode as GB18030.
type Decoder struct {
	buf     []byte
	chinese bool
}

// Reset forgets a half-received command and Chinese mode.
func (d *Decoder) Reset() {
	d.buf = d.buf[:0]
	d.chinese = false
}

// Pending is how many bytes wait for the rest of their command.
func (d *Decoder) Pending() int { return len(d.buf) }

// Feed decodes p, calling emit for each complete event.
func (d *Decoder) Feed(p []byte, emit func(Event)) {
	d.buf = append(d.buf, p...)
	i := 0
	for i < len(d.buf) {
		n, ev, ok := d.next(d.buf[i:])
		if !ok {
			break // wait for more
		}
		i += n
		if ev.Op == OpChinese {
			d.chinese = ev.N == 1
		}
		if ev.Op == OpInit {
			d.chinese = false
		}
		if ev.Op != OpText || ev.Text != "" {
			emit(ev)
		}
	}
	d.buf = append(d.buf[:0], d.buf[i:]...)
}

// next decodes one event at the start of b: the bytes it used, the event,
// and false when b holds only part of it.
func (d *Decoder) next(b []byte) (int, Event, bool) {
	c := b[0]
	switch {
	case c == ESC:
		return escCommand(b)
	case c == GS:
		return gsCommand(b)
	case c == FS:
		return fsCommand(b)
	case c == DLE:
		return dleCommand(b)
	case c == LF:
		return 1, Event{Op: OpLF}, true
	case c == '\r' || c == 0x0C: // CR: ignored by printers in LF mode; FF: page mode
		return 1, Event{Op: OpOther, Data: []byte{c}}, true
	case c < 0x20 && c != '\t' || c == 0x7F:
		return 1, Event{Op: OpUnknown, Data: []byte{c}}, true
	}
	return d.text(b)
}

// text reads characters up to the next control byte, or up to a
// multi-byte character cut off by the end of b.
func (d *Decoder) text(b []byte) (int, Event, bool) {
	var s strings.Builder
	i := 0
	for i < len(b) {
		c := b[i]
		switch {
		case c == '\t':
			s.WriteByte(' ')
			i++
			continue
		case c < 0x20 || c == 0x7F:
			return i, Event{Op: OpText, Text: s.String()}, true
		case c < 0x80:
			s.WriteByte(c)
			i++
			continue
		case !d.chinese:
			s.WriteRune(utf8.RuneError)
			i++
			continue
		}
		n, r, ok := gb18030(b[i:])
		if !ok {
			if i == 0 {
				return 0, Event{}, false
			}
			break // the rest comes with the next chunk
		}
		s.WriteRune(r)
		i += n
		continue
	}
	if i == 0 {
		return 0, Event{}, false
	}
	return i, Event{Op: OpText, Text: s.String()}, true
}

// gb18030 decodes one GB18030 character at the start of b (whose first
// byte is 0x80 or more): its length and rune, U+FFFD for one invalid byte,
// or false when b ends inside it.
func gb18030(b []byte) (int, rune, bool) {
	if b[0] == 0x80 || b[0] == 0xFF {
		return 1, utf8.RuneError, true
	}
	if len(b) < 2 {
		return 0, 0, false
	}
	n := 0
	switch c := b[1]; {
	case c >= 0x40 && c <= 0x7E || c >= 0x80 && c <= 0xFE:
		n = 2
	case c >= 0x30 && c <= 0x39:
		if len(b) < 4 {
			if len(b) == 3 && (b[2] < 0x81 || b[2] == 0xFF) {
				return 1, utf8.RuneError, true
			}
			return 0, 0, false
		}
		if b[2] < 0x81 || b[2] == 0xFF || b[3] < 0x30 || b[3] > 0x39 {
			return 1, utf8.RuneError, true
		}
		n = 4
	default:
		return 1, utf8.RuneError, true
	}
	out, err := simplifiedchinese.GB18030.NewDecoder().Bytes(b[:n])
	if err != nil {
		return 1, utf8.RuneError, true
	}
	r, size := utf8.DecodeRune(out)
	if size != len(out) {
		return 1, utf8.RuneError, true
	}
	return n, r, true
}

// fixed returns a command of n bytes, or waits for it.
func fixed(b []byte, n int, ev Event) (int, Event, bool) {
	if len(b) < n {
		return 0, Event{}, false
	}
	if ev.Op == OpOther || ev.Op == OpUnknown {
		ev.Data = append([]byte(nil), b[:n]...)
	} else if n > 2 {
		ev.N = int(b[n-1])
	}
	return n, ev, true
}

func escCommand(b []byte) (int, Event, bool) {
	if len(b) < 2 {
		return 0, Event{}, false
	}
	switch b[1] {
	case '@':
		return 2, Event{Op: OpInit}, true
	case 'a':
		return fixed(b, 3, Event{Op: OpAlign})
	case 'E':
		n, ev, ok := fixed(b, 3, Event{Op: OpBold})
		ev.N &= 1
		return n, ev, ok
	case 'd':
		return fixed(b, 3, Event{Op: OpFeed})
	case 'i', 'm':
		return 2, Event{Op: OpCut, N: int(b[1])}, true
	case '2', 'S', 'L', '<': // default spacing, standard/page mode, return home
		return fixed(b, 2, Event{Op: OpOther})
	case '!', '-', '3', 'J', 'G', 'M', 'R', 't', 'V', '{', ' ', '=', 'r', 'U', 'e', 'T', 'K':
		return fixed(b, 3, Event{Op: OpOther})
	case '$', '\\', 'c':
		return fixed(b, 4, Event{Op: OpOther})
	case 'p':
		return fixed(b, 5, Event{Op: OpOther})
	}
	return 2, Event{Op: OpUnknown, Data: []byte{b[0], b[1]}}, true
}

func gsCommand(b []byte) (int, Event, bool) {
	if len(b) < 2 {
		return 0, Event{}, false
	}
	switch b[1] {
	case '!':
		return fixed(b, 3, Event{Op: OpSize})
	case 'V':
		if len(b) < 3 {
			return 0, Event{}, false
		}
		switch m := b[2]; m {
		case 0, 1, 48, 49:
			return 3, Event{Op: OpCut, N: int(m)}, true
		case 65, 66, 97, 98, 103, 104:
			if len(b) < 4 {
				return 0, Event{}, false
			}
			return 4, Event{Op: OpCut, N: int(m)}, true
		}
		return 3, Event{Op: OpUnknown, Data: append([]byte(nil), b[:3]...)}, true
	case '(':
		return gsParen(b)
	case 'B', 'H', 'h', 'w', 'f', 'a', 'b', 'r', 'I', 'E':
		return fixed(b, 3, Event{Op: OpOther})
	case 'L', 'W', 'P', '$', '\\':
		return fixed(b, 4, Event{Op: OpOther})
	case 'k':
		return gsBarcode(b)
	case 'v':
		return gsRaster(b)
	}
	return 2, Event{Op: OpUnknown, Data: []byte{b[0], b[1]}}, true
}

// gsParen reads GS ( X pL pH d1..d(pL+pH*256); for X = k and cn = 49, the
// QR code functions.
func gsParen(b []byte) (int, Event, bool) {
	if len(b) < 5 {
		return 0, Event{}, false
	}
	n := int(b[3]) | int(b[4])<<8
	if len(b) < 5+n {
		return 0, Event{}, false
	}
	cmd := b[:5+n]
	other := Event{Op: OpOther, Data: append([]byte(nil), cmd...)}
	if b[2] != 'k' || n < 2 || cmd[5] != 49 {
		return len(cmd), other, true
	}
	p := cmd[7:] // after cn fn
	switch fn := cmd[6]; {
	case fn == 65 && len(p) == 2:
		return len(cmd), Event{Op: OpQRModel, N: int(p[0])}, true
	case fn == 67 && len(p) == 1:
		return len(cmd), Event{Op: OpQRModule, N: int(p[0])}, true
	case fn == 69 && len(p) == 1:
		return len(cmd), Event{Op: OpQRLevel, N: int(p[0])}, true
	case fn == 80 && len(p) >= 1 && p[0] == 48:
		return len(cmd), Event{Op: OpQRStore, Data: append([]byte(nil), p[1:]...)}, true
	case fn == 81 && len(p) == 1 && p[0] == 48:
		return len(cmd), Event{Op: OpQRPrint}, true
	}
	return len(cmd), other, true
}

// gsBarcode reads GS k m: NUL-terminated data for m 0..6, a length byte
// for m 65..79.
func gsBarcode(b []byte) (int, Event, bool) {
	if len(b) < 3 {
		return 0, Event{}, false
	}
	m := b[2]
	switch {
	case m <= 6:
		for i := 3; i < len(b) && i < 3+256; i++ {
			if b[i] == 0 {
				return fixed(b, i+1, Event{Op: OpOther})
			}
		}
		if len(b) >= 3+256 {
			return 3, Event{Op: OpUnknown, Data: append([]byte(nil), b[:3]...)}, true
		}
		return 0, Event{}, false
	case m >= 65 && m <= 79:
		if len(b) < 4 {
			return 0, Event{}, false
		}
		return fixed(b, 4+int(b[3]), Event{Op: OpOther})
	}
	return 3, Event{Op: OpUnknown, Data: append([]byte(nil), b[:3]...)}, true
}

// gsRaster reads GS v 0 m xL xH yL yH and xy bytes of image.
func gsRaster(b []byte) (int, Event, bool) {
	if len(b) < 8 {
		return 0, Event{}, false
	}
	if b[2] != '0' {
		return 3, Event{Op: OpUnknown, Data: append([]byte(nil), b[:3]...)}, true
	}
	size := (int(b[4]) | int(b[5])<<8) * (int(b[6]) | int(b[7])<<8)
	if size > maxRaster {
		return 8, Event{Op: OpUnknown, Data: append([]byte(nil), b[:8]...)}, true
	}
	return fixed(b, 8+size, Event{Op: OpOther})
}

func fsCommand(b []byte) (int, Event, bool) {
	if len(b) < 2 {
		return 0, Event{}, false
	}
	switch b[1] {
	case '&':
		return 2, Event{Op: OpChinese, N: 1}, true
	case '.':
		return 2, Event{Op: OpChinese, N: 0}, true
	case '!', '-', 'W', 'C':
		return fixed(b, 3, Event{Op: OpOther})
	case 'S':
		return fixed(b, 4, Event{Op: OpOther})
	}
	return 2, Event{Op: OpUnknown, Data: []byte{b[0], b[1]}}, true
}

func dleCommand(b []byte) (int, Event, bool) {
	if len(b) < 2 {
		return 0, Event{}, false
	}
	switch b[1] {
	case EOT:
		return fixed(b, 3, Event{Op: OpStatus})
	case 0x05: // ENQ
		return fixed(b, 3, Event{Op: OpOther})
	case 0x14: // DC4 fn ...
		if len(b) < 3 {
			return 0, Event{}, false
		}
		switch b[2] {
		case 1:
			return fixed(b, 5, Event{Op: OpOther})
		case 2:
			return fixed(b, 5, Event{Op: OpOther})
		case 8:
			return fixed(b, 10, Event{Op: OpOther})
		}
		return 3, Event{Op: OpUnknown, Data: append([]byte(nil), b[:3]...)}, true
	}
	return 2, Event{Op: OpUnknown, Data: []byte{b[0], b[1]}}, true
}
