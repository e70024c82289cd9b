package escpos_test

import (
	"testing"

	"gatehouse/drivers/escpos"
)

// Answers as the Epson/Bixolon DLE EOT tables give them: fixed bits 0x12,
// then n=1 bit 3 offline; n=2 bit 2 cover, bit 5 paper-end stop, bit 6
// error; n=3 bit 3 cutter, bit 5 unrecoverable, bit 6 auto-recoverable;
// n=4 bits 2-3 near end (0x0C), bits 5-6 end (0x60).
func TestStatusBytesKnownAnswer(t *testing.T) {
	tests := []struct {
		n, b byte
		want escpos.Status
	}{
		{1, 0x12, escpos.Status{}},
		{1, 0x16, escpos.Status{}}, // drawer pin high: not ours
		{1, 0x1A, escpos.Status{Offline: true}},
		{2, 0x16, escpos.Status{CoverOpen: true}},
		{2, 0x32, escpos.Status{PaperEndStop: true}},
		{2, 0x52, escpos.Status{Error: true}},
		{3, 0x1A, escpos.Status{CutterError: true}},
		{3, 0x32, escpos.Status{Unrecoverable: true}},
		{3, 0x52, escpos.Status{AutoRecover: true}},
		{4, 0x1E, escpos.Status{PaperLow: true}},
		{4, 0x72, escpos.Status{PaperOut: true}},
		{4, 0x7E, escpos.Status{PaperLow: true, PaperOut: true}},
	}
	for _, tt := range tests {
		var s escpos.Status
		if !s.Apply(tt.n, tt.b) || s != tt.want {
			t.Errorf("DLE EOT %d answer %02X: %+v, want %+v", tt.n, tt.b, s, tt.want)
		}
	}
}

func TestStatusByteRoundTrip(t *testing.T) {
	all := escpos.Status{Offline: true, CoverOpen: true, PaperEndStop: true, Error: true, CutterError: true, Unrecoverable: true, AutoRecover: true, PaperLow: true, PaperOut: true}
	for _, st := range []escpos.Status{{}, all} {
		var got escpos.Status
		for n := byte(1); n <= 4; n++ {
			if !got.Apply(n, st.StatusByte(n)) {
				t.Fatalf("n=%d: not a status byte", n)
			}
		}
		if got != st {
			t.Fatalf("got %+v, want %+v", got, st)
		}
	}
}

func TestStatusRejectsOtherBytes(t *testing.T) {
	var s escpos.Status
	// XON, XOFF, an automatic-status-back first byte (bit 1 off), bit 7 set.
	for _, b := range []byte{0x11, 0x13, 0x10, 0x92, 0x00, 0xFF} {
		if s.Apply(1, b) {
			t.Errorf("%02X taken for a status byte", b)
		}
	}
	if s.Apply(5, 0x12) {
		t.Error("n=5 accepted")
	}
}
