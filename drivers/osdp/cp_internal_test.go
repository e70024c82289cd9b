package osdp

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"gatehouse/appliance/gate"
)

// scriptLine is a Line whose far end is a plain reader written here, with
// a hook to tamper with each reply. Read without data waits out the
// deadline, as a real line does.
type scriptLine struct {
	mu       sync.Mutex
	dec      Decoder
	pending  []byte
	deadline time.Time
	sent     []Frame // commands seen
	tamper   func(n int, cmd Frame, reply []byte) []byte
	lastSeq  int
	lastWire []byte
}

func (l *scriptLine) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dec.Feed(p)
	for {
		f, err := l.dec.Next()
		if err != nil {
			break
		}
		l.sent = append(l.sent, f)
		reply := l.answer(f)
		if l.tamper != nil {
			reply = l.tamper(len(l.sent), f, reply)
		}
		l.pending = append(l.pending, reply...)
	}
	return len(p), nil
}

// answer is a minimal reader in clear, with the repeat rule.
func (l *scriptLine) answer(f Frame) []byte {
	if f.Seq != 0 && int(f.Seq) == l.lastSeq {
		return l.lastWire
	}
	r := Frame{Addr: f.Addr | 0x80, Seq: f.Seq, Code: ReplyACK}
	switch f.Code {
	case CmdID:
		r.Code, r.Data = ReplyPDID, PDID{Serial: 5}.Marshal()
	case CmdCap:
		r.Code, r.Data = ReplyPDCap, MarshalCaps([]Capability{{Function: 4, Compliance: 1}})
	case CmdLStat:
		r.Code, r.Data = ReplyLStatR, LocalStatus{}.Marshal()
	}
	w, _ := r.Append(nil)
	l.lastSeq, l.lastWire = int(f.Seq), w
	return w
}

func (l *scriptLine) Read(p []byte) (int, error) {
	l.mu.Lock()
	if len(l.pending) > 0 {
		n := copy(p, l.pending)
		l.pending = l.pending[n:]
		l.mu.Unlock()
		return n, nil
	}
	d := l.deadline
	l.mu.Unlock()
	time.Sleep(time.Until(d))
	return 0, os.ErrDeadlineExceeded
}

func (l *scriptLine) SetReadDeadline(t time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.deadline = t
	return nil
}

func (l *scriptLine) commands() []Frame {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Frame(nil), l.sent...)
}

type nobody struct{}

func (nobody) Decide(context.Context, gate.Presentation) (gate.Action, error) {
	return gate.Action{Feedback: gate.Deny}, nil
}

// runScript runs a CP on line until at least n commands were sent.
func runScript(t *testing.T, line *scriptLine, n int) *CP {
	t.Helper()
	cp, err := New(Config{
		Line: line, Decider: nobody{}, Readers: []Reader{{Name: "r", Address: 4}},
		PollEvery: time.Millisecond, ReplyTimeout: 50 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { cp.Run(ctx) })
	deadline := time.Now().Add(30 * time.Second)
	for len(line.commands()) < n {
		if time.Now().After(deadline) {
			t.Fatal("CP stalled")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	wg.Wait()
	return cp
}

func TestSequenceNumbersFromTheCP(t *testing.T) {
	line := &scriptLine{lastSeq: -1}
	runScript(t, line, 12)
	want := []byte{0, 1, 2, 3, 1, 2, 3, 1}
	for i, f := range line.commands()[:len(want)] {
		if f.Seq != want[i] {
			t.Fatalf("command %d has sequence %d, want %d (%v)", i, f.Seq, want[i], line.commands())
		}
	}
	if got := line.commands()[0].Code; got != CmdID {
		t.Errorf("first command %#x, want osdp_ID", got)
	}
}

// A stale reply (the previous sequence number) and a reply from another
// reader arrive before the real one: both are skipped as stray.
func TestStaleAndForeignRepliesAreSkipped(t *testing.T) {
	var stale []byte
	line := &scriptLine{lastSeq: -1}
	line.tamper = func(n int, cmd Frame, reply []byte) []byte {
		defer func() { stale = reply }()
		if n == 6 {
			foreign, _ := (&Frame{Addr: 0x85, Seq: cmd.Seq, Code: ReplyACK}).Append(nil)
			return append(append(append([]byte(nil), stale...), foreign...), reply...)
		}
		return reply
	}
	cp := runScript(t, line, 10)
	hs, bus := cp.Health()
	if bus.Stray != 2 {
		t.Errorf("%d stray frames, want 2", bus.Stray)
	}
	if hs[0].Timeouts != 0 || hs[0].BadReplies != 0 || hs[0].Offlines != 0 {
		t.Errorf("health %+v", hs[0])
	}
}

// A lost reply is met with the same command, same sequence number.
func TestTimeoutResendsTheSameBytes(t *testing.T) {
	line := &scriptLine{lastSeq: -1}
	line.tamper = func(n int, _ Frame, reply []byte) []byte {
		if n == 6 {
			return nil
		}
		return reply
	}
	cp := runScript(t, line, 9)
	cmds := line.commands()
	if a, b := cmds[5], cmds[6]; a.Seq != b.Seq || a.Code != b.Code {
		t.Errorf("resend differs: %+v then %+v", a, b)
	}
	if hs, _ := cp.Health(); hs[0].Timeouts != 1 || hs[0].Offlines != 0 {
		t.Errorf("health %+v", hs[0])
	}
}

// osdp_BUSY: the reader will take the command later; the sequence number
// does not move on.
func TestBusyKeepsTheSequenceNumber(t *testing.T) {
	line := &scriptLine{lastSeq: -1}
	line.tamper = func(n int, cmd Frame, reply []byte) []byte {
		if n == 6 {
			line.lastSeq = -2 // the reader did not act on it
			busy, _ := (&Frame{Addr: cmd.Addr | 0x80, Code: ReplyBusy}).Append(nil)
			return busy
		}
		return reply
	}
	runScript(t, line, 9)
	cmds := line.commands()
	if cmds[5].Seq != cmds[6].Seq {
		t.Errorf("after BUSY the sequence moved from %d to %d", cmds[5].Seq, cmds[6].Seq)
	}
}

func TestLineErrorsAreCountedAndWaitedOut(t *testing.T) {
	line := &brokenLine{}
	cp, err := New(Config{
		Line: line, Decider: nobody{}, Readers: []Reader{{Name: "r", Address: 4}},
		LineRetry: time.Millisecond, ProbeEvery: time.Millisecond,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cp.Run(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, bus := cp.Health(); bus.LineErrors >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("line errors not counted")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	// A line closed for good ends Run.
	line.closed = true
	if err := cp.Run(context.Background()); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Run on a closed line: %v", err)
	}
}

type brokenLine struct{ closed bool }

func (l *brokenLine) Write(p []byte) (int, error) {
	if l.closed {
		return 0, os.ErrClosed
	}
	return 0, errors.New("device unplugged")
}
func (l *brokenLine) Read(p []byte) (int, error)      { return 0, io.EOF }
func (l *brokenLine) SetReadDeadline(time.Time) error { return nil }
