// Package pty makes pseudo-terminal pairs for device simulators: the
// simulator drives the master side, and the driver opens the slave side
// through a stable path (a symlink), exactly as it opens /dev/ttyUSB0 on the
// lobby computer. Unplug and Replug make the path vanish and come back with a
// fresh terminal behind it, which is what a USB serial adapter does when it
// is pulled out and pushed back in.
//
// Pure Go over golang.org/x/sys/unix (no cgo). Terminals are made on Linux
// only, where the appliance runs; elsewhere OpenPair fails with
// errors.ErrUnsupported.
package pty

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Errors.
var (
	ErrUnplugged = errors.New("pty: device unplugged")
	ErrClosed    = errors.New("pty: device closed")
)

// Pair is one pseudo-terminal. The slave is kept open by the pair itself so
// that reads on the master never fail with EIO while the driver is between
// reconnects (Linux reports EIO on the master once no slave is open).
type Pair struct {
	Master    *os.File
	SlaveName string // /dev/pts/N
	slave     *os.File
}

// Close closes the master first, so a driver holding the slave sees the
// hang-up, then the pair's own slave.
func (p *Pair) Close() error {
	err := p.Master.Close()
	if serr := p.slave.Close(); err == nil {
		err = serr
	}
	return err
}

// Device is a simulated serial device at a stable path: a symlink to the
// slave of the pseudo-terminal currently "plugged in". Read and Write act on
// the master side. A Device is safe for concurrent use.
type Device struct {
	path string

	mu      sync.Mutex
	pair    *Pair // nil while unplugged
	closed  bool
	changed chan struct{} // closed and replaced on every plug, unplug and close
}

// New creates a device plugged in at path (which must not be in use by
// anything but an earlier device's symlink).
func New(path string) (*Device, error) {
	d := &Device{path: path, changed: make(chan struct{})}
	if err := d.Replug(); err != nil {
		return nil, err
	}
	return d, nil
}

// Path is the stable path a driver opens.
func (d *Device) Path() string { return d.path }

// SlaveName is the /dev/pts name behind the path, or "" while unplugged.
func (d *Device) SlaveName() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.pair == nil {
		return ""
	}
	return d.pair.SlaveName
}

// Plugged reports whether the device is plugged in.
func (d *Device) Plugged() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.pair != nil
}

// Replug plugs a fresh pseudo-terminal in behind the path. Plugging in a
// device that is already plugged in is a no-op.
func (d *Device) Replug() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	if d.pair != nil {
		return nil
	}
	p, err := OpenPair()
	if err != nil {
		return err
	}
	// Symlink beside the target, then rename over it, so the path never
	// points at nothing half-made.
	tmp := filepath.Join(filepath.Dir(d.path), "."+filepath.Base(d.path)+".new")
	os.Remove(tmp)
	if err := os.Symlink(p.SlaveName, tmp); err != nil {
		p.Close()
		return fmt.Errorf("pty: link: %w", err)
	}
	if err := os.Rename(tmp, d.path); err != nil {
		os.Remove(tmp)
		p.Close()
		return fmt.Errorf("pty: link: %w", err)
	}
	d.pair = p
	d.signal()
	return nil
}

// Unplug removes the path and closes the terminal behind it: a driver
// holding it open sees a hang-up, and a driver trying to open it finds
// nothing. Unplugging an unplugged device is a no-op.
func (d *Device) Unplug() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.unplug()
}

func (d *Device) unplug() error {
	if d.pair == nil {
		return nil
	}
	err := os.Remove(d.path)
	if errors.Is(err, os.ErrNotExist) {
		err = nil
	}
	if cerr := d.pair.Close(); err == nil {
		err = cerr
	}
	d.pair = nil
	d.signal()
	return err
}

// signal wakes every Read waiting for a change; called with mu held.
func (d *Device) signal() {
	close(d.changed)
	d.changed = make(chan struct{})
}

// Read reads what the driver wrote. While the device is unplugged it waits
// for the next Replug; after Close it returns ErrClosed.
func (d *Device) Read(b []byte) (int, error) {
	return d.read(b, time.Time{})
}

// ReadTimeout is Read that gives up after timeout with
// os.ErrDeadlineExceeded: a simulated slave uses it to notice the silence
// that ends a frame.
func (d *Device) ReadTimeout(b []byte, timeout time.Duration) (int, error) {
	return d.read(b, time.Now().Add(timeout))
}

func (d *Device) read(b []byte, deadline time.Time) (int, error) {
	for {
		d.mu.Lock()
		if d.closed {
			d.mu.Unlock()
			return 0, ErrClosed
		}
		p, changed := d.pair, d.changed
		d.mu.Unlock()
		if p == nil {
			if !wait(changed, deadline) {
				return 0, os.ErrDeadlineExceeded
			}
			continue
		}
		if err := p.Master.SetReadDeadline(deadline); err != nil {
			if errors.Is(err, os.ErrClosed) {
				continue
			}
			return 0, fmt.Errorf("pty: %w", err)
		}
		n, err := p.Master.Read(b)
		if n > 0 || err == nil {
			return n, nil
		}
		if errors.Is(err, os.ErrClosed) {
			continue // unplugged or closed under us: look again
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return 0, err
		}
		return 0, fmt.Errorf("pty: read: %w", err)
	}
}

// wait waits for ch to close, or until deadline (if set) passes.
func wait(ch <-chan struct{}, deadline time.Time) bool {
	if deadline.IsZero() {
		<-ch
		return true
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-ch:
		return true
	case <-t.C:
		return false
	}
}

// Write writes bytes for the driver to read. It fails with ErrUnplugged
// while the device is unplugged.
func (d *Device) Write(b []byte) (int, error) {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return 0, ErrClosed
	}
	p := d.pair
	d.mu.Unlock()
	if p == nil {
		return 0, ErrUnplugged
	}
	n, err := p.Master.Write(b)
	if err != nil {
		if errors.Is(err, os.ErrClosed) {
			return n, ErrUnplugged
		}
		return n, fmt.Errorf("pty: write: %w", err)
	}
	return n, nil
}

// Close unplugs the device for good.
func (d *Device) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	err := d.unplug()
	d.closed = true
	close(d.changed)
	return err
}
