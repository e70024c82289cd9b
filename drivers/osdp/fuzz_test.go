package osdp

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// Seeds: every frame the known-answer tests use, in clear and sealed.
func seedFrames(f *testing.F) [][]byte {
	f.Helper()
	var seeds [][]byte
	for _, fr := range []Frame{
		{Seq: 2, Code: CmdPoll},
		{Seq: 2, Checksum: true, Code: CmdPoll},
		{Addr: 0x65, Code: CmdID, Data: RequestID},
		{Addr: 0x81, Seq: 1, Code: ReplyRaw, Data: CardRaw{Format: 1, Bits: 26, Data: []byte{0x80, 0x80, 0, 0x80}}.Marshal()},
		{Addr: 0x81, Seq: 3, Code: ReplyKeypad, Data: Keypad{Keys: []byte("12\r")}.Marshal()},
		{Addr: 0x05, Seq: 1, SCB: SCS11, SCBData: []byte{0}, Code: CmdChlng, Data: make([]byte, 8)},
		{Addr: 0x85, Seq: 1, SCB: SCS12, SCBData: []byte{0}, Code: ReplyCCrypt, Data: make([]byte, 32)},
		{Addr: 0x02, Seq: 2, SCB: SCS17, Code: CmdLED, Data: make([]byte, 16), MAC: [4]byte{1, 2, 3, 4}},
	} {
		b, err := fr.Append(nil)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	cp, pd := establish(f, DefaultKey())
	for i, data := range [][]byte{nil, {0}, MarshalLEDs(LEDControl{}), make([]byte, 40)} {
		w, _ := cp.Seal(Frame{Addr: 1, Seq: byte(i%3 + 1), Code: CmdLED, Data: data})
		seeds = append(seeds, w)
		var d Decoder
		d.Feed(w)
		cmd, _ := d.Next()
		_ = pd.Open(&cmd)
		w, _ = pd.Seal(Frame{Addr: 0x81, Seq: cmd.Seq, Code: ReplyRaw, Data: data})
		seeds = append(seeds, w)
	}
	return seeds
}

func FuzzDecoder(f *testing.F) {
	for _, s := range seedFrames(f) {
		f.Add(s, uint8(0))
		f.Add(append([]byte{0xFF, 0x53, 0x00}, s...), uint8(2))
		f.Add(append(s[:len(s)-1:len(s)-1], s...), uint8(5))
	}
	f.Fuzz(func(t *testing.T, in []byte, chunk uint8) {
		var d Decoder
		step := int(chunk%64) + 1
		frames := uint64(0)
		for i := 0; i < len(in); i += step {
			d.Feed(in[i:min(i+step, len(in))])
			for {
				fr, err := d.Next()
				if d.Buffered() > 2*MaxFrameLen {
					t.Fatalf("decoder holds %d bytes", d.Buffered())
				}
				if errors.Is(err, ErrIncomplete) {
					break
				}
				if err != nil {
					continue
				}
				frames++
				// A decoded frame encodes back to a frame that decodes the same.
				w, err := fr.Append(nil)
				if err != nil {
					t.Fatalf("decoded frame does not encode: %v %+v", err, fr)
				}
				var again Decoder
				again.Feed(w)
				back, err := again.Next()
				if err != nil || !reflect.DeepEqual(normal(back), normal(fr)) {
					t.Fatalf("round trip: %+v → %v %+v", fr, err, back)
				}
			}
		}
		if st := d.Stats(); st.Frames != frames {
			t.Fatalf("stats count %d frames, saw %d", st.Frames, frames)
		}
	})
}

// normal makes empty and nil slices compare equal.
func normal(f Frame) Frame {
	if len(f.Data) == 0 {
		f.Data = nil
	}
	if len(f.SCBData) == 0 {
		f.SCBData = nil
	}
	return f
}

func FuzzParseReply(f *testing.F) {
	f.Add(ReplyRaw, CardRaw{Format: 1, Bits: 26, Data: []byte{0x80, 0x80, 0, 0x80}}.Marshal())
	f.Add(ReplyRaw, []byte{0, 0, 0x4b, 0, 9, 0xa4, 0x49, 0x4a, 0xa3, 0x27, 0x4c, 0xd5, 0x2b, 0xc0})
	f.Add(ReplyFmt, []byte{0, 0, 3, '1', '2', '3'})
	f.Add(ReplyKeypad, []byte{0, 2, '1', KeyPound})
	f.Add(ReplyPDID, make([]byte, 12))
	f.Add(ReplyPDCap, []byte{9, 1, 1})
	f.Add(ReplyNAK, []byte{6})
	f.Add(ReplyCCrypt, make([]byte, 32))
	f.Add(ReplyRMACI, make([]byte, 16))
	f.Add(ReplyLStatR, []byte{0, 0})
	f.Add(CmdLED, MarshalLEDs(LEDControl{}))
	f.Add(CmdKeySet, KeySet{Key: DefaultKey()}.Marshal())
	f.Add(CmdOut, MarshalOutputs(OutputControl{}))
	f.Fuzz(func(t *testing.T, code byte, data []byte) {
		in := bytes.Clone(data)
		for _, parse := range []func(byte, []byte) (any, error){ParseReply, ParseCommand} {
			v, err := parse(code, data)
			if !bytes.Equal(in, data) {
				t.Fatal("a parser changed its input")
			}
			if err != nil {
				if v != nil && !errors.Is(err, ErrMalformed) {
					t.Fatalf("error %v is not ErrMalformed", err)
				}
				continue
			}
			// What parses re-encodes to the same bytes.
			if b, ok := marshal(v); ok && !bytes.Equal(b, data) {
				t.Fatalf("%#x: % X re-encodes to % X", code, data, b)
			}
			switch m := v.(type) {
			case CardRaw:
				if s, err := CardNumber(m); err == nil && s == "" {
					t.Fatal("empty card number")
				}
			case CardText:
				_, _ = CardTextNumber(m)
			}
		}
	})
}

func FuzzOpen(f *testing.F) {
	for _, s := range seedFrames(f) {
		f.Add(s, false)
		f.Add(s, true)
	}
	cp0, pd0 := establish(f, DefaultKey())
	f.Fuzz(func(t *testing.T, in []byte, pdSide bool) {
		s := new(Session)
		*s = *cp0 // keys are immutable ciphers: sharing them is safe
		if pdSide {
			*s = *pd0
		}
		// The unwrap step past the MAC, which random frames never reach:
		// decrypting and unpadding arbitrary bytes must fail cleanly.
		if pt, err := decryptData(s.keys, s.rmac, in); err == nil && len(pt) >= len(in) {
			t.Fatal("unpadded data as long as the ciphertext")
		}
		var d Decoder
		d.Feed(in)
		for {
			fr, err := d.Next()
			if errors.Is(err, ErrIncomplete) {
				return
			}
			if err != nil {
				continue
			}
			before := *s
			data := bytes.Clone(fr.Data)
			if err := s.Open(&fr); err != nil {
				if s.cmac != before.cmac || s.rmac != before.rmac {
					t.Fatal("a rejected frame moved the MAC chain")
				}
				if !bytes.Equal(fr.Data, data) {
					t.Fatal("a rejected frame's data was changed")
				}
				continue
			}
			if len(fr.Data) > len(data) {
				t.Fatal("opened data longer than what came in")
			}
		}
	})
}
