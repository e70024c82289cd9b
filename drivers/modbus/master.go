package modbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"gatehouse/appliance/gate"
	"gatehouse/drivers/serial"
)

// ErrStray: bytes that arrived while no request was waiting (a reply after
// its timeout, or noise). They are thrown away and counted.
var ErrStray = fmt.Errorf("%w: bytes outside a transaction", ErrGarbled)

// Config configures a Master.
type Config struct {
	Line serial.LineConfig // Port.Baud: usually 9600, 8N1
	// Timeout is how long one attempt waits for its reply. Default 300 ms:
	// a relay module at 9600 baud answers in a few tens of milliseconds.
	Timeout time.Duration
	// Attempts per request when the reply is missing or garbled. Default 3.
	// Coil writes are idempotent, so repeating them is safe.
	Attempts int
	Logger   *slog.Logger
}

// Master is the bus master on one serial line. Requests run one at a time.
type Master struct {
	line *serial.Line
	cfg  Config
	gap  time.Duration // silence between frames

	mu     sync.Mutex // one transaction on the bus at a time
	lastIO time.Time  // end of the last frame on the bus (wall clock: it times the wire)
}

// Open starts a master on its port.
func Open(ctx context.Context, cfg Config) (*Master, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 300 * time.Millisecond
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = 3
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	line, err := serial.NewLine(ctx, cfg.Line)
	if err != nil {
		return nil, err
	}
	return &Master{line: line, cfg: cfg, gap: frameGap(line.Config().Port.Baud)}, nil
}

// frameGap is the 3.5-character silence that must separate frames: 11 bits
// a character, fixed at 1.75 ms above 19200 baud as the standard says.
func frameGap(baud int) time.Duration {
	if baud <= 0 || baud > 19200 {
		return 1750 * time.Microsecond
	}
	return time.Duration(float64(time.Second) * 3.5 * 11 / float64(baud))
}

// Close stops the master and its line.
func (m *Master) Close() error { return m.line.Close() }

// Health is the line's health.
func (m *Master) Health() serial.Health { return m.line.Health() }

