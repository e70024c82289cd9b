package idcard

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"gatehouse/drivers/serial"
)

// Result is one card laid on the reader: the card, or why it could not be
// read. A *FieldError comes with the card as read. Expired is judged by
// the reader's clock when the card was read.
type Result struct {
	Card    Card
	Err     error
	Expired bool
	At      time.Time
	// Chip is the card's chip serial (居民身份证专用集成电路序列号, 8 bytes,
	// upper-case hex) as the module answers select card (20 02); empty
	// when it answers none or zeros. Gate readers that read ID cards
	// report the same serial as the card's number, so a visitor's card
	// can be bound to their visit (access.BindVisitCard).
	Chip string
}

// Problem says plainly what is wrong with the read, or "" — for the desk
// and the device test; it names fields, never values.
func (r Result) Problem() string {
	var fe *FieldError
	switch {
	case errors.As(r.Err, &fe):
		for _, f := range fe.Fields {
			if f == FieldNumber {
				return "the ID number's check digit is wrong: check the card by eye and type the number"
			}
		}
		return "some fields could not be read: " + r.Err.Error()
	case r.Err != nil:
		return r.Err.Error()
	case r.Expired:
		return "the card has expired"
	}
	return ""
}

// Config configures a Reader.
type Config struct {
	Line   serial.LineConfig // Port.Baud: 115200 by default on these readers
	Logger *slog.Logger
	// Poll is how often the reader is asked for a card (default 300 ms).
	Poll time.Duration
	// Timeout is how long a reply may take (default 1 s: a read reply is
	// 1,295 bytes, 110 ms at 115200 baud, after the card's own work).
	Timeout time.Duration
}

// Reader polls a desk ID card reader and hands out each card laid on it,
// once: the same card left on the reader is not reported again until it
// has been taken away.
type Reader struct {
	line    *serial.Line
	log     *slog.Logger
	cfg     Config
	results chan Result
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	buf []byte
	gen uint64
}

