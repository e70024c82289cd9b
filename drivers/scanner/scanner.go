// Package scanner drives QR and barcode scanners in serial mode (USB-CDC or
// RS-232): the scanner sends each code as one line ended by CR, LF or CR LF.
// Each code becomes a gate.Presentation of kind QR for the scanner's lane
// and direction; the appliance's Decider answers, and a grant pulses the
// lane's relay. Scanners have no light or beeper the appliance can drive.
package scanner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"gatehouse/appliance/gate"
	"gatehouse/drivers/serial"
)

// ErrUnprintable: a line holding control characters or invalid UTF-8 — line
// noise, a scanner at the wrong baud rate — thrown away whole, since a code
// with a byte changed is not the code.
var ErrUnprintable = errors.New("scanner: unprintable line")

// Relay opens a lane: a Modbus coil, a USB relay board's relay.
type Relay interface {
	Pulse(ctx context.Context, d time.Duration) error
}

// Config configures a Scanner.
type Config struct {
	Line      serial.LineConfig // Port.Baud usually 9600 or 115200
	Lane      string
	Direction gate.Direction
	Device    string // device name for the event record

	// Prefix and Suffix are stripped from a code when present: scanners
	// can be set to add AIM identifiers ("]Q1") or fixed text.
	Prefix, Suffix string
	// MaxLen is the longest code kept; longer lines are errors. Default
	// 1024 bytes: a version-40 QR holds more, but no pass needs that.
	MaxLen int

	Decider gate.Decider
	// Relay is pulsed when the Decider opens the lane; nil for a scanner
	// with no gate (an enrolment desk).
	Relay Relay
	// Pulse is used when the Decider's Action gives none. Default 1 s.
	Pulse time.Duration
	// DecideTimeout bounds one decision. Default 2 s.
	DecideTimeout time.Duration
	Logger        *slog.Logger
}

// Scanner is a scanner at a lane.
type Scanner struct {
	cfg    Config
	line   *serial.Line
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Open starts a scanner: its line, and the goroutine that turns lines into
// decisions. It returns at once, even when the scanner is not plugged in.
func Open(ctx context.Context, cfg Config) (*Scanner, error) {
	if cfg.Decider == nil {
		return nil, errors.New("scanner: no decider")
	}
	if cfg.MaxLen <= 0 {
		cfg.MaxLen = 1024
	}
	if cfg.Pulse <= 0 {
		cfg.Pulse = time.Second
	}
	if cfg.DecideTimeout <= 0 {
		cfg.DecideTimeout = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Line.Name == "" {
		cfg.Line.Name = cfg.Device
	}
	s := &Scanner{cfg: cfg, log: cfg.Logger.With("device", cfg.Device, "lane", cfg.Lane)}
	s.ctx, s.cancel = context.WithCancel(ctx)
	line, err := serial.NewLine(s.ctx, cfg.Line)
	if err != nil {
		s.cancel()
		return nil, err
	}
	s.line = line
	s.wg.Add(1)
	go s.run()
	return s, nil
}

// Close stops the scanner. A pulse under way is finished with its relay
// switched off.
func (s *Scanner) Close() error {
	s.cancel()
	err := s.line.Close()
	s.wg.Wait()
	return err
}

// Health is the line's health.
func (s *Scanner) Health() serial.Health { return s.line.Health() }

// run takes lines off the wire and decides them one at a time, in order;
// while a decision or a pulse is under way, further scans wait.
func (s *Scanner) run() {
	defer s.wg.Done()
	split := serial.Splitter{Max: s.cfg.MaxLen}
	var gen uint64
	for c := range s.line.Chunks() {
		if c.Gen != gen {
			split.Reset() // half a line from before a reconnect is no code
			gen = c.Gen
		}
		split.Feed(c.Data, func(b []byte, err error) {
			if err != nil {
				s.line.CountError(err)
				return
			}
			code, err := Code(b, s.cfg.Prefix, s.cfg.Suffix)
			if err != nil {
				s.line.CountError(err)
				return
			}
			if code != "" {
				s.present(code, c.At)
			}
		})
	}
}

// Code checks a line and strips the configured prefix and suffix.
func Code(line []byte, prefix, suffix string) (string, error) {
	if !printable(line) {
		return "", ErrUnprintable
	}
	code := strings.TrimPrefix(string(line), prefix)
	code = strings.TrimSuffix(code, suffix)
	return code, nil
}

// printable accepts valid UTF-8 without control characters: QR passes are
// ASCII, but a scanned text may be Chinese.
func printable(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return false
		}
	}
	return true
}

// present asks for a decision and carries it out.
func (s *Scanner) present(code string, at time.Time) {
	p := gate.Presentation{
		Lane:      s.cfg.Lane,
		Direction: s.cfg.Direction,
		Kind:      gate.QR,
		Value:     code,
		Device:    s.cfg.Device,
		At:        at,
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.DecideTimeout)
	act, err := s.cfg.Decider.Decide(ctx, p)
	cancel()
	if err != nil {
		s.log.Error("scanner: decision failed", "err", err)
		return
	}
	s.log.Info("scanner: decided", "feedback", act.Feedback, "open", act.Open, "reason", act.Reason)
	if !act.Open {
		return
	}
	if s.cfg.Relay == nil {
		s.log.Warn("scanner: grant on a lane without a relay")
		return
	}
	d := act.Pulse
	if d <= 0 {
		d = s.cfg.Pulse
	}
	// The read's arrival goes with the pulse: the runtime times the lane
	// from the wire to the relay.
	if err := s.cfg.Relay.Pulse(gate.WithReadAt(s.ctx, at), d); err != nil {
		s.log.Error("scanner: relay pulse failed", "err", fmt.Errorf("lane %s: %w", s.cfg.Lane, err))
	}
}
