package sim

import (
	"errors"
	"os"
	"sync"
	"time"

	"gatehouse/drivers/modbus"
	"gatehouse/drivers/sim/pty"
)

// Mode is how a simulated board behaves.
type Mode int

// Modes.
const (
	Answer  Mode = iota // a healthy board
	Silent              // a dead board: hears nothing, says nothing
	Garbage             // a board on a noisy wire: replies arrive with a broken CRC
)

// ModbusBoardConfig configures a ModbusBoard.
type ModbusBoardConfig struct {
	Address byte // slave address, default 1
	Coils   int  // relays, default 8
	Inputs  int  // discrete inputs, default 8
}

// CoilWrite is one write the board applied.
type CoilWrite struct {
	Coil int
	On   bool
}

// WriteFrame is one write request the board obeyed, as it came: function
// 0x05 (one coil) or 0x0F (several at once), the first coil and the
// values. A lift car's board is written whole in one 0x0F.
type WriteFrame struct {
	Function byte
	First    int
	Values   []bool
}

// ModbusBoard is a Modbus RTU relay and input module: coils switch relays,
// discrete inputs read door contacts and exit buttons.
type ModbusBoard struct {
	plug
	cfg  ModbusBoardConfig
	done chan struct{}

	mu       sync.Mutex
	mode     Mode
	coils    []bool
	inputs   []bool
	log      []CoilWrite
	frames   []WriteFrame
	written  chan struct{} // closed and replaced at every write
	requests int
	rejected int                         // frames that were not requests (bad CRC, noise)
	refuse   map[uint16]modbus.Exception // discrete inputs the board refuses to read
}

// NewModbusBoard plugs a board in at path.
func NewModbusBoard(path string, cfg ModbusBoardConfig) (*ModbusBoard, error) {
	if cfg.Address == 0 {
		cfg.Address = 1
	}
	if cfg.Coils <= 0 {
		cfg.Coils = 8
	}
	if cfg.Inputs <= 0 {
		cfg.Inputs = 8
	}
	d, err := pty.New(path)
	if err != nil {
		return nil, err
	}
	b := &ModbusBoard{
		plug:    plug{d},
		cfg:     cfg,
		done:    make(chan struct{}),
		coils:   make([]bool, cfg.Coils),
		inputs:  make([]bool, cfg.Inputs),
		written: make(chan struct{}),
	}
	go b.run()
	return b, nil
}

// Close unplugs the board for good and stops its goroutine.
func (b *ModbusBoard) Close() error {
	err := b.dev.Close()
	<-b.done
	return err
}

// SetMode makes the board healthy, silent or garbled.
func (b *ModbusBoard) SetMode(m Mode) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.mode = m
}

// SetInput sets discrete input n (0-based): a door opening, a button
// pressed.
func (b *ModbusBoard) SetInput(n int, on bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.inputs[n] = on
}

// Inputs returns the discrete inputs' states.
func (b *ModbusBoard) Inputs() []bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]bool(nil), b.inputs...)
}

// SetInputs sets the inputs from first on, at once: a key cabinet's slots
// (a presence switch on per key in its slot) filled or emptied between two
// polls. Inputs past the board's last are ignored.
func (b *ModbusBoard) SetInputs(first int, on []bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, v := range on {
		if n := first + i; n >= 0 && n < len(b.inputs) {
			b.inputs[n] = v
		}
	}
}

// Refuse makes the board answer every read of discrete input n with
// exception ex, as a board answers a contact configured at an address it
// does not have; ex 0 reads the input again.
func (b *ModbusBoard) Refuse(n uint16, ex modbus.Exception) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.refuse == nil {
		b.refuse = map[uint16]modbus.Exception{}
	}
	if ex == 0 {
		delete(b.refuse, n)
	} else {
		b.refuse[n] = ex
	}
}

// Coils returns the relays' states.
func (b *ModbusBoard) Coils() []bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]bool(nil), b.coils...)
}

// CoilLog returns every coil write applied, in order.
func (b *ModbusBoard) CoilLog() []CoilWrite {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]CoilWrite(nil), b.log...)
}

