package mrz

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"gatehouse/drivers/serial"
)

// ErrStrayLine: a line that belongs to no document (wrong length, foreign
// characters, or a document's line arriving without its partners).
var ErrStrayLine = errors.New("mrz: line not part of a document")

// Result is one document presented at the reader: the document, or the
// reason it could not be read. A *CheckError comes with the document as read.
type Result struct {
	Doc Document
	Err error
	At  time.Time // when its last line arrived
}

// Assembler gathers lines into documents. Readers send a document's lines
// one after another; a line may be lost or doubled on a noisy wire, so a
// window of the last lines of one length is kept and a document is tried
// whenever the window is full. A window that is not an MRZ in shape (a
// first line taken for a second) slides on by one line; one that is an MRZ
// with bad check digits is a misread and is reported.
type Assembler struct {
	pending []string
}

// Add takes one line (terminator removed). It returns a Result when a
// document was completed (ok), and how many lines it gave up as stray.
func (a *Assembler) Add(line string) (r Result, ok bool, stray int) {
	f, known := formatOf(len(line))
	if !known || !mrzChars(line) {
		stray = len(a.pending) + 1
		a.pending = a.pending[:0]
		return Result{}, false, stray
	}
	if len(a.pending) > 0 && len(a.pending[0]) != len(line) {
		stray = len(a.pending)
		a.pending = a.pending[:0]
	}
	a.pending = append(a.pending, line)
	if n, _ := f.Shape(); len(a.pending) < n {
		return Result{}, false, stray
	}
	doc, err := Parse(a.pending...)
	if errors.Is(err, ErrFormat) {
		a.pending = append(a.pending[:0], a.pending[1:]...)
		return Result{}, false, stray + 1
	}
	a.pending = a.pending[:0]
	return Result{Doc: doc, Err: err}, true, stray
}

// Reset forgets lines gathered so far.
func (a *Assembler) Reset() { a.pending = a.pending[:0] }

// Config configures a Reader.
type Config struct {
	Line   serial.LineConfig // Port.Baud is usually 9600 or 115200
	Logger *slog.Logger
}

// Reader drives a serial MRZ reader (a swipe or full-page reader in serial
// or virtual-COM mode that sends each MRZ line ended by CR and/or LF).
type Reader struct {
	line    *serial.Line
	log     *slog.Logger
	results chan Result
	wg      sync.WaitGroup
}

// Open starts a reader on its port.
func Open(ctx context.Context, cfg Config) (*Reader, error) {
	line, err := serial.NewLine(ctx, cfg.Line)
	if err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Reader{line: line, log: cfg.Logger.With("device", cfg.Line.Name), results: make(chan Result, 1)}
	r.wg.Add(1)
	go r.run()
	return r, nil
}

// Documents delivers what is presented. It holds only the latest result: a
// desk that was not waiting gets the document presented last, never a queue
// of old ones that might fill a form with the wrong person. It is closed
// when the reader is closed.
func (r *Reader) Documents() <-chan Result { return r.results }

// Health is the port's health.
func (r *Reader) Health() serial.Health { return r.line.Health() }

// Close stops the reader.
func (r *Reader) Close() error {
	err := r.line.Close()
	r.wg.Wait()
	return err
}

func (r *Reader) run() {
	defer r.wg.Done()
	defer close(r.results)
	var (
		split = serial.Splitter{Max: 64}
		asm   Assembler
		gen   uint64
	)
	for c := range r.line.Chunks() {
		if c.Gen != gen {
			split.Reset()
			asm.Reset()
			gen = c.Gen
		}
		split.Feed(c.Data, func(b []byte, err error) {
			if err != nil {
				r.line.CountError(err)
				return
			}
			res, ok, stray := asm.Add(string(trimFraming(b)))
			if stray > 0 {
				r.line.CountError(fmt.Errorf("%w (%d)", ErrStrayLine, stray))
			}
			if !ok {
				return
			}
			res.At = c.At
			if res.Err != nil {
				r.line.CountError(res.Err) // names fields only
				r.log.Warn("mrz: document rejected", "err", res.Err)
			} else {
				r.log.Info("mrz: document read", "doc", res.Doc)
			}
			r.offer(res)
		})
	}
}

// offer replaces whatever result is waiting with res. The reader is the
// only sender, so after making room the send cannot block.
func (r *Reader) offer(res Result) {
	for {
		select {
		case r.results <- res:
			return
		default:
		}
		select {
		case <-r.results:
		default:
		}
	}
}

// trimFraming drops STX/ETX, which some readers wrap a document in, and
// spaces at either end.
func trimFraming(b []byte) []byte {
	for len(b) > 0 && (b[0] == 0x02 || b[0] == 0x03 || b[0] == ' ') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == 0x02 || b[len(b)-1] == 0x03 || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}
