package osdp

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"gatehouse/appliance/clock"
	"gatehouse/appliance/gate"
	"gatehouse/drivers/fault"
)

// Errors of the control panel.
var (
	ErrConfig        = errors.New("osdp: bad configuration")
	ErrUnknownReader = errors.New("osdp: no such reader")
	ErrOffline       = errors.New("osdp: reader offline")
)

// Reader is one PD on the bus, as configured.
type Reader struct {
	Name      string         // device name: events, key store, health
	Address   byte           // 0x00–0x7E
	Lane      string         // lane the reader belongs to
	Direction gate.Direction // from its role: entry or exit reader
	Secure    bool           // talk to it only through the secure channel
	Install   bool           // install mode: accept SCBK-D and replace it with a fresh key
	Checksum  bool           // 8-bit checksum instead of CRC-16 (old readers)
	Output    *byte          // reader output pulsed on an "open" action; nil: none
}

// Config of a control panel.
type Config struct {
	Line    Line
	Readers []Reader
	Decider gate.Decider
	Keys    KeyStore // required when a reader is Secure

	Clock clock.Clock  // timestamps of presentations and health, the logs' summaries; default clock.System
	Rand  io.Reader    // RND.A and new keys; default crypto/rand.Reader
	Log   *slog.Logger // default slog.Default(); each reader's failures by state (package fault)

	ReplyTimeout  time.Duration // default 200 ms
	OfflineAfter  int           // missed replies in a row before a reader is offline; default 3
	ProbeEvery    time.Duration // how often an offline or failed reader is tried; default 1 s
	PollEvery     time.Duration // shortest poll round; default 50 ms
	DecideTimeout time.Duration // longest wait for the Decider; default 1 s
	KeypadTimeout time.Duration // keys older than this are forgotten; default 10 s
	LineRetry     time.Duration // pause after a line error; default 500 ms

	Feedback Feedback // LED and buzzer patterns; default DefaultFeedback()

	// OnStatus, if set, is called from Run when a reader goes online or
	// offline or its secure channel comes up or down.
	OnStatus func(Health)
}

// Signal is what a reader shows for one kind of feedback.
type Signal struct {
	LED    LEDControl
	Buzzer Buzzer
}

// Feedback holds the patterns for grant and deny.
type Feedback struct {
	Grant, Deny Signal
}

// DefaultFeedback is green for 3 s with a 200 ms beep on grant, red for 3 s
// with a 1 s beep on deny, on reader 0, LED 0.
func DefaultFeedback() Feedback {
	sig := func(color, beep byte) Signal {
		return Signal{
			LED: LEDControl{Temporary: LEDTemporary{
				Code: LEDTempSet, OnTime: 1, OffTime: 0, OnColor: color, OffColor: ColorBlack, Timer: 30,
			}},
			Buzzer: Buzzer{Tone: ToneDefault, OnTime: beep, OffTime: 0, Count: 1},
		}
	}
	return Feedback{Grant: sig(ColorGreen, 2), Deny: sig(ColorRed, 10)}
}

// CP is an OSDP control panel driving the readers of one bus. Run owns the
// line; Health and Signal may be called from any goroutine.
type CP struct {
	cfg     Config
	log     *slog.Logger
	readers []*pd
	byName  map[string]*pd
	dec     Decoder
	rbuf    []byte
	wake    chan struct{}

	mu  sync.Mutex // guards the fields below and every pd.health and pd.signals
	bus BusHealth
}

type command struct {
	code byte
	data []byte
	scb  byte // SCS11 or SCS13 for the handshake, else 0
	key  byte // SCB data of the handshake: key type
}

type phase uint8

const (
	phaseOffline phase = iota // waiting for the next probe
	phaseID                   // osdp_ID, with sequence number 0
	phaseCap                  // osdp_CAP
	phaseChlng                // osdp_CHLNG
	phaseSCrypt               // osdp_SCRYPT
	phaseKeySet               // osdp_KEYSET, on SCBK-D in install mode
	phaseLStat                // osdp_LSTAT
	phaseOnline               // osdp_POLL and feedback
)

