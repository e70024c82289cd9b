package osdp

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"gatehouse/drivers/serial"
)

// SerialLine runs the CP over a serial.Line: a tarm/serial port that
// reconnects by itself when the USB adapter is pulled and pushed back, and
// keeps the health the device pages show. It implements Line:
//
//   - Read hands out the bytes of the line's chunks, as many as fit, and
//     keeps the rest for the next Read. It waits for a chunk until the read
//     deadline passes and then returns an error matching
//     os.ErrDeadlineExceeded; with no deadline it waits for a chunk or the
//     end of the line. A deadline changed while a Read waits takes effect at
//     once, as with an *os.File.
//   - Write writes the whole frame or fails with an error matching
//     serial.ErrOffline: while the device is away, or when the write itself
//     failed (the line then reconnects). The CP counts a line error and a
//     missed reply, and waits. A port closed under a write by the line's
//     reconnect is such an outage, not the end of the line.
//   - Once the serial line is closed, Read and Write fail with an error
//     matching both serial.ErrClosed and os.ErrClosed, which ends CP.Run.
//
// Half a frame from before an outage needs no care here: the CP resets its
// decoder before every command, and the decoder drops what fails its check.
//
// The line's health is the port's: Online while the port is open. Whether
// each reader answers is the CP's per-reader Health, since one bus carries
// several readers.
//
// One goroutine reads at a time (the CP's Run, or a simulator's Serve);
// SetReadDeadline and Write may be called from others.
type SerialLine struct {
	line *serial.Line

	mu       sync.Mutex
	deadline time.Time
	changed  chan struct{} // closed and replaced when the deadline changes

	// Used by the reading goroutine only.
	pending []byte // the rest of the last chunk
	timer   *time.Timer
}

// ErrLineClosed is what Read and Write return once the serial line is
// closed. It matches serial.ErrClosed and os.ErrClosed.
var ErrLineClosed = fmt.Errorf("osdp: %w (%w)", serial.ErrClosed, os.ErrClosed)

// NewSerialLine wraps a running serial.Line. The SerialLine takes over its
// chunks: nothing else may read them.
func NewSerialLine(l *serial.Line) *SerialLine {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &SerialLine{line: l, changed: make(chan struct{}), timer: t}
}

// OpenSerialLine starts a serial.Line with cfg and wraps it. Like
// serial.NewLine it returns at once, even when the device is not plugged
// in; ctx ends the line like Close does.
func OpenSerialLine(ctx context.Context, cfg serial.LineConfig) (*SerialLine, error) {
	l, err := serial.NewLine(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return NewSerialLine(l), nil
}

// Serial returns the underlying line.
func (s *SerialLine) Serial() *serial.Line { return s.line }

// Health is the serial line's health: port open, last byte seen, opens and
// reconnects, and the last error.
func (s *SerialLine) Health() serial.Health { return s.line.Health() }

// Close closes the serial line; a Read waiting ends with ErrLineClosed.
func (s *SerialLine) Close() error { return s.line.Close() }

// SetReadDeadline implements Line. A zero t means no deadline.
func (s *SerialLine) SetReadDeadline(t time.Time) error {
	s.mu.Lock()
	s.deadline = t
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	return nil
}

// Write implements Line.
func (s *SerialLine) Write(b []byte) (int, error) {
	err := s.line.Write(b)
	switch {
	case err == nil:
		return len(b), nil
	case errors.Is(err, serial.ErrClosed):
		return 0, ErrLineClosed
	case errors.Is(err, serial.ErrOffline):
		return 0, err
	}
	// The port failed under the write. When the device went away, the
	// line's reader may have closed the port between Line.Write taking it
	// and writing to it, and the write then fails with os.ErrClosed — which
	// the CP would take for the end of the line and stop for good. It is
	// an outage: the line reconnects. Keep the text, not the chain.
	return 0, fmt.Errorf("%w: %v", serial.ErrOffline, err)
}

// Read implements Line. Like an *os.File, it fails once the deadline has
// passed even when bytes are waiting; they are handed out by the next Read.
func (s *SerialLine) Read(b []byte) (int, error) {
	chunks := s.line.Chunks()
	for {
		s.mu.Lock()
		deadline, changed := s.deadline, s.changed
		s.mu.Unlock()
		var left time.Duration
		if !deadline.IsZero() {
			if left = time.Until(deadline); left <= 0 {
				return 0, os.ErrDeadlineExceeded
			}
		}
		if len(s.pending) > 0 {
			return s.take(b), nil
		}
		var expired <-chan time.Time
		if left > 0 {
			s.timer.Reset(left)
			expired = s.timer.C
		}
		select {
		case c, ok := <-chunks:
			s.timer.Stop()
			return s.got(b, c, ok)
		case <-expired:
			return 0, os.ErrDeadlineExceeded
		case <-changed:
			s.timer.Stop() // look at the new deadline
		}
	}
}

// got hands out a chunk received by Read.
func (s *SerialLine) got(b []byte, c serial.Chunk, ok bool) (int, error) {
	if !ok {
		return 0, ErrLineClosed
	}
	s.pending = c.Data // the line's own copy; pending was empty
	return s.take(b), nil
}

func (s *SerialLine) take(b []byte) int {
	n := copy(b, s.pending)
	s.pending = s.pending[n:]
	if len(s.pending) == 0 {
		s.pending = nil
	}
	return n
}
