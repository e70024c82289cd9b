package modem

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Errors from the modem's answers.
var (
	// ErrError: the modem answered ERROR (a command it does not know, or a
	// failure it gives no number for).
	ErrError = errors.New("modem: ERROR")
	// ErrTimeout: a command got no final result in time.
	ErrTimeout = errors.New("modem: no answer")
	// ErrNoPrompt: AT+CMGS got no "> " prompt for the message in time.
	ErrNoPrompt = errors.New("modem: no prompt for the message")
	// ErrUnconfirmed: the message went to the modem but its answer did not
	// come back: it may or may not have been sent, so it is not tried again.
	ErrUnconfirmed = errors.New("modem: message handed over but not confirmed")
	// ErrGarbled: a line with bytes no modem sends (noise, a wrong baud rate).
	ErrGarbled = errors.New("modem: garbled line")
	// ErrLineTooLong: a line past the reader's limit, thrown away.
	ErrLineTooLong = errors.New("modem: line too long")
)

// CMSError is a "+CMS ERROR: <n>" answer (3GPP TS 27.005 §3.2.5): the modem
// or the network refused the message. Below 128 the network's RP cause
// (TS 24.011), 128-255 its TP cause (TS 23.040), from 300 the modem's own.
type CMSError int

var cmsNames = map[CMSError]string{
	1: "unassigned number", 8: "operator determined barring", 10: "call barred",
	21: "short message transfer rejected", 27: "destination out of service",
	28: "unidentified subscriber", 29: "facility rejected", 30: "unknown subscriber",
	38: "network out of order", 41: "temporary failure", 42: "congestion",
	47: "resources unavailable", 50: "facility not subscribed", 69: "facility not implemented",
	96: "invalid mandatory information", 111: "protocol error", 127: "interworking unspecified",
	300: "ME failure", 301: "SMS service reserved", 302: "operation not allowed",
	303: "operation not supported", 304: "invalid PDU mode parameter", 305: "invalid text mode parameter",
	310: "SIM not inserted", 311: "SIM PIN required", 313: "SIM failure", 314: "SIM busy",
	315: "SIM wrong", 316: "SIM PUK required", 320: "memory failure", 322: "memory full",
	330: "SMSC address unknown", 331: "no network service", 332: "network timeout",
	500: "unknown error",
}

func (e CMSError) Error() string {
	if n, ok := cmsNames[e]; ok {
		return fmt.Sprintf("modem: +CMS ERROR %d (%s)", int(e), n)
	}
	return fmt.Sprintf("modem: +CMS ERROR %d", int(e))
}

// Temporary reports whether trying again later may succeed: the network
// is busy or out of reach, the SIM busy. The message was not sent.
func (e CMSError) Temporary() bool {
	switch e {
	case 38, 41, 42, 47, 314, 331, 332, 500:
		return true
	}
	return false
}

// CMEError is a "+CME ERROR: <n>" answer (3GPP TS 27.007 §9.2): the modem
// itself failed (no SIM, PIN required, ...). -1 when the modem gave text.
type CMEError int

func (e CMEError) Error() string { return fmt.Sprintf("modem: +CME ERROR %d", int(e)) }

// Token is one thing a modem says: a line, or the prompt "> " that asks
// for a message's body (TS 27.005 §3.5.1), which ends no line.
type Token struct {
	Line   string
	Prompt bool
	Err    error // ErrGarbled or ErrLineTooLong: the line is thrown away
}

// Lexer cuts a modem's output into Tokens across arbitrary chunking.
// Lines end at CR or LF; empty lines are skipped. Lines may hold printable
// ASCII only: modems answer in ASCII (UCS2 text in hex), so anything else
// is noise. Memory stays bounded by Max.
type Lexer struct {
	Max int // longest line kept; default 1024

	buf      []byte
	overlong bool
}

// Reset forgets a half-received line.
func (l *Lexer) Reset() {
	l.buf = l.buf[:0]
	l.overlong = false
}

// Feed reads b, calling emit for each complete token.
func (l *Lexer) Feed(b []byte, emit func(Token)) {
	limit := l.Max
	if limit <= 0 {
		limit = 1024
	}
	for _, c := range b {
		if c == '\r' || c == '\n' {
			switch {
			case l.overlong:
				emit(Token{Err: ErrLineTooLong})
			case len(l.buf) > 0:
				emit(lineToken(l.buf))
			}
			l.Reset()
			continue
		}
		if l.overlong {
			continue
		}
		if len(l.buf) >= limit {
			l.overlong = true
			l.buf = l.buf[:0]
			continue
		}
		l.buf = append(l.buf, c)
		if len(l.buf) == 2 && l.buf[0] == '>' && l.buf[1] == ' ' {
			emit(Token{Prompt: true})
			l.buf = l.buf[:0]
		}
	}
}

func lineToken(b []byte) Token {
	for _, c := range b {
		if (c < 0x20 && c != '\t') || c > 0x7E {
			return Token{Err: ErrGarbled}
		}
	}
	return Token{Line: strings.TrimSpace(string(b))}
}

// Final reads a final result code (V.250 §5.7, TS 27.005, TS 27.007) in
// verbose form: it reports whether line ends a command, and the error it
// ends it with. Everything else is a command's information or unsolicited.
// Numeric codes (ATV0) are not read: a line "0" may be a message's text.
func Final(line string) (bool, error) {
	line = strings.TrimSpace(line)
	switch line {
	case "OK":
		return true, nil
	case "ERROR":
		return true, ErrError
	}
	if rest, ok := strings.CutPrefix(line, "+CMS ERROR:"); ok {
		return true, CMSError(code(rest))
	}
	if rest, ok := strings.CutPrefix(line, "+CME ERROR:"); ok {
		return true, CMEError(code(rest))
	}
	return false, nil
}

// code reads an error number; -1 for verbose text.
func code(s string) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// urcKind names an unsolicited line for the log without its content, which
// may hold a caller's number or a message: "+CMTI", "^RSSI", "RING", or
// "other".
func urcKind(line string) string {
	switch line {
	case "RING", "NO CARRIER", "BUSY", "NO ANSWER", "NO DIALTONE":
		return line
	}
	if len(line) > 1 && (line[0] == '+' || line[0] == '^') {
		name, _, _ := strings.Cut(line, ":")
		if len(name) <= 16 {
			return name
		}
	}
	return "other"
}