// pd is the CP's state of one reader. Only Run touches it, except health
// and signals, which are under CP.mu.
type pd struct {
	cfg     Reader
	phase   phase
	seq     byte
	probeAt time.Time
	probing bool // the exchange is a probe of an offline reader: no resends
	missed  int  // replies missed in a row
	resets  int  // re-initialisations in a row without reaching online

	sess       Session
	scbk       Key  // the reader's own key, once loaded
	useDefault bool // handshake on SCBK-D
	triedDef   bool // SCBK-D already tried after the own key failed
	server     [16]byte
	newKey     Key

	queue  []command // feedback to send
	keys   []byte    // keypad digits so far
	keysAt time.Time

	health  Health
	signals []gate.Feedback

	faults     *fault.Log // Run's; logs failures once, then summaries
	everOnline bool       // the first time online is logged here, later ones by faults
}

// New checks cfg and returns a CP ready to Run.
func New(cfg Config) (*CP, error) {
	if cfg.Line == nil || cfg.Decider == nil || len(cfg.Readers) == 0 {
		return nil, fmt.Errorf("%w: line, decider and readers are required", ErrConfig)
	}
	setDefault(&cfg.ReplyTimeout, 200*time.Millisecond)
	setDefault(&cfg.ProbeEvery, time.Second)
	setDefault(&cfg.PollEvery, 50*time.Millisecond)
	setDefault(&cfg.DecideTimeout, time.Second)
	setDefault(&cfg.KeypadTimeout, 10*time.Second)
	setDefault(&cfg.LineRetry, 500*time.Millisecond)
	if cfg.OfflineAfter <= 0 {
		cfg.OfflineAfter = 3
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Feedback == (Feedback{}) {
		cfg.Feedback = DefaultFeedback()
	}
	c := &CP{
		cfg:    cfg,
		log:    cfg.Log.With("driver", "osdp"),
		byName: make(map[string]*pd),
		rbuf:   make([]byte, 512),
		wake:   make(chan struct{}, 1),
	}
	seen := make(map[byte]bool)
	for _, rc := range cfg.Readers {
		switch {
		case rc.Name == "":
			return nil, fmt.Errorf("%w: a reader has no name", ErrConfig)
		case rc.Address >= Broadcast:
			return nil, fmt.Errorf("%w: reader %s: address %#x out of range", ErrConfig, rc.Name, rc.Address)
		case seen[rc.Address] || c.byName[rc.Name] != nil:
			return nil, fmt.Errorf("%w: reader %s: name or address used twice", ErrConfig, rc.Name)
		case rc.Secure && cfg.Keys == nil:
			return nil, fmt.Errorf("%w: reader %s is secure but there is no key store", ErrConfig, rc.Name)
		}
		seen[rc.Address] = true
		r := &pd{cfg: rc, health: Health{Name: rc.Name, Address: rc.Address}, faults: fault.New(c.log.With("reader", rc.Name), cfg.Clock)}
		c.readers = append(c.readers, r)
		c.byName[rc.Name] = r
	}
	return c, nil
}

func setDefault(d *time.Duration, v time.Duration) {
	if *d <= 0 {
		*d = v
	}
}

// Health returns a snapshot of every reader's health, in configuration
// order, and of the bus.
func (c *CP) Health() ([]Health, BusHealth) {
	c.mu.Lock()
	defer c.mu.Unlock()
	hs := make([]Health, len(c.readers))
	for i, r := range c.readers {
		hs[i] = r.health
	}
	return hs, c.bus
}

const maxSignals = 8

// Signal makes a reader show grant or deny feedback — for `devices test`
// and for a decision taken elsewhere (a QR scanner on the same lane).
func (c *CP) Signal(reader string, fb gate.Feedback) error {
	r := c.byName[reader]
	if r == nil {
		return fmt.Errorf("%w: %s", ErrUnknownReader, reader)
	}
	c.mu.Lock()
	if !r.health.Online {
		c.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrOffline, reader)
	}
	if len(r.signals) == maxSignals {
		r.signals = r.signals[1:] // a person sees the latest; keep the queue bounded
	}
	r.signals = append(r.signals, fb)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return nil
}

