// Package escpos prints visitor slips and badges on ESC/POS receipt
// printers: the command bytes (Builder), the slip's layout (Slip), the
// printer's real-time status (DLE EOT), and a driver (Printer) that checks
// the status and writes a job to the port. Decoder reads the same byte
// stream back; the simulator in drivers/sim and the tests use it.
//
// Commands used, as the ESC/POS references give them (Epson's "ESC/POS
// Command Reference", and the compatible Chinese printers' manuals):
//
//	ESC @            1B 40              initialise
//	ESC a n          1B 61 n            align: 0 left, 1 centre, 2 right
//	ESC E n          1B 45 n            emphasis off/on
//	GS ! n           1D 21 n            size: width-1 in bits 4-7, height-1 in bits 0-3
//	LF               0A                 print the line and feed
//	ESC d n          1B 64 n            print and feed n lines
//	FS &             1C 26              Chinese character mode (GB18030 two/four-byte codes)
//	GS V 66 n        1D 56 42 n         feed to the cutter (+n) and cut, leaving a hinge
//	GS ( k           1D 28 6B pL pH cn fn ...  QR code (cn 49):
//	  fn 65 (165)  model: 49 model 1, 50 model 2     1D 28 6B 04 00 31 41 32 00
//	  fn 67 (167)  module size n dots (1-16)         1D 28 6B 03 00 31 43 n
//	  fn 69 (169)  error correction 48 L .. 51 H     1D 28 6B 03 00 31 45 31
//	  fn 80 (180)  store k bytes, pL+pH*256 = k+3    1D 28 6B pL pH 31 50 30 d1..dk
//	  fn 81 (181)  print the stored symbol           1D 28 6B 03 00 31 51 30
//	DLE EOT n        10 04 n            real-time status, n = 1 printer, 2 offline cause,
//	                                    3 error cause, 4 roll paper sensor; one byte back
//
// Decisions:
//
//   - Text is sanitised before it reaches the wire: control characters are
//     dropped (a visitor's name must never carry a command to the printer),
//     line breaks become LF. ASCII goes as is; anything else is encoded in
//     GB18030, with FS & sent first. Some printers switch to Chinese mode
//     only from the next line, so Slip sends FS & right after ESC @ when any
//     of its text needs it; ASCII prints the same in both modes.
//   - QR data is limited to printable ASCII: the printer scans its input for
//     real-time commands (DLE EOT ...) even inside other commands' data, so
//     a control byte in a payload could be taken for one. Passes and URLs
//     are ASCII.
//   - The cut is GS V 66 0: "feed to the cutter, then cut" is the form every
//     printer we looked at supports (some cut fully, most leave a hinge), and
//     it feeds the last printed line past the cutter by itself.
//   - Status is asked before each job (DLE EOT 1, 2 and 4, and 3 when an
//     error is reported) and a job is refused while the printer reports paper
//     out, cover open, an error or offline. Status is not asked after the
//     job: a printer answers real-time commands on receipt, before the job
//     ahead of them has printed, so the answer would say nothing about it.
//     Trouble during a job shows at the next one.
package escpos

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// Control bytes.
const (
	LF  = 0x0A
	ESC = 0x1B
	FS  = 0x1C
	GS  = 0x1D
	DLE = 0x10
	EOT = 0x04
)

// Align is a line's alignment (ESC a n).
type Align byte

// Alignments.
const (
	Left   Align = 0
	Center Align = 1
	Right  Align = 2
)

// QRLevel is the QR code's error correction level (GS ( k function 169).
type QRLevel byte

// Error correction levels: about 7, 15, 25 and 30 % of the symbol may be
// lost and still read.
const (
	QRLevelL QRLevel = 48
	QRLevelM QRLevel = 49
	QRLevelQ QRLevel = 50
	QRLevelH QRLevel = 51
)

// QR code models (GS ( k function 165).
const (
	QRModel1 = 49
	QRModel2 = 50
)

// MaxQRData is the most the printer's symbol storage takes in one function
// 180 command ((pL + pH×256) ≤ 7092, three of which are cn fn m).
const MaxQRData = 7089

// Errors building a job.
var (
	// ErrQRData: QR data empty, too long, or holding a byte outside
	// printable ASCII.
	ErrQRData = errors.New("escpos: QR data must be 1 to 7089 bytes of printable ASCII")
	// ErrParam: a size, module size or feed out of the printer's range.
	ErrParam = errors.New("escpos: parameter out of range")
)

// Builder assembles a print job. The zero value is ready; methods return
// the builder so calls chain. The first error sticks and is returned by
// Bytes; later calls are ignored.
type Builder struct {
	buf     []byte
	chinese bool // FS & sent since the last ESC @
	err     error
}

// Init resets the printer's modes (ESC @): alignment, emphasis, size, and
// on many printers Chinese mode.
func (b *Builder) Init() *Builder {
	b.chinese = false
	return b.raw(ESC, '@')
}

// Chinese selects Chinese character mode (FS &), once per ESC @. Text calls
// it by itself when it meets a character outside ASCII; calling it at the
// start of a job avoids printers that only switch from the next line.
func (b *Builder) Chinese() *Builder {
	if b.chinese {
		return b
	}
	b.chinese = true
	return b.raw(FS, '&')
}

