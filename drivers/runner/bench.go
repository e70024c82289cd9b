package runner

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"gatehouse/appliance/access"
	"gatehouse/appliance/device"
	"gatehouse/drivers/idcard"
	isapisim "gatehouse/drivers/isapi/sim"
	"gatehouse/drivers/osdp"
	osdpsim "gatehouse/drivers/osdp/sim"
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
	lines   map[string]*sim.Scanner       // scanner ports
	docs    map[string]*sim.MRZReader     // document reader ports
	idcards map[string]*sim.IDCardReader  // resident ID card reader ports
	modbus  map[string]*sim.ModbusBoard   // Modbus ports
	relays  map[string]*sim.USBRelay      // USB relay ports
	osdp    map[string]*sim.OSDPBus       // OSDP buses
	prints  map[string]*sim.Printer       // receipt printer ports
	modems  map[string]*sim.Modem         // GSM modem ports
	keys    KeyStore                      // keys the simulated OSDP readers already hold
	inputs  map[string]int                // Modbus ports: how many inputs the board has
	faces   map[string]*isapisim.Terminal // face terminals on loopback HTTP, by device ID
	closers []func() error
}

var _ device.BenchOutputs = (*Bench)(nil)

// NewBench starts a simulator behind every enabled device whose port lies
// in dir, replacing whatever an earlier run left at the path.
func NewBench(dir string, devs []device.Device) (*Bench, error) {
	return NewBenchKeys(dir, devs, nil)
}

// NewBenchKeys is NewBench whose simulated OSDP readers hold the keys the
// key store has for them (a reader keyed at an earlier run keeps its key,
// as hardware does); readers without one start in install mode.
func NewBenchKeys(dir string, devs []device.Device, keys KeyStore) (*Bench, error) {
	dir = filepath.Clean(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	b := &Bench{dir: dir, lines: map[string]*sim.Scanner{}, docs: map[string]*sim.MRZReader{}, idcards: map[string]*sim.IDCardReader{},
		modbus: map[string]*sim.ModbusBoard{}, relays: map[string]*sim.USBRelay{}, inputs: map[string]int{},
		osdp: map[string]*sim.OSDPBus{}, prints: map[string]*sim.Printer{}, modems: map[string]*sim.Modem{}, keys: keys,
		faces: map[string]*isapisim.Terminal{}}
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
	case device.IDCard:
		s, err := sim.NewIDCardReader(port)
		if err != nil {
			return err
		}
		b.idcards[port] = s
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
			if _, first, n, ok := d.Inputs(); ok {
				cfg.Inputs = max(cfg.Inputs, int(first)+int(n))
			}
			if d.Role == device.ElevatorBoard {
				cfg.Coils = max(cfg.Coils, int(pt.N)+access.MaxFloorCoils)
			}
		}
		s, err := sim.NewModbusBoard(port, cfg)
		if err != nil {
			return err
		}
		// A key cabinet starts full: every slot holds its key.
		for _, d := range ds {
			if _, first, n, ok := d.Inputs(); ok && d.Role == device.KeyCabinet {
				s.SetInputs(int(first), slices.Repeat([]bool{true}, int(n)))
			}
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
	case device.OSDP:
		var pds []*osdpsim.PD
		for _, d := range ds {
			addr, err := device.OSDPAddress(d.Address)
			if err != nil {
				continue
			}
			cfg := osdpsim.Config{Address: byte(addr), Secure: d.Options.Secure, Install: true,
				ID: osdp.PDID{Vendor: [3]byte{0x0A, 0x0B, 0x0C}, Model: 1, Version: 1, Serial: uint32(1000 + addr)}}
			if b.keys != nil {
				if k, err := b.keys.LoadKey(context.Background(), d.ID); err == nil {
					if cfg.Key, err = osdp.NewKey(k); err == nil {
						cfg.Install = false
					}
				}
			}
			pds = append(pds, osdpsim.New(cfg))
		}
		s, err := sim.NewOSDPBus(port, pds...)
		if err != nil {
			return err
		}
		b.osdp[port] = s
		b.closers = append(b.closers, s.Close)
	case device.ESCPOS:
		s, err := sim.NewPrinter(port)
		if err != nil {
			return err
		}
		b.prints[port] = s
		b.closers = append(b.closers, s.Close)
	case device.Modem:
		s, err := sim.NewModem(port, sim.ModemConfig{})
		if err != nil {
			return err
		}
		b.modems[port] = s
		b.closers = append(b.closers, s.Close)
	}
	return nil
}