// Run polls the readers until ctx is done (it then returns nil) or the line
// is closed for good. Line errors in between are counted and waited out:
// the serial layer under the line reconnects by itself.
func (c *CP) Run(ctx context.Context) error {
	for _, r := range c.readers {
		r.phase, r.probeAt = phaseOffline, time.Time{}
	}
	for {
		start := time.Now()
		for _, r := range c.readers {
			if ctx.Err() != nil {
				return nil
			}
			if err := c.turn(ctx, r); err != nil {
				if closed(err) {
					return err
				}
				if !c.sleep(ctx, time.Now().Add(c.cfg.LineRetry)) {
					return nil
				}
			}
		}
		if !c.sleep(ctx, c.nextRound(start)) {
			return nil
		}
	}
}

func closed(err error) bool {
	return errors.Is(err, os.ErrClosed) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrClosedPipe)
}

// nextRound is when the next poll round may start: PollEvery after this
// one, or the next probe when every reader is offline.
func (c *CP) nextRound(start time.Time) time.Time {
	var next time.Time
	for _, r := range c.readers {
		if r.phase != phaseOffline {
			return start.Add(c.cfg.PollEvery)
		}
		if next.IsZero() || r.probeAt.Before(next) {
			next = r.probeAt
		}
	}
	if t := start.Add(c.cfg.PollEvery); next.Before(t) {
		next = t
	}
	return next
}

// sleep waits until t, a Signal or ctx; it reports false when ctx is done.
func (c *CP) sleep(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-c.wake:
	case <-tm.C:
	}
	return true
}

// turn gives one reader its share of the bus: a probe when it is offline
// and due, the next initialisation steps, or a poll followed by whatever
// feedback is waiting. It returns only line errors.
func (c *CP) turn(ctx context.Context, r *pd) error {
	if r.phase == phaseOffline {
		if time.Now().Before(r.probeAt) {
			return nil
		}
		r.restart()
		r.probing = true
	}
	c.takeSignals(r)
	polled := false
	for range 16 {
		cmd, ok := c.command(ctx, r, polled)
		if !ok {
			return nil
		}
		polled = polled || cmd.code == CmdPoll
		f, err := c.exchange(ctx, r, cmd)
		r.probing = false
		if errors.Is(err, errNoReply) {
			return nil
		}
		if err != nil {
			return err
		}
		c.handle(ctx, r, cmd, f)
		if r.phase == phaseOffline {
			return nil
		}
	}
	return nil
}

func (c *CP) takeSignals(r *pd) {
	c.mu.Lock()
	sigs := r.signals
	r.signals = nil
	c.mu.Unlock()
	if r.phase != phaseOnline {
		return
	}
	for _, fb := range sigs {
		r.queue = append(r.queue, c.feedback(r, gate.Action{Feedback: fb})...)
	}
}

// restart begins a new session: sequence number 0 tells the reader to
// forget its state, including any secure channel. The key is loaded from
// the store again at the next handshake, so a key changed there is used.
func (r *pd) restart() {
	r.phase, r.seq, r.missed = phaseID, 0, 0
	r.sess.Reset()
	r.scbk, r.newKey = Key{}, Key{}
	r.useDefault, r.triedDef = false, false
	r.queue, r.keys = nil, nil
}

