package modbus

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func TestCRCKnownAnswers(t *testing.T) {
	// Frames as relay-board manuals print them.
	tests := []struct{ frame, crc string }{
		{"01 05 00 00 FF 00", "8C 3A"},
		{"01 05 00 00 00 00", "CD CA"},
		{"01 03 00 00 00 0A", "C5 CD"},
		{"01 0F 00 00 00 08 01 FF", "BE D5"},
		{"01 02 00 00 00 08", "79 CC"},
	}
	for _, tt := range tests {
		got := AppendCRC(unhex(tt.frame))
		if want := unhex(tt.frame + tt.crc); !bytes.Equal(got, want) {
			t.Errorf("AppendCRC(%s) = % X, want % X", tt.frame, got, want)
		}
	}
}

func TestEncodeRequest(t *testing.T) {
	tests := []struct {
		name string
		req  Request
		want string
		err  error
	}{
		{"coil on", Request{Slave: 1, Function: FuncWriteSingleCoil, Addr: 0, Values: []bool{true}}, "01 05 00 00 FF 00 8C 3A", nil},
		{"coil off", Request{Slave: 1, Function: FuncWriteSingleCoil, Addr: 0, Values: []bool{false}}, "01 05 00 00 00 00 CD CA", nil},
		{"eight coils on", Request{Slave: 1, Function: FuncWriteMultipleCoils, Count: 8, Values: []bool{true, true, true, true, true, true, true, true}}, "01 0F 00 00 00 08 01 FF BE D5", nil},
		{"read inputs", Request{Slave: 1, Function: FuncReadDiscreteInputs, Count: 8}, "01 02 00 00 00 08 79 CC", nil},
		{"read none", Request{Slave: 1, Function: FuncReadDiscreteInputs}, "", ErrRequest},
		{"read too many", Request{Slave: 1, Function: FuncReadCoils, Count: 2001}, "", ErrRequest},
		{"count disagrees", Request{Slave: 1, Function: FuncWriteMultipleCoils, Count: 2, Values: []bool{true}}, "", ErrRequest},
		{"single with two values", Request{Slave: 1, Function: FuncWriteSingleCoil, Values: []bool{true, false}}, "", ErrRequest},
		{"unsupported function", Request{Slave: 1, Function: 0x03, Count: 1}, "", ErrRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.req.Encode()
			if !errors.Is(err, tt.err) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if err == nil && !bytes.Equal(got, unhex(tt.want)) {
				t.Fatalf("frame % X, want %s", got, tt.want)
			}
		})
	}
}

func TestParseReply(t *testing.T) {
	coilOn := Request{Slave: 1, Function: FuncWriteSingleCoil, Addr: 0, Count: 1, Values: []bool{true}}
	read8 := Request{Slave: 1, Function: FuncReadDiscreteInputs, Addr: 0, Count: 8}
	read3 := Request{Slave: 1, Function: FuncReadDiscreteInputs, Addr: 4, Count: 3}
	multi := Request{Slave: 1, Function: FuncWriteMultipleCoils, Addr: 0, Count: 8, Values: make([]bool, 8)}
	tests := []struct {
		name   string
		req    Request
		reply  string
		n      int
		values []bool
		err    error
	}{
		{"coil echo", coilOn, "01 05 00 00 FF 00 8C 3A", 8, nil, nil},
		{"coil echo with trailing noise", coilOn, "01 05 00 00 FF 00 8C 3A 00 FF", 8, nil, nil},
		{"inputs 0 and 2 on", read8, "01 02 01 05 61 8B", 6, []bool{true, false, true, false, false, false, false, false}, nil},
		{"three inputs, padding ignored", read3, AppendCRCHex("01 02 01 FD"), 6, []bool{true, false, true}, nil},
		{"write multiple echo", multi, "01 0F 00 00 00 08 54 0D", 8, nil, nil},
		{"exception", coilOn, "01 85 02 C3 51", 5, nil, IllegalDataAddress},
		{"exception is garbled too if its CRC fails", coilOn, "01 85 02 C3 52", 0, nil, ErrCRC},
		{"empty", coilOn, "", 0, nil, ErrIncomplete},
		{"half", coilOn, "01 05 00 00", 0, nil, ErrIncomplete},
		{"read half", read8, "01 02 01", 0, nil, ErrIncomplete},
		{"bad CRC", coilOn, "01 05 00 00 FF 00 8C 3B", 0, nil, ErrCRC},
		{"other slave", coilOn, "02 05 00 00 FF 00 8C 09", 0, nil, ErrGarbled},
		{"other function", coilOn, "01 06 00 00 FF 00", 0, nil, ErrGarbled},
		{"echo of off to on", coilOn, "01 05 00 00 00 00 CD CA", 0, nil, ErrGarbled},
		{"byte count disagrees", read8, AppendCRCHex("01 02 02 05 00"), 0, nil, ErrGarbled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, n, err := ParseReply(tt.req, unhex(tt.reply))
			if !errors.Is(err, tt.err) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if n != tt.n {
				t.Fatalf("took %d bytes, want %d", n, tt.n)
			}
			if tt.values != nil && !reflect.DeepEqual(rep.Values, tt.values) {
				t.Fatalf("values %v, want %v", rep.Values, tt.values)
			}
		})
	}
}

