package sim

import (
	"bytes"
	"testing"

	"gatehouse/drivers/modem"
)

// FuzzModemInput: whatever the modem is sent, it neither panics nor holds
// more than its bounds, and what it answers the driver's lexer reads
// without a garbled line.
func FuzzModemInput(f *testing.F) {
	f.Add([]byte("AT\rATE0\rAT+CMGF=0\rAT+CMGS=23\r0011000B916407281553F80000AA0AE8329BFD4697D9EC37\x1a"), true)
	f.Add([]byte("AT+CMGF=1\rAT+CSCS=\"UCS2\"\rAT+CSMP=17,167,0,8\rAT+CMGS=\"002B0031\"\r4F60597D\x1a"), false)
	f.Add([]byte("AT+CMEE=1\rAT+CMGS=7\r00410001810000004100\x1bAT+CSQ\r"), true)
	f.Fuzz(func(t *testing.T, b []byte, urcs bool) {
		s := newModemState(ModemConfig{URCs: urcs})
		s.echo = false // an echo repeats the input, noise included
		out := s.feed(b)
		if len(s.line) > modemMaxCommand || len(s.body) > modemMaxBody+1 || len(s.parts) > modemMaxPending ||
			len(s.messages) > modemMaxRecorded || len(s.commands) > modemMaxRecorded {
			t.Fatalf("unbounded state")
		}
		if bytes.Contains(bytes.ToUpper(b), []byte("ATE1")) {
			return
		}
		var lex modem.Lexer
		lex.Feed(out, func(tok modem.Token) {
			if tok.Err != nil {
				t.Fatalf("answer %q: %v", out, tok.Err)
			}
		})
		for _, m := range s.messages {
			if m.Parts < 1 || m.Parts > 255 {
				t.Fatalf("message %+v", m)
			}
		}
	})
}