// command picks what to send next. It reports false when the turn is over.
func (c *CP) command(ctx context.Context, r *pd, polled bool) (command, bool) {
	switch r.phase {
	case phaseID:
		return command{code: CmdID, data: RequestID}, true
	case phaseCap:
		return command{code: CmdCap, data: RequestID}, true
	case phaseChlng:
		return c.challenge(ctx, r)
	case phaseSCrypt:
		return command{code: CmdSCrypt, data: r.server[:], scb: SCS13, key: r.keyType()}, true
	case phaseKeySet:
		return command{code: CmdKeySet, data: KeySet{Key: r.newKey}.Marshal()}, true
	case phaseLStat:
		return command{code: CmdLStat}, true
	case phaseOnline:
		if len(r.queue) > 0 {
			cmd := r.queue[0]
			r.queue = r.queue[1:]
			return cmd, true
		}
		if !polled {
			return command{code: CmdPoll}, true
		}
	}
	return command{}, false
}

func (r *pd) keyType() byte {
	if r.useDefault {
		return KeyTypeDefault
	}
	return KeyTypeSCBK
}

func (r *pd) handshakeKey() Key {
	if r.useDefault {
		return DefaultKey()
	}
	return r.scbk
}

// challenge prepares osdp_CHLNG: it loads the reader's key (once per
// session), or falls back to SCBK-D when the reader has none and install
// mode allows it.
func (c *CP) challenge(ctx context.Context, r *pd) (command, bool) {
	if r.scbk.IsZero() && !r.useDefault {
		k, err := c.cfg.Keys.LoadKey(ctx, r.cfg.Name)
		switch {
		case err == nil && !k.IsDefault():
			r.scbk = k
		case err == nil || errors.Is(err, ErrNoKey):
			if !r.cfg.Install {
				c.fail(r, "reader has no secure channel key and install mode is off")
				return command{}, false
			}
			r.useDefault = true
		default:
			c.fail(r, "key store: "+err.Error())
			return command{}, false
		}
	}
	rndA, err := r.sess.Challenge(c.cfg.Rand)
	if err != nil {
		c.fail(r, err.Error())
		return command{}, false
	}
	return command{code: CmdChlng, data: rndA[:], scb: SCS11, key: r.keyType()}, true
}

var (
	errNoReply = errors.New("osdp: no reply")
	errLine    = errors.New("osdp: line error")
)

// exchange sends cmd and waits for the reply, resending the same bytes with
// the same sequence number on a timeout, so a reader whose reply was lost
// answers again with its last reply instead of acting twice.
func (c *CP) exchange(ctx context.Context, r *pd, cmd command) (Frame, error) {
	f := Frame{Addr: r.cfg.Address, Seq: r.seq, Checksum: r.cfg.Checksum, Code: cmd.code, Data: cmd.data}
	var wire []byte
	var err error
	if cmd.scb != 0 {
		f.SCB, f.SCBData = cmd.scb, []byte{cmd.key}
		wire, err = f.Append(nil)
	} else if r.sess.Active() {
		wire, err = r.sess.Seal(f)
	} else {
		wire, err = f.Append(nil)
	}
	if err != nil {
		c.fail(r, "encoding "+err.Error())
		return Frame{}, errNoReply
	}
	for {
		c.dec.Reset()
		var reply Frame
		if _, err = c.cfg.Line.Write(wire); err == nil {
			reply, err = c.await(r)
		}
		c.syncBus(err)
		switch {
		case err == nil:
			if reply.Code != ReplyBusy {
				r.seq = nextSeq(r.seq)
			}
			r.missed = 0
			now := c.cfg.Clock.Now()
			c.mu.Lock()
			r.health.LastSeen = now
			c.mu.Unlock()
			return reply, nil
		case ctx.Err() != nil:
			// Shutting down: a missing reply says nothing about the reader.
			return Frame{}, errNoReply
		case errors.Is(err, errNoReply):
		default:
			c.miss(r)
			return Frame{}, err
		}
		if c.miss(r) {
			return Frame{}, errNoReply
		}
	}
}

