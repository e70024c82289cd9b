package escpos_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"gatehouse/drivers/escpos"
)

// unhex reads hex with spaces, "quoted ASCII" runs and # comments, so an
// expected job reads like the command table it was written from.
func unhex(t *testing.T, s string) []byte {
	t.Helper()
	var out []byte
	for len(s) > 0 {
		s = strings.TrimLeft(s, " \t\n")
		if s == "" {
			break
		}
		if s[0] == '#' { // comment to the end of the line
			end := strings.IndexByte(s, '\n')
			if end < 0 {
				break
			}
			s = s[end:]
			continue
		}
		if s[0] == '"' {
			end := strings.IndexByte(s[1:], '"')
			out = append(out, s[1:end+1]...)
			s = s[end+2:]
			continue
		}
		b, err := hex.DecodeString(s[:2])
		if err != nil {
			t.Fatalf("bad hex %q", s[:2])
		}
		out = append(out, b...)
		s = s[2:]
	}
	return out
}

var (
	t9  = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	t11 = time.Date(2026, 11, 23, 11, 0, 0, 0, time.UTC)
)

// The expected bytes are written by hand from the ESC/POS command tables
// (Epson ESC/POS reference; the QR functions as HPRT, Citizen and Partner
// manuals give them), not taken from the code.
func TestSlipBytesKnownAnswer(t *testing.T) {
	got, err := escpos.Slip{Site: "HQ", Visitor: "Ann", Host: "Bo", Floor: "3", From: t9, Until: t11, Pass: "P1"}.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	want := unhex(t, `
		1B 40   # ESC @
		1B 61 01   # ESC a 1: centre
		1B 45 01 "HQ" 0A 1B 45 00   # ESC E 1, site, LF, ESC E 0
		1D 21 01 "Ann" 0A 1D 21 00   # GS ! 0x01 double height, name, GS ! 0
		1B 61 00   # ESC a 0: left
		"Host: Bo" 0A
		"Floor: 3" 0A
		"Valid: 2026-11-23 09:00 - 11:00" 0A
		1B 61 01
		1D 28 6B 04 00 31 41 32 00   # fn 165: model 2
		1D 28 6B 03 00 31 43 06   # fn 167: module 6 dots
		1D 28 6B 03 00 31 45 31   # fn 169: level M
		1D 28 6B 05 00 31 50 30 "P1"   # fn 180: store, pL = 2+3
		1D 28 6B 03 00 31 51 30   # fn 181: print
		0A
		1D 56 42 00   # GS V 66 0: feed and cut`)
	if !bytes.Equal(got, want) {
		t.Fatalf("slip\n got % X\nwant % X", got, want)
	}
}

func TestChineseBadgeKnownAnswer(t *testing.T) {
	got, err := escpos.Slip{Visitor: "张三", Pass: "P", Badge: true, Labels: escpos.LabelsFor("zh"), QRModule: 4}.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	// GB2312/GB18030: 访 B7C3, 客 BFCD, 张 D5C5 (row 53 cell 37), 三 C8FD
	// (row 40 cell 93): row+0xA0, cell+0xA0.
	want := unhex(t, `
		1B 40 1C 26   # ESC @, FS & at once: text needs Chinese mode
		1B 61 01
		1D 21 11 1B 45 01 B7 C3 BF CD 0A 1B 45 00   # GS ! 0x11, bold banner 访客
		D5 C5 C8 FD 0A 1D 21 00   # 张三 at double size
		1B 61 00
		1B 61 01
		1D 28 6B 04 00 31 41 32 00
		1D 28 6B 03 00 31 43 04
		1D 28 6B 03 00 31 45 31
		1D 28 6B 04 00 31 50 30 "P"
		1D 28 6B 03 00 31 51 30
		0A
		1D 56 42 00`)
	if !bytes.Equal(got, want) {
		t.Fatalf("badge\n got % X\nwant % X", got, want)
	}
}

func TestBuilderText(t *testing.T) {
	tests := []struct {
		name string
		text string
		want string
	}{
		{"ascii as is", "Room 5", `"Room 5"`},
		// 啊 is the first GB2312 character (B0A1); € is A2E3 in GB18030.
		{"chinese mode before GB18030", "啊€", `1C 26 B0 A1 A2 E3`},
		{"controls dropped", "A\x1b@\x10\x04\x01B\x7f\u0085", `"A@B"`},
		{"line breaks become LF", "a\r\nb\rc\nd", `"a" 0A "b" 0A "c" 0A "d"`},
		{"invalid UTF-8 dropped", "a\xffb", `"ab"`},
		// U+1F600: 0xF600 = 4×12600 + 9×1260 + 123×10 + 6 → 90+4, 30+9, 81+123, 30+6.
		{"four-byte GB18030", "😀", `1C 26 94 39 FC 36`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b escpos.Builder
			got, err := b.Text(tt.text).Bytes()
			if err != nil {
				t.Fatal(err)
			}
			if want := unhex(t, tt.want); !bytes.Equal(got, want) {
				t.Fatalf("got % X, want % X", got, want)
			}
		})
	}
}

