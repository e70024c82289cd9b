package usbrelay_test

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"gatehouse/drivers/serial"
	"gatehouse/drivers/sim"
	"gatehouse/drivers/usbrelay"
)

func TestEncodeKnownAnswers(t *testing.T) {
	tests := []struct {
		c    usbrelay.Command
		want [4]byte
	}{
		{usbrelay.Command{Relay: 1, On: true}, [4]byte{0xA0, 0x01, 0x01, 0xA2}},
		{usbrelay.Command{Relay: 1, On: false}, [4]byte{0xA0, 0x01, 0x00, 0xA1}},
		{usbrelay.Command{Relay: 2, On: true}, [4]byte{0xA0, 0x02, 0x01, 0xA3}},
		{usbrelay.Command{Relay: 8, On: false}, [4]byte{0xA0, 0x08, 0x00, 0xA8}},
		{usbrelay.Command{Relay: 255, On: true}, [4]byte{0xA0, 0xFF, 0x01, 0xA0}}, // the sum wraps
	}
	for _, tt := range tests {
		got, err := tt.c.Encode()
		if err != nil || got != tt.want {
			t.Errorf("Encode(%+v) = % X, %v; want % X", tt.c, got, err, tt.want)
		}
		back, err := usbrelay.ParseCommand(got[:])
		if err != nil || back != tt.c {
			t.Errorf("ParseCommand(% X) = %+v, %v", got, back, err)
		}
	}
	for _, n := range []int{0, -1, 256} {
		if _, err := (usbrelay.Command{Relay: n}).Encode(); !errors.Is(err, usbrelay.ErrRelay) {
			t.Errorf("relay %d: %v", n, err)
		}
	}
}

func TestParseCommandRejects(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"short", []byte{0xA0, 0x01, 0x01}, usbrelay.ErrCommand},
		{"wrong head", []byte{0xA1, 0x01, 0x01, 0xA3}, usbrelay.ErrCommand},
		{"relay 0", []byte{0xA0, 0x00, 0x01, 0xA1}, usbrelay.ErrCommand},
		{"state 2", []byte{0xA0, 0x01, 0x02, 0xA3}, usbrelay.ErrCommand},
		{"bad sum", []byte{0xA0, 0x01, 0x01, 0xA3}, usbrelay.ErrChecksum},
	}
	for _, tt := range tests {
		if _, err := usbrelay.ParseCommand(tt.b); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
}

func FuzzParseCommand(f *testing.F) {
	f.Add([]byte{0xA0, 0x01, 0x01, 0xA2})
	f.Add([]byte{0xA0, 0xFF, 0x01, 0xA0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := usbrelay.ParseCommand(b)
		if err != nil {
			return
		}
		enc, err := c.Encode()
		if err != nil || string(enc[:]) != string(b[:4]) {
			t.Fatalf("parsed %+v from % X, encodes as % X, %v", c, b, enc, err)
		}
	})
}

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

func TestBoardOverAPseudoTerminal(t *testing.T) {
	dev, err := sim.NewUSBRelay(filepath.Join(t.TempDir(), "ttyUSB0"), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	b, err := usbrelay.Open(context.Background(), usbrelay.Config{
		Line:   serial.LineConfig{Port: serial.Config{Path: dev.Path(), Baud: 9600}, MinBackoff: 5 * time.Millisecond},
		Relays: 2,
		Gap:    time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	eventually(t, "online", func() bool { return b.Health().Online })
	ctx := context.Background()

	if err := b.Set(ctx, 2, true); err != nil {
		t.Fatal(err)
	}
	if err := (usbrelay.Relay{Board: b, N: 1}).Pulse(ctx, 10*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	want := []usbrelay.Command{{Relay: 2, On: true}, {Relay: 1, On: true}, {Relay: 1, On: false}}
	eventually(t, "three commands", func() bool { return len(dev.Commands()) == 3 })
	if got := dev.Commands(); !reflect.DeepEqual(got, want) {
		t.Fatalf("commands %+v, want %+v", got, want)
	}
	if got := dev.Relays(); !reflect.DeepEqual(got, []bool{false, true}) {
		t.Fatalf("relays %v", got)
	}
	if err := b.Set(ctx, 3, true); !errors.Is(err, usbrelay.ErrRelay) {
		t.Fatalf("relay 3 of 2: %v", err)
	}

	dev.Unplug()
	eventually(t, "offline", func() bool { return !b.Health().Online })
	if err := b.Set(ctx, 1, true); !errors.Is(err, serial.ErrOffline) {
		t.Fatalf("set while unplugged: %v", err)
	}
	dev.Replug()
	eventually(t, "online", func() bool { return b.Health().Online })
	if err := b.Set(ctx, 1, true); err != nil {
		t.Fatal(err)
	}
	eventually(t, "command after replug", func() bool { return len(dev.Commands()) == 4 })
}
