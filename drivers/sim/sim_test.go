package sim_test

import (
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"gatehouse/drivers/modbus"
	"gatehouse/drivers/sim"
	"gatehouse/drivers/usbrelay"
)

// openRaw opens a simulator's path as a bare terminal, without any driver.
func openRaw(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// readFrame reads n bytes, with a deadline so a silent simulator fails the
// test instead of hanging it.
func readFrame(t *testing.T, f *os.File, n int) []byte {
	t.Helper()
	done := make(chan []byte, 1)
	go func() {
		b := make([]byte, n)
		if _, err := io.ReadFull(f, b); err != nil {
			done <- nil
			return
		}
		done <- b
	}()
	select {
	case b := <-done:
		return b
	case <-time.After(10 * time.Second):
		t.Fatal("no reply")
		return nil
	}
}

func TestModbusBoardFindsFramesInNoise(t *testing.T) {
	b, err := sim.NewModbusBoard(filepath.Join(t.TempDir(), "tty"), sim.ModbusBoardConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	f := openRaw(t, b.Path())
	on, _ := modbus.Request{Slave: 1, Function: modbus.FuncWriteSingleCoil, Addr: 5, Values: []bool{true}}.Encode()
	// Noise glued to the front of a request.
	f.Write(append([]byte{0x55, 0xAA, 0x01}, on...))
	if got := readFrame(t, f, 8); string(got) != string(on) {
		t.Fatalf("reply % X, want the echo % X", got, on)
	}
	if b.Rejected() != 3 || !b.Coils()[5] {
		t.Fatalf("rejected %d, coil %v", b.Rejected(), b.Coils()[5])
	}
}

func TestModbusBoardForgetsAHalfFrameAfterSilence(t *testing.T) {
	b, err := sim.NewModbusBoard(filepath.Join(t.TempDir(), "tty"), sim.ModbusBoardConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	f := openRaw(t, b.Path())
	// A 0x0F header promising 255 data bytes that never come.
	f.Write([]byte{0x01, 0x0F, 0x00, 0x00, 0x07, 0xF8, 0xFF})
	deadline := time.Now().Add(10 * time.Second)
	for b.Rejected() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("half frame never dropped")
		}
		time.Sleep(5 * time.Millisecond)
	}
	read, _ := modbus.Request{Slave: 1, Function: modbus.FuncReadDiscreteInputs, Count: 8}.Encode()
	f.Write(read)
	want := modbus.EncodeReply(modbus.Request{Slave: 1, Function: modbus.FuncReadDiscreteInputs, Count: 8}, make([]bool, 8))
	if got := readFrame(t, f, len(want)); string(got) != string(want) {
		t.Fatalf("reply % X, want % X", got, want)
	}
}

func TestModbusBoardIgnoresOtherSlaves(t *testing.T) {
	b, err := sim.NewModbusBoard(filepath.Join(t.TempDir(), "tty"), sim.ModbusBoardConfig{Address: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	f := openRaw(t, b.Path())
	other, _ := modbus.Request{Slave: 1, Function: modbus.FuncWriteSingleCoil, Values: []bool{true}}.Encode()
	mine, _ := modbus.Request{Slave: 2, Function: modbus.FuncWriteSingleCoil, Addr: 1, Values: []bool{true}}.Encode()
	f.Write(append(other, mine...))
	if got := readFrame(t, f, 8); string(got) != string(mine) {
		t.Fatalf("reply % X, want % X", got, mine)
	}
	if got := b.CoilLog(); !reflect.DeepEqual(got, []sim.CoilWrite{{Coil: 1, On: true}}) {
		t.Fatalf("coil log %v", got)
	}
}

func TestUSBRelayResyncs(t *testing.T) {
	r, err := sim.NewUSBRelay(filepath.Join(t.TempDir(), "tty"), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	f := openRaw(t, r.Path())
	// Noise, a command with a bad sum, a good command, one for a relay the
	// board lacks.
	f.Write([]byte{0x13, 0xA0, 0x01, 0x01, 0xA3, 0xA0, 0x02, 0x01, 0xA3, 0xA0, 0x05, 0x01, 0xA6})
	deadline := time.Now().Add(10 * time.Second)
	for len(r.Commands()) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("commands %v", r.Commands())
		}
		time.Sleep(2 * time.Millisecond)
	}
	want := []usbrelay.Command{{Relay: 2, On: true}, {Relay: 5, On: true}}
	if got := r.Commands(); !reflect.DeepEqual(got, want) {
		t.Fatalf("commands %v, want %v", got, want)
	}
	if got := r.Relays(); !reflect.DeepEqual(got, []bool{false, true}) {
		t.Fatalf("relays %v", got)
	}
	if r.Rejected() == 0 {
		t.Fatal("noise not counted")
	}
}