// AppendCRCHex completes a hex frame with its CRC.
func AppendCRCHex(s string) string { return hex.EncodeToString(AppendCRC(unhex(s))) }

func TestParseRequest(t *testing.T) {
	tests := []struct {
		name  string
		frame string
		want  Request
		n     int
		err   error
	}{
		{"coil on", "01 05 00 03 FF 00", Request{Slave: 1, Function: FuncWriteSingleCoil, Addr: 3, Count: 1, Values: []bool{true}}, 8, nil},
		{"coils", "01 0F 00 01 00 0A 02 FF 01", Request{Slave: 1, Function: FuncWriteMultipleCoils, Addr: 1, Count: 10,
			Values: []bool{true, true, true, true, true, true, true, true, true, false}}, 11, nil},
		{"read inputs", "07 02 00 00 00 10", Request{Slave: 7, Function: FuncReadDiscreteInputs, Count: 16}, 8, nil},
		{"bad coil value", "01 05 00 03 12 34", Request{Slave: 1, Function: FuncWriteSingleCoil, Addr: 3, Count: 1}, 8, IllegalDataValue},
		{"read of zero", "01 02 00 00 00 00", Request{Slave: 1, Function: FuncReadDiscreteInputs}, 8, IllegalDataValue},
		{"unknown function", "01 03 00 00 00 01", Request{Slave: 1, Function: 0x03}, 8, IllegalFunction},
		{"byte count wrong", "01 0F 00 00 00 0A 01 FF", Request{Slave: 1, Function: FuncWriteMultipleCoils, Count: 10}, 10, IllegalDataValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, n, err := ParseRequest(AppendCRC(unhex(tt.frame)))
			if !errors.Is(err, tt.err) || n != tt.n || !reflect.DeepEqual(req, tt.want) {
				t.Fatalf("got %+v, %d, %v; want %+v, %d, %v", req, n, err, tt.want, tt.n, tt.err)
			}
		})
	}
	if _, _, err := ParseRequest(unhex("01 05 00 00 FF 00 8C 3B")); !errors.Is(err, ErrCRC) {
		t.Errorf("bad CRC: %v", err)
	}
	if _, _, err := ParseRequest(unhex("01 0F 00 00")); !errors.Is(err, ErrIncomplete) {
		t.Errorf("short 0x0F: %v", err)
	}
}

func TestExceptionError(t *testing.T) {
	if got := IllegalDataAddress.Error(); got != "modbus: exception 2 (illegal data address)" {
		t.Errorf("got %q", got)
	}
	if got := Exception(0x42).Error(); got != "modbus: exception 66" {
		t.Errorf("got %q", got)
	}
}

