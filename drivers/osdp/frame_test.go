package osdp

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.NewReplacer(" ", "", "-", "").Replace(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Published CRC-16 and checksum answers. Sources:
//   - SIA OSDP Annex E "CRC/checksum examples", as reproduced in libosdp
//     tests/unit-tests/test-sc-sia-vectors.c;
//   - libosdp tests/unit-tests/test-cp-phy.c (POLL and ID to PD 0x65);
//   - OSDP-Bench src/.../TraceEntryTestHelper.cs (POLL, ACK, NAK to PD 0,
//     including "53 00 08 00 04 60" → EB AA);
//   - OSDP.Net src/OSDP.Net.Tests/Messages/ReplyTest.cs (an ACK "taken off
//     the wire from an actual reader") and CommandOutgoingMessageTest.cs.
func TestCRCKnownAnswers(t *testing.T) {
	for _, tc := range []struct{ msg, crc string }{
		{"53 00 08 00 04 60", "EB AA"},
		{"53 65 08 00 04 60", "60 90"},
		{"53 65 09 00 04 61 00", "D9 7A"},
		{"53 7F 0D 00 04 6E 00 80 25 00 00", "6E 38"},
		{"53 00 09 00 04 61 00", "C0 66"},
		{"53 80 08 00 04 40", "59 AC"},
		{"53 80 09 00 04 41 01", "27 A4"},
		{"53 80 08 00 05 40", "68 9F"},
		{"53 00 08 00 06 60", "89 CC"},
	} {
		t.Run(tc.msg, func(t *testing.T) {
			c := crc16(unhex(t, tc.msg))
			if got := []byte{byte(c), byte(c >> 8)}; !bytes.Equal(got, unhex(t, tc.crc)) {
				t.Errorf("CRC on the wire = % X, want %s", got, tc.crc)
			}
		})
	}
}

func TestChecksumKnownAnswers(t *testing.T) {
	for _, tc := range []struct {
		msg string
		sum byte
	}{
		{"53 7F 0C 00 00 6E 00 80 25 00 00", 0x0F}, // Annex E
		{"53 00 08 00 00 61 00", 0x44},             // Annex E
		{"53 00 07 00 02 60", 0x44},                // OSDP.Net poll, seq 2
		{"53 00 08 00 02 61 00", 0x42},             // OSDP.Net ID, seq 2
	} {
		if got := checksum(unhex(t, tc.msg)); got != tc.sum {
			t.Errorf("checksum(%s) = %#x, want %#x", tc.msg, got, tc.sum)
		}
	}
}

// Whole frames in clear from OSDP.Net's CommandOutgoingMessageTest.cs
// (their leading 0xFF mark byte left out) and OSDPCaptureEntryTest.cs.
func TestFrameEncodeKnownAnswers(t *testing.T) {
	key := unhex(t, "0001020304050607 0001020304050607")
	for _, tc := range []struct {
		name string
		f    Frame
		wire string
	}{
		{"poll", Frame{Seq: 2, Code: CmdPoll}, "53 00 08 00 06 60 89 CC"},
		{"poll checksum", Frame{Seq: 2, Checksum: true, Code: CmdPoll}, "53 00 07 00 02 60 44"},
		{"id", Frame{Seq: 2, Code: CmdID, Data: RequestID}, "53 00 09 00 06 61 00 A0 08"},
		{"cap checksum", Frame{Seq: 2, Checksum: true, Code: CmdCap, Data: RequestID}, "53 00 08 00 02 62 00 41"},
		{"lstat", Frame{Seq: 2, Code: CmdLStat}, "53 00 08 00 06 64 0D 8C"},
		{"out", Frame{Seq: 2, Code: CmdOut, Data: MarshalOutputs(
			OutputControl{0, OutPermOff, 100}, OutputControl{1, OutTempOff, 120})},
			"53 00 10 00 06 68 00 03 64 00 01 06 78 00 0B 5B"},
		{"buz", Frame{Seq: 2, Code: CmdBuz, Data: Buzzer{0, ToneDefault, 2, 2, 1}.Marshal()},
			"53 00 0D 00 06 6A 00 02 02 02 01 59 92"},
		{"keyset in clear", Frame{Seq: 2, Code: CmdKeySet, Data: append([]byte{1, 16}, key...)},
			"53 00 1A 00 06 75 01 10 00 01 02 03 04 05 06 07 00 01 02 03 04 05 06 07 CF A3"},
		{"ack from PD 0 seq 1", Frame{Addr: 0x80, Seq: 1, Code: ReplyACK}, "53 80 08 00 05 40 68 9F"},
		{"chlng to 0x65", Frame{Addr: 0x65, Code: CmdChlng, Data: unhex(t, "0102030405060708")},
			"53 65 10 00 04 76 01 02 03 04 05 06 07 08 0D 20"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.f.Append(nil)
			if err != nil {
				t.Fatal(err)
			}
			if want := unhex(t, tc.wire); !bytes.Equal(got, want) {
				t.Fatalf("wire\n got % X\nwant % X", got, want)
			}
			var d Decoder
			d.Feed(got)
			back, err := d.Next()
			if err != nil {
				t.Fatal(err)
			}
			if again, _ := back.Append(nil); !bytes.Equal(again, got) {
				t.Errorf("decode and encode again: % X", again)
			}
		})
	}
}

