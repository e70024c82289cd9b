package serial

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gatehouse/appliance/clock"
	"gatehouse/drivers/sim/pty"
)

// eventually waits for cond; the deadline only keeps a broken test from
// hanging, it measures nothing.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// fakePort is a Port fed by the test.
type fakePort struct {
	in      chan []byte
	readErr chan error
	closed  chan struct{}
	once    sync.Once

	mu     sync.Mutex
	writes [][]byte
	wErr   error
}

func newFakePort() *fakePort {
	return &fakePort{in: make(chan []byte, 16), readErr: make(chan error, 1), closed: make(chan struct{})}
}

func (f *fakePort) Read(b []byte) (int, error) {
	t := time.NewTimer(5 * time.Millisecond)
	defer t.Stop()
	select {
	case d := <-f.in:
		return copy(b, d), nil
	case err := <-f.readErr:
		return 0, err
	case <-f.closed:
		return 0, os.ErrClosed
	case <-t.C:
		return 0, ErrTimeout
	}
}

func (f *fakePort) Write(b []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.wErr != nil {
		return 0, f.wErr
	}
	f.writes = append(f.writes, append([]byte(nil), b...))
	return len(b), nil
}

func (f *fakePort) Close() error {
	f.once.Do(func() { close(f.closed) })
	return nil
}

// opener hands out fake ports, failing while down is set; while broken
// is, the ports it opens fail at their first read.
type opener struct {
	mu     sync.Mutex
	down   bool
	broken bool
	ports  []*fakePort
	tries  int
}

func (o *opener) open(Config) (Port, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.tries++
	if o.down {
		return nil, syscall.ENOENT
	}
	p := newFakePort()
	if o.broken {
		p.readErr <- syscall.EIO
	}
	o.ports = append(o.ports, p)
	return p, nil
}

func (o *opener) setBroken(v bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.broken = v
}

func (o *opener) setDown(v bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.down = v
}

func (o *opener) last() *fakePort {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.ports) == 0 {
		return nil
	}
	return o.ports[len(o.ports)-1]
}

func (o *opener) count() (tries, opened int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.tries, len(o.ports)
}

func fakeLine(t *testing.T, o *opener, mod func(*LineConfig)) *Line {
	t.Helper()
	cfg := LineConfig{
		Port:       Config{Path: "/nonexistent/ttyFAKE"},
		Name:       "fake",
		MinBackoff: time.Millisecond,
		MaxBackoff: 4 * time.Millisecond,
		Open:       o.open,
	}
	if mod != nil {
		mod(&cfg)
	}
	l, err := NewLine(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestNewLineNeedsAPath(t *testing.T) {
	if _, err := NewLine(context.Background(), LineConfig{}); err == nil {
		t.Fatal("NewLine without a path succeeded")
	}
}

func TestLineDeliversChunksStampedByTheClock(t *testing.T) {
	at := time.Date(2025, 3, 30, 1, 59, 0, 0, time.UTC)
	o := &opener{}
	l := fakeLine(t, o, func(c *LineConfig) { c.Clock = clock.NewFake(at) })
	eventually(t, "port opened", func() bool { return o.last() != nil })
	o.last().in <- []byte("hello")
	c := <-l.Chunks()
	if string(c.Data) != "hello" || !c.At.Equal(at) || c.Gen != 1 {
		t.Fatalf("chunk %q at %v gen %d; want hello at %v gen 1", c.Data, c.At, c.Gen, at)
	}
	h := l.Health()
	if !h.Online || !h.LastSeen.Equal(at) || h.Opens != 1 || h.Reconnects != 0 {
		t.Fatalf("health %+v", h)
	}
}

func TestLineReconnectsAfterTheDeviceComesBack(t *testing.T) {
	o := &opener{}
	l := fakeLine(t, o, nil)
	eventually(t, "first open", func() bool { return l.Health().Online })

	o.setDown(true)
	o.last().readErr <- syscall.EIO
	eventually(t, "offline", func() bool { return !l.Health().Online })
	tries, _ := o.count()
	eventually(t, "retries while away", func() bool { n, _ := o.count(); return n > tries+2 })
	if h := l.Health(); h.LastError == "" || h.Reconnects != 0 {
		t.Fatalf("while away: %+v; want an error and no reconnect yet", h)
	}

	o.setDown(false)
	eventually(t, "back online", func() bool { return l.Health().Online })
	h := l.Health()
	if h.Opens != 2 || h.Reconnects != 1 {
		t.Fatalf("after return: opens %d reconnects %d, want 2 and 1", h.Opens, h.Reconnects)
	}
	o.last().in <- []byte("x")
	if c := <-l.Chunks(); c.Gen != 2 {
		t.Fatalf("chunk after reconnect has gen %d, want 2", c.Gen)
	}
}

func TestLineStartsWhileTheDeviceIsAbsent(t *testing.T) {
	o := &opener{down: true}
	l := fakeLine(t, o, nil)
	eventually(t, "some tries", func() bool { n, _ := o.count(); return n > 2 })
	if h := l.Health(); h.Online || h.Opens != 0 {
		t.Fatalf("health %+v while absent", h)
	}
	o.setDown(false)
	eventually(t, "online", func() bool { return l.Health().Online })
	if h := l.Health(); h.Reconnects != 0 {
		t.Fatalf("first open counted as a reconnect: %+v", h)
	}
}

// logLines is what a slog text handler wrote, readable while the line
// writes.
type logLines struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logLines) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.FieldsFunc(l.b.String(), func(r rune) bool { return r == '\n' })
}