func TestFrameGap(t *testing.T) {
	if g := frameGap(9600); g < 4000000 || g > 4020000 {
		t.Errorf("gap at 9600 baud %v, want about 4.01 ms", g)
	}
	if g := frameGap(115200); g.Microseconds() != 1750 {
		t.Errorf("gap at 115200 baud %v, want 1.75 ms", g)
	}
}

func FuzzParseReply(f *testing.F) {
	f.Add(byte(FuncWriteSingleCoil), uint16(0), uint16(1), unhex("01 05 00 00 FF 00 8C 3A"))
	f.Add(byte(FuncReadDiscreteInputs), uint16(0), uint16(8), unhex("01 02 01 05 61 8B"))
	f.Add(byte(FuncWriteMultipleCoils), uint16(0), uint16(8), unhex("01 0F 00 00 00 08 54 0D"))
	f.Add(byte(FuncWriteSingleCoil), uint16(0), uint16(1), unhex("01 85 02 C3 51"))
	f.Fuzz(func(t *testing.T, fn byte, addr, count uint16, b []byte) {
		req := Request{Slave: 1, Function: fn, Addr: addr, Count: count % (MaxReadBits + 1)}
		if fn == FuncWriteSingleCoil {
			req.Count, req.Values = 1, []bool{count&1 == 1}
		}
		if fn == FuncWriteMultipleCoils {
			req.Values = make([]bool, req.Count)
		}
		rep, n, err := ParseReply(req, b)
		var ex Exception
		switch {
		case err == nil:
			if n < 5 || n > len(b) || rep.Slave != 1 || rep.Function != fn {
				t.Fatalf("accepted %d of % X as %+v", n, b, rep)
			}
			if !crcOK(b[:n]) {
				t.Fatalf("accepted a frame with a bad CRC: % X", b[:n])
			}
			if (fn == FuncReadCoils || fn == FuncReadDiscreteInputs) && len(rep.Values) != int(req.Count) {
				t.Fatalf("%d values for %d bits", len(rep.Values), req.Count)
			}
		case errors.As(err, &ex):
			if n != 5 || !crcOK(b[:5]) {
				t.Fatalf("exception from % X", b)
			}
		case errors.Is(err, ErrIncomplete), errors.Is(err, ErrGarbled), errors.Is(err, ErrRequest):
			if n != 0 {
				t.Fatalf("error %v took %d bytes", err, n)
			}
		default:
			t.Fatalf("unexpected error %v", err)
		}
	})
}

func FuzzParseRequest(f *testing.F) {
	f.Add(unhex("01 05 00 00 FF 00 8C 3A"))
	f.Add(AppendCRC(unhex("01 0F 00 01 00 0A 02 FF 01")))
	f.Add(unhex("01 02 00 00 00 08 79 CC"))
	f.Add(unhex("01 0F 00 00 00 08 FF"))
	f.Fuzz(func(t *testing.T, b []byte) {
		req, n, err := ParseRequest(b)
		var ex Exception
		switch {
		case err == nil:
			frame, err := req.Encode()
			if err != nil {
				t.Fatalf("parsed %+v from % X, which does not encode: %v", req, b, err)
			}
			// Padding bits of 0x0F may differ; what they say may not.
			again, m, err := ParseRequest(frame)
			if err != nil || m != len(frame) || !reflect.DeepEqual(again, req) {
				t.Fatalf("parsed %+v from % X; its encoding % X parses as %+v, %v", req, b[:n], frame, again, err)
			}
		case errors.As(err, &ex):
			if n < 8 || n > len(b) {
				t.Fatalf("exception after %d bytes of %d", n, len(b))
			}
		case errors.Is(err, ErrIncomplete), errors.Is(err, ErrGarbled):
		default:
			t.Fatalf("unexpected error %v", err)
		}
	})
}
