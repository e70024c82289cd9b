//go:build unix

package serial

import (
	"errors"
	"io"
	"os"
	"syscall"
	"time"

	tarm "github.com/tarm/serial"
)

// pollPort reads and writes a port through the Go runtime's network poller:
// a second descriptor on the same terminal, opened non-blocking after tarm
// configured it (the terminal's settings belong to the device, not to the
// descriptor; O_NONBLOCK belongs to the open file description, so tarm's
// descriptor stays as it was). A read waiting for bytes parks its
// goroutine, not an OS thread in a system call holding a P: with more open
// lines than GOMAXPROCS, a goroutine woken by a line's bytes no longer
// waits for sysmon to retake a P from a blocked read (up to 10 ms).
//
// Reads wait up to the read timeout (os.File deadline, exact rather than
// the terminal's 0.1-s VTIME steps) and fail with ErrTimeout. A hung-up
// terminal makes the poller report the descriptor ready and read(2)
// return 0 bytes or EIO: ErrHangup, told apart from a timeout without
// timing the read.
type pollPort struct {
	cfg     *tarm.Port // holds the configuration; closed with the port
	f       *os.File
	timeout time.Duration
}

// openPolled opens the non-blocking descriptor beside tarm's port p. It
// reports false (and leaves p alone) when the descriptor cannot be opened
// or the poller does not take it; the caller then reads through tarm.
func openPolled(c Config, p *tarm.Port) (Port, bool) {
	f, err := os.OpenFile(c.Path, os.O_RDWR|syscall.O_NOCTTY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, false
	}
	if err := f.SetReadDeadline(time.Time{}); err != nil { // os.ErrNoDeadline: not on the poller
		f.Close()
		return nil, false
	}
	return &pollPort{cfg: p, f: f, timeout: c.ReadTimeout}, true
}

func (p *pollPort) Read(b []byte) (int, error) {
	if err := p.f.SetReadDeadline(time.Now().Add(p.timeout)); err != nil {
		return 0, err
	}
	n, err := p.f.Read(b)
	if n > 0 {
		return n, nil
	}
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return 0, ErrTimeout
	case err == nil, errors.Is(err, io.EOF), errors.Is(err, syscall.EIO):
		return 0, ErrHangup
	}
	return 0, err
}

func (p *pollPort) Write(b []byte) (int, error) { return p.f.Write(b) }

func (p *pollPort) Close() error {
	err := p.f.Close()
	if cerr := p.cfg.Close(); err == nil {
		err = cerr
	}
	return err
}