// miss counts a missed reply and reports whether to give up: a probe is
// tried once, a known reader until OfflineAfter replies in a row are lost.
func (c *CP) miss(r *pd) bool {
	r.missed++
	c.mu.Lock()
	r.health.Timeouts++
	c.mu.Unlock()
	if r.probing || r.missed >= c.cfg.OfflineAfter {
		c.offline(r, "no reply")
		return true
	}
	return false
}

func nextSeq(s byte) byte { return s%3 + 1 }

// await reads until the reply to the current command arrives or the reply
// timeout passes. Frames for other readers, or with another sequence number
// (a late reply), are counted as stray and skipped.
func (c *CP) await(r *pd) (Frame, error) {
	deadline := time.Now().Add(c.cfg.ReplyTimeout)
	if err := c.cfg.Line.SetReadDeadline(deadline); err != nil {
		return Frame{}, fmt.Errorf("%w: %w", errLine, err)
	}
	for {
		for {
			f, err := c.dec.Next()
			if errors.Is(err, ErrIncomplete) {
				break
			}
			if err != nil {
				continue // counted by the decoder
			}
			if !f.IsReply() || f.PD() != r.cfg.Address || (f.Seq != r.seq && f.Code != ReplyBusy) {
				c.mu.Lock()
				c.bus.Stray++
				c.mu.Unlock()
				continue
			}
			return f, nil
		}
		if !time.Now().Before(deadline) {
			return Frame{}, errNoReply
		}
		n, err := c.cfg.Line.Read(c.rbuf)
		c.dec.Feed(c.rbuf[:n])
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return Frame{}, fmt.Errorf("%w: %w", errLine, err)
		}
	}
}

func (c *CP) syncBus(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bus.DecodeStats = c.dec.Stats()
	if err != nil && !errors.Is(err, errNoReply) {
		c.bus.LineErrors++
	}
}

// handle acts on a reply: security first, then by phase.
func (c *CP) handle(ctx context.Context, r *pd, cmd command, f Frame) {
	switch {
	case f.HasMAC():
		if err := r.sess.Open(&f); err != nil {
			c.count(r, func(h *Health) { h.MACErrors++ })
			c.reinit(r, "secure reply rejected: "+err.Error())
			return
		}
	case r.sess.Active() && f.Code != ReplyNAK && f.Code != ReplyBusy && !(cmd.code == CmdKeySet && f.Code == ReplyACK):
		// A reader may drop its session before it ACKs KEYSET (libosdp
		// does); anything else in clear inside a session is a downgrade.
		c.count(r, func(h *Health) { h.MACErrors++ })
		c.reinit(r, "reply in clear inside the secure channel")
		return
	case f.SCB != 0 && !(f.Code == ReplyCCrypt && f.SCB == SCS12) && !(f.Code == ReplyRMACI && f.SCB == SCS14):
		c.bad(r, cmd, f, "unexpected security block")
		return
	}
	switch f.Code {
	case ReplyBusy:
		if cmd.code != CmdPoll && r.phase == phaseOnline {
			r.queue = append([]command{cmd}, r.queue...)
		}
		return
	case ReplyNAK:
		c.nak(r, cmd, f)
		return
	}
	switch r.phase {
	case phaseID:
		id, err := ParsePDID(f.Data)
		if f.Code != ReplyPDID || err != nil {
			c.bad(r, cmd, f, "expected osdp_PDID")
			return
		}
		c.mu.Lock()
		r.health.ID = id
		c.mu.Unlock()
		r.phase = phaseCap
	case phaseCap:
		caps, err := ParseCaps(f.Data)
		if f.Code != ReplyPDCap || err != nil {
			c.bad(r, cmd, f, "expected osdp_PDCAP")
			return
		}
		r.phase = phaseLStat
		if r.cfg.Secure {
			if !SupportsSecure(caps) {
				c.fail(r, "reader does not offer the secure channel")
				return
			}
			r.phase = phaseChlng
		}
	case phaseChlng:
		c.ccrypt(r, cmd, f)
	case phaseSCrypt:
		c.rmacI(ctx, r, cmd, f)
	case phaseKeySet:
		if f.Code != ReplyACK {
			c.bad(r, cmd, f, "expected osdp_ACK to osdp_KEYSET")
			return
		}
		r.scbk, r.newKey = r.newKey, Key{}
		r.useDefault, r.triedDef = false, false
		r.sess.Reset()
		c.log.Info("osdp reader has its own secure channel key", "reader", r.cfg.Name)
		r.phase = phaseChlng
	case phaseLStat:
		if st, err := ParseLocalStatus(f.Data); f.Code == ReplyLStatR && err == nil {
			c.status(r, st)
		}
		c.online(r)
	case phaseOnline:
		c.polled(ctx, r, cmd, f)
	}
}

