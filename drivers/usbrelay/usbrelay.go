// Package usbrelay drives the common USB relay boards (a CH340 USB-serial
// chip in front of a small MCU, 9600 baud 8N1) that take a four-byte
// command: A0, the relay number (1..n), the state (1 on, 0 off), and the
// low byte of their sum. The boards answer nothing, so a command lost on
// the way cannot be detected; health is the port's only.
package usbrelay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"gatehouse/appliance/gate"
	"gatehouse/drivers/serial"
)

// Head is the first byte of every command.
const Head = 0xA0

// Errors.
var (
	ErrRelay    = errors.New("usbrelay: no such relay")
	ErrCommand  = errors.New("usbrelay: not a command")
	ErrChecksum = fmt.Errorf("%w: checksum mismatch", ErrCommand)
)

// Command switches one relay.
type Command struct {
	Relay int // 1-based, as printed on the board
	On    bool
}

// Encode makes the four bytes of c.
func (c Command) Encode() ([4]byte, error) {
	if c.Relay < 1 || c.Relay > 255 {
		return [4]byte{}, fmt.Errorf("%w: %d", ErrRelay, c.Relay)
	}
	var state byte
	if c.On {
		state = 1
	}
	r := byte(c.Relay)
	return [4]byte{Head, r, state, Head + r + state}, nil
}

// ParseCommand reads the command at the start of b, as a board does.
func ParseCommand(b []byte) (Command, error) {
	if len(b) < 4 {
		return Command{}, fmt.Errorf("%w: %d bytes", ErrCommand, len(b))
	}
	if b[0] != Head || b[1] == 0 || b[2] > 1 {
		return Command{}, ErrCommand
	}
	if b[3] != b[0]+b[1]+b[2] {
		return Command{}, ErrChecksum
	}
	return Command{Relay: int(b[1]), On: b[2] == 1}, nil
}

// Config configures a Board.
type Config struct {
	Line   serial.LineConfig // Port.Baud 9600
	Relays int               // relays on the board: 1, 2, 4, 8; default 1
	// Gap spaces commands, a precaution for cheap firmware that may miss a
	// command following another immediately. Default 20 ms.
	Gap    time.Duration
	Logger *slog.Logger
}

// Board is one relay board.
type Board struct {
	line *serial.Line
	cfg  Config

	mu   sync.Mutex
	last time.Time
}

// Open starts a board on its port.
func Open(ctx context.Context, cfg Config) (*Board, error) {
	if cfg.Relays <= 0 {
		cfg.Relays = 1
	}
	if cfg.Gap <= 0 {
		cfg.Gap = 20 * time.Millisecond
	}
	line, err := serial.NewLine(ctx, cfg.Line)
	if err != nil {
		return nil, err
	}
	return &Board{line: line, cfg: cfg}, nil
}

// Close stops the board's line.
func (b *Board) Close() error { return b.line.Close() }

// Health is the line's health.
func (b *Board) Health() serial.Health { return b.line.Health() }

// Set switches relay n (1-based).
func (b *Board) Set(ctx context.Context, n int, on bool) error {
	if n < 1 || n > b.cfg.Relays {
		return fmt.Errorf("%w: %d of %d", ErrRelay, n, b.cfg.Relays)
	}
	frame, err := Command{Relay: n, On: on}.Encode()
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	// The boards say nothing; whatever came is noise.
	if got := b.line.Drain(); got > 0 {
		b.line.CountError(fmt.Errorf("usbrelay: %d unexpected bytes", got))
	}
	if wait := b.cfg.Gap - time.Since(b.last); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
	err = b.line.Write(frame[:])
	b.last = time.Now()
	if err != nil {
		return fmt.Errorf("usbrelay: relay %d: %w", n, err)
	}
	return nil
}

// Relay is one relay of a board.
type Relay struct {
	Board *Board
	N     int
}

// Pulse switches the relay on, waits d, and switches it off; off is sent
// even when ctx ends during the wait.
func (r Relay) Pulse(ctx context.Context, d time.Duration) error {
	err := r.Board.Set(ctx, r.N, true)
	gate.Switched(ctx, err)
	if err != nil {
		// Sent or not, make sure it is off.
		r.Board.Set(context.WithoutCancel(ctx), r.N, false)
		return err
	}
	t := time.NewTimer(d)
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	t.Stop()
	return r.Board.Set(context.WithoutCancel(ctx), r.N, false)
}