// Transact sends req and returns its reply, trying again on a missing or
// garbled reply. A broadcast (slave 0) returns once sent. An exception
// reply is returned as an error wrapping the Exception; it is not retried.
func (m *Master) Transact(ctx context.Context, req Request) (Reply, error) {
	frame, err := req.Encode()
	if err != nil {
		return Reply{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for attempt := 1; ; attempt++ {
		rep, err := m.once(ctx, req, frame)
		var ex Exception
		switch {
		case err == nil:
			m.line.CountReply()
			return rep, nil
		case errors.As(err, &ex):
			// It answered, but refused: an error all the same. A board
			// that only ever answers so (a contact at a wrong address)
			// must not look healthy.
			err = m.wrap(req, err)
			m.line.CountRefused(err)
			return Reply{}, err
		case errors.Is(err, ErrTimeout):
			m.line.CountTimeout()
		case errors.Is(err, ErrGarbled):
			m.line.CountError(err)
			m.settle(ctx)
		default: // offline, closed, cancelled: trying again now will not help
			return Reply{}, m.wrap(req, err)
		}
		if attempt >= m.cfg.Attempts {
			return Reply{}, m.wrap(req, err)
		}
	}
}

func (m *Master) wrap(req Request, err error) error {
	return &SlaveError{Slave: req.Slave, Function: req.Function, Err: err}
}

// SlaveError is a request that failed, naming its slave and function:
// "modbus: slave 17 function 0x02: exception 2 (illegal data address)".
// The package's own errors lose their "modbus: " prefix inside it, so the
// text says "modbus" once; errors.Is and errors.As see the error within.
type SlaveError struct {
	Slave    byte
	Function byte
	Err      error
}

func (e *SlaveError) Error() string {
	return fmt.Sprintf("modbus: slave %d function 0x%02X: %s", e.Slave, e.Function, strings.TrimPrefix(e.Err.Error(), "modbus: "))
}

func (e *SlaveError) Unwrap() error { return e.Err }

// once is one attempt: send, then gather bytes until they make the reply,
// or are not it, or the timeout passes.
func (m *Master) once(ctx context.Context, req Request, frame []byte) (Reply, error) {
	if err := ctx.Err(); err != nil {
		return Reply{}, err
	}
	if n := m.line.Drain(); n > 0 {
		m.line.CountError(ErrStray)
	}
	if wait := m.gap - time.Since(m.lastIO); wait > 0 {
		time.Sleep(wait)
	}
	if err := m.line.Write(frame); err != nil {
		return Reply{}, err
	}
	m.lastIO = time.Now()
	if req.Slave == 0 {
		return Reply{}, nil
	}
	timer := time.NewTimer(m.cfg.Timeout)
	defer timer.Stop()
	var buf []byte
	for {
		select {
		case c, ok := <-m.line.Chunks():
			if !ok {
				return Reply{}, serial.ErrClosed
			}
			m.lastIO = time.Now()
			buf = append(buf, c.Data...)
			rep, _, err := ParseReply(req, buf)
			if errors.Is(err, ErrIncomplete) {
				continue
			}
			// Bytes after the frame, if any, are left to the next Drain.
			return rep, err
		case <-timer.C:
			if len(buf) > 0 {
				return Reply{}, fmt.Errorf("%w: reply cut short", ErrGarbled)
			}
			return Reply{}, ErrTimeout
		case <-ctx.Done():
			return Reply{}, ctx.Err()
		}
	}
}

// settle waits for the line to go quiet after a garbled reply, throwing
// away the rest of it, so the next attempt does not read its tail. It waits
// at most the reply timeout.
func (m *Master) settle(ctx context.Context) {
	quiet := max(m.gap, 20*time.Millisecond)
	deadline := time.NewTimer(m.cfg.Timeout)
	defer deadline.Stop()
	for {
		t := time.NewTimer(quiet)
		select {
		case _, ok := <-m.line.Chunks():
			t.Stop()
			if !ok {
				return
			}
			m.lastIO = time.Now()
		case <-t.C:
			return
		case <-deadline.C:
			t.Stop()
			return
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
}

// WriteCoil switches one coil (function 0x05).
func (m *Master) WriteCoil(ctx context.Context, slave byte, coil uint16, on bool) error {
	_, err := m.Transact(ctx, Request{Slave: slave, Function: FuncWriteSingleCoil, Addr: coil, Count: 1, Values: []bool{on}})
	return err
}

// WriteCoils switches len(values) coils from start (function 0x0F).
func (m *Master) WriteCoils(ctx context.Context, slave byte, start uint16, values []bool) error {
	_, err := m.Transact(ctx, Request{Slave: slave, Function: FuncWriteMultipleCoils, Addr: start, Count: uint16(len(values)), Values: values})
	return err
}

// ReadDiscreteInputs reads count inputs from start (function 0x02).
func (m *Master) ReadDiscreteInputs(ctx context.Context, slave byte, start, count uint16) ([]bool, error) {
	rep, err := m.Transact(ctx, Request{Slave: slave, Function: FuncReadDiscreteInputs, Addr: start, Count: count})
	return rep.Values, err
}

// ReadCoils reads count coils from start (function 0x01).
func (m *Master) ReadCoils(ctx context.Context, slave byte, start, count uint16) ([]bool, error) {
	rep, err := m.Transact(ctx, Request{Slave: slave, Function: FuncReadCoils, Addr: start, Count: count})
	return rep.Values, err
}

// Relay is one coil driving a turnstile or a lock.
type Relay struct {
	Master *Master
	Slave  byte
	Coil   uint16
}

// Pulse switches the relay on, waits d, and switches it off. Off is sent
// even when ctx ends during the wait or the on-request failed (its reply may
// be what was lost): a lock must never be left open because a caller gave
// up.
func (r Relay) Pulse(ctx context.Context, d time.Duration) error {
	onErr := r.Master.WriteCoil(ctx, r.Slave, r.Coil, true)
	gate.Switched(ctx, onErr)
	if onErr == nil {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
	offCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Duration(r.Master.cfg.Attempts+1)*r.Master.cfg.Timeout)
	defer cancel()
	offErr := r.Master.WriteCoil(offCtx, r.Slave, r.Coil, false)
	if onErr != nil {
		return onErr
	}
	return offErr
}
