package runner

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"gatehouse/appliance/device"
	"gatehouse/drivers/sim"
)

// Bench is simulated hardware on pseudo-terminals behind the configured
// ports of a directory (serve --demo puts them under the data directory):
// a scanner for each scanner port, a Modbus board, a USB relay board, an
// MRZ reader. The runner opens those ports like any other; the demo page
// plays the person at the lane through the Bench. It implements
// device.Bench.
type Bench struct {
	dir string

	mu      sync.Mutex
	lines   map[string]*sim.Scanner     // scanner ports
	docs    map[string]*sim.MRZReader   // document reader ports
	modbus  map[string]*sim.ModbusBoard // Modbus ports
	relays  map[string]*sim.USBRelay    // USB relay ports
	inputs  map[string]int              // Modbus ports: how many inputs the board has
	closers []func() error
}

// NewBench starts a simulator behind every enabled device whose port lies
// in dir, replacing whatever an earlier run left at the path.
func NewBench(dir string, devs []device.Device) (*Bench, error) {
	dir = filepath.Clean(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	b := &Bench{dir: dir, lines: map[string]*sim.Scanner{}, docs: map[string]*sim.MRZReader{},
		modbus: map[string]*sim.ModbusBoard{}, relays: map[string]*sim.USBRelay{}, inputs: map[string]int{}}
	ports := map[string][]device.Device{}
	var order []string
	for _, d := range devs {
		if !d.Enabled || !b.inside(d.Port) {
			continue
		}
		if _, ok := ports[d.Port]; !ok {
			order = append(order, d.Port)
		}
		ports[d.Port] = append(ports[d.Port], d)
	}
	for _, port := range order {
		if err := b.plug(port, ports[port]); err != nil {
			b.Close()
			return nil, err
		}
	}
	return b, nil
}

// inside reports whether path lies in the bench's directory.
func (b *Bench) inside(path string) bool {
	rel, err := filepath.Rel(b.dir, path)
	return err == nil && rel != "." && !strings.HasPrefix(rel, "..") && filepath.IsAbs(path) == filepath.IsAbs(b.dir)
}

func (b *Bench) plug(port string, ds []device.Device) error {
	switch ds[0].Protocol {
	case device.Scanner:
		s, err := sim.NewScanner(port)
		if err != nil {
			return err
		}
		b.lines[port] = s
		b.closers = append(b.closers, s.Close)
	case device.MRZ:
		s, err := sim.NewMRZReader(port)
		if err != nil {
			return err
		}
		b.docs[port] = s
		b.closers = append(b.closers, s.Close)
	case device.Modbus:
		// The simulated board answers one slave address: the first
		// device's. Coils and inputs cover every point configured.
		cfg := sim.ModbusBoardConfig{Coils: 8, Inputs: 8}
		for i, d := range ds {
			pt, err := device.ModbusPoint(d.Address)
			if err != nil {
				continue
			}
			if i == 0 {
				cfg.Address = pt.Slave
			}
			cfg.Coils, cfg.Inputs = max(cfg.Coils, int(pt.N)+1), max(cfg.Inputs, int(pt.N)+1)
		}
		s, err := sim.NewModbusBoard(port, cfg)
		if err != nil {
			return err
		}
		b.modbus[port], b.inputs[port] = s, cfg.Inputs
		b.closers = append(b.closers, s.Close)
	case device.USBRelay:
		n := 1
		for _, d := range ds {
			if k, err := device.RelayNumber(d.Address); err == nil {
				n = max(n, k)
			}
		}
		s, err := sim.NewUSBRelay(port, n)
		if err != nil {
			return err
		}
		b.relays[port] = s
		b.closers = append(b.closers, s.Close)
	}
	return nil
}

// Close unplugs every simulator and stops their goroutines.
func (b *Bench) Close() error {
	b.mu.Lock()
	cs := b.closers
	b.closers = nil
	b.mu.Unlock()
	var errs []error
	for _, c := range cs {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}

// Simulates implements device.Bench.
func (b *Bench) Simulates(d device.Device) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lines[d.Port] != nil || b.docs[d.Port] != nil || b.modbus[d.Port] != nil || b.relays[d.Port] != nil
}

// Present implements device.Bench: a scanner sends text as one line (a
// line break in it is refused: it would be two scans), a document reader
// sends text's lines as a document.
func (b *Bench) Present(d device.Device, text string) error {
	b.mu.Lock()
	line, doc := b.lines[d.Port], b.docs[d.Port]
	b.mu.Unlock()
	switch {
	case line != nil:
		if strings.ContainsAny(text, "\r\n") {
			return fmt.Errorf("runner: one line at a time: %w", device.ErrNotSupported)
		}
		return line.Scan(text)
	case doc != nil:
		var lines []string
		for _, l := range strings.FieldsFunc(text, func(r rune) bool { return r == '\n' || r == '\r' }) {
			if l = strings.TrimSpace(l); l != "" {
				lines = append(lines, l)
			}
		}
		return doc.PresentDocument(lines...)
	}
	return device.ErrNotSimulated
}

// SetInput implements device.Bench: the input of a simulated Modbus board
// behind a door contact.
func (b *Bench) SetInput(d device.Device, on bool) error {
	b.mu.Lock()
	board, inputs := b.modbus[d.Port], b.inputs[d.Port]
	b.mu.Unlock()
	pt, err := device.ModbusPoint(d.Address)
	if board == nil || err != nil || d.Role != device.DoorContact || int(pt.N) >= inputs {
		return device.ErrNotSimulated
	}
	board.SetInput(int(pt.N), on)
	return nil
}

// Boards implements device.Bench.
func (b *Bench) Boards() []device.Board {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []device.Board
	for port, s := range b.modbus {
		bd := device.Board{Port: port, States: s.Coils()}
		for _, w := range s.CoilLog() {
			bd.Log = append(bd.Log, device.Switch{Point: w.Coil, On: w.On})
		}
		out = append(out, bd)
	}
	for port, s := range b.relays {
		bd := device.Board{Port: port, First: 1, States: s.Relays()}
		for _, c := range s.Commands() {
			bd.Log = append(bd.Log, device.Switch{Point: c.Relay, On: c.On})
		}
		out = append(out, bd)
	}
	slices.SortFunc(out, func(a, b device.Board) int { return strings.Compare(a.Port, b.Port) })
	return out
}

// plugged is what Unplug and Replug act on.
type plugged interface {
	Unplug() error
	Replug() error
}

func (b *Bench) plugAt(port string) plugged {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.lines[port] != nil:
		return b.lines[port]
	case b.docs[port] != nil:
		return b.docs[port]
	case b.modbus[port] != nil:
		return b.modbus[port]
	case b.relays[port] != nil:
		return b.relays[port]
	}
	return nil
}

// Unplug pulls the simulated device behind d's port out, as a USB adapter
// is pulled: the port's path vanishes and the driver sees a hang-up.
func (b *Bench) Unplug(d device.Device) error {
	p := b.plugAt(d.Port)
	if p == nil {
		return device.ErrNotSimulated
	}
	return p.Unplug()
}

// Replug pushes it back in at the same path.
func (b *Bench) Replug(d device.Device) error {
	p := b.plugAt(d.Port)
	if p == nil {
		return device.ErrNotSimulated
	}
	return p.Replug()
}
