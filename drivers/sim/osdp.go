package sim

import (
	"context"
	"errors"
	"sync"
	"time"

	"gatehouse/drivers/osdp"
	osdpsim "gatehouse/drivers/osdp/sim"
	"gatehouse/drivers/sim/pty"
)

// OSDPBus is an RS-485 bus of simulated OSDP readers (drivers/osdp/sim)
// behind a pseudo-terminal: the control panel opens the path as it opens a
// USB RS-485 adapter.
type OSDPBus struct {
	plug
	pds    []*osdpsim.PD
	cancel context.CancelFunc
	done   chan struct{}
}

// NewOSDPBus plugs a bus with the given readers in at path.
func NewOSDPBus(path string, pds ...*osdpsim.PD) (*OSDPBus, error) {
	d, err := pty.New(path)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &OSDPBus{plug: plug{d}, pds: pds, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(b.done)
		_ = osdpsim.NewBus(pds...).Serve(ctx, &ptyLine{dev: d}) // ends with Close
	}()
	return b, nil
}

// Reader returns the simulated reader at addr, or nil.
func (b *OSDPBus) Reader(addr byte) *osdpsim.PD {
	for _, pd := range b.pds {
		if pd.Address() == addr {
			return pd
		}
	}
	return nil
}

// Close unplugs the bus for good and stops its goroutine.
func (b *OSDPBus) Close() error {
	b.cancel()
	err := b.dev.Close()
	<-b.done
	return err
}

// ptyLine is the simulators' end of a pty.Device as an osdp.Line. Bytes
// written while the device is unplugged are lost, as on a cut wire.
type ptyLine struct {
	dev *pty.Device

	mu       sync.Mutex
	deadline time.Time
}

var _ osdp.Line = (*ptyLine)(nil)

func (l *ptyLine) SetReadDeadline(t time.Time) error {
	l.mu.Lock()
	l.deadline = t
	l.mu.Unlock()
	return nil
}

func (l *ptyLine) Read(b []byte) (int, error) {
	l.mu.Lock()
	d := l.deadline
	l.mu.Unlock()
	if d.IsZero() {
		return l.dev.Read(b)
	}
	return l.dev.ReadTimeout(b, time.Until(d))
}

func (l *ptyLine) Write(b []byte) (int, error) {
	n, err := l.dev.Write(b)
	if errors.Is(err, pty.ErrUnplugged) {
		return len(b), nil
	}
	return n, err
}
