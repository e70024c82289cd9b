package sim

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"

	"gatehouse/drivers/modem"
	"gatehouse/drivers/sim/pty"
)

// ModemConfig configures a simulated GSM modem.
type ModemConfig struct {
	// URCs mixes unsolicited lines (+CMTI, RING, ^RSSI) into the answers,
	// before results, before the prompt, and between +CMGS and OK, as a
	// busy modem does.
	URCs bool
}

// SMS is a message the modem sent, reassembled from its parts.
type SMS struct {
	Number string
	Text   string
	Parts  int
	Coding modem.Coding
}

// Modem is a GSM modem answering AT commands (TS 27.005/27.007) the way
// the common modules do: echo on until ATE0, PDU mode and text mode
// (AT+CMGF), AT+CSCS "GSM", "IRA" and "UCS2", AT+CSMP, AT+CMGS with its
// "> " prompt, Ctrl-Z to send and ESC to cancel, AT+CSQ. Every PDU is
// decoded (modem.DecodeSubmitHex) and recorded; the parts of a
// concatenated message are joined into one SMS when the last arrives. It
// can be made to refuse messages with +CMS ERROR, or to stay silent.
type Modem struct {
	plug
	done chan struct{}

	mu sync.Mutex
	st modemState
}

// NewModem plugs a modem in at path.
func NewModem(path string, cfg ModemConfig) (*Modem, error) {
	d, err := pty.New(path)
	if err != nil {
		return nil, err
	}
	m := &Modem{plug: plug{d}, done: make(chan struct{})}
	m.st = newModemState(cfg)
	go answer(d, &m.mu, m.st.feed, m.done)
	return m, nil
}

// Close unplugs the modem for good and stops its goroutine.
func (m *Modem) Close() error {
	err := m.dev.Close()
	<-m.done
	return err
}

// Messages returns the messages sent, whole, in order.
func (m *Modem) Messages() []SMS {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]SMS(nil), m.st.messages...)
}

// Submits returns every PDU handed over in PDU mode, decoded.
func (m *Modem) Submits() []modem.Submit {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]modem.Submit(nil), m.st.submits...)
}

// Commands returns the command lines received, in order.
func (m *Modem) Commands() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.st.commands...)
}

// Rejected counts the messages refused as malformed (+CMS ERROR 304/305).
func (m *Modem) Rejected() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st.rejected
}

// FailNext answers the next n messages with +CMS ERROR code instead of
// sending them (330: no service centre; 331: no network, temporary).
func (m *Modem) FailNext(code, n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.st.failCode, m.st.failTimes = code, n
}

// DropPrompts leaves the next n AT+CMGS unanswered: no prompt, no input
// mode, as if the command was lost on the wire.
func (m *Modem) DropPrompts(n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.st.dropPrompts = n
}

// DropConfirmations sends the next n messages but loses their +CMGS and OK.
func (m *Modem) DropConfirmations(n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.st.dropConfirms = n
}

// SetSilent makes the modem hear everything and answer nothing.
func (m *Modem) SetSilent(on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.st.silent = on
}

// Unsolicited sends an unsolicited line now.
func (m *Modem) Unsolicited(line string) error {
	_, err := m.dev.Write([]byte("\r\n" + line + "\r\n"))
	return err
}

// modemState is the modem's mind; it does no I/O, so the fuzz test drives
// it directly.
type modemState struct {
	cfg ModemConfig

	echo                bool
	cmee                int
	cmgf                int    // 0 PDU, 1 text
	cscs                string // GSM, IRA, UCS2
	dcs                 int    // AT+CSMP's
	line                []byte // command line so far
	input               bool   // after the prompt, until Ctrl-Z or ESC
	body                []byte
	pduLen              int    // AT+CMGS=<n> in PDU mode
	to                  string // AT+CMGS="<da>" in text mode
	mr                  byte
	urc                 int // which unsolicited line comes next
	silent              bool
	failCode, failTimes int
	dropPrompts         int
	dropConfirms        int

	parts    map[modemPartKey][]string
	messages []SMS
	submits  []modem.Submit
	commands []string
	rejected int
}

type modemPartKey struct {
	number string
	ref    uint16
	total  byte
	coding modem.Coding
}