// Open starts a reader on its port.
func Open(ctx context.Context, cfg Config) (*Reader, error) {
	if cfg.Poll <= 0 {
		cfg.Poll = 300 * time.Millisecond
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	line, err := serial.NewLine(ctx, cfg.Line)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	r := &Reader{line: line, log: cfg.Logger.With("device", cfg.Line.Name), cfg: cfg, results: make(chan Result, 1), cancel: cancel}
	r.wg.Add(1)
	go r.run(ctx)
	return r, nil
}

// Cards delivers the cards read. It holds only the latest: a desk that was
// not waiting never fills a form with an earlier visitor. It is closed when
// the reader is closed.
func (r *Reader) Cards() <-chan Result { return r.results }

// Health is the line's health.
func (r *Reader) Health() serial.Health { return r.line.Health() }

// Close stops the reader.
func (r *Reader) Close() error {
	r.cancel()
	err := r.line.Close()
	r.wg.Wait()
	return err
}

func (r *Reader) run(ctx context.Context) {
	defer r.wg.Done()
	defer close(r.results)
	last := "" // what was reported for the card on the reader now
	t := time.NewTicker(r.cfg.Poll)
	defer t.Stop()
	for {
		res, key, err := r.readCard(ctx)
		switch {
		case errors.Is(err, ErrNoCard):
			last = ""
		case err != nil:
			// Offline, a timeout, a garbled reply: counted already; the
			// next poll tries again.
		case key != last:
			last = key
			if res.Err != nil {
				r.log.Warn("idcard: card not read", "err", res.Err) // names fields or codes only
			} else {
				r.log.Info("idcard: card read", "card", res.Card, "expired", res.Expired)
			}
			r.offer(res)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// readCard is one poll: find, and if a card is there select and read it.
// A failure the card caused (authentication, a read failure, fields that
// fail their checks) is a Result; key tells one outcome from another so a
// card left on the reader is reported once.
func (r *Reader) readCard(ctx context.Context) (Result, string, error) {
	if _, err := r.exchange(ctx, CmdFind, ParaFind, StatusFound); err != nil {
		return r.cardFailure(err)
	}
	sel, err := r.exchange(ctx, CmdFind, ParaSel, StatusOK)
	if err != nil {
		return r.cardFailure(err)
	}
	rep, err := r.exchange(ctx, CmdRead, ParaRead, StatusOK)
	if err != nil {
		return r.cardFailure(err)
	}
	at := r.now()
	text, _, err := SplitReadData(rep.Data) // the photo is dropped here: see the package doc
	if err != nil {
		r.line.CountError(err)
		return Result{}, "", err
	}
	c, err := ParseText(text)
	if errors.Is(err, ErrText) || errors.Is(err, ErrUnknownKind) {
		r.line.CountError(err)
	}
	res := Result{Card: c, Err: err, At: at, Expired: err == nil && c.Expired(at), Chip: chipSerial(sel.Data)}
	return res, "card:" + string(text), nil
}

// cardFailure turns a status that the card caused into a Result to report
// once; anything else is the wire's or the reader's, retried at the next
// poll.
func (r *Reader) cardFailure(err error) (Result, string, error) {
	var se *StatusError
	if errors.As(err, &se) && (errors.Is(err, ErrAuth) || errors.Is(err, ErrReadFailed)) {
		return Result{Err: err, At: r.now()}, fmt.Sprintf("status:%02X", se.SW3), nil
	}
	return Result{}, "", err
}

func (r *Reader) now() time.Time {
	if c := r.line.Config().Clock; c != nil {
		return c.Now()
	}
	return time.Now()
}

// exchange sends one command and waits for its reply, whose SW3 must be
// want. Garbled bytes before or instead of the reply are counted and
// skipped.
func (r *Reader) exchange(ctx context.Context, cmd, para, want byte) (Reply, error) {
	if n := r.line.Drain(); n > 0 {
		r.line.CountError(fmt.Errorf("%w: %d stray bytes", ErrGarbled, n))
	}
	r.buf = r.buf[:0]
	if err := r.line.Write(Command(cmd, para, nil)); err != nil {
		return Reply{}, err
	}
	timer := time.NewTimer(r.cfg.Timeout)
	defer timer.Stop()
	for {
		select {
		case c, ok := <-r.line.Chunks():
			if !ok {
				return Reply{}, serial.ErrClosed
			}
			if c.Gen != r.gen {
				r.gen, r.buf = c.Gen, r.buf[:0]
			}
			r.buf = append(r.buf, c.Data...)
			for {
				body, n, err := Cut(r.buf)
				if errors.Is(err, ErrIncomplete) {
					break
				}
				r.buf = append(r.buf[:0], r.buf[n:]...)
				if err != nil {
					r.line.CountError(fmt.Errorf("%w: %d bytes skipped", err, n))
					continue
				}
				rep, err := ParseReply(body)
				if err != nil {
					r.line.CountError(err)
					continue
				}
				r.line.CountReply()
				if rep.SW3 != want {
					se := &StatusError{Cmd: cmd, Para: para, SW3: rep.SW3}
					if errors.Is(se, ErrChecksum) || errors.Is(se, ErrReader) {
						r.line.CountError(se)
					}
					return rep, se
				}
				return rep, nil
			}
		case <-timer.C:
			if len(r.buf) > 0 {
				err := fmt.Errorf("%w: reply cut short after %d bytes", ErrGarbled, len(r.buf))
				r.line.CountError(err)
				return Reply{}, err
			}
			r.line.CountTimeout()
			return Reply{}, ErrTimeout
		case <-ctx.Done():
			return Reply{}, ctx.Err()
		}
	}
}

// offer replaces whatever result is waiting with res.
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

// chipSerial is select card's answer as a card number: 8 bytes in
// upper-case hex, "" for anything else or all zeros (modules that keep
// the serial to themselves).
func chipSerial(b []byte) string {
	if len(b) != 8 || bytes.Count(b, []byte{0}) == 8 {
		return ""
	}
	return strings.ToUpper(hex.EncodeToString(b))
}
