package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"gatehouse/appliance/gate"
	"gatehouse/drivers/modbus"
	"gatehouse/drivers/scanner"
	"gatehouse/drivers/sim/pty"
)

// The latency benchmarks time one presentation from the last byte of the
// scan or card read on the wire to the first byte of the relay command at
// the relay board, through the real drivers and the real appliance (every
// decision a durable event in the store). Run them with
//
//	go test -run '^$' -bench 'Latency(CardToRelay|ScanToRelay)$' -benchtime 10000x ./drivers/e2e/
//	go test -run '^$' -bench Poll50ms -benchtime 10000x ./drivers/e2e/  # 8.5 minutes
//
// Presentations alternate between the lane's entry and exit device, so
// hard anti-passback grants every one. A pseudo-terminal has no baud rate:
// the bytes take no time on this "wire", where 9600 baud takes about 1 ms a
// byte. The lane waits settle after each pulse, so every presentation meets
// an idle lane (and the Modbus master's 3.5-character gap, 4 ms at 9600
// baud, has passed); the pulse itself is shortened to 1 ms, which changes
// nothing before the relay command and keeps 10,000 presentations short.

const (
	settle      = 5 * time.Millisecond
	benchPulse  = time.Millisecond
	defaultPoll = 2 * time.Millisecond
)

// coilWrite is a coil write seen by the tap board, with the arrival of the
// request's first byte.
type coilWrite struct {
	at time.Time
	on bool
}

// tapBoard is a Modbus RTU relay board, like sim.ModbusBoard, that notes
// when the first byte of each request arrived: the benchmarks' stopwatch.
// It answers coil writes for any coil of its slave address.
//
// By default the board runs in a child process (this test binary again,
// see TestMain), as the real board is a device of its own: its stopwatch
// then starts when the kernel hands it the byte, not when this process's
// Go scheduler — busy with the appliance and its background load — gets
// round to a goroutine of the instrument's. GATEHOUSE_E2E_TAP=inproc puts
// it back in this process, to compare.
type tapBoard struct {
	path   string
	writes chan coilWrite
}

// tapEnv picks where the tap board runs.
const tapEnv = "GATEHOUSE_E2E_TAP"

func newTapBoard(tb testing.TB) *tapBoard {
	tb.Helper()
	if os.Getenv(tapEnv) == "inproc" {
		return newInprocTapBoard(tb)
	}
	pair, err := pty.OpenPair()
	if err != nil {
		tb.Skipf("no pseudo-terminal here: %v", err)
	}
	child := exec.Command(os.Args[0])
	child.Env = append(os.Environ(), childEnv+"="+relayBoardChild)
	child.ExtraFiles = []*os.File{pair.Master}
	child.Stderr = os.Stderr
	toChild, err := child.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	fromChild, err := child.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := child.Start(); err != nil {
		tb.Fatal(err)
	}
	pair.Master.Close() // the child holds the master now; the pair keeps its slave open
	b := &tapBoard{path: pair.SlaveName, writes: make(chan coilWrite, 64)}
	read := make(chan struct{})
	go func() {
		defer close(read)
		lines := bufio.NewScanner(fromChild)
		for lines.Scan() {
			var on int
			var ns int64
			if _, err := fmt.Sscanf(lines.Text(), "w %d %d", &on, &ns); err != nil {
				continue
			}
			select {
			case b.writes <- coilWrite{at: time.Unix(0, ns), on: on == 1}:
			default:
			}
		}
	}()
	tb.Cleanup(func() {
		toChild.Close() // the child stops at the end of its input
		<-read
		if err := child.Wait(); err != nil {
			tb.Errorf("relay board: %v", err)
		}
		pair.Close()
	})
	return b
}

// relayBoardChild is the child mode of the tap board.
const relayBoardChild = "relay-board"

