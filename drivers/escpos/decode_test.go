package escpos_test

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"gatehouse/drivers/escpos"
)

// decodeAll decodes b fed in pieces cut at the given offsets, merging
// adjacent text (chunking may cut a run of text anywhere).
func decodeAll(b []byte, cuts ...int) []escpos.Event {
	var d escpos.Decoder
	var out []escpos.Event
	emit := func(ev escpos.Event) {
		if ev.Op == escpos.OpText && len(out) > 0 && out[len(out)-1].Op == escpos.OpText {
			out[len(out)-1].Text += ev.Text
			return
		}
		out = append(out, ev)
	}
	prev := 0
	for _, c := range cuts {
		c = min(max(c, prev), len(b))
		d.Feed(b[prev:c], emit)
		prev = c
	}
	d.Feed(b[prev:], emit)
	return out
}

func TestDecoderReadsASlip(t *testing.T) {
	job, _ := small.Bytes()
	got := decodeAll(job)
	want := []escpos.Event{
		{Op: escpos.OpInit},
		{Op: escpos.OpAlign, N: 1},
		{Op: escpos.OpBold, N: 1}, {Op: escpos.OpText, Text: "HQ"}, {Op: escpos.OpLF}, {Op: escpos.OpBold},
		{Op: escpos.OpSize, N: 0x01}, {Op: escpos.OpText, Text: "Ann"}, {Op: escpos.OpLF}, {Op: escpos.OpSize},
		{Op: escpos.OpAlign},
		{Op: escpos.OpText, Text: "Host: Bo"}, {Op: escpos.OpLF},
		{Op: escpos.OpText, Text: "Floor: 3"}, {Op: escpos.OpLF},
		{Op: escpos.OpText, Text: "Valid: 2026-11-23 09:00 - 11:00"}, {Op: escpos.OpLF},
		{Op: escpos.OpAlign, N: 1},
		{Op: escpos.OpQRModel, N: 50}, {Op: escpos.OpQRModule, N: 6}, {Op: escpos.OpQRLevel, N: 49},
		{Op: escpos.OpQRStore, Data: []byte("P1")}, {Op: escpos.OpQRPrint},
		{Op: escpos.OpLF},
		{Op: escpos.OpCut, N: 66},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("events\n got %+v\nwant %+v", got, want)
	}
	// The same, a byte at a time.
	cuts := make([]int, len(job))
	for i := range cuts {
		cuts[i] = i
	}
	if again := decodeAll(job, cuts...); !reflect.DeepEqual(again, want) {
		t.Fatalf("byte at a time\n got %+v", again)
	}
}

func TestDecoderText(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"GB18030 in Chinese mode", []byte("\x1c&\xd5\xc5\xc8\xfd"), "张三"},
		{"high bytes outside Chinese mode", []byte("\xd5\xc5"), "\uFFFD\uFFFD"},
		{"Chinese mode off again", []byte("\x1c&\xb0\xa1\x1c.\xb0"), "啊\uFFFD"},
		{"ESC @ ends Chinese mode", []byte("\x1c&\x1b@\xb0"), "\uFFFD"},
		{"four-byte", []byte("\x1c&\x94\x39\xfc\x36"), "😀"},
		{"bad trail byte", []byte("\x1c&\xb0\x1b@A"), "\uFFFDA"},
		{"ASCII trail byte stays in the character", []byte("\x1c&\x81\x40"), "丂"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var text strings.Builder
			for _, ev := range decodeAll(tt.in) {
				if ev.Op == escpos.OpText {
					text.WriteString(ev.Text)
				}
			}
			if text.String() != tt.want {
				t.Fatalf("text %q, want %q", text.String(), tt.want)
			}
		})
	}
}

func TestDecoderWaitsForAWholeCommand(t *testing.T) {
	var d escpos.Decoder
	var evs []escpos.Event
	d.Feed([]byte{0x1D, 0x28, 0x6B, 0x05, 0x00, 0x31, 0x50, 0x30, 'A'}, func(ev escpos.Event) { evs = append(evs, ev) })
	if len(evs) != 0 || d.Pending() != 9 {
		t.Fatalf("events %v pending %d", evs, d.Pending())
	}
	d.Feed([]byte{'B'}, func(ev escpos.Event) { evs = append(evs, ev) })
	if len(evs) != 1 || evs[0].Op != escpos.OpQRStore || string(evs[0].Data) != "AB" || d.Pending() != 0 {
		t.Fatalf("events %+v pending %d", evs, d.Pending())
	}
}