// Frames returns every write request obeyed, in order.
func (b *ModbusBoard) Frames() []WriteFrame {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]WriteFrame, len(b.frames))
	for i, f := range b.frames {
		out[i] = WriteFrame{Function: f.Function, First: f.First, Values: append([]bool(nil), f.Values...)}
	}
	return out
}

// Written is closed at the next write request obeyed (a benchmark waits on
// it rather than polling).
func (b *ModbusBoard) Written() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.written
}

// Requests counts the requests the board understood.
func (b *ModbusBoard) Requests() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.requests
}

// Rejected counts bytes thrown away as not part of a request.
func (b *ModbusBoard) Rejected() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.rejected
}

// Inject sends raw bytes on the line, as noise does.
func (b *ModbusBoard) Inject(p []byte) error {
	_, err := b.dev.Write(p)
	return err
}

// silence ends a frame: a real slave forgets a half-received frame after
// 3.5 characters of quiet; the simulator is more patient, since a pty has
// no baud rate and a loaded test machine stalls.
const silence = 50 * time.Millisecond

func (b *ModbusBoard) run() {
	defer close(b.done)
	var buf []byte
	chunk := make([]byte, 512)
	for {
		n, err := b.dev.ReadTimeout(chunk, silence)
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			if len(buf) > 0 {
				b.reject(len(buf))
				buf = buf[:0]
			}
			continue
		case err != nil:
			return // closed
		}
		buf = append(buf, chunk[:n]...)
		for len(buf) > 0 {
			req, used, err := modbus.ParseRequest(buf)
			if errors.Is(err, modbus.ErrIncomplete) {
				break
			}
			if errors.Is(err, modbus.ErrGarbled) {
				b.reject(1) // slide one byte and look for a frame again
				buf = buf[1:]
				continue
			}
			reply := b.handle(req, err)
			buf = buf[used:]
			if reply != nil {
				b.dev.Write(reply)
			}
		}
	}
}

func (b *ModbusBoard) reject(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rejected += n
}

// handle applies one request and returns the reply to send, if any.
func (b *ModbusBoard) handle(req modbus.Request, perr error) []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.mode == Silent || (req.Slave != b.cfg.Address && req.Slave != 0) {
		return nil
	}
	b.requests++
	var ex modbus.Exception
	reply := func() []byte {
		if errors.As(perr, &ex) {
			return modbus.EncodeException(req.Slave, req.Function, ex)
		}
		first, n := int(req.Addr), int(req.Count)
		switch req.Function {
		case modbus.FuncReadCoils, modbus.FuncReadDiscreteInputs:
			src := b.coils
			if req.Function == modbus.FuncReadDiscreteInputs {
				src = b.inputs
			}
			if first+n > len(src) {
				return modbus.EncodeException(req.Slave, req.Function, modbus.IllegalDataAddress)
			}
			if req.Function == modbus.FuncReadDiscreteInputs {
				for in, ex := range b.refuse {
					if int(in) >= first && int(in) < first+n {
						return modbus.EncodeException(req.Slave, req.Function, ex)
					}
				}
			}
			return modbus.EncodeReply(req, src[first:first+n])
		case modbus.FuncWriteSingleCoil, modbus.FuncWriteMultipleCoils:
			if first+n > len(b.coils) {
				return modbus.EncodeException(req.Slave, req.Function, modbus.IllegalDataAddress)
			}
			for i, on := range req.Values {
				b.coils[first+i] = on
				b.log = append(b.log, CoilWrite{Coil: first + i, On: on})
			}
			b.frames = append(b.frames, WriteFrame{Function: req.Function, First: first, Values: append([]bool(nil), req.Values...)})
			close(b.written)
			b.written = make(chan struct{})
			return modbus.EncodeReply(req, nil)
		}
		return modbus.EncodeException(req.Slave, req.Function, modbus.IllegalFunction)
	}()
	if req.Slave == 0 {
		return nil // broadcasts are obeyed, never answered
	}
	if b.mode == Garbage {
		reply[len(reply)-1] ^= 0x5A
	}
	return reply
}
