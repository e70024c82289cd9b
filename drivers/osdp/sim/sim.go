// Package sim simulates OSDP readers (peripheral devices, PDs) speaking
// the same bytes as real ones, for the tests and the demo.
//
// A PD answers osdp_ID, osdp_CAP and osdp_LSTAT, records the osdp_LED,
// osdp_BUZ and osdp_OUT it receives, delivers card reads and keypad input
// queued with PresentCard, PresentWiegand or PressKeys on the next
// osdp_POLL, and runs the secure channel (SCBK-D in install mode, its own
// SCBK after osdp_KEYSET). It resends its last reply when the CP repeats a
// sequence number, and resets on sequence number 0, as the spec asks. It can
// be told to go silent, to lose replies, or to answer with garbage.
//
// A Bus serves several PDs on one line, the way readers share an RS-485
// pair: it reads commands and lets the addressed PD answer.
package sim

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"sync"
	"time"

	"gatehouse/drivers/osdp"
)

// Config describes one simulated reader.
type Config struct {
	Address byte
	ID      osdp.PDID
	Caps    []osdp.Capability // default: DefaultCaps(!NoSecureChannel)
	Key     osdp.Key          // the reader's SCBK; zero: none yet (factory state)
	Install bool              // install mode: SCBK-D accepted
	Secure  bool              // only ID, CAP and the handshake are allowed outside a secure channel
	// NoSecureChannel makes a reader without the secure channel: it NAKs
	// osdp_CHLNG and does not announce it in osdp_PDCAP.
	NoSecureChannel bool
	Rand            io.Reader // RND.B and garbage; default crypto/rand.Reader
}

// DefaultCaps are the capabilities of a card reader with one LED, a
// buzzer and a keypad: card data format (4), reader LED control (5),
// audible output (6), keypad (3, via 7: text output none), check character
// (8: CRC), communication security (9) when secure, receive buffer (10).
func DefaultCaps(secure bool) []osdp.Capability {
	cs := []osdp.Capability{
		{Function: 3, Compliance: 1, Count: 1}, // keypad: one, 12-key
		{Function: 4, Compliance: 1, Count: 0}, // card data format: raw bits
		{Function: 5, Compliance: 2, Count: 1}, // reader LED control
		{Function: 6, Compliance: 1, Count: 1}, // reader audible output
		{Function: 8, Compliance: 1, Count: 0}, // check character: CRC-16
		{Function: osdp.CapRecvBuffer, Compliance: 0x00, Count: 0x04},
	}
	if secure {
		cs = append(cs, osdp.Capability{Function: osdp.CapCommSecurity, Compliance: 1, Count: 1})
	}
	return cs
}

// Stats counts what a PD did.
type Stats struct {
	Commands   uint64 // commands addressed to it while not silent
	Repeats    uint64 // last replies resent for a repeated sequence number
	Handshakes uint64 // secure channels established
	MACErrors  uint64 // secure commands that failed MAC or decryption
	NAKs       uint64 // NAKs sent
	Dropped    uint64 // replies lost on purpose
	Garbage    uint64 // replies replaced by garbage
}

// PD is one simulated reader. Its methods are safe for concurrent use: a
// test or the demo drives it while a Bus serves it.
type PD struct {
	mu        sync.Mutex
	cfg       Config
	key       osdp.Key
	install   bool
	sess      osdp.Session
	onDefault bool // the session runs on SCBK-D
	lastSeq   int  // -1: expecting sequence number 0
	lastReply []byte
	events    []event
	leds      []osdp.LEDControl
	buzzers   []osdp.Buzzer
	outputs   []osdp.OutputControl
	status    osdp.LocalStatus
	silent    bool
	garbage   int
	drop      int
	wrongSCB  bool // sealed replies carry a command's security block type
	stats     Stats
	changed   chan struct{}
}

type event struct {
	code byte
	data []byte
}

const maxEvents = 64

// New returns a simulated reader.
func New(cfg Config) *PD {
	if cfg.Caps == nil {
		cfg.Caps = DefaultCaps(!cfg.NoSecureChannel)
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	return &PD{cfg: cfg, key: cfg.Key, install: cfg.Install, lastSeq: -1, changed: make(chan struct{})}
}

// Address returns the reader's bus address.
func (p *PD) Address() byte { return p.cfg.Address }

// Changed returns a channel closed at the next change of the reader's
// state (a command handled, a reply sent). Take it before checking a
// condition, then wait on it.
func (p *PD) Changed() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.changed
}