// runRelayBoard is the tap board in its own process: it serves the relay
// board on file descriptor 3 (the terminal's master side, left blocking,
// so a read wakes its thread straight from the kernel) and prints
// "w ON UNIXNANO" for each coil write, the wall time its first byte came.
// It ends when its standard input does.
func runRelayBoard() int {
	master := os.NewFile(3, "ptmx")
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	go func() {
		runtime.LockOSThread()
		var tap tapFrames
		chunk := make([]byte, 256)
		for {
			n, err := master.Read(chunk)
			if err != nil {
				return
			}
			tap.feed(chunk[:n], time.Now(), master, func(w coilWrite) {
				on := 0
				if w.on {
					on = 1
				}
				mu.Lock()
				fmt.Fprintf(out, "w %d %d\n", on, w.at.UnixNano())
				out.Flush()
				mu.Unlock()
			})
		}
	}()
	io.Copy(io.Discard, os.Stdin)
	return 0
}

// newInprocTapBoard is the tap board in this process.
func newInprocTapBoard(tb testing.TB) *tapBoard {
	tb.Helper()
	dev, err := pty.New(filepath.Join(tb.TempDir(), "ttyRELAY"))
	if err != nil {
		tb.Skipf("no pseudo-terminal here: %v", err)
	}
	b := &tapBoard{path: dev.Path(), writes: make(chan coilWrite, 64)}
	done := make(chan struct{})
	go b.serveInproc(dev, done)
	tb.Cleanup(func() { dev.Close(); <-done })
	return b
}

func (b *tapBoard) Path() string { return b.path }

func (b *tapBoard) serveInproc(dev *pty.Device, done chan struct{}) {
	defer close(done)
	var tap tapFrames
	chunk := make([]byte, 256)
	for {
		n, err := dev.ReadTimeout(chunk, 50*time.Millisecond)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			tap.buf = tap.buf[:0] // silence ends a frame
			continue
		}
		if err != nil {
			return // closed
		}
		tap.feed(chunk[:n], time.Now(), dev, func(w coilWrite) {
			select {
			case b.writes <- w:
			default:
			}
		})
	}
}

// tapFrames is the tap board's side of the wire, wherever it runs: it
// gathers requests from the chunks read, answers coil writes to the relay's
// slave (exceptions for anything else addressed to it) and notes each coil
// write with the arrival of its first byte.
type tapFrames struct {
	buf   []byte
	first time.Time
}

func (t *tapFrames) feed(chunk []byte, now time.Time, w io.Writer, note func(coilWrite)) {
	if len(t.buf) == 0 {
		t.first = now
	}
	t.buf = append(t.buf, chunk...)
	for len(t.buf) > 0 {
		req, used, err := modbus.ParseRequest(t.buf)
		if errors.Is(err, modbus.ErrIncomplete) {
			return
		}
		if errors.Is(err, modbus.ErrGarbled) {
			t.buf = t.buf[1:]
			continue
		}
		t.buf = t.buf[used:]
		if req.Slave != relaySlave {
			continue
		}
		var ex modbus.Exception
		switch {
		case errors.As(err, &ex):
			w.Write(modbus.EncodeException(req.Slave, req.Function, ex))
		case req.Function != modbus.FuncWriteSingleCoil:
			w.Write(modbus.EncodeException(req.Slave, req.Function, modbus.IllegalFunction))
		default:
			w.Write(modbus.EncodeReply(req, nil))
			note(coilWrite{at: t.first, on: req.Values[0]})
		}
		t.first = now // what is left of this chunk arrived now
	}
}

// next waits for the next coil write.
func (b *tapBoard) next(tb testing.TB) coilWrite {
	tb.Helper()
	select {
	case w := <-b.writes:
		return w
	case <-time.After(patience):
		tb.Fatal("no relay command reached the board")
		return coilWrite{}
	}
}

// fixedPulse pulses a relay for a fixed time whatever the lane asks.
type fixedPulse struct {
	relay scanner.Relay
	d     time.Duration
}

func (f fixedPulse) Pulse(ctx context.Context, _ time.Duration) error { return f.relay.Pulse(ctx, f.d) }

func drain[T any](ch <-chan T) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

func recv[T any](tb testing.TB, ch <-chan T, what string) T {
	tb.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(patience):
		tb.Fatalf("gave up waiting for %s", what)
		var zero T
		return zero
	}
}