func (c *CP) ccrypt(r *pd, cmd command, f Frame) {
	cc, err := ParseCCrypt(f.Data)
	if f.Code != ReplyCCrypt || f.SCB != SCS12 || err != nil {
		c.bad(r, cmd, f, "expected osdp_CCRYPT")
		return
	}
	server, err := r.sess.Accept(r.handshakeKey(), cc)
	switch {
	case err == nil:
		r.server = server
		r.phase = phaseSCrypt
	case errors.Is(err, ErrCryptogram) && c.tryDefault(r):
	default:
		c.fail(r, "secure channel: reader holds another key")
	}
}

// tryDefault falls back to SCBK-D once, in install mode, when the reader
// does not take the key on file: it may be new or factory-reset. It
// reports whether it did.
func (c *CP) tryDefault(r *pd) bool {
	if r.useDefault || !r.cfg.Install || r.triedDef {
		return false
	}
	r.useDefault, r.triedDef = true, true
	r.phase = phaseChlng
	return true
}

func (c *CP) rmacI(ctx context.Context, r *pd, cmd command, f Frame) {
	rmac, err := ParseCryptogram(f.Data)
	if f.Code != ReplyRMACI || f.SCB != SCS14 || err != nil {
		c.bad(r, cmd, f, "expected osdp_RMAC_I")
		return
	}
	if len(f.SCBData) != 1 || f.SCBData[0] != 0x01 {
		c.fail(r, "secure channel: reader refused our cryptogram")
		return
	}
	if err := r.sess.Establish(rmac); err != nil {
		c.fail(r, "secure channel: "+err.Error())
		return
	}
	r.phase = phaseLStat
	if !r.useDefault {
		return
	}
	// On SCBK-D in install mode: give the reader a key of its own. It is
	// saved first, so a reader that takes it is never left with a key
	// nobody knows; if KEYSET fails, install mode still lets us back in.
	k, err := RandomKey(c.cfg.Rand)
	if err == nil {
		err = c.cfg.Keys.SaveKey(ctx, r.cfg.Name, k)
	}
	if err != nil {
		c.fail(r, "new secure channel key: "+err.Error())
		return
	}
	r.newKey = k
	r.phase = phaseKeySet
}

// nak handles osdp_NAK by what was asked.
func (c *CP) nak(r *pd, cmd command, f Frame) {
	n, err := ParseNak(f.Data)
	c.count(r, func(h *Health) { h.NAKs++ })
	if err != nil {
		c.bad(r, cmd, f, "malformed osdp_NAK")
		return
	}
	why := fmt.Sprintf("reader NAKed %#x with code %d", cmd.code, n.Code)
	switch {
	case n.Code == NakSeq, (n.Code == NakSCCond || n.Code == NakSCUnsup) && r.sess.Active():
		// Out of step, or the reader dropped the session: start over.
		c.reinit(r, why)
	case cmd.code == CmdChlng && c.tryDefault(r):
		// A reader without a key of its own refuses a challenge for one.
	case cmd.code == CmdLStat:
		c.online(r) // local status is optional
	case r.phase == phaseOnline && cmd.code != CmdPoll:
		r.faults.Fail("osdp reader refused a command", why)
	default:
		// A refused poll or initialisation step: the reader is not
		// usable as configured (e.g. it requires a secure channel).
		c.fail(r, why)
	}
}

