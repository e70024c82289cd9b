package modem

import (
	"errors"
	"reflect"
	"testing"
)

func lex(l *Lexer, chunks ...string) []Token {
	var out []Token
	for _, c := range chunks {
		l.Feed([]byte(c), func(t Token) { out = append(out, t) })
	}
	return out
}

func TestLexer(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string
		want   []Token
	}{
		{"answer with info", []string{"\r\n+CMGS: 12\r\n\r\nOK\r\n"},
			[]Token{{Line: "+CMGS: 12"}, {Line: "OK"}}},
		{"prompt ends no line", []string{"\r\n> "}, []Token{{Prompt: true}}},
		{"prompt cut between chunks", []string{"\r\n>", " "}, []Token{{Prompt: true}}},
		{"echo, then prompt", []string{"AT+CMGS=23\r\r\n> "}, []Token{{Line: "AT+CMGS=23"}, {Prompt: true}}},
		{"unsolicited lines around", []string{"\r\nRING\r\n", "\r\n+CMTI: \"SM\",3\r\n^RSSI:18\r\n\r\nOK\r\n"},
			[]Token{{Line: "RING"}, {Line: `+CMTI: "SM",3`}, {Line: "^RSSI:18"}, {Line: "OK"}}},
		{"line cut anywhere", []string{"\r\n+CM", "S ERR", "OR: 330\r", "\n"}, []Token{{Line: "+CMS ERROR: 330"}}},
		{"noise is a garbled line", []string{"\x00\xffOK\r\nOK\r\n"}, []Token{{Err: ErrGarbled}, {Line: "OK"}}},
		{"'>' inside a line is text", []string{"a> b\r\n"}, []Token{{Line: "a> b"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l Lexer
			if got := lex(&l, tt.chunks...); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("tokens %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestLexerDropsOverlongLines(t *testing.T) {
	l := Lexer{Max: 8}
	got := lex(&l, "123456789abc", "def\r\nOK\r\n")
	want := []Token{{Err: ErrLineTooLong}, {Line: "OK"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("tokens %+v", got)
	}
}

func TestFinal(t *testing.T) {
	tests := []struct {
		line  string
		final bool
		err   error
	}{
		{"OK", true, nil},
		{" OK ", true, nil},
		{"ERROR", true, ErrError},
		{"+CMS ERROR: 330", true, CMSError(330)},
		{"+CMS ERROR:500", true, CMSError(500)},
		{"+CME ERROR: 10", true, CMEError(10)},
		{"+CME ERROR: SIM not inserted", true, CMEError(-1)},
		{"+CMGS: 5", false, nil},
		{"RING", false, nil},
		{"0", false, nil}, // numeric codes are not read: it may be a message's text
		{"OKAY", false, nil},
	}
	for _, tt := range tests {
		final, err := Final(tt.line)
		if final != tt.final || !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
			t.Errorf("Final(%q) = %v, %v; want %v, %v", tt.line, final, err, tt.final, tt.err)
		}
	}
}

func TestCMSErrorTemporary(t *testing.T) {
	if !CMSError(331).Temporary() || CMSError(330).Temporary() || CMSError(304).Temporary() {
		t.Fatal("temporary codes wrong")
	}
	if got := CMSError(330).Error(); got != "modem: +CMS ERROR 330 (SMSC address unknown)" {
		t.Fatalf("%q", got)
	}
}

func TestURCKindHidesContent(t *testing.T) {
	for line, want := range map[string]string{
		`+CMT: "+8613800138000",,"24/11/23"`: "+CMT",
		`+CLIP: "13800138000",129`:           "+CLIP",
		"^RSSI:18":                           "^RSSI",
		"RING":                               "RING",
		"Hello, your visitor is here":        "other",
		"+" + string(make([]byte, 40)):       "other",
	} {
		if got := urcKind(line); got != want {
			t.Errorf("urcKind(%q) = %q, want %q", line, got, want)
		}
	}
}

// FuzzLexer: any bytes, cut anywhere, make the same tokens, never panic,
// and hold no more than a line.
func FuzzLexer(f *testing.F) {
	f.Add([]byte("\r\n+CMGS: 12\r\n\r\nOK\r\n"), 3)
	f.Add([]byte("AT+CMGS=23\r\r\n> 0011\x1a"), 13)
	f.Add([]byte("\r\nRING\r\n\x00\xff\r\n+CMS ERROR: 500\r\n"), 7)
	f.Fuzz(func(t *testing.T, b []byte, cut int) {
		if cut < 0 {
			cut = -cut
		}
		cut %= len(b) + 1
		whole := lex(&Lexer{Max: 64}, string(b))
		l := Lexer{Max: 64}
		split := lex(&l, string(b[:cut]), string(b[cut:]))
		if !reflect.DeepEqual(whole, split) {
			t.Fatalf("cut at %d: %+v vs %+v", cut, whole, split)
		}
		if len(l.buf) > 64 {
			t.Fatalf("holding %d bytes", len(l.buf))
		}
		for _, tok := range whole {
			if tok.Err == nil && !tok.Prompt {
				Final(tok.Line) // must not panic
				urcKind(tok.Line)
			}
		}
	})
}
