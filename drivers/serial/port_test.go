package serial

import (
	"errors"
	"syscall"
	"testing"
	"time"

	"gatehouse/drivers/sim/pty"
)

func TestEffectiveTimeout(t *testing.T) {
	tests := []struct{ in, want time.Duration }{
		{0, 100 * time.Millisecond},
		{30 * time.Millisecond, 100 * time.Millisecond},
		{250 * time.Millisecond, 200 * time.Millisecond},
		{time.Minute, 25500 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := effectiveTimeout(tt.in); got != tt.want {
			t.Errorf("effectiveTimeout(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestPortReadTimesOutThenSeesTheHangup(t *testing.T) {
	pair, err := pty.OpenPair()
	if err != nil {
		t.Fatal(err)
	}
	p, err := Open(Config{Path: pair.SlaveName, ReadTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Read(make([]byte, 8)); !errors.Is(err, ErrTimeout) {
		t.Fatalf("idle read: %v, want ErrTimeout", err)
	}
	pair.Close()
	// A hung-up terminal answers every read at once; on a loaded machine one
	// of them may still look slow enough to be a timeout, so read a few.
	for i := 0; ; i++ {
		_, err = p.Read(make([]byte, 8))
		if errors.Is(err, ErrHangup) || errors.Is(err, syscall.EIO) {
			break
		}
		if i == 10 {
			t.Fatalf("read after hang-up: %v, want ErrHangup or EIO", err)
		}
	}
}

func TestOpenMissingDevice(t *testing.T) {
	_, err := Open(Config{Path: "/nonexistent/ttyUSB9"})
	if !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("open missing: %v, want ENOENT", err)
	}
}
