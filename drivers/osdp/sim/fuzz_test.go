package sim

import (
	"errors"
	"testing"

	"gatehouse/drivers/osdp"
)

// FuzzHandle feeds arbitrary bytes to a reader in install mode with a
// session possible: whatever arrives, it answers with a decodable frame or
// stays quiet, and never panics.
func FuzzHandle(f *testing.F) {
	for _, fr := range []osdp.Frame{
		{Addr: 1, Code: osdp.CmdID, Data: osdp.RequestID},
		{Addr: 1, Seq: 1, Code: osdp.CmdLED, Data: greenLED},
		{Addr: 1, Seq: 2, Code: osdp.CmdBuz, Data: osdp.Buzzer{}.Marshal()},
		{Addr: 1, SCB: osdp.SCS11, SCBData: []byte{0}, Code: osdp.CmdChlng, Data: make([]byte, 8)},
		{Addr: 1, Seq: 1, SCB: osdp.SCS13, SCBData: []byte{0}, Code: osdp.CmdSCrypt, Data: make([]byte, 16)},
		{Addr: 1, Seq: 3, SCB: osdp.SCS17, Code: osdp.CmdKeySet, Data: make([]byte, 32)},
	} {
		w, _ := fr.Append(nil)
		f.Add(w)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		pd := New(Config{Address: 1, Install: true, Rand: zeros{}})
		pd.PresentUID([]byte{1, 2})
		var d osdp.Decoder
		d.Feed(in)
		for {
			fr, err := d.Next()
			if errors.Is(err, osdp.ErrIncomplete) {
				return
			}
			if err != nil {
				continue
			}
			reply := pd.Handle(fr)
			if reply == nil {
				continue
			}
			var rd osdp.Decoder
			rd.Feed(reply)
			if r, err := rd.Next(); err != nil || !r.IsReply() || r.PD() != 1 {
				t.Fatalf("reply % X does not decode: %v", reply, err)
			}
		}
	})
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