// polled handles the reply to a poll or to feedback. A good one tells the
// reader's fault log that it works, ending a run of bad replies.
func (c *CP) polled(ctx context.Context, r *pd, cmd command, f Frame) {
	switch f.Code {
	case ReplyACK:
	case ReplyRaw:
		cr, err := ParseCardRaw(f.Data)
		if err != nil {
			c.bad(r, cmd, f, err.Error())
			return
		}
		v, err := CardNumber(cr)
		c.present(ctx, r, gate.Card, v, err)
	case ReplyFmt:
		ct, err := ParseCardText(f.Data)
		if err != nil {
			c.bad(r, cmd, f, err.Error())
			return
		}
		v, err := CardTextNumber(ct)
		c.present(ctx, r, gate.Card, v, err)
	case ReplyKeypad:
		kp, err := ParseKeypad(f.Data)
		if err != nil {
			c.bad(r, cmd, f, err.Error())
			return
		}
		c.keypad(ctx, r, kp.Keys)
	case ReplyLStatR:
		st, err := ParseLocalStatus(f.Data)
		if err != nil {
			c.bad(r, cmd, f, err.Error())
			return
		}
		c.status(r, st)
	default:
		c.bad(r, cmd, f, "unexpected reply")
		return
	}
	r.faults.OK("osdp reader working")
}

// keypad gathers digits until '#' and hands them over as a PIN; '*' clears.
func (c *CP) keypad(ctx context.Context, r *pd, keys []byte) {
	now := time.Now()
	if len(r.keys) > 0 && now.Sub(r.keysAt) > c.cfg.KeypadTimeout {
		r.keys = nil
	}
	r.keysAt = now
	for _, k := range keys {
		switch {
		case k >= '0' && k <= '9':
			if len(r.keys) >= 16 {
				r.keys = nil
				c.count(r, func(h *Health) { h.BadReads++ })
				continue
			}
			r.keys = append(r.keys, k)
		case k == KeyStar:
			r.keys = nil
		case k == KeyPound && len(r.keys) > 0:
			pin := string(r.keys)
			r.keys = nil
			c.present(ctx, r, gate.PIN, pin, nil)
		}
	}
}

// present hands a credential to the Decider and queues the feedback. A
// Decider error is shown as a deny: the lane fails closed.
func (c *CP) present(ctx context.Context, r *pd, kind gate.CredentialKind, value string, readErr error) {
	if readErr != nil {
		c.count(r, func(h *Health) { h.BadReads++ })
		c.log.Warn("osdp unusable card read", "reader", r.cfg.Name, "err", readErr)
		return
	}
	c.count(r, func(h *Health) { h.Reads++ })
	p := gate.Presentation{
		Lane: r.cfg.Lane, Direction: r.cfg.Direction, Kind: kind, Value: value,
		Device: r.cfg.Name, At: c.cfg.Clock.Now(),
	}
	dctx, cancel := context.WithTimeout(ctx, c.cfg.DecideTimeout)
	a, err := c.cfg.Decider.Decide(dctx, p)
	cancel()
	if err != nil {
		c.log.Error("osdp decision failed; denying", "reader", r.cfg.Name, "err", err)
		a = gate.Action{Feedback: gate.Deny}
	}
	r.queue = append(r.queue, c.feedback(r, a)...)
}