func (p *PD) notify() {
	close(p.changed)
	p.changed = make(chan struct{})
}

func (p *PD) queue(code byte, data []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.events) == maxEvents {
		p.events = p.events[1:]
	}
	p.events = append(p.events, event{code, data})
}

// PresentCard queues an osdp_RAW card read for the next poll.
func (p *PD) PresentCard(c osdp.CardRaw) { p.queue(osdp.ReplyRaw, c.Marshal()) }

// PresentUID queues a raw card UID (format "unspecified", whole bytes).
func (p *PD) PresentUID(uid []byte) {
	p.PresentCard(osdp.CardRaw{Format: osdp.RawFormatUnspecified, Bits: uint16(8 * len(uid)), Data: uid})
}

// PresentWiegand queues a Wiegand read of 26 or 34 bits.
func (p *PD) PresentWiegand(bits int, facility, card uint) error {
	c, err := osdp.WiegandBits(bits, facility, card)
	if err != nil {
		return err
	}
	p.PresentCard(c)
	return nil
}

// PresentText queues an osdp_FMT read.
func (p *PD) PresentText(s string) {
	p.queue(osdp.ReplyFmt, osdp.CardText{Text: []byte(s)}.Marshal())
}

// PressKeys queues an osdp_KEYPPAD reply; '*' and '#' become the OSDP
// key codes. Use "1234#" for a PIN.
func (p *PD) PressKeys(keys string) {
	b := []byte(keys)
	for i, k := range b {
		switch k {
		case '*':
			b[i] = osdp.KeyStar
		case '#':
			b[i] = osdp.KeyPound
		}
	}
	p.queue(osdp.ReplyKeypad, osdp.Keypad{Keys: b}.Marshal())
}

// SetTamper changes the tamper input and reports it on the next poll.
func (p *PD) SetTamper(on bool) {
	p.mu.Lock()
	p.status.Tamper = 0
	if on {
		p.status.Tamper = 1
	}
	st := p.status
	p.mu.Unlock()
	p.queue(osdp.ReplyLStatR, st.Marshal())
}

// SetSilent makes the reader ignore everything (unplugged, powered off) or
// come back. A reader coming back has lost its session, as after a power
// cycle.
func (p *PD) SetSilent(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.silent && !on {
		p.sess.Reset()
		p.lastSeq, p.lastReply = -1, nil
	}
	p.silent = on
}

// SendGarbage replaces the next n replies with random bytes.
func (p *PD) SendGarbage(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.garbage = n
}

// DropReplies acts on the next n commands but loses their replies, as a
// noisy line does; the CP's resend then gets the repeated reply.
func (p *PD) DropReplies(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.drop = n
}

// LEDs returns the osdp_LED records received, oldest first.
func (p *PD) LEDs() []osdp.LEDControl {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]osdp.LEDControl(nil), p.leds...)
}

// Buzzers returns the osdp_BUZ commands received, oldest first.
func (p *PD) Buzzers() []osdp.Buzzer {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]osdp.Buzzer(nil), p.buzzers...)
}

// Outputs returns the osdp_OUT records received, oldest first.
func (p *PD) Outputs() []osdp.OutputControl {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]osdp.OutputControl(nil), p.outputs...)
}

// Key returns the reader's current SCBK (zero when it has none).
func (p *PD) Key() osdp.Key {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.key
}

// InstallMode reports whether the reader still accepts SCBK-D.
func (p *PD) InstallMode() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.install
}

// Secure reports whether a secure channel is up, and whether on SCBK-D.
func (p *PD) Secure() (active, onDefault bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sess.Active(), p.sess.Active() && p.onDefault
}

// Stats returns the counters.
func (p *PD) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// Handle processes one frame from the bus and returns the bytes to send
// back, or nil when the reader stays quiet.
func (p *PD) Handle(f osdp.Frame) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.silent || f.IsReply() || (f.PD() != p.cfg.Address && f.PD() != osdp.Broadcast) {
		return nil
	}
	defer p.notify()
	p.stats.Commands++
	if f.Seq != 0 && int(f.Seq) == p.lastSeq && p.lastReply != nil {
		// The CP did not hear our reply: send it again, do not act twice.
		p.stats.Repeats++
		return p.deliver(p.lastReply)
	}
	if f.Seq == 0 {
		p.sess.Reset()
		p.lastSeq, p.lastReply = -1, nil
	} else if want := next(p.lastSeq); int(f.Seq) != want {
		// Out of step: the command was not authenticated, so the MAC chain
		// cannot go on. Drop the session and say so in clear; the CP
		// starts over with sequence number 0.
		p.sess.Reset()
		p.stats.NAKs++
		return p.deliver(p.encode(f, osdp.ReplyNAK, []byte{osdp.NakSeq}, 0, nil))
	}
	code, data, scb, scbData := p.process(&f)
	if code == osdp.ReplyNAK {
		p.stats.NAKs++
	}
	wire := p.encode(f, code, data, scb, scbData)
	if code != osdp.ReplyBusy {
		p.lastSeq, p.lastReply = int(f.Seq), wire
	}
	return p.deliver(wire)
}