// timed is a Decider that notes when each decision began and ended, so a
// presentation's time splits into the drivers' share before the decision,
// the appliance's (store reads, the event's synced write, a visit's move)
// and the drivers' share after it. It also keeps the Presentation's At:
// the scanner driver stamps it when the read that completed the line
// returned, the CP when it hands the card read over.
type timed struct {
	next gate.Decider
	mu   sync.Mutex
	last [3]time.Time // Presentation.At, start, end
	n    int
}

func (d *timed) Decide(ctx context.Context, p gate.Presentation) (gate.Action, error) {
	start := time.Now()
	a, err := d.next.Decide(ctx, p)
	end := time.Now()
	d.mu.Lock()
	d.last, d.n = [3]time.Time{p.At, start, end}, d.n+1
	d.mu.Unlock()
	return a, err
}

// span returns the latest decision's times, and how many there were.
func (d *timed) span() ([3]time.Time, int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.last, d.n
}

// latencies are one benchmark's measurements, in presentation order.
type latencies struct {
	total, at, in, decide, out []time.Duration
	dec                        *timed
}

func newLatencies(n int, dec *timed) *latencies {
	mk := func() []time.Duration { return make([]time.Duration, 0, n) }
	return &latencies{total: mk(), at: mk(), in: mk(), decide: mk(), out: mk(), dec: dec}
}

// add records presentation i: last byte on the wire at wire, first byte
// of the relay command at relay.
func (l *latencies) add(tb testing.TB, i int, wire, relay time.Time) {
	span, n := l.dec.span()
	if n != i+1 {
		tb.Fatalf("presentation %d: %d decisions", i, n)
	}
	at, start, end := span[0], span[1], span[2]
	l.total = append(l.total, relay.Sub(wire))
	l.at = append(l.at, at.Sub(wire))
	l.in = append(l.in, start.Sub(wire))
	l.decide = append(l.decide, end.Sub(start))
	l.out = append(l.out, relay.Sub(end))
}

