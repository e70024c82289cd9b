package serial

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"gatehouse/appliance/clock"
	"gatehouse/drivers/fault"
)

// LineConfig configures a Line.
type LineConfig struct {
	Port Config
	Name string // device name, for logs

	// Backoff between attempts to open the device: it starts at MinBackoff
	// and doubles up to MaxBackoff while the device stays away, and starts
	// over once a connection has proved itself. Defaults 100 ms and 5 s.
	MinBackoff, MaxBackoff time.Duration
	// Buffer is how many chunks may wait for the driver before the newest
	// are dropped (and counted as errors). Default 64.
	Buffer int
	// SilentAfter consecutive reply timeouts mark a device offline although
	// its port is open. Default 3.
	SilentAfter int

	Clock  clock.Clock  // timestamps and the log's summaries; default the system clock
	Logger *slog.Logger // default: discard; failures by state (package fault)
	// Open opens the port; default Open. Tests put a fake here.
	Open func(Config) (Port, error)
}

// Chunk is bytes as they came off the wire.
type Chunk struct {
	Data []byte
	At   time.Time // when the read returned: the arrival of the last byte
	// Gen counts connections: it changes when the line reconnects, so a
	// parser throws away a frame half-received before the outage.
	Gen uint64
}

// Health is what the device pages show about a line.
type Health struct {
	Online     bool      // port open and, for devices that answer, answering
	Changed    time.Time // when Online last changed: the start of an outage
	LastSeen   time.Time // last byte received
	Opens      uint64    // successful opens
	Reconnects uint64    // opens after a lost connection
	Errors     uint64    // garbled frames, bad lines, overflows
	Timeouts   uint64    // requests that got no reply
	LastError  string    // never holds a card or document number: drivers' errors don't carry them
	// LastErrorAt is when LastError happened; Recovered, when the device
	// next answered well (a good reply, or a connection made again after
	// one was lost), zero while it has not. The page says which is current.
	LastErrorAt time.Time
	Recovered   time.Time
}

// Line owns a port for one driver. It reads in a goroutine of its own,
// which Close (or the context given to NewLine) stops, and hands what it
// reads out as Chunks. When the device goes away it closes the port, reports
// offline, and tries to open it again with backoff until it comes back.
type Line struct {
	cfg    LineConfig
	ctx    context.Context
	cancel context.CancelFunc
	chunks chan Chunk
	done   chan struct{}

	mu      sync.Mutex
	port    Port // nil while offline
	closed  bool
	gen     uint64
	silent  int // consecutive reply timeouts
	health  Health
	wasLost bool // a connection was lost: the next open is a reconnect

	faults    *fault.Log // lost connections and failed opens, by state
	announced bool       // the first connection was logged; run's
}

// NewLine starts a line: it returns at once and keeps trying to open the
// device in the background, so a driver starts even when its device is
// unplugged at boot. ctx ends the line like Close does.
func NewLine(ctx context.Context, cfg LineConfig) (*Line, error) {
	if cfg.Port.Path == "" {
		return nil, errors.New("serial: line needs a port path")
	}
	cfg.Port = cfg.Port.withDefaults()
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 100 * time.Millisecond
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(5*time.Second, cfg.MinBackoff)
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = 64
	}
	if cfg.SilentAfter <= 0 {
		cfg.SilentAfter = 3
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Open == nil {
		cfg.Open = Open
	}
	cfg.Logger = cfg.Logger.With("device", cfg.Name, "port", cfg.Port.Path)
	l := &Line{cfg: cfg, chunks: make(chan Chunk, cfg.Buffer), done: make(chan struct{}), faults: fault.New(cfg.Logger, cfg.Clock)}
	l.ctx, l.cancel = context.WithCancel(ctx)
	l.health.Changed = cfg.Clock.Now()
	go l.run()
	return l, nil
}

// Name is the device name.
func (l *Line) Name() string { return l.cfg.Name }

// Config is the line's configuration with defaults filled in.
func (l *Line) Config() LineConfig { return l.cfg }

// Chunks delivers what the line reads. It is closed when the line stops.
func (l *Line) Chunks() <-chan Chunk { return l.chunks }

// Done is closed when the line has stopped.
func (l *Line) Done() <-chan struct{} { return l.done }

// Close stops the line and waits for its goroutine. The port is closed at
// once; a read in progress ends within the read timeout.
func (l *Line) Close() error {
	l.mu.Lock()
	l.closed = true
	p := l.port
	l.mu.Unlock()
	l.cancel()
	if p != nil {
		p.Close()
	}
	<-l.done
	return nil
}

// Write writes to the device. While the device is offline it fails with
// ErrOffline; a failed write drops the connection, and the line reconnects.
func (l *Line) Write(b []byte) error {
	l.mu.Lock()
	p, closed := l.port, l.closed
	l.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if p == nil {
		return ErrOffline
	}
	if _, err := p.Write(b); err != nil {
		err = fmt.Errorf("serial: write %s: %w", l.cfg.Port.Path, err)
		l.mu.Lock()
		l.setError(err.Error())
		l.mu.Unlock()
		p.Close() // the reader sees the closed port and reconnects
		return err
	}
	return nil
}

// Drain throws away chunks waiting to be taken and returns how many bytes
// they held. A request-reply driver drains before each request so a late
// reply to an earlier one is not taken for the answer.
func (l *Line) Drain() int {
	n := 0
	for {
		select {
		case c, ok := <-l.chunks:
			if !ok {
				return n
			}
			n += len(c.Data)
		default:
			return n
		}
	}
}