func mustWire(t testing.TB, f Frame) []byte {
	t.Helper()
	b, err := f.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeAll(d *Decoder) (frames []Frame, errs []error) {
	for {
		f, err := d.Next()
		if errors.Is(err, ErrIncomplete) {
			return frames, errs
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		frames = append(frames, f)
	}
}

func TestDecoder(t *testing.T) {
	poll := mustWire(t, Frame{Addr: 1, Seq: 1, Code: CmdPoll})
	ack := mustWire(t, Frame{Addr: 0x81, Seq: 1, Code: ReplyACK})
	raw := mustWire(t, Frame{Addr: 0x82, Seq: 3, Checksum: true, Code: ReplyRaw,
		Data: CardRaw{Format: 1, Bits: 26, Data: []byte{0x80, 0x80, 0x00, 0x80}}.Marshal()})
	secure := mustWire(t, Frame{Addr: 0x02, Seq: 2, SCB: SCS17, Code: CmdLED,
		Data: bytes.Repeat([]byte{0xAA}, 16), MAC: [4]byte{1, 2, 3, 4}})
	badCRC := append([]byte(nil), poll...)
	badCRC[len(badCRC)-1] ^= 0xFF
	badSum := append([]byte(nil), raw...)
	badSum[len(badSum)-1]++
	cat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

	for _, tc := range []struct {
		name    string
		in      []byte
		frames  int
		errs    []error
		garbage uint64
	}{
		{"one frame", poll, 1, nil, 0},
		{"two frames back to back", cat(poll, ack), 2, nil, 0},
		{"checksum frame", raw, 1, nil, 0},
		{"secure frame keeps SCB and MAC", secure, 1, nil, 0},
		{"mark bytes are not garbage", cat([]byte{0xFF, 0xFF}, poll), 1, nil, 0},
		{"garbage before a frame", cat([]byte{1, 2, 3}, poll), 1, nil, 3},
		{"bad CRC rejected, next frame found", cat(badCRC, ack), 1, []error{ErrBadCheck}, uint64(len(badCRC) - 1)},
		{"bad checksum rejected", badSum, 0, []error{ErrBadCheck}, uint64(len(badSum) - 1)},
		{"false SOM with a short length", cat([]byte{0x53, 0, 2, 0, 4}, ack), 1, []error{ErrBadLength}, 4},
		{"false SOM with a huge length", cat([]byte{0x53, 0, 0x00, 0x10, 4}, ack), 1, []error{ErrBadLength}, 4},
		{"false SOM swallowing a frame resyncs", cat([]byte{0x53, 0x00, 0x0C, 0x00, 0x04}, ack), 1, []error{ErrBadCheck}, 4},
		{"reserved control bits", mustWireCtrl(t, 0x14), 0, []error{ErrBadFormat}, 0},
		{"security block too short", scbFrame(t, []byte{1, 0x15}), 0, []error{ErrBadFormat}, 0},
		{"security block type unknown", scbFrame(t, []byte{2, 0x42}), 0, []error{ErrBadFormat}, 0},
		{"security block longer than frame", scbFrame(t, []byte{9, 0x11}), 0, []error{ErrBadFormat}, 0},
		{"MAC type without room for MAC", scbFrame(t, []byte{2, 0x15}), 0, []error{ErrBadFormat}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, chunk := range []int{len(tc.in), 1, 3} {
				var d Decoder
				var frames []Frame
				var errs []error
				for i := 0; i < len(tc.in); i += chunk {
					d.Feed(tc.in[i:min(i+chunk, len(tc.in))])
					fs, es := decodeAll(&d)
					frames, errs = append(frames, fs...), append(errs, es...)
				}
				if len(frames) != tc.frames {
					t.Errorf("chunk %d: %d frames, want %d", chunk, len(frames), tc.frames)
				}
				if len(errs) != len(tc.errs) {
					t.Fatalf("chunk %d: errors %v, want %v", chunk, errs, tc.errs)
				}
				for i := range errs {
					if !errors.Is(errs[i], tc.errs[i]) {
						t.Errorf("chunk %d: error %v, want %v", chunk, errs[i], tc.errs[i])
					}
				}
				st := d.Stats()
				if st.Garbage != tc.garbage {
					t.Errorf("chunk %d: garbage %d, want %d", chunk, st.Garbage, tc.garbage)
				}
				if st.Frames != uint64(tc.frames) || st.BadCheck+st.BadLength+st.BadFormat != uint64(len(tc.errs)) {
					t.Errorf("chunk %d: stats %+v", chunk, st)
				}
			}
		})
	}
}

// mustWireCtrl is a POLL whose control byte is ctrl, with a good CRC.
func mustWireCtrl(t testing.TB, ctrl byte) []byte {
	t.Helper()
	b := []byte{0x53, 0x00, 0x08, 0x00, ctrl, 0x60}
	c := crc16(b)
	return append(b, byte(c), byte(c>>8))
}

// scbFrame is a POLL carrying the given security block bytes, good CRC.
func scbFrame(t testing.TB, scb []byte) []byte {
	t.Helper()
	n := 5 + len(scb) + 1 + 2
	b := append([]byte{0x53, 0x00, byte(n), 0x00, 0x0C}, scb...)
	b = append(b, 0x60)
	c := crc16(b)
	return append(b, byte(c), byte(c>>8))
}

func TestDecoderFieldsSurvive(t *testing.T) {
	in := Frame{Addr: 0x85, Seq: 3, SCB: SCS18, Code: ReplyRaw, Data: []byte{1, 2, 3}, MAC: [4]byte{9, 8, 7, 6}}
	var d Decoder
	d.Feed(mustWire(t, in))
	out, err := d.Next()
	if err != nil {
		t.Fatal(err)
	}
	if out.Addr != in.Addr || out.Seq != in.Seq || out.SCB != in.SCB || out.Code != in.Code ||
		!bytes.Equal(out.Data, in.Data) || out.MAC != in.MAC || !out.IsReply() || out.PD() != 5 {
		t.Errorf("decoded %+v, want %+v", out, in)
	}
}

func TestDecoderStaysBounded(t *testing.T) {
	var d Decoder
	junk := bytes.Repeat([]byte{0x53, 0x00, 0x00, 0x04}, 3000) // false SOMs with a large length
	for i := 0; i < len(junk); i += 700 {
		d.Feed(junk[i:min(i+700, len(junk))])
		decodeAll(&d)
		if d.Buffered() > 2*MaxFrameLen {
			t.Fatalf("decoder holds %d bytes", d.Buffered())
		}
	}
	d.Feed(make([]byte, 10*MaxFrameLen))
	if d.Buffered() > 2*MaxFrameLen {
		t.Fatalf("decoder holds %d bytes after a large feed", d.Buffered())
	}
	d.Reset()
	d.Feed(mustWire(t, Frame{Code: CmdPoll}))
	if fs, _ := decodeAll(&d); len(fs) != 1 {
		t.Errorf("after garbage the decoder finds %d frames, want 1", len(fs))
	}
}

func TestEncodeRefusesBadFrames(t *testing.T) {
	for name, f := range map[string]Frame{
		"sequence 4":       {Seq: 4, Code: CmdPoll},
		"unknown SCB type": {SCB: 0x42, Code: CmdPoll},
		"too long":         {Code: CmdLED, Data: make([]byte, MaxFrameLen)},
	} {
		if _, err := f.Append(nil); err == nil {
			t.Errorf("%s: encoded", name)
		}
	}
}