// feedback turns an action into commands: the relay output first (it opens
// the door), then LED and buzzer.
func (c *CP) feedback(r *pd, a gate.Action) []command {
	var cmds []command
	if a.Open && r.cfg.Output != nil {
		t := (a.Pulse + 99*time.Millisecond) / (100 * time.Millisecond)
		t = max(1, min(t, 0xFFFF))
		cmds = append(cmds, command{code: CmdOut, data: MarshalOutputs(OutputControl{
			Output: *r.cfg.Output, Code: OutTempOn, Timer: uint16(t),
		})})
	}
	var s Signal
	switch a.Feedback {
	case gate.Grant:
		s = c.cfg.Feedback.Grant
	case gate.Deny:
		s = c.cfg.Feedback.Deny
	default:
		return cmds
	}
	return append(cmds,
		command{code: CmdLED, data: MarshalLEDs(s.LED)},
		command{code: CmdBuz, data: s.Buzzer.Marshal()})
}

func (c *CP) status(r *pd, st LocalStatus) {
	c.mu.Lock()
	r.health.Tamper, r.health.PowerFail = st.Tamper != 0, st.Power != 0
	c.mu.Unlock()
}

func (c *CP) count(r *pd, f func(*Health)) {
	c.mu.Lock()
	f(&r.health)
	c.mu.Unlock()
}

// bad counts a reply that does not fit the command and starts over.
func (c *CP) bad(r *pd, cmd command, f Frame, why string) {
	c.count(r, func(h *Health) { h.BadReplies++ })
	why = fmt.Sprintf("reply %#x to %#x: %s", f.Code, cmd.code, why)
	if r.phase == phaseOnline {
		r.faults.Fail("osdp bad reply", why)
		return
	}
	c.reinit(r, why)
}

// reinit restarts a reader that answers but is out of step; after a few
// fruitless tries it is failed and probed again later.
func (c *CP) reinit(r *pd, why string) {
	r.resets++
	if r.resets > 3 {
		c.fail(r, why)
		return
	}
	r.faults.Fail("osdp reader out of step; restarting", why)
	r.restart()
	c.setStatus(r, false, why)
}

// fail takes a reader out of service until the next probe.
func (c *CP) fail(r *pd, why string) {
	r.faults.Fail("osdp reader not usable", why)
	r.resets = 0
	r.phase, r.probeAt = phaseOffline, time.Now().Add(c.cfg.ProbeEvery)
	r.sess.Reset()
	c.setStatus(r, false, why)
}

func (c *CP) offline(r *pd, why string) {
	c.mu.Lock()
	was := r.health.Online
	if was {
		r.health.Offlines++
	}
	c.mu.Unlock()
	r.faults.Fail("osdp reader offline", why, "address", r.cfg.Address)
	r.resets = 0
	r.phase, r.probeAt = phaseOffline, time.Now().Add(c.cfg.ProbeEvery)
	r.sess.Reset()
	c.setStatus(r, false, why)
}

func (c *CP) online(r *pd) {
	r.phase, r.resets = phaseOnline, 0
	attrs := []any{"address", r.cfg.Address, "secure", r.sess.Active()}
	if !r.faults.OK("osdp reader online", attrs...) && !r.everOnline {
		c.log.Info("osdp reader online", append([]any{"reader", r.cfg.Name}, attrs...)...)
	}
	r.everOnline = true
	c.setStatus(r, true, "")
}

// setStatus records online/offline and the secure flag, and tells
// OnStatus about a change.
func (c *CP) setStatus(r *pd, online bool, why string) {
	now := c.cfg.Clock.Now()
	c.mu.Lock()
	h := &r.health
	changed := h.Online != online || h.Secure != r.sess.Active()
	if h.Online != online {
		h.Since = now
	}
	h.Online, h.LastError = online, why
	h.Secure = r.sess.Active()
	h.DefaultKey = h.Secure && r.useDefault
	snap := *h
	c.mu.Unlock()
	if changed && c.cfg.OnStatus != nil {
		c.cfg.OnStatus(snap)
	}
}
