//go:build linux

package pty

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// openSlave opens the device's path the way a driver does.
func openSlave(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func allBytes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func TestBinaryPassesUnchangedBothWays(t *testing.T) {
	d, err := New(filepath.Join(t.TempDir(), "ttySIM0"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	s := openSlave(t, d.Path())
	want := allBytes() // includes CR, LF, NUL, XON/XOFF, ^C, DEL: everything a cooked tty would mangle

	t.Run("master to slave", func(t *testing.T) {
		if _, err := d.Write(want); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(want))
		if _, err := io.ReadFull(s, got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("slave read %x, want %x", got, want)
		}
	})
	t.Run("slave to master", func(t *testing.T) {
		if _, err := s.Write(want); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(want))
		if _, err := io.ReadFull(d, got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("master read %x, want %x", got, want)
		}
	})
}

func TestUnplugRemovesPathAndHangsUpTheDriver(t *testing.T) {
	d, err := New(filepath.Join(t.TempDir(), "ttySIM0"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	s := openSlave(t, d.Path())
	if err := d.Unplug(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(d.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("path after unplug: %v, want not exist", err)
	}
	if d.Plugged() || d.SlaveName() != "" {
		t.Fatal("device still plugged after Unplug")
	}
	// A hung-up terminal reads end of file or EIO, never blocks.
	n, err := s.Read(make([]byte, 8))
	if n != 0 || err == nil {
		t.Fatalf("read after unplug: %d, %v; want 0 and an error", n, err)
	}
	if _, err := d.Write([]byte("x")); !errors.Is(err, ErrUnplugged) {
		t.Fatalf("write while unplugged: %v, want ErrUnplugged", err)
	}
}

func TestReplugServesTheSamePathAndWakesReaders(t *testing.T) {
	d, err := New(filepath.Join(t.TempDir(), "ttySIM0"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Unplug(); err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte, 1)
	go func() {
		b := make([]byte, 16)
		n, err := d.Read(b) // waits across the outage
		if err != nil {
			got <- nil
			return
		}
		got <- b[:n]
	}()
	if err := d.Replug(); err != nil {
		t.Fatal(err)
	}
	s := openSlave(t, d.Path())
	if _, err := s.Write([]byte("back")); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-got:
		if string(b) != "back" {
			t.Fatalf("read %q after replug, want %q", b, "back")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("reader did not wake after replug")
	}
}

func TestCloseEndsBlockedRead(t *testing.T) {
	d, err := New(filepath.Join(t.TempDir(), "ttySIM0"))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := d.Read(make([]byte, 1))
		done <- err
	}()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("read after close: %v, want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not end a blocked Read")
	}
	if err := d.Replug(); !errors.Is(err, ErrClosed) {
		t.Fatalf("replug after close: %v, want ErrClosed", err)
	}
}

func TestReadTimeout(t *testing.T) {
	d, err := New(filepath.Join(t.TempDir(), "ttySIM0"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.ReadTimeout(make([]byte, 1), 10*time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("idle read: %v, want deadline exceeded", err)
	}
	d.Unplug()
	if _, err := d.ReadTimeout(make([]byte, 1), 10*time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("unplugged read: %v, want deadline exceeded", err)
	}
	d.Replug()
	s := openSlave(t, d.Path())
	s.Write([]byte("k"))
	b := make([]byte, 1)
	if n, err := d.ReadTimeout(b, 10*time.Second); n != 1 || err != nil || b[0] != 'k' {
		t.Fatalf("read %q, %v", b[:n], err)
	}
	// A plain Read after a timed one is not cut short by the old deadline.
	go func() {
		time.Sleep(20 * time.Millisecond)
		s.Write([]byte("m"))
	}()
	if n, err := d.Read(b); n != 1 || err != nil || b[0] != 'm' {
		t.Fatalf("read %q, %v", b[:n], err)
	}
}
