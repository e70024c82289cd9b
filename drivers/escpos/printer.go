package escpos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"gatehouse/drivers/fault"
	"gatehouse/drivers/serial"
)

// ErrStray: bytes from the printer that answer nothing asked.
var ErrStray = errors.New("escpos: stray bytes from the printer")

// Conn is where a job goes. serial.Line is one.
type Conn interface {
	Write(b []byte) error
}

// StatusConn is a Conn that also brings back what the printer says, so the
// driver can ask its status. serial.Line is one.
type StatusConn interface {
	Conn
	Chunks() <-chan serial.Chunk
	Drain() int
}

// counter is the health bookkeeping a serial.Line offers.
type counter interface {
	CountError(error)
	CountTimeout()
	CountReply()
}

// Writer adapts a one-way io.Writer (a USB printer-class device such as
// /dev/usb/lp0, a raw TCP connection to port 9100) as a Conn. Jobs through
// it are printed without asking the status.
func Writer(w io.Writer) Conn { return ioConn{w} }

type ioConn struct{ w io.Writer }

func (c ioConn) Write(b []byte) error {
	_, err := c.w.Write(b)
	return err
}

// Config configures a Printer.
type Config struct {
	Line serial.LineConfig // for Open; receipt printers usually run at 9600 or 115200 baud
	// StatusTimeout bounds the wait for one status byte. Default 1 s: a
	// printer answers DLE EOT at once, even in the middle of a job.
	StatusTimeout time.Duration
	// NoStatus prints without asking the status, for printers wired
	// without a return line.
	NoStatus bool
	Logger   *slog.Logger
}

// Printer is a receipt printer on one port. Jobs are printed one at a time.
type Printer struct {
	conn   Conn
	line   *serial.Line // set by Open, closed by Close
	cfg    Config
	log    *slog.Logger
	faults *fault.Log // "not ready" once, then every 15 minutes while it lasts

	mu sync.Mutex // one job or status request on the wire at a time
}

// New makes a Printer on conn, which the caller owns.
func New(conn Conn, cfg Config) *Printer {
	if cfg.StatusTimeout <= 0 {
		cfg.StatusTimeout = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	log := cfg.Logger.With("device", cfg.Line.Name)
	return &Printer{conn: conn, cfg: cfg, log: log, faults: fault.New(log, cfg.Line.Clock)}
}

// Open starts a printer on its serial port. It returns at once, even when
// the printer is not plugged in.
func Open(ctx context.Context, cfg Config) (*Printer, error) {
	line, err := serial.NewLine(ctx, cfg.Line)
	if err != nil {
		return nil, err
	}
	p := New(line, cfg)
	p.line = line
	return p, nil
}

// Close stops the printer's line, if Open made it.
func (p *Printer) Close() error {
	if p.line != nil {
		return p.line.Close()
	}
	return nil
}

// Health is the line's health; the zero Health for a printer made by New
// on something else.
func (p *Printer) Health() serial.Health {
	if h, ok := p.conn.(interface{ Health() serial.Health }); ok {
		return h.Health()
	}
	return serial.Health{}
}

// Status asks the printer how it is (DLE EOT 1, 2, 4, and 3 when it reports
// an error). It fails with ErrNoStatus when the printer does not answer,
// and with errors.ErrUnsupported on a one-way Conn.
func (p *Printer) Status(ctx context.Context) (Status, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	sc, ok := p.conn.(StatusConn)
	if !ok {
		return Status{}, fmt.Errorf("escpos: status on a one-way port: %w", errors.ErrUnsupported)
	}
	return p.status(ctx, sc)
}

// Print checks that the printer can print, then writes the job. A printer
// that cannot print fails with a *StatusError (errors.Is: ErrPaperOut,
// ErrCoverOpen, ErrFault, ErrOffline), one that does not answer with
// ErrNoStatus; the job is not sent then.
func (p *Printer) Print(ctx context.Context, job []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if sc, ok := p.conn.(StatusConn); ok && !p.cfg.NoStatus {
		st, err := p.status(ctx, sc)
		if err != nil {
			return err
		}
		if err := st.Err(); err != nil {
			p.faults.Fail("escpos: printer not ready", err.Error())
			return err
		}
		p.faults.OK("escpos: printer ready")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := p.conn.Write(job); err != nil {
		return fmt.Errorf("escpos: write job: %w", err)
	}
	return nil
}

// PrintSlip lays a slip out and prints it.
func (p *Printer) PrintSlip(ctx context.Context, s Slip) error {
	job, err := s.Bytes()
	if err != nil {
		return err
	}
	return p.Print(ctx, job)
}

// status asks DLE EOT 1, 2 and 4 in turn, and 3 when 2 reports an error.
func (p *Printer) status(ctx context.Context, sc StatusConn) (Status, error) {
	sc.Drain() // a late answer, XON/XOFF: nothing asked for
	var st Status
	for _, n := range []byte{1, 2, 4, 3} {
		if n == 3 && !st.Error {
			continue
		}
		b, err := p.ask(ctx, sc, n)
		if err != nil {
			return Status{}, err
		}
		st.Apply(n, b)
	}
	p.count(func(c counter) { c.CountReply() })
	return st, nil
}

// ask sends DLE EOT n and waits for one status byte. Bytes that are not
// status bytes are skipped and counted; XON and XOFF are skipped quietly.
func (p *Printer) ask(ctx context.Context, sc StatusConn, n byte) (byte, error) {
	if err := sc.Write(StatusRequest(n)); err != nil {
		return 0, fmt.Errorf("escpos: status request: %w", err)
	}
	timer := time.NewTimer(p.cfg.StatusTimeout)
	defer timer.Stop()
	for {
		select {
		case c, ok := <-sc.Chunks():
			if !ok {
				return 0, serial.ErrClosed
			}
			// One count per chunk that held bytes asked for by no one:
			// noise, or bytes after the answer.
			stray := false
			for i, b := range c.Data {
				if IsStatusByte(b) {
					if stray || i+1 < len(c.Data) {
						p.count(func(c counter) { c.CountError(ErrStray) })
					}
					return b, nil
				}
				if b != 0x11 && b != 0x13 { // XON, XOFF
					stray = true
				}
			}
			if stray {
				p.count(func(c counter) { c.CountError(ErrStray) })
			}
		case <-timer.C:
			p.count(func(c counter) { c.CountTimeout() })
			return 0, fmt.Errorf("%w (DLE EOT %d)", ErrNoStatus, n)
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

func (p *Printer) count(f func(counter)) {
	if c, ok := p.conn.(counter); ok {
		f(c)
	}
}
