// Package modbus is a Modbus RTU master for relay boards and I/O modules:
// write single coil (0x05) and multiple coils (0x0F) to drive turnstile and
// lock relays, read coils (0x01) and discrete inputs (0x02) for door
// contacts. Frames carry the slave address, the function, its data and a
// CRC-16 (polynomial 0xA001 reflected, initial 0xFFFF, low byte first).
// Frames are delimited by length, known from the function code, rather than
// by the 3.5-character silence of the standard: USB serial adapters deliver
// bytes in bursts that make silence unmeasurable, while lengths never lie.
package modbus

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Function codes.
const (
	FuncReadCoils          byte = 0x01
	FuncReadDiscreteInputs byte = 0x02
	FuncWriteSingleCoil    byte = 0x05
	FuncWriteMultipleCoils byte = 0x0F
)

// Limits of one request, from the standard.
const (
	MaxReadBits  = 2000
	MaxWriteBits = 1968
)

// Errors.
var (
	// ErrIncomplete: more bytes are needed to finish the frame.
	ErrIncomplete = errors.New("modbus: frame incomplete")
	// ErrGarbled: bytes that are not the expected frame.
	ErrGarbled = errors.New("modbus: garbled frame")
	// ErrCRC: a frame whose CRC does not match (a kind of ErrGarbled).
	ErrCRC = fmt.Errorf("%w: CRC mismatch", ErrGarbled)
	// ErrTimeout: no reply within the timeout.
	ErrTimeout = errors.New("modbus: no reply")
	// ErrRequest: a request that cannot be sent (bad count or values).
	ErrRequest = errors.New("modbus: invalid request")
)

// Exception is a slave's exception reply (function | 0x80, then this code).
// It is an error: errors.Is(err, modbus.IllegalDataAddress).
type Exception byte

// Exception codes.
const (
	IllegalFunction     Exception = 0x01
	IllegalDataAddress  Exception = 0x02
	IllegalDataValue    Exception = 0x03
	ServerDeviceFailure Exception = 0x04
	Acknowledge         Exception = 0x05
	ServerDeviceBusy    Exception = 0x06
	MemoryParityError   Exception = 0x08
	GatewayPathFailed   Exception = 0x0A
	GatewayTargetFailed Exception = 0x0B
)

var exceptionNames = map[Exception]string{
	IllegalFunction:     "illegal function",
	IllegalDataAddress:  "illegal data address",
	IllegalDataValue:    "illegal data value",
	ServerDeviceFailure: "server device failure",
	Acknowledge:         "acknowledge",
	ServerDeviceBusy:    "server device busy",
	MemoryParityError:   "memory parity error",
	GatewayPathFailed:   "gateway path unavailable",
	GatewayTargetFailed: "gateway target failed to respond",
}

func (e Exception) Error() string {
	if n, ok := exceptionNames[e]; ok {
		return fmt.Sprintf("modbus: exception %d (%s)", byte(e), n)
	}
	return fmt.Sprintf("modbus: exception %d", byte(e))
}

// CRC computes the Modbus CRC-16 of b.
func CRC(b []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, c := range b {
		crc ^= uint16(c)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0xA001
			} else {
				crc >>= 1
			}
		}
	}
	return crc
}

// AppendCRC appends b's CRC, low byte first.
func AppendCRC(b []byte) []byte {
	return binary.LittleEndian.AppendUint16(b, CRC(b))
}

// crcOK checks the CRC at the end of a whole frame.
func crcOK(frame []byte) bool {
	n := len(frame)
	return n >= 4 && CRC(frame[:n-2]) == binary.LittleEndian.Uint16(frame[n-2:])
}

// Request is one request to a slave. Slave 0 is broadcast: every slave
// acts, none answers.
type Request struct {
	Slave    byte
	Function byte
	Addr     uint16 // first coil or input, 0-based as on the wire
	Count    uint16 // how many; 1 for write single coil
	Values   []bool // what to write
}

