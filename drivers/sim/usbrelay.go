package sim

import (
	"errors"
	"os"
	"sync"

	"gatehouse/drivers/sim/pty"
	"gatehouse/drivers/usbrelay"
)

// USBRelay is a CH340 relay board: it obeys four-byte commands and says
// nothing back.
type USBRelay struct {
	plug
	done chan struct{}

	mu       sync.Mutex
	relays   []bool
	commands []usbrelay.Command
	rejected int
}

// NewUSBRelay plugs a board with n relays in at path.
func NewUSBRelay(path string, n int) (*USBRelay, error) {
	d, err := pty.New(path)
	if err != nil {
		return nil, err
	}
	r := &USBRelay{plug: plug{d}, done: make(chan struct{}), relays: make([]bool, n)}
	go r.run()
	return r, nil
}

// Close unplugs the board for good and stops its goroutine.
func (r *USBRelay) Close() error {
	err := r.dev.Close()
	<-r.done
	return err
}

// Commands returns every well-formed command received, in order, including
// those for relays the board does not have.
func (r *USBRelay) Commands() []usbrelay.Command {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]usbrelay.Command(nil), r.commands...)
}

// Relays returns the relays' states.
func (r *USBRelay) Relays() []bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bool(nil), r.relays...)
}

// Rejected counts bytes that were not part of a command.
func (r *USBRelay) Rejected() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rejected
}

func (r *USBRelay) run() {
	defer close(r.done)
	var buf []byte
	chunk := make([]byte, 64)
	for {
		n, err := r.dev.Read(chunk)
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return // closed
		}
		buf = append(buf, chunk[:n]...)
		for len(buf) >= 4 {
			c, err := usbrelay.ParseCommand(buf)
			if err != nil {
				r.mu.Lock()
				r.rejected++
				r.mu.Unlock()
				buf = buf[1:] // look for the next A0
				continue
			}
			buf = buf[4:]
			r.mu.Lock()
			r.commands = append(r.commands, c)
			if c.Relay <= len(r.relays) {
				r.relays[c.Relay-1] = c.On
			}
			r.mu.Unlock()
		}
	}
}