func quantile(sorted []time.Duration, p float64) time.Duration {
	i := int(p*float64(len(sorted))+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func sorted(ds []time.Duration) []time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s
}

// report adds p50, p99 and max of the whole time in microseconds to the
// benchmark's line, and the decision's own p50 and p99. It logs the parts
// and the p50 of the first and the last tenth of the presentations (a lane
// that slows as the store fills shows there) for runs of 100 or more.
func (l *latencies) report(b *testing.B) {
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	total, decide := sorted(l.total), sorted(l.decide)
	b.ReportMetric(us(quantile(total, 0.50)), "p50-µs")
	b.ReportMetric(us(quantile(total, 0.99)), "p99-µs")
	b.ReportMetric(us(total[len(total)-1]), "max-µs")
	b.ReportMetric(us(quantile(decide, 0.50)), "decide-p50-µs")
	b.ReportMetric(us(quantile(decide, 0.99)), "decide-p99-µs")
	n := len(total)
	if n < 100 {
		return
	}
	tenth := n / 10
	b.Logf("%d presentations; p50 of the first %d %v, of the last %d %v", n,
		tenth, quantile(sorted(l.total[:tenth]), 0.5), tenth, quantile(sorted(l.total[n-tenth:]), 0.5))
	for _, part := range []struct {
		what string
		ds   []time.Duration
	}{
		{"wire to relay command", l.total},
		{"  wire to Presentation.At", l.at},
		{"  wire to the Decider", l.in},
		{"  the Decider (appliance)", l.decide},
		{"  Decider to relay command at the board", l.out},
	} {
		s := sorted(part.ds)
		b.Logf("%-40s min %9v  p50 %9v  p90 %9v  p99 %9v  max %9v", part.what,
			s[0], quantile(s, 0.5), quantile(s, 0.9), quantile(s, 0.99), s[n-1])
	}
}

// BenchmarkLatencyCardToRelay: an enrolled card at OSDP readers with the
// secure channel on (entry and exit reader on one bus, polled every 2 ms,
// the CP's default 200 ms reply timeout), the CP on a tarm port through
// osdp.SerialLine, the appliance's access service deciding, and the grant
// pulsing a Modbus relay. From the last byte of the reader's osdp_RAW reply
// to the first byte of the coil-on request.
func BenchmarkLatencyCardToRelay(b *testing.B) { cardToRelay(b, defaultPoll, newLobby(b), nil) }

// BenchmarkLatencyCardToRelayPoll50ms is the same with the CP's production
// poll interval: a bus that is quiet between rounds.
func BenchmarkLatencyCardToRelayPoll50ms(b *testing.B) {
	cardToRelay(b, 50*time.Millisecond, newLobby(b), nil)
}

// cardToRelay times b.N card presentations at l's lane; load, if set,
// starts the background load just before the clock and returns its stop.
func cardToRelay(b *testing.B, poll time.Duration, l *lobby, load func() func()) {
	board := newTapBoard(b)
	relay := openRelay(b, board.Path())
	dec := &timed{next: l.app.Access}
	bus := newReaderBus(b, l.lane.ID, newPulseOnGrant(b, dec, relay, benchPulse),
		busOptions{pollEvery: poll, replyTimeout: 200 * time.Millisecond})
	lat := newLatencies(b.N, dec)
	stop := startLoad(load)
	b.ResetTimer()
	for i := range b.N {
		pd := bus.entry
		if i%2 == 1 {
			pd = bus.exit
		}
		beeps := len(pd.Buzzers())
		drain(bus.cardAt)
		pd.PresentUID(cardBytes)
		read := recv(b, bus.cardAt, "the card read on the wire")
		on := board.next(b)
		off := board.next(b)
		if !on.on || off.on {
			b.Fatalf("presentation %d: coil writes on=%v then on=%v", i, on.on, off.on)
		}
		lat.add(b, i, read, on.at)
		eventually(b, "the reader's beep", func() bool { return len(pd.Buzzers()) > beeps })
		time.Sleep(settle)
	}
	b.StopTimer()
	stop()
	lat.report(b)
}

// startLoad starts load, if any, and returns its stop.
func startLoad(load func() func()) func() {
	if load == nil {
		return func() {}
	}
	return load()
}

// BenchmarkLatencyScanToRelay: a visitor's QR pass at the lane's entry and
// exit scanners (real scanner driver on a tarm port), the appliance
// verifying the pass, recording the event and moving the visit in or out,
// and the grant pulsing a Modbus relay. From the last byte of the scanned
// line (its LF) to the first byte of the coil-on request.
func BenchmarkLatencyScanToRelay(b *testing.B) { scanPath(b, newLobby(b), nil) }

// scanPath times b.N scans at l's lane; load as cardToRelay's.
func scanPath(b *testing.B, l *lobby, load func() func()) {
	board := newTapBoard(b)
	relay := fixedPulse{openRelay(b, board.Path()), benchPulse}
	dec := &timed{next: l.app.Access}
	in := openScanner(b, "in-qr", l.lane.ID, gate.In, dec, relay)
	out := openScanner(b, "out-qr", l.lane.ID, gate.Out, dec, relay)
	// A visitor per entry and exit: a pass used 10,000 times would measure
	// its visit's history (one transition per passage, decoded and
	// rewritten by every decision) rather than the lane.
	passes := make([]string, 0, (b.N+1)/2)
	for i := range (b.N + 1) / 2 {
		passes = append(passes, l.inviteNo(b, i))
	}
	lat := newLatencies(b.N, dec)
	stop := startLoad(load)
	b.ResetTimer()
	for i := range b.N {
		s := in
		if i%2 == 1 {
			s = out
		}
		// Stamped before the write: the last byte is on the wire when the
		// write returns, and a goroutine descheduled after the write could
		// otherwise stamp it after the relay command (on a loaded machine
		// that gave "negative" latencies).
		scanned := time.Now()
		if err := s.Scan(passes[i/2]); err != nil {
			b.Fatal(err)
		}
		on := board.next(b)
		off := board.next(b)
		if !on.on || off.on {
			b.Fatalf("presentation %d: coil writes on=%v then on=%v", i, on.on, off.on)
		}
		lat.add(b, i, scanned, on.at)
		time.Sleep(settle)
	}
	b.StopTimer()
	stop()
	lat.report(b)
}