// Encode makes the request's frame.
func (r Request) Encode() ([]byte, error) {
	b := []byte{r.Slave, r.Function}
	switch r.Function {
	case FuncReadCoils, FuncReadDiscreteInputs:
		if r.Count < 1 || r.Count > MaxReadBits {
			return nil, fmt.Errorf("%w: read of %d bits", ErrRequest, r.Count)
		}
		b = binary.BigEndian.AppendUint16(b, r.Addr)
		b = binary.BigEndian.AppendUint16(b, r.Count)
	case FuncWriteSingleCoil:
		if len(r.Values) != 1 {
			return nil, fmt.Errorf("%w: single coil write of %d values", ErrRequest, len(r.Values))
		}
		b = binary.BigEndian.AppendUint16(b, r.Addr)
		b = binary.BigEndian.AppendUint16(b, coilValue(r.Values[0]))
	case FuncWriteMultipleCoils:
		n := len(r.Values)
		if n < 1 || n > MaxWriteBits || int(r.Count) != n {
			return nil, fmt.Errorf("%w: write of %d coils", ErrRequest, n)
		}
		b = binary.BigEndian.AppendUint16(b, r.Addr)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
		packed := pack(r.Values)
		b = append(b, byte(len(packed)))
		b = append(b, packed...)
	default:
		return nil, fmt.Errorf("%w: function 0x%02X", ErrRequest, r.Function)
	}
	return AppendCRC(b), nil
}

// coilValue is how 0x05 says on and off.
func coilValue(on bool) uint16 {
	if on {
		return 0xFF00
	}
	return 0x0000
}

// pack packs bits, the first in the lowest bit of the first byte.
func pack(v []bool) []byte {
	b := make([]byte, (len(v)+7)/8)
	for i, on := range v {
		if on {
			b[i/8] |= 1 << (i % 8)
		}
	}
	return b
}

// unpack is the reverse of pack for n bits.
func unpack(b []byte, n int) []bool {
	v := make([]bool, n)
	for i := range v {
		v[i] = b[i/8]>>(i%8)&1 == 1
	}
	return v
}

// ParseRequest reads the request at the start of b, as a slave does. It
// returns how many bytes the frame took. A well-framed request the slave
// must refuse comes back with an Exception as its error (and the request,
// so the slave can answer); ErrIncomplete asks for more bytes; ErrGarbled
// means b does not start with a frame (a slave drops a byte and looks again).
func ParseRequest(b []byte) (Request, int, error) {
	if len(b) < 2 {
		return Request{}, 0, ErrIncomplete
	}
	r := Request{Slave: b[0], Function: b[1]}
	n := 8 // every request but 0x0F; unknown functions are taken as 8 too
	if r.Function == FuncWriteMultipleCoils {
		if len(b) < 7 {
			return Request{}, 0, ErrIncomplete
		}
		n = 9 + int(b[6])
	}
	if len(b) < n {
		return Request{}, 0, ErrIncomplete
	}
	frame := b[:n]
	if !crcOK(frame) {
		return Request{}, 0, ErrCRC
	}
	r.Addr = binary.BigEndian.Uint16(frame[2:])
	word := binary.BigEndian.Uint16(frame[4:])
	switch r.Function {
	case FuncReadCoils, FuncReadDiscreteInputs:
		r.Count = word
		if word < 1 || word > MaxReadBits {
			return r, n, IllegalDataValue
		}
	case FuncWriteSingleCoil:
		r.Count = 1
		switch word {
		case 0xFF00:
			r.Values = []bool{true}
		case 0x0000:
			r.Values = []bool{false}
		default:
			return r, n, IllegalDataValue
		}
	case FuncWriteMultipleCoils:
		r.Count = word
		if word < 1 || word > MaxWriteBits || int(frame[6]) != (int(word)+7)/8 {
			return r, n, IllegalDataValue
		}
		r.Values = unpack(frame[7:n-2], int(word))
	default:
		return r, n, IllegalFunction
	}
	return r, n, nil
}

