package sim

import (
	"testing"

	"gatehouse/drivers/idcard"
)

// FuzzIDCardFeed: whatever the driver side sends, the simulated ID card
// reader answers with well-formed frames only and keeps its buffer
// bounded.
func FuzzIDCardFeed(f *testing.F) {
	f.Add(idcard.Command(idcard.CmdFind, idcard.ParaFind, nil))
	f.Add(append([]byte{0xAA, 0x01}, idcard.Command(idcard.CmdRead, idcard.ParaRead, nil)...))
	f.Add([]byte{0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x03, 0x20, 0x01, 0x23})
	f.Fuzz(func(t *testing.T, in []byte) {
		s := idcardState{text: idcard.Card{Kind: idcard.Resident, Name: "张三"}.Text()}
		out := s.feed(in)
		for len(out) > 0 {
			_, n, err := idcard.Cut(out)
			if err != nil {
				t.Fatalf("the simulator sent a bad frame: %v", err)
			}
			out = out[n:]
		}
		if len(s.buf) > len(idcard.Preamble)+2+idcard.MaxLength {
			t.Fatalf("buffer holds %d bytes", len(s.buf))
		}
	})
}
