package modem

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"gatehouse/drivers/fault"
	"gatehouse/drivers/serial"
)

// Mode is how messages are handed to the modem.
type Mode int

// Modes.
const (
	// PDU mode (AT+CMGF=0), the default: the driver builds each
	// SMS-SUBMIT itself, so long messages go as concatenated parts that
	// phones join.
	PDU Mode = iota
	// Text mode (AT+CMGF=1), for modems whose PDU mode misbehaves: the
	// modem builds the message from AT+CSCS and AT+CSMP. Text mode has no
	// user data header, so a long text goes as several separate messages.
	Text
)

// Config configures a Sender.
type Config struct {
	Line serial.LineConfig // GSM modules: usually 115200 baud
	Mode Mode
	// CommandTimeout bounds one AT command, and the wait for AT+CMGS's
	// prompt. Default 5 s.
	CommandTimeout time.Duration
	// SendTimeout bounds the wait for the network's answer to one part
	// (+CMGS or +CMS ERROR). Default 60 s: modules allow up to minutes.
	SendTimeout time.Duration
	// Attempts per part for failures that are known not to have sent it:
	// no prompt, ERROR, a temporary +CMS ERROR. Default 3.
	Attempts int
	// RetryWait is the pause before the second attempt, doubled for each
	// one after. Default 2 s.
	RetryWait time.Duration
	// Validity asks the network to give up delivering after this long.
	// Default 24 h.
	Validity time.Duration
	// MaxParts refuses texts that need more parts. Default 10.
	MaxParts int
	Logger   *slog.Logger
}

// Sender sends SMS through a GSM modem on a serial line. One message at a
// time; Send is safe for concurrent use.
type Sender struct {
	line   *serial.Line
	cfg    Config
	log    *slog.Logger
	faults *fault.Log // retries once, then every 15 minutes while they go on

	mu  sync.Mutex // one conversation with the modem at a time
	lex Lexer
	gen uint64
	ref uint16 // concatenation reference of the next long message
}

// Open starts a sender on its line. It returns at once, even when the
// modem is not plugged in; each Send sets the modem up again, so a modem
// that was replugged or rebooted in between needs nothing.
func Open(ctx context.Context, cfg Config) (*Sender, error) {
	if cfg.CommandTimeout <= 0 {
		cfg.CommandTimeout = 5 * time.Second
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = 60 * time.Second
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = 3
	}
	if cfg.RetryWait <= 0 {
		cfg.RetryWait = 2 * time.Second
	}
	if cfg.Validity <= 0 {
		cfg.Validity = 24 * time.Hour
	}
	if cfg.MaxParts <= 0 {
		cfg.MaxParts = 10
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	line, err := serial.NewLine(ctx, cfg.Line)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger.With("device", cfg.Line.Name)
	return &Sender{
		line:   line,
		cfg:    cfg,
		log:    log,
		faults: fault.New(log, cfg.Line.Clock),
		// Phones join parts by sender and reference: start somewhere else
		// after each restart.
		ref: uint16(rand.N(256)),
	}, nil
}

// Close stops the sender's line.
func (s *Sender) Close() error { return s.line.Close() }

// Health is the line's health.
func (s *Sender) Health() serial.Health { return s.line.Health() }

// Send sends text to phone: GSM 7-bit when every character is in the GSM
// alphabet, UCS-2 otherwise; split into parts when long. The error says
// which part failed, never the number or the text.
func (s *Sender) Send(ctx context.Context, phone, text string) error {
	number, err := normalizeNumber(phone)
	if err != nil {
		return err
	}
	if text == "" || !utf8.ValidString(text) {
		return ErrText
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg.Mode == Text {
		return s.sendText(ctx, number, text)
	}
	return s.sendPDU(ctx, number, text)
}

// Signal asks the signal strength (AT+CSQ): 0 to 31 (-113 to -51 dBm), 99
// when unknown.
func (s *Sender) Signal(ctx context.Context) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	info, err := s.command(ctx, "AT+CSQ", "+CSQ:", s.cfg.CommandTimeout)
	if err != nil {
		return 0, err
	}
	for _, l := range info {
		v, _, _ := strings.Cut(strings.TrimSpace(strings.TrimPrefix(l, "+CSQ:")), ",")
		if n, err := strconv.Atoi(v); err == nil {
			return n, nil
		}
	}
	return 0, fmt.Errorf("%w: no +CSQ line", ErrError)
}

func (s *Sender) sendPDU(ctx context.Context, number, text string) error {
	coding, texts := Split(text)
	if len(texts) > s.cfg.MaxParts {
		return ErrTooLong
	}
	if err := s.setup(ctx, "AT+CMGF=0"); err != nil {
		return err
	}
	ref := s.ref
	if len(texts) > 1 {
		s.ref = (s.ref + 1) % 256
	}
	vp := ValidityFor(s.cfg.Validity)
	for i, t := range texts {
		sub := Submit{Number: number, Coding: coding, Text: t, Validity: vp}
		if len(texts) > 1 {
			sub.Concat = Concat{Ref: ref, Total: byte(len(texts)), Seq: byte(i + 1)}
		}
		tpdu, err := sub.Encode()
		if err != nil {
			return err
		}
		body := "00" + strings.ToUpper(hex.EncodeToString(tpdu))
		if err := s.part(ctx, i, len(texts), "AT+CMGS="+strconv.Itoa(len(tpdu)), body); err != nil {
			return err
		}
	}
	s.faults.OK("modem: sending again")
	s.log.Info("modem: message sent", "parts", len(texts), "coding", coding.String(), "mode", "pdu")
	return nil
}

// plainText is text the modem can take in its IRA character set and send
// in the GSM alphabet: printable ASCII that the GSM alphabet has without
// its extension table.
func plainText(text string) bool {
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c < 0x20 || c > 0x7E || gsm.septets(rune(c)) != 1 {
			return false
		}
	}
	return true
}