func TestBuilderSendsChineseModeOncePerInit(t *testing.T) {
	var b escpos.Builder
	got, _ := b.Init().Text("啊").Text("啊").Init().Text("啊").Bytes()
	want := unhex(t, `1B 40 1C 26 B0 A1 B0 A1 1B 40 1C 26 B0 A1`)
	if !bytes.Equal(got, want) {
		t.Fatalf("got % X, want % X", got, want)
	}
}

func TestBuilderCommands(t *testing.T) {
	var b escpos.Builder
	got, err := b.Align(escpos.Right).Bold(true).Size(8, 3).Feed(4).LF().Cut().Bytes()
	if err != nil {
		t.Fatal(err)
	}
	want := unhex(t, `1B 61 02 1B 45 01 1D 21 72 1B 64 04 0A 1D 56 42 00`)
	if !bytes.Equal(got, want) {
		t.Fatalf("got % X, want % X", got, want)
	}
}

func TestBuilderQRLengthTwoBytes(t *testing.T) {
	data := strings.Repeat("A", 300) // pL+pH*256 = 303 = 0x012F
	var b escpos.Builder
	got, err := b.QR(data, 3, escpos.QRLevelH).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	store := append(unhex(t, `1D 28 6B 2F 01 31 50 30`), data...)
	if !bytes.Contains(got, store) || !bytes.Contains(got, unhex(t, `1D 28 6B 03 00 31 45 33`)) {
		t.Fatalf("got % X", got)
	}
}

func TestBuilderRefuses(t *testing.T) {
	tests := []struct {
		name  string
		build func(*escpos.Builder)
		want  error
	}{
		{"QR with a control byte", func(b *escpos.Builder) { b.QR("a\x10\x04b", 6, escpos.QRLevelM) }, escpos.ErrQRData},
		{"QR empty", func(b *escpos.Builder) { b.QR("", 6, escpos.QRLevelM) }, escpos.ErrQRData},
		{"QR too long", func(b *escpos.Builder) { b.QR(strings.Repeat("1", 7090), 6, escpos.QRLevelM) }, escpos.ErrQRData},
		{"QR non-ASCII", func(b *escpos.Builder) { b.QR("张", 6, escpos.QRLevelM) }, escpos.ErrQRData},
		{"QR module", func(b *escpos.Builder) { b.QR("x", 17, escpos.QRLevelM) }, escpos.ErrParam},
		{"size", func(b *escpos.Builder) { b.Size(9, 1) }, escpos.ErrParam},
		{"feed", func(b *escpos.Builder) { b.Feed(256) }, escpos.ErrParam},
		{"first error sticks", func(b *escpos.Builder) { b.Size(0, 1).QR("", 1, escpos.QRLevelM) }, escpos.ErrParam},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b escpos.Builder
			tt.build(&b)
			if _, err := b.Bytes(); !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSlipNeedsVisitorAndPass(t *testing.T) {
	if _, err := (escpos.Slip{Visitor: "A"}).Bytes(); !errors.Is(err, escpos.ErrSlip) {
		t.Fatalf("err %v", err)
	}
	if _, err := (escpos.Slip{Pass: "P"}).Bytes(); !errors.Is(err, escpos.ErrSlip) {
		t.Fatalf("err %v", err)
	}
}

func TestSlipWindowAcrossDays(t *testing.T) {
	job, err := escpos.Slip{Visitor: "A", Pass: "P", From: t9, Until: t11.AddDate(0, 0, 1)}.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(job, []byte("Valid: 2026-11-23 09:00 - 2026-11-24 11:00\n")) {
		t.Fatalf("job %q", job)
	}
}

func TestSlipTextCannotInjectCommands(t *testing.T) {
	// A name carrying a cut and a status request: printed as text, the
	// control bytes dropped.
	job, err := escpos.Slip{Visitor: "Eve\x1dV\x42\x00\x10\x04\x01", Pass: "P"}.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	var cuts, status int
	var d escpos.Decoder
	d.Feed(job, func(ev escpos.Event) {
		switch ev.Op {
		case escpos.OpCut:
			cuts++
		case escpos.OpStatus:
			status++
		}
	})
	if cuts != 1 || status != 0 {
		t.Fatalf("cuts %d, status requests %d", cuts, status)
	}
}