// Reply is a slave's answer.
type Reply struct {
	Slave    byte
	Function byte
	Addr     uint16 // echoed by writes
	Count    uint16 // echoed by writes; bits read
	Values   []bool // bits read
}

// EncodeReply makes a slave's normal reply to req; values are the bits a
// read returns.
func EncodeReply(req Request, values []bool) []byte {
	b := []byte{req.Slave, req.Function}
	switch req.Function {
	case FuncReadCoils, FuncReadDiscreteInputs:
		packed := pack(values)
		b = append(b, byte(len(packed)))
		b = append(b, packed...)
	case FuncWriteSingleCoil:
		b = binary.BigEndian.AppendUint16(b, req.Addr)
		b = binary.BigEndian.AppendUint16(b, coilValue(len(req.Values) == 1 && req.Values[0]))
	case FuncWriteMultipleCoils:
		b = binary.BigEndian.AppendUint16(b, req.Addr)
		b = binary.BigEndian.AppendUint16(b, req.Count)
	}
	return AppendCRC(b)
}

// EncodeException makes an exception reply.
func EncodeException(slave, function byte, e Exception) []byte {
	return AppendCRC([]byte{slave, function | 0x80, byte(e)})
}

// ParseReply reads the reply to req at the start of b, as the master does.
// It returns how many bytes the frame took. An exception reply returns the
// Exception as its error.
func ParseReply(req Request, b []byte) (Reply, int, error) {
	if len(b) < 2 {
		return Reply{}, 0, ErrIncomplete
	}
	if b[0] != req.Slave {
		return Reply{}, 0, fmt.Errorf("%w: reply from slave %d to a request for %d", ErrGarbled, b[0], req.Slave)
	}
	if b[1] == req.Function|0x80 {
		if len(b) < 5 {
			return Reply{}, 0, ErrIncomplete
		}
		if !crcOK(b[:5]) {
			return Reply{}, 0, ErrCRC
		}
		return Reply{}, 5, Exception(b[2])
	}
	if b[1] != req.Function {
		return Reply{}, 0, fmt.Errorf("%w: function 0x%02X in reply to 0x%02X", ErrGarbled, b[1], req.Function)
	}
	r := Reply{Slave: b[0], Function: b[1]}
	switch req.Function {
	case FuncReadCoils, FuncReadDiscreteInputs:
		if len(b) < 3 {
			return Reply{}, 0, ErrIncomplete
		}
		if int(b[2]) != (int(req.Count)+7)/8 {
			return Reply{}, 0, fmt.Errorf("%w: %d data bytes for %d bits", ErrGarbled, b[2], req.Count)
		}
		n := 5 + int(b[2])
		if len(b) < n {
			return Reply{}, 0, ErrIncomplete
		}
		if !crcOK(b[:n]) {
			return Reply{}, 0, ErrCRC
		}
		r.Count = req.Count
		r.Values = unpack(b[3:n-2], int(req.Count))
		return r, n, nil
	case FuncWriteSingleCoil, FuncWriteMultipleCoils:
		if len(b) < 8 {
			return Reply{}, 0, ErrIncomplete
		}
		if !crcOK(b[:8]) {
			return Reply{}, 0, ErrCRC
		}
		r.Addr = binary.BigEndian.Uint16(b[2:])
		word := binary.BigEndian.Uint16(b[4:])
		want := req.Count
		if req.Function == FuncWriteSingleCoil {
			want = coilValue(len(req.Values) == 1 && req.Values[0])
		}
		if r.Addr != req.Addr || word != want {
			return Reply{}, 0, fmt.Errorf("%w: write echo does not match the request", ErrGarbled)
		}
		r.Count = req.Count
		return r, 8, nil
	}
	return Reply{}, 0, fmt.Errorf("%w: function 0x%02X", ErrRequest, req.Function)
}