// A device that keeps failing — absent, then opening and failing at once —
// is logged when it starts failing, when the failure changes and when it
// is back, not at every try (the broken one logged "online" and "lost"
// at each).
func TestLineLogsFailuresByState(t *testing.T) {
	var logged logLines
	o := &opener{down: true}
	l := fakeLine(t, o, func(c *LineConfig) {
		c.Clock = clock.NewFake(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
		c.Logger = slog.New(slog.NewTextHandler(&logged, nil))
	})
	tries := func(n int) func() bool {
		base, _ := o.count()
		return func() bool { m, _ := o.count(); return m >= base+n }
	}
	eventually(t, "twenty tries while absent", tries(20))
	o.setBroken(true)
	o.setDown(false)
	eventually(t, "twenty tries while broken", tries(20))
	o.setBroken(false)
	eventually(t, "back online, and logged", func() bool {
		lines := logged.lines()
		return l.Health().Online && len(lines) > 0 && strings.Contains(lines[len(lines)-1], `msg="serial: device online"`)
	})
	time.Sleep(20 * time.Millisecond) // a few quiet reads, each of which works
	lines := logged.lines()
	for i, want := range []string{`msg="serial: device not available"`, `msg="serial: device lost"`, `msg="serial: device online"`} {
		if len(lines) != 3 || !strings.Contains(lines[i], want) {
			t.Fatalf("log:\n%s\nwant, in order, %s, lost, online", strings.Join(lines, "\n"), want)
		}
	}
	if !strings.Contains(lines[2], "failures=") {
		t.Errorf("the recovery does not say how many failures it ends: %s", lines[2])
	}
}

func TestLineCloseStopsItsGoroutineAndClosesThePort(t *testing.T) {
	o := &opener{}
	l := fakeLine(t, o, nil)
	eventually(t, "open", func() bool { return l.Health().Online })
	l.Close()
	select {
	case <-l.Done():
	default:
		t.Fatal("Done not closed after Close")
	}
	if _, ok := <-l.Chunks(); ok {
		t.Fatal("Chunks not closed after Close")
	}
	select {
	case <-o.last().closed:
	default:
		t.Fatal("port left open")
	}
	if err := l.Write([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
	if l.Health().Online {
		t.Fatal("online after close")
	}
}

func TestLineContextEndsIt(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	o := &opener{}
	l, err := NewLine(ctx, LineConfig{Port: Config{Path: "x"}, Open: o.open})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case <-l.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("line did not stop with its context")
	}
}

func TestLineOverflowIsCountedNotBlocking(t *testing.T) {
	o := &opener{}
	l := fakeLine(t, o, func(c *LineConfig) { c.Buffer = 1 })
	eventually(t, "open", func() bool { return o.last() != nil })
	p := o.last()
	for range 3 {
		p.in <- []byte("z")
	}
	eventually(t, "overflow counted", func() bool { return l.Health().Errors >= 1 })
	if h := l.Health(); h.LastError != ErrOverflow.Error() {
		t.Fatalf("last error %q", h.LastError)
	}
	// The reader is still alive: it notices the device leaving.
	p.readErr <- syscall.EIO
	eventually(t, "reconnect", func() bool { return l.Health().Reconnects == 1 })
}

func TestLineSilenceMarksOffline(t *testing.T) {
	o := &opener{}
	l := fakeLine(t, o, nil)
	eventually(t, "open", func() bool { return l.Health().Online })
	tests := []struct {
		do     func()
		online bool
	}{
		{l.CountTimeout, true},
		{l.CountTimeout, true},
		{l.CountTimeout, false},
		{l.CountReply, true},
	}
	for i, tt := range tests {
		tt.do()
		if got := l.Health().Online; got != tt.online {
			t.Fatalf("step %d: online %v, want %v", i, got, tt.online)
		}
	}
	if h := l.Health(); h.Timeouts != 3 {
		t.Fatalf("timeouts %d, want 3", h.Timeouts)
	}
}

func TestLineWrite(t *testing.T) {
	o := &opener{down: true}
	l := fakeLine(t, o, nil)
	if err := l.Write([]byte("x")); !errors.Is(err, ErrOffline) {
		t.Fatalf("write while offline: %v, want ErrOffline", err)
	}
	o.setDown(false)
	eventually(t, "open", func() bool { return l.Health().Online })
	if err := l.Write([]byte("ab")); err != nil {
		t.Fatal(err)
	}
	p := o.last()
	p.mu.Lock()
	got := string(p.writes[0])
	p.wErr = syscall.EIO
	p.mu.Unlock()
	if got != "ab" {
		t.Fatalf("wrote %q", got)
	}
	if err := l.Write([]byte("c")); !errors.Is(err, syscall.EIO) {
		t.Fatalf("failed write: %v, want EIO", err)
	}
	eventually(t, "reconnect after failed write", func() bool { return l.Health().Reconnects == 1 })
}

func TestLineDrain(t *testing.T) {
	o := &opener{}
	l := fakeLine(t, o, nil)
	eventually(t, "open", func() bool { return o.last() != nil })
	o.last().in <- []byte("abc")
	o.last().in <- []byte("de")
	eventually(t, "chunks queued", func() bool { return len(l.Chunks()) == 2 })
	if n := l.Drain(); n != 5 {
		t.Fatalf("drained %d bytes, want 5", n)
	}
}

// TestLineOverAPseudoTerminal runs the real port (tarm) against a pty:
// bytes arrive, unplugging is noticed, replugging is found again.
func TestLineOverAPseudoTerminal(t *testing.T) {
	dev, err := pty.New(filepath.Join(t.TempDir(), "ttySIM0"))
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	l, err := NewLine(context.Background(), LineConfig{
		Port:       Config{Path: dev.Path(), Baud: 9600},
		MinBackoff: 5 * time.Millisecond,
		MaxBackoff: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	eventually(t, "online", func() bool { return l.Health().Online })

	read := func(want string) {
		t.Helper()
		var got []byte
		for len(got) < len(want) {
			select {
			case c := <-l.Chunks():
				got = append(got, c.Data...)
			case <-time.After(10 * time.Second):
				t.Fatalf("read %q, want %q", got, want)
			}
		}
		if string(got) != want {
			t.Fatalf("read %q, want %q", got, want)
		}
	}
	bin := "\x00\r\n\x03\x11\x13\x7f\xff"
	dev.Write([]byte(bin))
	read(bin)

	// The driver writes; the device reads.
	if err := l.Write([]byte{0xA0, 0x01, 0x01, 0xA2}); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	if _, err := dev.Read(b); err != nil || b[0] != 0xA0 {
		t.Fatalf("device read %x, %v", b, err)
	}

	dev.Unplug()
	eventually(t, "offline", func() bool { return !l.Health().Online })
	if err := l.Write([]byte("x")); !errors.Is(err, ErrOffline) {
		t.Fatalf("write while unplugged: %v", err)
	}
	dev.Replug()
	eventually(t, "online again", func() bool { return l.Health().Online })
	if h := l.Health(); h.Reconnects != 1 {
		t.Fatalf("reconnects %d, want 1", h.Reconnects)
	}
	dev.Write([]byte("again"))
	read("again")
}