func TestDecoderUnknownCommands(t *testing.T) {
	got := decodeAll([]byte("\x1b\xffA\x1d\xfeB\x00C"))
	var unknown int
	var text string
	for _, ev := range got {
		switch ev.Op {
		case escpos.OpUnknown:
			unknown++
		case escpos.OpText:
			text += ev.Text
		}
	}
	if unknown != 3 || text != "ABC" {
		t.Fatalf("events %+v", got)
	}
}

// sanitized is what Builder.Text promises to print of s.
func sanitized(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\r' || r == '\n':
			return '\n'
		case r == '\t':
			return ' '
		case r == utf8.RuneError, unicode.IsControl(r), unicode.Is(unicode.Co, r), r == '\u2028', r == '\u2029':
			return -1
		}
		return r
	}, s)
}

// FuzzDecoder: any bytes, cut anywhere, decode to the same events, never
// panic, and hold no more than one command.
func FuzzDecoder(f *testing.F) {
	job, _ := small.Bytes()
	f.Add(job, 7)
	zh, _ := escpos.Slip{Visitor: "张三", Pass: "P", Badge: true, Labels: escpos.LabelsFor("zh")}.Bytes()
	f.Add(zh, 5)
	f.Add([]byte("\x1d(k\xff\xff1P0"), 3)
	f.Add([]byte("\x1c&\x81\x30\x81"), 4)
	f.Add([]byte("\x1dv0\x00\xff\xff\xff\xff"), 2)
	f.Add([]byte("\x1dk\x00abc"), 1)
	f.Fuzz(func(t *testing.T, b []byte, cut int) {
		if cut < 0 {
			cut = -cut
		}
		cut %= len(b) + 1
		whole := decodeAll(b)
		split := decodeAll(b, cut)
		if !reflect.DeepEqual(whole, split) {
			t.Fatalf("cut at %d changed the events:\n%+v\n%+v", cut, whole, split)
		}
		var d escpos.Decoder
		d.Feed(b, func(escpos.Event) {})
		if d.Pending() > 8+1<<20 {
			t.Fatalf("holding %d bytes", d.Pending())
		}
	})
}

// FuzzTextRoundTrip: what Builder.Text sends, the Decoder reads back as
// the sanitised text, whatever the text.
func FuzzTextRoundTrip(f *testing.F) {
	for _, s := range []string{"Ann", "张三", "a\r\nb", "€😀\t", "\x1b@", "\xff\xfe", "Zoë Ñoño 丂"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var b escpos.Builder
		job, err := b.Init().Text(s).Bytes()
		if err != nil {
			t.Fatal(err)
		}
		var text strings.Builder
		for _, ev := range decodeAll(job) {
			switch ev.Op {
			case escpos.OpText:
				text.WriteString(ev.Text)
			case escpos.OpLF:
				text.WriteByte('\n')
			case escpos.OpInit, escpos.OpChinese:
			default:
				t.Fatalf("text %q made a command: %+v", s, ev)
			}
		}
		if want := sanitized(s); text.String() != want {
			t.Fatalf("text %q printed as %q, want %q", s, text.String(), want)
		}
	})
}

// FuzzQRRoundTrip: the QR data a job stores is the data given, or the
// builder refuses it.
func FuzzQRRoundTrip(f *testing.F) {
	f.Add("GH1.abc", 6)
	f.Add("a\x10\x04b", 3)
	f.Fuzz(func(t *testing.T, data string, module int) {
		var b escpos.Builder
		job, err := b.QR(data, module, escpos.QRLevelM).Bytes()
		if err != nil {
			return
		}
		var stored [][]byte
		for _, ev := range decodeAll(job) {
			switch ev.Op {
			case escpos.OpQRStore:
				stored = append(stored, ev.Data)
			case escpos.OpStatus, escpos.OpUnknown, escpos.OpText:
				t.Fatalf("QR %q made %+v", data, ev)
			}
		}
		if len(stored) != 1 || !bytes.Equal(stored[0], []byte(data)) {
			t.Fatalf("stored %q, want %q", stored, data)
		}
	})
}

// FuzzStatus: Apply never panics, and a byte it takes is the byte
// StatusByte makes of the result, but for the bits nobody reads.
func FuzzStatus(f *testing.F) {
	f.Add(byte(1), byte(0x1A))
	f.Add(byte(4), byte(0x72))
	f.Fuzz(func(t *testing.T, n, b byte) {
		var s escpos.Status
		if !s.Apply(n, b) {
			return
		}
		used := map[byte]byte{1: 0x08, 2: 0x64, 3: 0x68, 4: 0x6C}[n]
		back := s.StatusByte(n)
		// Pairs of sensor bits (0x0C, 0x60) read as one: either bit set
		// comes back as both.
		if back&^used != 0x12 || (back&used == 0) != (b&used == 0) {
			t.Fatalf("n=%d %02X → %+v → %02X", n, b, s, back)
		}
	})
}