// Bounds on what the simulator holds, whatever it is sent.
const (
	modemMaxCommand  = 1024
	modemMaxBody     = 2048
	modemMaxRecorded = 1000
	modemMaxPending  = 64 // concatenated messages waiting for parts
)

func newModemState(cfg ModemConfig) modemState {
	return modemState{cfg: cfg, echo: true, cscs: "IRA", parts: map[modemPartKey][]string{}}
}

// feed takes bytes from the driver and returns the modem's answers. A
// silent modem is a dead one: it takes nothing in.
func (s *modemState) feed(b []byte) []byte {
	if s.silent {
		return nil
	}
	var out []byte
	for _, c := range b {
		if s.input {
			switch c {
			case 0x1A: // Ctrl-Z: send
				s.input = false
				out = append(out, s.submit()...)
				s.body = s.body[:0]
			case 0x1B: // ESC: drop the message
				s.input = false
				s.body = s.body[:0]
			case '\r', '\n':
			default:
				if len(s.body) < modemMaxBody+1 {
					s.body = append(s.body, c)
				}
			}
			continue
		}
		switch c {
		case '\r':
			line := string(s.line)
			s.line = s.line[:0]
			if s.echo {
				out = append(out, line...)
				out = append(out, '\r')
			}
			out = append(out, s.command(line)...)
		case '\n':
		default:
			if len(s.line) < modemMaxCommand {
				s.line = append(s.line, c)
			}
		}
	}
	return out
}

// unsolicited is the next unsolicited line, when the modem makes them.
func (s *modemState) unsolicited() string {
	if !s.cfg.URCs {
		return ""
	}
	s.urc++
	switch s.urc % 3 {
	case 0:
		return "\r\nRING\r\n"
	case 1:
		return fmt.Sprintf("\r\n+CMTI: \"SM\",%d\r\n", s.urc)
	}
	return "\r\n^RSSI:18\r\n"
}

func (s *modemState) ok() []byte   { return []byte(s.unsolicited() + "\r\nOK\r\n") }
func (s *modemState) fail() []byte { return []byte(s.unsolicited() + "\r\nERROR\r\n") }

func (s *modemState) cms(code int) []byte {
	if s.cmee == 0 {
		return s.fail()
	}
	return []byte(s.unsolicited() + fmt.Sprintf("\r\n+CMS ERROR: %d\r\n", code))
}

// command runs one command line. Anything before "AT" is ignored, as
// modems do; a line without it gets no answer.
func (s *modemState) command(line string) []byte {
	upper := modemUpper(line) // byte for byte, so indexes into line hold
	i := strings.Index(upper, "AT")
	if i < 0 {
		return nil
	}
	line, upper = strings.TrimSpace(line[i:]), strings.TrimSpace(upper[i:])
	if len(s.commands) < modemMaxRecorded {
		s.commands = append(s.commands, line)
	}
	arg := func(prefix string) (string, bool) {
		return strings.CutPrefix(upper, prefix)
	}
	switch {
	case upper == "AT":
		return s.ok()
	case upper == "ATE0" || upper == "ATE":
		s.echo = false
		return s.ok()
	case upper == "ATE1":
		s.echo = true
		return s.ok()
	case upper == "AT+CSQ":
		return []byte(s.unsolicited() + "\r\n+CSQ: 20,99\r\n\r\nOK\r\n")
	}
	if v, ok := arg("AT+CMEE="); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 2 {
			return s.fail()
		}
		s.cmee = n
		return s.ok()
	}
	if v, ok := arg("AT+CMGF="); ok {
		switch v {
		case "0", "1":
			s.cmgf = int(v[0] - '0')
			return s.ok()
		}
		return s.fail()
	}
	if v, ok := arg("AT+CSCS="); ok {
		switch v {
		case `"GSM"`, `"IRA"`, `"UCS2"`:
			s.cscs = strings.Trim(v, `"`)
			return s.ok()
		}
		return s.fail()
	}
	if v, ok := arg("AT+CSMP="); ok {
		f := strings.Split(v, ",")
		if len(f) != 4 {
			return s.fail()
		}
		dcs, err := strconv.Atoi(f[3])
		if err != nil || dcs < 0 || dcs > 255 {
			return s.fail()
		}
		s.dcs = dcs
		return s.ok()
	}
	if _, ok := arg("AT+CMGS="); ok {
		if s.dropPrompts > 0 {
			s.dropPrompts--
			return nil
		}
		return s.cmgs(line[len("AT+CMGS="):])
	}
	return s.fail()
}

func modemUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// cmgs starts a message: PDU mode takes the TPDU's length, text mode the
// number in quotes (and an optional type).
func (s *modemState) cmgs(v string) []byte {
	if s.cmgf == 0 {
		n, err := strconv.Atoi(v)
		if err != nil || n < 7 || n > 164 {
			return s.cms(304)
		}
		s.pduLen = n
	} else {
		da, _, _ := strings.Cut(v, ",")
		if len(da) < 3 || da[0] != '"' || da[len(da)-1] != '"' {
			return s.cms(305)
		}
		s.to = da[1 : len(da)-1]
	}
	s.input = true
	s.body = s.body[:0]
	return []byte(s.unsolicited() + "\r\n> ")
}

// submit reads the body handed over with Ctrl-Z, sends it (records it) or
// refuses it.
func (s *modemState) submit() []byte {
	if s.failTimes > 0 {
		s.failTimes--
		return s.cms(s.failCode)
	}
	if len(s.body) > modemMaxBody {
		s.rejected++
		return s.cms(304 + s.cmgf)
	}
	if s.cmgf == 0 {
		sub, err := modem.DecodeSubmitHex(string(s.body), s.pduLen)
		if err != nil {
			s.rejected++
			return s.cms(304)
		}
		s.record(sub)
	} else {
		sms, ok := s.textMessage()
		if !ok {
			s.rejected++
			return s.cms(305)
		}
		s.keep(sms)
	}
	s.mr++
	if s.dropConfirms > 0 {
		s.dropConfirms--
		return nil
	}
	return []byte(fmt.Sprintf("\r\n+CMGS: %d\r\n%s\r\nOK\r\n", s.mr, s.unsolicited()))
}

// textMessage reads a text-mode message: number and body in the character
// set of AT+CSCS, coded as AT+CSMP's DCS says, within one message's length.
func (s *modemState) textMessage() (SMS, bool) {
	number, text := s.to, string(s.body)
	if s.cscs == "UCS2" {
		var ok1, ok2 bool
		number, ok1 = modemFromUCS2Hex(number)
		text, ok2 = modemFromUCS2Hex(text)
		if !ok1 || !ok2 {
			return SMS{}, false
		}
	}
	coding := modem.GSM7
	if s.dcs&0x0C == 0x08 {
		coding = modem.UCS2
	}
	if (coding == modem.UCS2 && len(utf16.Encode([]rune(text))) > 70) || (coding == modem.GSM7 && len(text) > 160) {
		return SMS{}, false
	}
	return SMS{Number: number, Text: text, Parts: 1, Coding: coding}, text != ""
}

func modemFromUCS2Hex(h string) (string, bool) {
	b, err := hex.DecodeString(h)
	if err != nil || len(b)%2 != 0 {
		return "", false
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	return string(utf16.Decode(u)), true
}

// record keeps a PDU, and the message once all its parts are in.
func (s *modemState) record(sub modem.Submit) {
	if len(s.submits) < modemMaxRecorded {
		s.submits = append(s.submits, sub)
	}
	c := sub.Concat
	if c.Total <= 1 {
		s.keep(SMS{Number: sub.Number, Text: sub.Text, Parts: 1, Coding: sub.Coding})
		return
	}
	k := modemPartKey{number: sub.Number, ref: c.Ref, total: c.Total, coding: sub.Coding}
	parts, ok := s.parts[k]
	if !ok {
		if len(s.parts) >= modemMaxPending {
			clear(s.parts) // a test that leaves this many halves has failed already
		}
		parts = make([]string, c.Total)
	}
	parts[c.Seq-1] = sub.Text
	s.parts[k] = parts
	for _, p := range parts {
		if p == "" {
			return
		}
	}
	delete(s.parts, k)
	s.keep(SMS{Number: sub.Number, Text: strings.Join(parts, ""), Parts: int(c.Total), Coding: sub.Coding})
}

func (s *modemState) keep(m SMS) {
	if len(s.messages) < modemMaxRecorded {
		s.messages = append(s.messages, m)
	}
}