// Align sets the alignment of the lines that follow (ESC a n). Printers
// apply it at the start of a line.
func (b *Builder) Align(a Align) *Builder {
	if a > Right {
		return b.fail(fmt.Errorf("%w: alignment %d", ErrParam, a))
	}
	return b.raw(ESC, 'a', byte(a))
}

// Bold turns emphasis on or off (ESC E n).
func (b *Builder) Bold(on bool) *Builder {
	return b.raw(ESC, 'E', flag(on))
}

// Size sets the character size as multiples of the normal width and
// height, 1 to 8 each (GS ! n).
func (b *Builder) Size(width, height int) *Builder {
	if width < 1 || width > 8 || height < 1 || height > 8 {
		return b.fail(fmt.Errorf("%w: size %dx%d", ErrParam, width, height))
	}
	return b.raw(GS, '!', byte(width-1)<<4|byte(height-1))
}

// Text adds text to the current line. Line breaks become LF and tabs
// spaces; other control characters, invalid UTF-8 and private-use
// characters are dropped; characters outside ASCII are encoded in GB18030,
// in Chinese mode.
func (b *Builder) Text(s string) *Builder {
	if b.err != nil {
		return b
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	ascii := true
	clean := strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\r':
			return '\n'
		case r == '\t':
			return ' '
		case unprintable(r):
			return -1
		case r >= utf8.RuneSelf:
			ascii = false
		}
		return r
	}, s)
	if clean == "" {
		return b
	}
	if ascii {
		b.buf = append(b.buf, clean...)
		return b
	}
	b.Chinese()
	enc, err := simplifiedchinese.GB18030.NewEncoder().String(clean)
	if err != nil { // GB18030 covers all of Unicode; this does not happen
		return b.fail(fmt.Errorf("escpos: GB18030: %w", err))
	}
	b.buf = append(b.buf, enc...)
	return b
}

// Line adds text and ends the line (LF).
func (b *Builder) Line(s string) *Builder {
	return b.Text(s).raw(LF)
}

// LF prints the current line and feeds one line.
func (b *Builder) LF() *Builder { return b.raw(LF) }

// Feed prints the current line and feeds n lines (ESC d n), 0 to 255.
func (b *Builder) Feed(n int) *Builder {
	if n < 0 || n > 255 {
		return b.fail(fmt.Errorf("%w: feed %d", ErrParam, n))
	}
	return b.raw(ESC, 'd', byte(n))
}

// Cut feeds the paper past the cutter and cuts (GS V 66 0). Printers obey
// it at the start of a line.
func (b *Builder) Cut() *Builder {
	return b.raw(GS, 'V', 66, 0)
}

// QR prints data as a QR code with the printer's own QR command: model 2,
// module of module dots (1 to 16), the given error correction level,
// store, print. Call it at the start of a line.
func (b *Builder) QR(data string, module int, level QRLevel) *Builder {
	if b.err != nil {
		return b
	}
	if len(data) == 0 || len(data) > MaxQRData || !printableASCII(data) {
		return b.fail(ErrQRData)
	}
	if module < 1 || module > 16 || level < QRLevelL || level > QRLevelH {
		return b.fail(fmt.Errorf("%w: QR module %d level %d", ErrParam, module, level))
	}
	b.qr(65, QRModel2, 0)  // function 165: model 2
	b.qr(67, byte(module)) // function 167: module size
	b.qr(69, byte(level))  // function 169: error correction
	n := len(data) + 3     // cn fn m d1..dk
	b.raw(GS, '(', 'k', byte(n), byte(n>>8), 49, 80, 48)
	b.buf = append(b.buf, data...) // function 180: store
	return b.qr(81, 48)            // function 181: print
}

// qr writes one fixed-length GS ( k command for QR codes (cn 49).
func (b *Builder) qr(fn byte, params ...byte) *Builder {
	n := len(params) + 2
	b.raw(GS, '(', 'k', byte(n), byte(n>>8), 49, fn)
	return b.raw(params...)
}

// Raw adds bytes as they are, for commands the builder does not know.
func (b *Builder) Raw(p ...byte) *Builder { return b.raw(p...) }

// Bytes returns the job, or the first error met building it.
func (b *Builder) Bytes() ([]byte, error) {
	if b.err != nil {
		return nil, b.err
	}
	return append([]byte(nil), b.buf...), nil
}

func (b *Builder) raw(p ...byte) *Builder {
	if b.err == nil {
		b.buf = append(b.buf, p...)
	}
	return b
}

func (b *Builder) fail(err error) *Builder {
	if b.err == nil {
		b.err = err
	}
	return b
}

func flag(on bool) byte {
	if on {
		return 1
	}
	return 0
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7E {
			return false
		}
	}
	return true
}

// unprintable runes are dropped from text: controls (a name must not carry
// a command), line and paragraph separators, invalid UTF-8, and private-use
// characters, which no printer has a glyph for and GB18030 does not map
// back to themselves.
func unprintable(r rune) bool {
	return r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Co, r) || r == '\u2028' || r == '\u2029'
}

// needsChinese reports whether text would be sent in Chinese mode.
func needsChinese(s string) bool {
	for _, r := range s {
		if r >= utf8.RuneSelf && !unprintable(r) {
			return true
		}
	}
	return false
}