// Health returns a snapshot of the line's health.
func (l *Line) Health() Health {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.health
}

// CountError counts a garbled frame or bad line. err must not carry a card
// or document number: it is shown on the device page.
func (l *Line) CountError(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.health.Errors++
	if err != nil {
		l.setError(err.Error())
	}
}

// CountTimeout counts a request that got no reply. After SilentAfter in a
// row the device is reported offline although its port is open.
func (l *Line) CountTimeout() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.health.Timeouts++
	l.setError("no reply")
	l.silent++
	l.updateOnline()
}

// CountReply notes a good reply: the device is answering.
func (l *Line) CountReply() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.silent = 0
	l.updateOnline()
	l.recovered()
}

// CountRefused counts a reply that refused the request (a Modbus
// exception): the device is answering, so it is not silent, but the
// request failed and counts as an error.
func (l *Line) CountRefused(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.silent = 0
	l.updateOnline()
	l.health.Errors++
	l.setError(err.Error())
}

// setError records the last error and when; called with mu held.
func (l *Line) setError(msg string) {
	l.health.LastError, l.health.LastErrorAt, l.health.Recovered = msg, l.cfg.Clock.Now(), time.Time{}
}

// recovered notes a good exchange after an error; called with mu held.
func (l *Line) recovered() {
	if !l.health.LastErrorAt.IsZero() && l.health.Recovered.IsZero() {
		l.health.Recovered = l.cfg.Clock.Now()
	}
}

// updateOnline recomputes Online; called with mu held.
func (l *Line) updateOnline() {
	online := l.port != nil && l.silent < l.cfg.SilentAfter
	if online != l.health.Online {
		l.health.Online = online
		l.health.Changed = l.cfg.Clock.Now()
	}
}

// run is the line's goroutine: open, read until the connection fails,
// back off, open again — until the line is closed.
func (l *Line) run() {
	defer close(l.done)
	defer close(l.chunks)
	backoff := l.cfg.MinBackoff
	for l.ctx.Err() == nil {
		p, err := l.cfg.Open(l.cfg.Port)
		if err != nil {
			l.lost(nil, err)
		} else if l.attach(p) {
			proved, err := l.read(p)
			if proved {
				backoff = l.cfg.MinBackoff
			}
			l.lost(p, err)
		} else {
			p.Close() // closed while opening
			return
		}
		if !l.sleep(backoff) {
			return
		}
		backoff = min(2*backoff, l.cfg.MaxBackoff)
	}
}

// attach makes p the line's port, unless the line was closed meanwhile.
func (l *Line) attach(p Port) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.port = p
	l.gen++
	l.silent = 0
	l.health.Opens++
	if l.wasLost {
		l.health.Reconnects++
	}
	l.updateOnline()
	l.recovered() // a lost connection or a failed open is over
	return true
}

// lost records a failed open (p nil) or a dropped connection.
func (l *Line) lost(p Port, err error) {
	if p != nil {
		p.Close()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || l.ctx.Err() != nil { // stopping, not lost
		l.port = nil
		l.updateOnline()
		return
	}
	why := "connection lost"
	if err != nil {
		l.setError(err.Error())
		why = err.Error()
	}
	if p != nil {
		l.port = nil
		l.wasLost = true
		l.faults.Fail("serial: device lost", why)
	} else {
		l.faults.Fail("serial: device not available", why)
	}
	l.updateOnline()
}

// read reads p until it fails. proved says the connection worked for a
// while (data or a quiet read timeout), which resets the backoff; the
// device is then online for the log too.
func (l *Line) read(p Port) (proved bool, err error) {
	l.mu.Lock()
	gen, opens := l.gen, l.health.Opens
	l.mu.Unlock()
	works := func() {
		proved = true
		if !l.faults.OK("serial: device online") && !l.announced {
			l.cfg.Logger.Info("serial: device online", "opens", opens)
		}
		l.announced = true
	}
	// Identity of the device node behind the path: a USB adapter that
	// vanishes takes its node along, and one plugged back in quickly is a
	// different node, though a read may not have told us.
	id, _ := os.Stat(l.cfg.Port.Path)
	buf := make([]byte, 512)
	for {
		if l.ctx.Err() != nil {
			return proved, nil
		}
		n, err := p.Read(buf)
		if n > 0 {
			works()
			l.deliver(Chunk{Data: append([]byte(nil), buf[:n]...), At: l.cfg.Clock.Now(), Gen: gen})
		}
		switch {
		case err == nil:
		case errors.Is(err, ErrTimeout):
			works()
			if id != nil {
				now, serr := os.Stat(l.cfg.Port.Path)
				if serr != nil || !os.SameFile(id, now) {
					return proved, ErrGone
				}
			}
		default:
			return proved, err
		}
	}
}

// deliver hands a chunk to the driver without ever blocking the reader: a
// reader that blocked on a slow driver would miss the device going away.
func (l *Line) deliver(c Chunk) {
	l.mu.Lock()
	l.health.LastSeen = c.At
	l.mu.Unlock()
	select {
	case l.chunks <- c:
	default:
		l.CountError(ErrOverflow)
	}
}

// sleep waits d, or returns false if the line is closed meanwhile.
func (l *Line) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-l.ctx.Done():
		return false
	}
}
