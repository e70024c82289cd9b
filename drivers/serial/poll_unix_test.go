//go:build linux

package serial

import (
	"errors"
	"os"
	"testing"
	"time"

	"gatehouse/drivers/sim/pty"
)

// openFDs counts this process's open descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// The poller path is what Open returns here; Close ends a read that would
// otherwise wait its whole timeout, and gives back both descriptors (tarm's
// and the non-blocking one) so a device replugged all day leaks none.
func TestPolledPortCloseEndsReadAndFreesBothDescriptors(t *testing.T) {
	pair, err := pty.OpenPair()
	if err != nil {
		t.Fatal(err)
	}
	defer pair.Close()
	before := openFDs(t)
	p, err := Open(Config{Path: pair.SlaveName, ReadTimeout: 25 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.(*pollPort); !ok {
		t.Fatalf("Open returned %T, want *pollPort", p)
	}
	if got := openFDs(t) - before; got != 2 {
		t.Errorf("open port holds %d descriptors, want 2", got)
	}
	if _, err := pair.Master.Write([]byte("ab\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	if n, err := p.Read(buf); err != nil || string(buf[:n]) != "ab\n" {
		t.Fatalf("read %q, %v; want \"ab\\n\" (raw mode through the second descriptor)", buf[:n], err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := p.Read(buf)
		done <- err
	}()
	time.Sleep(50 * time.Millisecond) // let the read park
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrClosed) {
			t.Errorf("read after close: %v, want os.ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not end the read in progress")
	}
	if got := openFDs(t); got != before {
		t.Errorf("%d descriptors open after Close, want %d", got, before)
	}
	p.Close() // the line closes a port more than once (write failure, then lost)
}
