// Package sim simulates the lobby's serial devices — QR scanners, a Modbus
// RTU relay board, a USB relay board, an MRZ document reader, a resident ID
// card reader — on pseudo-terminals, speaking the same bytes as the real
// ones. Tests and the demo building open a simulator's Path with the real
// drivers; the simulator's methods play the person at the lane (Scan, PresentDocument,
// SetInput) and let a test look at what the device was told (Coils,
// Commands). Unplug and Replug pull the device out and push it back in.
//
// Each simulator owns the goroutine that reads its side of the terminal,
// and Close stops it.
package sim

import (
	"sync"

	"gatehouse/drivers/sim/pty"
)

// plug is what every simulator shares: a device at a stable path.
type plug struct {
	dev *pty.Device
}

// Path is where the driver opens the device.
func (p plug) Path() string { return p.dev.Path() }

// Unplug pulls the device out: the path vanishes and a driver holding it
// open is hung up.
func (p plug) Unplug() error { return p.dev.Unplug() }

// Replug pushes the device back in at the same path.
func (p plug) Replug() error { return p.dev.Replug() }

// Plugged reports whether the device is plugged in.
func (p plug) Plugged() bool { return p.dev.Plugged() }

// answer reads d until it is closed, hands each chunk to feed under mu and
// writes back what feed returns, then closes done. It is the whole I/O of a
// simulator whose behaviour lives in a state machine that does none (the
// printer, the modem), so their fuzz tests drive the same feed.
func answer(d *pty.Device, mu *sync.Mutex, feed func([]byte) []byte, done chan<- struct{}) {
	defer close(done)
	buf := make([]byte, 4096)
	for {
		n, err := d.Read(buf)
		if err != nil {
			return // closed
		}
		mu.Lock()
		out := feed(buf[:n])
		mu.Unlock()
		if len(out) > 0 {
			d.Write(out)
		}
	}
}