func next(last int) int {
	if last < 0 {
		return 0
	}
	return last%3 + 1
}

// encode builds the reply frame: sealed when a session is up, in clear
// for the handshake replies and for NAKs after a session was dropped.
func (p *PD) encode(cmd osdp.Frame, code byte, data []byte, scb byte, scbData []byte) []byte {
	r := osdp.Frame{Addr: p.cfg.Address | 0x80, Seq: cmd.Seq, Checksum: cmd.Checksum, Code: code, Data: data}
	var wire []byte
	var err error
	if scb != 0 {
		r.SCB, r.SCBData = scb, scbData
		wire, err = r.Append(nil)
	} else if p.sess.Active() {
		wire, err = p.sess.Seal(r)
		if err == nil && p.wrongSCB {
			wire, err = mislabel(wire)
		}
	} else {
		wire, err = r.Append(nil)
	}
	if err != nil {
		return nil
	}
	return wire
}

// mislabel rewrites a sealed reply to carry the security block type of a
// command (SCS_15 for SCS_16, SCS_17 for SCS_18), MAC and check intact
// otherwise: a PD firmware that confuses the two.
func mislabel(wire []byte) ([]byte, error) {
	var d osdp.Decoder
	d.Feed(wire)
	f, err := d.Next()
	if err != nil {
		return nil, err
	}
	f.SCB--
	return f.Append(nil)
}

// SetWrongSCB makes the reader label its sealed replies with a command's
// security block type, which a strict CP must refuse.
func (p *PD) SetWrongSCB(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.wrongSCB = on
}

// deliver applies the fault settings to a reply.
func (p *PD) deliver(wire []byte) []byte {
	switch {
	case p.drop > 0:
		p.drop--
		p.stats.Dropped++
		return nil
	case p.garbage > 0:
		p.garbage--
		p.stats.Garbage++
		g := make([]byte, len(wire))
		_, _ = io.ReadFull(p.cfg.Rand, g)
		g[0] = 0x53 // a false start of message, for the CP to resync past
		return g
	}
	return wire
}

func nak(code byte) (byte, []byte, byte, []byte) {
	return osdp.ReplyNAK, []byte{code}, 0, nil
}

func ack() (byte, []byte, byte, []byte) { return osdp.ReplyACK, nil, 0, nil }

// process checks the security of a command and acts on it, returning the
// reply's code, data and (for the handshake) security block.
func (p *PD) process(f *osdp.Frame) (byte, []byte, byte, []byte) {
	switch {
	case f.HasMAC():
		if !p.sess.Active() {
			return nak(osdp.NakSCCond)
		}
		if err := p.sess.Open(f); err != nil {
			p.stats.MACErrors++
			p.sess.Reset()
			return nak(osdp.NakSCCond)
		}
	case f.SCB == osdp.SCS11 || f.SCB == osdp.SCS13:
		return p.handshake(f)
	case f.SCB != 0:
		return nak(osdp.NakSCCond)
	case p.sess.Active():
		// A command in clear inside a session: someone tries a downgrade.
		p.sess.Reset()
		return nak(osdp.NakSCCond)
	case p.cfg.Secure && f.Code != osdp.CmdID && f.Code != osdp.CmdCap:
		return nak(osdp.NakSCCond)
	}
	v, err := osdp.ParseCommand(f.Code, f.Data)
	if err != nil {
		switch f.Code {
		case osdp.CmdPoll, osdp.CmdID, osdp.CmdCap, osdp.CmdLStat, osdp.CmdOut, osdp.CmdLED,
			osdp.CmdBuz, osdp.CmdKeySet, osdp.CmdChlng, osdp.CmdSCrypt:
			return nak(osdp.NakCmdLen)
		}
		return nak(osdp.NakUnknownCmd)
	}
	switch f.Code {
	case osdp.CmdPoll:
		if len(p.events) > 0 {
			e := p.events[0]
			p.events = p.events[1:]
			return e.code, e.data, 0, nil
		}
		return ack()
	case osdp.CmdID:
		return osdp.ReplyPDID, p.cfg.ID.Marshal(), 0, nil
	case osdp.CmdCap:
		return osdp.ReplyPDCap, osdp.MarshalCaps(p.cfg.Caps), 0, nil
	case osdp.CmdLStat:
		return osdp.ReplyLStatR, p.status.Marshal(), 0, nil
	case osdp.CmdLED:
		p.leds = append(p.leds, v.([]osdp.LEDControl)...)
		return ack()
	case osdp.CmdBuz:
		p.buzzers = append(p.buzzers, v.(osdp.Buzzer))
		return ack()
	case osdp.CmdOut:
		p.outputs = append(p.outputs, v.([]osdp.OutputControl)...)
		return ack()
	case osdp.CmdKeySet:
		if !p.sess.Active() {
			return nak(osdp.NakSCCond)
		}
		// The new key serves from the next handshake on; this reply still
		// goes out under the current session.
		p.key, p.install = v.(osdp.KeySet).Key, false
		return ack()
	}
	// CHLNG and SCRYPT without their security block.
	return nak(osdp.NakSCCond)
}