func (s *Sender) sendText(ctx context.Context, number, text string) error {
	plain := plainText(text)
	var texts []string
	if plain {
		for len(text) > maxSeptets {
			texts, text = append(texts, text[:maxSeptets]), text[maxSeptets:]
		}
		texts = append(texts, text)
	} else {
		start, n := 0, 0
		for i, r := range text {
			if k := utf16.RuneLen(r); n+k > maxUnits {
				texts = append(texts, text[start:i])
				start, n = i, k
			} else {
				n += k
			}
		}
		texts = append(texts, text[start:])
	}
	if len(texts) > s.cfg.MaxParts {
		return ErrTooLong
	}
	if err := s.setup(ctx, "AT+CMGF=1"); err != nil {
		return err
	}
	cscs, dcs := `AT+CSCS="IRA"`, 0
	if !plain {
		cscs, dcs = `AT+CSCS="UCS2"`, 8
		number = ucs2Hex(number)
	}
	vp := ValidityFor(s.cfg.Validity)
	for _, cmd := range []string{cscs, fmt.Sprintf("AT+CSMP=17,%d,0,%d", vp, dcs)} {
		if _, err := s.retry(ctx, func() ([]string, error) { return s.command(ctx, cmd, "", s.cfg.CommandTimeout) }); err != nil {
			return fmt.Errorf("modem: %s: %w", strings.SplitN(cmd, "=", 2)[0], err)
		}
	}
	for i, t := range texts {
		body := t
		if !plain {
			body = ucs2Hex(t)
		}
		if err := s.part(ctx, i, len(texts), `AT+CMGS="`+number+`"`, body); err != nil {
			return err
		}
	}
	coding := GSM7
	if !plain {
		coding = UCS2
	}
	s.faults.OK("modem: sending again")
	s.log.Info("modem: message sent", "parts", len(texts), "coding", coding.String(), "mode", "text")
	return nil
}

// ucs2Hex is text in the UCS2 character set of AT+CSCS: UTF-16 units in
// four hex digits each.
func ucs2Hex(text string) string {
	var b strings.Builder
	for _, u := range utf16.Encode([]rune(text)) {
		fmt.Fprintf(&b, "%04X", u)
	}
	return b.String()
}

// setup makes sure the modem listens (AT, tried Attempts times), switches
// echo off and numeric errors on (either may be refused: both are only
// conveniences), and selects the message format, which must work.
func (s *Sender) setup(ctx context.Context, cmgf string) error {
	first := true
	sync := func() ([]string, error) {
		if !first { // a modem left in input mode hears no command: leave it
			s.cancelInput(ctx)
		}
		first = false
		return s.command(ctx, "AT", "", s.cfg.CommandTimeout)
	}
	if _, err := s.retry(ctx, sync); err != nil {
		return fmt.Errorf("modem: AT: %w", err)
	}
	for _, cmd := range []string{"ATE0", "AT+CMEE=1"} {
		if _, err := s.command(ctx, cmd, "", s.cfg.CommandTimeout); err != nil && !isAnswer(err) {
			return fmt.Errorf("modem: %s: %w", cmd, err)
		}
	}
	if _, err := s.command(ctx, cmgf, "", s.cfg.CommandTimeout); err != nil {
		return fmt.Errorf("modem: %s: %w", cmgf, err)
	}
	return nil
}

// isAnswer reports whether err is the modem's refusal, as opposed to no
// answer at all.
func isAnswer(err error) bool {
	var cms CMSError
	var cme CMEError
	return errors.Is(err, ErrError) || errors.As(err, &cms) || errors.As(err, &cme)
}

// retryable reports whether a failed step may be tried again: the modem
// said no for a reason that may pass, or did not answer before the
// message was handed over.
func retryable(err error) bool {
	var cms CMSError
	switch {
	case errors.As(err, &cms):
		return cms.Temporary()
	case errors.Is(err, ErrUnconfirmed):
		return false
	}
	return errors.Is(err, ErrError) || errors.Is(err, ErrTimeout) || errors.Is(err, ErrNoPrompt)
}

