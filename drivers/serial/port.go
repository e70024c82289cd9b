// Package serial is the one channel under every device protocol: a port
// (github.com/tarm/serial underneath) and a Line that owns a port for one
// driver, reads it, reconnects when the device goes away and comes back, and
// keeps the health the device pages show. See ../DESIGN.md.
package serial

import (
	"errors"
	"fmt"
	"io"
	"time"

	tarm "github.com/tarm/serial"
)

// Errors.
var (
	// ErrTimeout: a Port read found no byte within the read timeout. The
	// device may simply have nothing to say; read again.
	ErrTimeout = errors.New("serial: no byte within the read timeout")
	// ErrHangup: the terminal was hung up (USB adapter pulled, pty master
	// closed). The port is useless; open the device again.
	ErrHangup = errors.New("serial: device hung up")
	// ErrGone: the device node vanished or another device now sits at the path.
	ErrGone = errors.New("serial: device gone from its path")
	// ErrOffline: the line has no open port at the moment.
	ErrOffline = errors.New("serial: device offline")
	// ErrClosed: the line was closed.
	ErrClosed = errors.New("serial: line closed")
	// ErrOverflow: bytes arrived faster than the driver took them; the
	// newest were dropped.
	ErrOverflow = errors.New("serial: input overflow")
)

// Parity of each character.
type Parity byte

// Parities.
const (
	ParityNone Parity = 'N'
	ParityOdd  Parity = 'O'
	ParityEven Parity = 'E'
)

// Config says how to open a port.
type Config struct {
	Path string // /dev/ttyUSB0, a /dev/serial/by-id link, or a simulator's symlink
	Baud int    // default 9600
	// ReadTimeout bounds one Read: it returns ErrTimeout when no byte came.
	// The terminal counts in tenths of a second, so it is rounded to 0.1 s
	// steps between 0.1 and 25.5 s. Default 0.1 s.
	ReadTimeout time.Duration
	DataBits    byte   // default 8
	Parity      Parity // default none
	StopBits    byte   // 1 (default) or 2
}

// withDefaults fills unset fields.
func (c Config) withDefaults() Config {
	if c.Baud == 0 {
		c.Baud = 9600
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = 100 * time.Millisecond
	}
	if c.DataBits == 0 {
		c.DataBits = 8
	}
	if c.Parity == 0 {
		c.Parity = ParityNone
	}
	if c.StopBits == 0 {
		c.StopBits = 1
	}
	return c
}

// Port is an open serial port. Read returns ErrTimeout after the read
// timeout without a byte, ErrHangup once the device is gone; Read and Write
// may run concurrently. Close ends a Read in progress at once on Unix (the
// port is read through the runtime's poller), within the read timeout
// elsewhere.
type Port interface {
	io.ReadWriteCloser
}

// Open opens a serial port, 8N1 unless told otherwise, in raw mode.
func Open(c Config) (Port, error) {
	c = c.withDefaults()
	tc := &tarm.Config{
		Name:        c.Path,
		Baud:        c.Baud,
		ReadTimeout: c.ReadTimeout,
		Size:        c.DataBits,
		Parity:      tarm.Parity(c.Parity),
		StopBits:    tarm.StopBits(c.StopBits),
	}
	p, err := tarm.OpenPort(tc)
	if err != nil {
		return nil, fmt.Errorf("serial: %w", err)
	}
	// tarm has configured the terminal (raw, speed, framing); its own
	// descriptor reads in blocking system calls, each holding an OS thread
	// and a P for as long as the line is quiet. Read through a second,
	// non-blocking descriptor on the runtime's poller instead, where one
	// is available (see pollPort).
	if pp, ok := openPolled(c, p); ok {
		return pp, nil
	}
	return &port{p: p, timeout: effectiveTimeout(c.ReadTimeout)}, nil
}

// effectiveTimeout is what the terminal will wait (VTIME, in deciseconds,
// clamped as tarm clamps it).
func effectiveTimeout(d time.Duration) time.Duration {
	ds := d / (100 * time.Millisecond)
	ds = min(max(ds, 1), 255)
	return ds * 100 * time.Millisecond
}

// port adapts tarm's Port. tarm sets VMIN=0/VTIME, so a read with nothing
// to read returns zero bytes, which os.File reports as io.EOF; a hung-up
// terminal also returns zero bytes, but at once. The time taken tells the
// two apart: VTIME cannot expire early.
type port struct {
	p       *tarm.Port
	timeout time.Duration
}

func (p *port) Read(b []byte) (int, error) {
	start := time.Now()
	n, err := p.p.Read(b)
	if n > 0 {
		return n, nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		if time.Since(start) < p.timeout/2 {
			return 0, ErrHangup
		}
		return 0, ErrTimeout
	}
	return 0, err
}

func (p *port) Write(b []byte) (int, error) { return p.p.Write(b) }

func (p *port) Close() error { return p.p.Close() }
