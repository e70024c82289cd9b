package sim_test

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"gatehouse/drivers/modem"
	"gatehouse/drivers/sim"
)

// plugModem plugs in a simulated modem and opens a sender on it. Timeouts
// are generous; retries quick.
func plugModem(t *testing.T, mc sim.ModemConfig, cfg modem.Config) (*sim.Modem, *modem.Sender) {
	t.Helper()
	dev, err := sim.NewModem(filepath.Join(t.TempDir(), "ttyGSM"), mc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	cfg.Line = fastLine(dev.Path())
	cfg.Line.Name = "modem"
	if cfg.RetryWait == 0 {
		cfg.RetryWait = 10 * time.Millisecond
	}
	s, err := modem.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	eventually(t, "modem online", func() bool { return s.Health().Online })
	return dev, s
}

const (
	smsHost    = "+8613800138000"
	smsEnglish = "Your visitor Ann Lee is waiting at reception (Gate 2)."
	smsChinese = "您好：访客张三已到达一楼前台，请下楼接待。"
)

func TestModemSendsAShortEnglishSMS(t *testing.T) {
	dev, s := plugModem(t, sim.ModemConfig{}, modem.Config{})
	if err := s.Send(context.Background(), smsHost, smsEnglish); err != nil {
		t.Fatal(err)
	}
	want := []sim.SMS{{Number: smsHost, Text: smsEnglish, Parts: 1, Coding: modem.GSM7}}
	if got := dev.Messages(); !reflect.DeepEqual(got, want) {
		t.Fatalf("messages %+v, want %+v", got, want)
	}
	// PDU mode, set up before the message.
	cmds := dev.Commands()
	if !reflect.DeepEqual(cmds[:4], []string{"AT", "ATE0", "AT+CMEE=1", "AT+CMGF=0"}) || !strings.HasPrefix(cmds[4], "AT+CMGS=") {
		t.Fatalf("commands %q", cmds)
	}
}

func TestModemSendsAChineseSMS(t *testing.T) {
	dev, s := plugModem(t, sim.ModemConfig{}, modem.Config{})
	if err := s.Send(context.Background(), "138 0013 8000", smsChinese); err != nil {
		t.Fatal(err)
	}
	want := []sim.SMS{{Number: "13800138000", Text: smsChinese, Parts: 1, Coding: modem.UCS2}}
	if got := dev.Messages(); !reflect.DeepEqual(got, want) {
		t.Fatalf("messages %+v, want %+v", got, want)
	}
}

func TestModemSendsALongChineseSMSInThreeParts(t *testing.T) {
	long := strings.Repeat("访客张三已到达一楼前台，请下楼接待。", 8) // 144 characters: 67 + 67 + 10
	dev, s := plugModem(t, sim.ModemConfig{}, modem.Config{})
	if err := s.Send(context.Background(), smsHost, long); err != nil {
		t.Fatal(err)
	}
	want := []sim.SMS{{Number: smsHost, Text: long, Parts: 3, Coding: modem.UCS2}}
	if got := dev.Messages(); !reflect.DeepEqual(got, want) {
		t.Fatalf("messages %+v, want %+v", got, want)
	}
	subs := dev.Submits()
	if len(subs) != 3 {
		t.Fatalf("%d PDUs", len(subs))
	}
	for i, sub := range subs {
		c := sub.Concat
		if c.Total != 3 || int(c.Seq) != i+1 || c.Ref != subs[0].Concat.Ref || sub.Coding != modem.UCS2 {
			t.Fatalf("part %d: %+v", i+1, c)
		}
	}
	// The next long message has another reference.
	if err := s.Send(context.Background(), smsHost, long); err != nil {
		t.Fatal(err)
	}
	if next := dev.Submits()[3].Concat.Ref; next == subs[0].Concat.Ref {
		t.Fatalf("reference %d used twice", next)
	}
	if got := dev.Messages(); len(got) != 2 || got[1].Text != long {
		t.Fatalf("second message %+v", got)
	}
}

func TestModemRefusalIsAnErrorAndNotRetried(t *testing.T) {
	dev, s := plugModem(t, sim.ModemConfig{}, modem.Config{})
	dev.FailNext(330, 5) // SMSC address unknown: trying again will not help
	err := s.Send(context.Background(), smsHost, smsEnglish)
	var cms modem.CMSError
	if !errors.As(err, &cms) || cms != 330 {
		t.Fatalf("err %v", err)
	}
	if len(dev.Messages()) != 0 || countCommands(dev.Commands(), "AT+CMGS") != 1 {
		t.Fatalf("messages %v, commands %q", dev.Messages(), dev.Commands())
	}
	if h := s.Health(); h.Errors != 1 || !strings.Contains(h.LastError, "330") {
		t.Fatalf("health %+v", h)
	}
	// The modem works again: so does the sender.
	dev.FailNext(0, 0)
	if err := s.Send(context.Background(), smsHost, smsEnglish); err != nil {
		t.Fatal(err)
	}
}

func TestModemSilentIsATimeout(t *testing.T) {
	dev, s := plugModem(t, sim.ModemConfig{}, modem.Config{CommandTimeout: 200 * time.Millisecond, Attempts: 2})
	dev.SetSilent(true)
	if err := s.Send(context.Background(), smsHost, smsEnglish); !errors.Is(err, modem.ErrTimeout) {
		t.Fatalf("err %v", err)
	}
	if h := s.Health(); h.Timeouts != 2 {
		t.Fatalf("timeouts %d", h.Timeouts)
	}
	dev.SetSilent(false)
	if err := s.Send(context.Background(), smsHost, smsEnglish); err != nil {
		t.Fatal(err)
	}
	if len(dev.Messages()) != 1 {
		t.Fatalf("messages %v", dev.Messages())
	}
}

func countCommands(lines []string, prefix string) int {
	n := 0
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}