// retry runs f up to Attempts times while its failure is retryable,
// waiting RetryWait, then twice that, and so on, between attempts.
func (s *Sender) retry(ctx context.Context, f func() ([]string, error)) ([]string, error) {
	wait := s.cfg.RetryWait
	for attempt := 1; ; attempt++ {
		info, err := f()
		if err == nil || !retryable(err) || attempt >= s.cfg.Attempts {
			return info, err
		}
		s.faults.Fail("modem: trying again", err.Error(), "attempt", attempt+1)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
		wait *= 2
	}
}

// part sends one message: the AT+CMGS command, the body after the prompt,
// Ctrl-Z, and waits for +CMGS. It tries again while that is safe.
func (s *Sender) part(ctx context.Context, i, n int, cmd, body string) error {
	_, err := s.retry(ctx, func() ([]string, error) { return s.cmgs(ctx, cmd, body) })
	if err != nil {
		err = fmt.Errorf("modem: part %d of %d: %w", i+1, n, err)
		s.line.CountError(err)
	}
	return err
}

// cmgs is one attempt at one part.
func (s *Sender) cmgs(ctx context.Context, cmd, body string) ([]string, error) {
	if err := s.send(ctx, []byte(cmd+"\r")); err != nil {
		return nil, err
	}
	prompt, _, err := s.await(ctx, true, "", s.cfg.CommandTimeout)
	switch {
	case err != nil && !isAnswer(err):
		// The prompt may yet come: leave input mode before anything else,
		// so no later command is taken for a message.
		s.cancelInput(ctx)
		if errors.Is(err, ErrTimeout) {
			return nil, ErrNoPrompt
		}
		return nil, err
	case err != nil:
		return nil, err
	case !prompt:
		return nil, fmt.Errorf("%w: OK without a prompt", ErrError)
	}
	// The modem waits for the body now: hand it over whatever ctx says.
	if err := s.line.Write(append([]byte(body), ctrlZ)); err != nil {
		return nil, err
	}
	_, info, err := s.await(ctx, false, "+CMGS:", s.cfg.SendTimeout)
	if errors.Is(err, ErrTimeout) {
		return nil, fmt.Errorf("%w: %w", ErrUnconfirmed, err)
	}
	return info, err
}

// Characters that end a message's body: send it, or drop it (TS 27.005
// §3.5.1).
const (
	ctrlZ = 0x1A
	esc   = 0x1B
)

// cancelInput sends ESC, which ends the modem's input mode without sending
// (and is ignored in command mode), then lets the line go quiet and throws
// away whatever came: a late prompt, the answer to the ESC.
func (s *Sender) cancelInput(ctx context.Context) {
	if s.line.Write([]byte{esc}) != nil {
		return
	}
	deadline := time.NewTimer(s.cfg.CommandTimeout)
	defer deadline.Stop()
	for {
		quiet := time.NewTimer(100 * time.Millisecond)
		select {
		case _, ok := <-s.line.Chunks():
			quiet.Stop()
			if !ok {
				return
			}
		case <-quiet.C:
			return
		case <-deadline.C:
			quiet.Stop()
			return
		case <-ctx.Done():
			quiet.Stop()
			return
		}
	}
}

// command sends one AT command and waits for its final result; lines
// starting with prefix are its answer.
func (s *Sender) command(ctx context.Context, cmd, prefix string, timeout time.Duration) ([]string, error) {
	if err := s.send(ctx, []byte(cmd+"\r")); err != nil {
		return nil, err
	}
	_, info, err := s.await(ctx, false, prefix, timeout)
	return info, err
}

// send starts an exchange: it throws away what came since the last one
// (unsolicited lines) and writes out.
func (s *Sender) send(ctx context.Context, out []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.line.Drain()
	s.lex.Reset()
	return s.line.Write(out)
}

// await reads the modem's tokens until a final result or, when
// wantPrompt, the prompt. Unsolicited lines (RING, +CMTI, ^RSSI, the echo
// of the command) are skipped.
func (s *Sender) await(ctx context.Context, wantPrompt bool, prefix string, timeout time.Duration) (prompt bool, info []string, err error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case c, ok := <-s.line.Chunks():
			if !ok {
				return false, nil, serial.ErrClosed
			}
			if c.Gen != s.gen { // reconnected: what came before is another conversation
				s.lex.Reset()
				s.gen = c.Gen
			}
			done := false
			s.lex.Feed(c.Data, func(t Token) {
				if done {
					return
				}
				switch {
				case t.Err != nil:
					s.line.CountError(t.Err)
				case t.Prompt:
					if wantPrompt {
						done, prompt = true, true
					}
				default:
					if final, ferr := Final(t.Line); final {
						done, err = true, ferr
					} else if prefix != "" && strings.HasPrefix(t.Line, prefix) {
						info = append(info, t.Line)
					} else {
						s.log.Debug("modem: unsolicited", "kind", urcKind(t.Line))
					}
				}
			})
			if done {
				s.line.CountReply()
				return prompt, info, err
			}
		case <-timer.C:
			s.line.CountTimeout()
			return false, nil, ErrTimeout
		case <-ctx.Done():
			return false, nil, ctx.Err()
		}
	}
}