// OSDPReader is the simulated reader behind d, or nil.
func (b *Bench) OSDPReader(d device.Device) *osdpsim.PD {
	b.mu.Lock()
	bus := b.osdp[d.Port]
	b.mu.Unlock()
	addr, err := device.OSDPAddress(d.Address)
	if bus == nil || err != nil {
		return nil
	}
	return bus.Reader(byte(addr))
}

// ModbusBoard is the simulated Modbus board behind d, or nil.
func (b *Bench) ModbusBoard(d device.Device) *sim.ModbusBoard {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.modbus[d.Port]
}

// Printer is the simulated printer behind d, or nil.
func (b *Bench) Printer(d device.Device) *sim.Printer {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.prints[d.Port]
}

// Modem is the simulated modem behind d, or nil.
func (b *Bench) Modem(d device.Device) *sim.Modem {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.modems[d.Port]
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
	return b.lines[d.Port] != nil || b.docs[d.Port] != nil || b.modbus[d.Port] != nil || b.relays[d.Port] != nil ||
		b.osdp[d.Port] != nil || b.prints[d.Port] != nil || b.modems[d.Port] != nil || b.faces[d.ID] != nil
}

// Present implements device.Bench: a scanner sends text as one line (a
// line break in it is refused: it would be two scans), a document reader
// sends text's lines as a document.
func (b *Bench) Present(d device.Device, text string) error {
	b.mu.Lock()
	line, doc, id := b.lines[d.Port], b.docs[d.Port], b.idcards[d.Port]
	b.mu.Unlock()
	switch {
	case id != nil:
		id.PresentCard(DemoIDCard(strings.TrimSpace(text)))
		return nil
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
	if pd := b.OSDPReader(d); pd != nil {
		return presentOSDP(pd, strings.TrimSpace(text))
	}
	return device.ErrNotSimulated
}

// SetInput implements device.Bench: the input of a simulated Modbus board
// behind a door contact or a fire-alarm input.
func (b *Bench) SetInput(d device.Device, on bool) error {
	b.mu.Lock()
	board, inputs := b.modbus[d.Port], b.inputs[d.Port]
	b.mu.Unlock()
	pt, err := device.ModbusPoint(d.Address)
	if board == nil || err != nil || (d.Role != device.DoorContact && d.Role != device.FireInput) || int(pt.N) >= inputs {
		return device.ErrNotSimulated
	}
	board.SetInput(int(pt.N), on)
	return nil
}

// SetSlot implements device.CabinetBench: a key put into (present) or
// taken from the slot at input n of a simulated key cabinet.
func (b *Bench) SetSlot(d device.Device, n int, present bool) error {
	b.mu.Lock()
	board, inputs := b.modbus[d.Port], b.inputs[d.Port]
	b.mu.Unlock()
	_, first, count, ok := d.Inputs()
	if board == nil || !ok || d.Role != device.KeyCabinet || n < int(first) || n >= int(first)+int(count) || n >= inputs {
		return device.ErrNotSimulated
	}
	board.SetInput(n, present)
	return nil
}

// CabinetSlots implements device.CabinetBench: what a simulated key
// cabinet's switches say now, from its first input.
func (b *Bench) CabinetSlots(d device.Device) (first int, present []bool, err error) {
	b.mu.Lock()
	board := b.modbus[d.Port]
	b.mu.Unlock()
	_, f, count, ok := d.Inputs()
	if board == nil || !ok || d.Role != device.KeyCabinet {
		return 0, nil, device.ErrNotSimulated
	}
	in := board.Inputs()
	if int(f)+int(count) > len(in) {
		return 0, nil, device.ErrNotSimulated
	}
	return int(f), in[f : int(f)+int(count)], nil
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
	case b.idcards[port] != nil:
		return b.idcards[port]
	case b.modbus[port] != nil:
		return b.modbus[port]
	case b.relays[port] != nil:
		return b.relays[port]
	case b.osdp[port] != nil:
		return b.osdp[port]
	case b.prints[port] != nil:
		return b.prints[port]
	case b.modems[port] != nil:
		return b.modems[port]
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

// presentOSDP makes a simulated reader deliver text: keypad digits ending
// in "#" as key presses, "FC:NUMBER" as a 26-bit Wiegand card, anything
// else as a card UID in hex.
func presentOSDP(pd *osdpsim.PD, text string) error {
	if strings.HasSuffix(text, "#") && strings.Trim(text, "0123456789*#") == "" {
		pd.PressKeys(text)
		return nil
	}
	if fc, n, ok := strings.Cut(text, ":"); ok {
		f, err1 := strconv.Atoi(fc)
		c, err2 := strconv.Atoi(n)
		if err1 != nil || err2 != nil || f < 0 || c < 0 {
			return fmt.Errorf("runner: want FC:NUMBER: %w", device.ErrNotSupported)
		}
		return pd.PresentWiegand(26, uint(f), uint(c))
	}
	uid, err := hex.DecodeString(text)
	if err != nil || len(uid) == 0 || len(uid) > 16 {
		return fmt.Errorf("runner: want a card UID in hex: %w", device.ErrNotSupported)
	}
	pd.PresentUID(uid)
	return nil
}

// Printouts implements device.BenchOutputs.
func (b *Bench) Printouts() []device.Printout {
	b.mu.Lock()
	ports := make([]string, 0, len(b.prints))
	for port := range b.prints {
		ports = append(ports, port)
	}
	b.mu.Unlock()
	slices.Sort(ports)
	var out []device.Printout
	for _, port := range ports {
		for _, j := range b.prints[port].Jobs() {
			p := device.Printout{Port: port, Text: j.Text()}
			for _, q := range j.QR {
				p.QR = append(p.QR, q.Data)
			}
			out = append(out, p)
		}
	}
	return out
}

// SentSMS implements device.BenchOutputs.
func (b *Bench) SentSMS() []device.SentSMS {
	b.mu.Lock()
	ports := make([]string, 0, len(b.modems))
	for port := range b.modems {
		ports = append(ports, port)
	}
	b.mu.Unlock()
	slices.Sort(ports)
	var out []device.SentSMS
	for _, port := range ports {
		for _, m := range b.modems[port].Messages() {
			out = append(out, device.SentSMS{Port: port, Number: m.Number, Text: m.Text})
		}
	}
	return out
}

// IDCardReader is the simulated ID card reader behind d's port, or nil.
func (b *Bench) IDCardReader(d device.Device) *sim.IDCardReader {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.idcards[d.Port]
}

// DemoIDCard is a resident ID card for the simulator: name is the holder's
// name ("" for a sample one); the number carries a valid check digit.
func DemoIDCard(name string) idcard.Card {
	if name == "" {
		name = "张晓燕"
	}
	return idcard.Card{Kind: idcard.Resident, Name: name, Sex: idcard.SexFemale, Ethnicity: "01",
		Birth: idcard.Date{Year: 1949, Month: 12, Day: 31}, Address: "上海市浦东新区世纪大道100号", Number: "11010519491231002X",
		Authority: "上海市公安局浦东分局", ValidFrom: idcard.Date{Year: 2020, Month: 1, Day: 1}, ValidTo: idcard.Date{Year: 2040, Month: 1, Day: 1}}
}

// StartFace starts a simulated face terminal for d on a loopback port,
// with d's account and password (opened), and returns its address for d's
// Port. A face terminal speaks HTTP, not a serial line: it lives on the
// bench's loopback, not under its directory.
func (b *Bench) StartFace(d device.Device, password string) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	t := isapisim.New(isapisim.Config{User: d.Options.User, Password: password, SelfOpen: d.Options.Mode == device.FaceTerminalDecides})
	srv := &http.Server{Handler: t.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	b.mu.Lock()
	b.faces[d.ID] = t
	b.closers = append(b.closers, srv.Close)
	b.mu.Unlock()
	return "http://" + ln.Addr().String(), nil
}

// FaceTerminal is the simulated face terminal of d, nil if none.
func (b *Bench) FaceTerminal(d device.Device) *isapisim.Terminal {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.faces[d.ID]
}

// Recognise makes d's simulated terminal recognise person number: it
// pushes "face authentication passed" to the appliance. It implements
// device.FaceBench.
func (b *Bench) Recognise(ctx context.Context, d device.Device, number string) error {
	t := b.FaceTerminal(d)
	if t == nil {
		return device.ErrNotSimulated
	}
	code, err := t.Recognise(ctx, number)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("runner: the appliance answered the simulated terminal's push with HTTP %d", code)
	}
	return nil
}
