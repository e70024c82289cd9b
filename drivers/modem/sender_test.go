package modem_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/drivers/modem"
	"gatehouse/drivers/serial"
	"gatehouse/drivers/sim"
)

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// syncBuffer is a log sink the sender's goroutine and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// open plugs in a simulated modem and opens a sender on it, logging at
// debug level into the returned buffer.
func open(t *testing.T, mc sim.ModemConfig, cfg modem.Config) (*sim.Modem, *modem.Sender, *syncBuffer) {
	t.Helper()
	dev, err := sim.NewModem(filepath.Join(t.TempDir(), "ttyGSM"), mc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	logs := &syncBuffer{}
	cfg.Line = serial.LineConfig{Port: serial.Config{Path: dev.Path(), Baud: 115200}, MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Name: "gsm", Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	cfg.Logger = cfg.Line.Logger
	if cfg.RetryWait == 0 {
		cfg.RetryWait = 10 * time.Millisecond
	}
	s, err := modem.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	eventually(t, "online", func() bool { return s.Health().Online })
	return dev, s, logs
}

const (
	phone = "+8613800138000"
	hello = "Your visitor has arrived."
	zh    = "您的访客已到达前台。"
)

func count(lines []string, prefix string) int {
	n := 0
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

func TestSendThroughUnsolicitedLines(t *testing.T) {
	dev, s, _ := open(t, sim.ModemConfig{URCs: true}, modem.Config{})
	dev.Unsolicited("+CREG: 1")
	for _, text := range []string{hello, zh, strings.Repeat(zh, 10)} {
		if err := s.Send(context.Background(), phone, text); err != nil {
			t.Fatal(err)
		}
		dev.Unsolicited(`+CMTI: "SM",9`)
	}
	got := dev.Messages()
	if len(got) != 3 || got[0].Text != hello || got[1].Text != zh || got[2].Text != strings.Repeat(zh, 10) || got[2].Parts != 2 {
		t.Fatalf("messages %+v", got)
	}
	if h := s.Health(); h.Errors != 0 {
		t.Fatalf("errors %d: %s", h.Errors, h.LastError)
	}
}

func TestTemporaryRefusalIsRetried(t *testing.T) {
	dev, s, _ := open(t, sim.ModemConfig{}, modem.Config{})
	dev.FailNext(331, 1) // no network service, for a moment
	if err := s.Send(context.Background(), phone, hello); err != nil {
		t.Fatal(err)
	}
	if n := count(dev.Commands(), "AT+CMGS"); n != 2 || len(dev.Messages()) != 1 {
		t.Fatalf("%d AT+CMGS, messages %v", n, dev.Messages())
	}
}

func TestTemporaryRefusalGivesUpAfterTheAttempts(t *testing.T) {
	dev, s, _ := open(t, sim.ModemConfig{}, modem.Config{Attempts: 3})
	dev.FailNext(331, 10)
	err := s.Send(context.Background(), phone, hello)
	var cms modem.CMSError
	if !errors.As(err, &cms) || cms != 331 || !cms.Temporary() {
		t.Fatalf("err %v", err)
	}
	if n := count(dev.Commands(), "AT+CMGS"); n != 3 {
		t.Fatalf("%d AT+CMGS", n)
	}
}

// A modem without network service refuses every message; the log says
// "trying again" once, not at every attempt of every message, and says
// when messages go out again.
func TestRetriesAreLoggedOnce(t *testing.T) {
	dev, s, logs := open(t, sim.ModemConfig{}, modem.Config{Attempts: 3})
	dev.FailNext(331, 15)
	for range 5 {
		if err := s.Send(context.Background(), phone, hello); err == nil {
			t.Fatal("sent without network service")
		}
	}
	if err := s.Send(context.Background(), phone, hello); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if n := containing(lines, `msg="modem: trying again"`); n != 1 {
		t.Errorf("%d lines for ten retries:\n%s", n, logs.String())
	}
	if n := containing(lines, `msg="modem: sending again"`); n != 1 || !strings.Contains(logs.String(), "failures=10") {
		t.Errorf("the recovery:\n%s", logs.String())
	}
}

// containing counts the lines holding s.
func containing(lines []string, s string) int {
	n := 0
	for _, l := range lines {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

func TestLostPromptIsCancelledAndRetried(t *testing.T) {
	dev, s, _ := open(t, sim.ModemConfig{}, modem.Config{CommandTimeout: 300 * time.Millisecond})
	dev.DropPrompts(1)
	if err := s.Send(context.Background(), phone, hello); err != nil {
		t.Fatal(err)
	}
	if n := count(dev.Commands(), "AT+CMGS"); n != 2 || len(dev.Messages()) != 1 {
		t.Fatalf("%d AT+CMGS, messages %v", n, dev.Messages())
	}
}

func TestUnconfirmedPartIsNotSentTwice(t *testing.T) {
	dev, s, _ := open(t, sim.ModemConfig{}, modem.Config{SendTimeout: 300 * time.Millisecond})
	dev.DropConfirmations(1)
	err := s.Send(context.Background(), phone, hello)
	if !errors.Is(err, modem.ErrUnconfirmed) || !errors.Is(err, modem.ErrTimeout) {
		t.Fatalf("err %v", err)
	}
	if n := count(dev.Commands(), "AT+CMGS"); n != 1 || len(dev.Messages()) != 1 {
		t.Fatalf("%d AT+CMGS, messages %v", n, dev.Messages())
	}
}

func TestTextMode(t *testing.T) {
	dev, s, _ := open(t, sim.ModemConfig{}, modem.Config{Mode: modem.Text})
	long := strings.Repeat("访客张三已到达。", 10) // 80 characters: 70 + 10, as two messages
	for _, text := range []string{hello, zh, long} {
		if err := s.Send(context.Background(), phone, text); err != nil {
			t.Fatal(err)
		}
	}
	want := []sim.SMS{
		{Number: phone, Text: hello, Parts: 1, Coding: modem.GSM7},
		{Number: phone, Text: zh, Parts: 1, Coding: modem.UCS2},
		{Number: phone, Text: long[:len("访")*70], Parts: 1, Coding: modem.UCS2},
		{Number: phone, Text: long[len("访")*70:], Parts: 1, Coding: modem.UCS2},
	}
	if got := dev.Messages(); !reflect.DeepEqual(got, want) {
		t.Fatalf("messages\n got %+v\nwant %+v", got, want)
	}
	cmds := dev.Commands()
	for _, c := range []string{"AT+CMGF=1", `AT+CSCS="IRA"`, "AT+CSMP=17,167,0,0", `AT+CMGS="+8613800138000"`,
		`AT+CSCS="UCS2"`, "AT+CSMP=17,167,0,8", `AT+CMGS="002B0038003600310033003800300030003100330038003000300030"`} {
		if count(cmds, c) == 0 {
			t.Errorf("no %s in %q", c, cmds)
		}
	}
}

func TestSendRefusesBadInputWithoutTheModem(t *testing.T) {
	dev, s, _ := open(t, sim.ModemConfig{}, modem.Config{MaxParts: 2})
	tests := []struct {
		phone, text string
		want        error
	}{
		{"+86 138 0013 800x", hello, modem.ErrNumber},
		{"", hello, modem.ErrNumber},
		{phone, "", modem.ErrText},
		{phone, "\xff", modem.ErrText},
		{phone, strings.Repeat(zh, 20), modem.ErrTooLong},
	}
	for _, tt := range tests {
		if err := s.Send(context.Background(), tt.phone, tt.text); !errors.Is(err, tt.want) {
			t.Errorf("Send(%q, %d bytes): %v, want %v", tt.phone, len(tt.text), err, tt.want)
		}
	}
	if cmds := dev.Commands(); len(cmds) != 0 {
		t.Fatalf("the modem heard %q", cmds)
	}
}

func TestLogsHoldNoNumberAndNoText(t *testing.T) {
	dev, s, logs := open(t, sim.ModemConfig{URCs: true}, modem.Config{CommandTimeout: 300 * time.Millisecond})
	dev.Unsolicited(`+CMT: "+8613912345678",,"24/11/23,09:00:00+32"`)
	dev.Unsolicited("Incoming secret text")
	dev.FailNext(331, 1)
	dev.DropPrompts(1)
	if err := s.Send(context.Background(), phone, zh); err != nil {
		t.Fatal(err)
	}
	dev.FailNext(330, 1)
	s.Send(context.Background(), phone, hello)
	out := logs.String()
	for _, secret := range []string{"13800138000", "13912345678", hello, zh, "secret", "4F60"} {
		if strings.Contains(out, secret) {
			t.Errorf("log holds %q:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, "modem: message sent") || !strings.Contains(out, "kind=+CMTI") {
		t.Errorf("log lacks what it should say:\n%s", out)
	}
	if h := s.Health(); strings.Contains(h.LastError, "13800138000") {
		t.Errorf("health holds the number: %s", h.LastError)
	}
}

func TestSignal(t *testing.T) {
	_, s, _ := open(t, sim.ModemConfig{URCs: true}, modem.Config{})
	if n, err := s.Signal(context.Background()); err != nil || n != 20 {
		t.Fatalf("signal %d %v", n, err)
	}
}

func TestSenderRecoversAfterReplug(t *testing.T) {
	dev, s, _ := open(t, sim.ModemConfig{}, modem.Config{})
	dev.Unplug()
	eventually(t, "offline", func() bool { return !s.Health().Online })
	if err := s.Send(context.Background(), phone, hello); !errors.Is(err, serial.ErrOffline) {
		t.Fatalf("err %v", err)
	}
	dev.Replug()
	eventually(t, "online", func() bool { return s.Health().Online })
	if err := s.Send(context.Background(), phone, hello); err != nil {
		t.Fatal(err)
	}
	if len(dev.Messages()) != 1 || s.Health().Reconnects != 1 {
		t.Fatalf("messages %v, health %+v", dev.Messages(), s.Health())
	}
}

func TestSendStopsWithTheContext(t *testing.T) {
	dev, s, _ := open(t, sim.ModemConfig{}, modem.Config{})
	dev.SetSilent(true)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Send(ctx, phone, hello) }()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Send ignored its context")
	}
}