func (p *PD) handshake(f *osdp.Frame) (byte, []byte, byte, []byte) {
	if p.cfg.NoSecureChannel {
		return nak(osdp.NakSCUnsup)
	}
	if len(f.SCBData) != 1 {
		return nak(osdp.NakSCCond)
	}
	keyType := f.SCBData[0]
	switch {
	case f.Code == osdp.CmdChlng && f.SCB == osdp.SCS11:
		rndA, err := osdp.ParseChallenge(f.Data)
		if err != nil {
			return nak(osdp.NakCmdLen)
		}
		var key osdp.Key
		switch {
		case keyType == osdp.KeyTypeDefault && p.install:
			key, p.onDefault = osdp.DefaultKey(), true
		case !p.key.IsZero():
			// Asked for SCBK-D outside install mode, or for our own key:
			// we answer with ours, and a CP without it fails the check.
			key, p.onDefault = p.key, false
		default:
			p.sess.Reset()
			return nak(osdp.NakSCCond)
		}
		cc, err := p.sess.Respond(key, rndA, p.cfg.ID.ClientUID(), p.cfg.Rand)
		if err != nil {
			return nak(osdp.NakUnableToRun)
		}
		return osdp.ReplyCCrypt, cc.Marshal(), osdp.SCS12, []byte{keyType}
	case f.Code == osdp.CmdSCrypt && f.SCB == osdp.SCS13:
		server, err := osdp.ParseCryptogram(f.Data)
		if err != nil {
			return nak(osdp.NakCmdLen)
		}
		rmac, err := p.sess.Confirm(server)
		if err != nil {
			return nak(osdp.NakSCCond)
		}
		p.stats.Handshakes++
		return osdp.ReplyRMACI, rmac[:], osdp.SCS14, []byte{0x01}
	}
	return nak(osdp.NakSCCond)
}

// Bus serves simulated readers sharing one line.
type Bus struct {
	pds []*PD
	mu  sync.Mutex
	dec osdp.Decoder
}

// NewBus returns a bus with the given readers on it.
func NewBus(pds ...*PD) *Bus { return &Bus{pds: pds} }

// DecodeStats returns what the bus's decoder has seen of the CP's bytes.
func (b *Bus) DecodeStats() osdp.DecodeStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dec.Stats()
}

// Serve answers commands on line until ctx is done (it returns nil) or the
// line fails. It checks ctx between reads at least every 50 ms.
func (b *Bus) Serve(ctx context.Context, line osdp.Line) error {
	buf := make([]byte, 512)
	for ctx.Err() == nil {
		if err := line.SetReadDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
			return err
		}
		n, err := line.Read(buf)
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		for _, reply := range b.take(buf[:n]) {
			if _, err := line.Write(reply); err != nil {
				return err
			}
		}
	}
	return nil
}

// take feeds bytes to the decoder and collects the replies they call for.
func (b *Bus) take(p []byte) [][]byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.dec.Feed(p)
	var out [][]byte
	for {
		f, err := b.dec.Next()
		if errors.Is(err, osdp.ErrIncomplete) {
			return out
		}
		if err != nil || f.IsReply() {
			continue
		}
		for _, pd := range b.pds {
			if f.PD() == pd.Address() || f.PD() == osdp.Broadcast {
				if r := pd.Handle(f); r != nil {
					out = append(out, r)
				}
				break
			}
		}
	}
}
