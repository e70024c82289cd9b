package idcard

import (
	"bytes"
	"errors"
	"testing"
)

func hexb(s string) []byte {
	var b []byte
	var v byte
	n := 0
	for _, c := range []byte(s) {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | (c - '0')
		case c >= 'A' && c <= 'F':
			v = v<<4 | (c - 'A' + 10)
		default:
			continue
		}
		if n++; n%2 == 0 {
			b = append(b, v)
		}
	}
	return b
}

// Frames as the public descriptions of the protocol print them.
func TestKnownFrames(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  []byte
		want string
	}{
		{"find card", Command(CmdFind, ParaFind, nil), "AA AA AA 96 69 00 03 20 01 22"},
		{"select card", Command(CmdFind, ParaSel, nil), "AA AA AA 96 69 00 03 20 02 21"},
		{"read text and photo", Command(CmdRead, ParaRead, nil), "AA AA AA 96 69 00 03 30 01 32"},
		{"found", ReplyFrame(0, 0, StatusFound, make([]byte, 4)), "AA AA AA 96 69 00 08 00 00 9F 00 00 00 00 97"},
		{"selected", ReplyFrame(0, 0, StatusOK, make([]byte, 8)), "AA AA AA 96 69 00 0C 00 00 90 00 00 00 00 00 00 00 00 9C"},
		{"no card", ReplyFrame(0, 0, StatusNoCard, nil), "AA AA AA 96 69 00 04 00 00 80 84"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if want := hexb(tc.want); !bytes.Equal(tc.got, want) {
				t.Fatalf("% X, want % X", tc.got, want)
			}
		})
	}
}

func TestCut(t *testing.T) {
	found := hexb("AA AA AA 96 69 00 08 00 00 9F 00 00 00 00 97")
	for _, tc := range []struct {
		name string
		in   []byte
		n    int
		err  error
	}{
		{"a frame", found, len(found), nil},
		{"a frame and more", append(append([]byte{}, found...), 0xAA), len(found), nil},
		{"empty", nil, 0, ErrIncomplete},
		{"half a preamble", hexb("AA AA AA"), 0, ErrIncomplete},
		{"noise then a preamble", append([]byte{1, 2, 3}, found...), 3, ErrGarbled},
		{"noise only", []byte("hello"), 5, ErrGarbled},
		{"noise ending in a preamble's start", []byte{1, 2, 0xAA, 0xAA}, 2, ErrGarbled},
		{"cut short", found[:10], 0, ErrIncomplete},
		{"bad checksum", append(append([]byte{}, found[:len(found)-1]...), 0x98), 1, ErrGarbled},
		{"length too short", hexb("AA AA AA 96 69 00 01 00 01"), 1, ErrGarbled},
		{"length too long", hexb("AA AA AA 96 69 FF FF 00"), 1, ErrGarbled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, n, err := Cut(tc.in)
			if n != tc.n || !errors.Is(err, tc.err) {
				t.Fatalf("Cut = %d, %v; want %d, %v", n, err, tc.n, tc.err)
			}
		})
	}
}

func TestStatusErrors(t *testing.T) {
	for _, tc := range []struct {
		sw3  byte
		want error
	}{
		{StatusNoCard, ErrNoCard}, {StatusSelectFails, ErrNoCard}, {StatusChecksum, ErrChecksum},
		{StatusCardAuth, ErrAuth}, {StatusSAMAuth, ErrAuth}, {StatusReadFailed, ErrReadFailed},
		{StatusSelfTest, ErrReader}, {0x77, ErrReader},
	} {
		err := error(&StatusError{Cmd: CmdRead, Para: ParaRead, SW3: tc.sw3})
		if !errors.Is(err, tc.want) {
			t.Errorf("status %02X: %v is not %v", tc.sw3, err, tc.want)
		}
	}
}

// FuzzCut: any bytes, fed as a reader would, are cut into frames and
// skipped garbage without a panic, and the loop always makes progress.
func FuzzCut(f *testing.F) {
	f.Add(hexb("AA AA AA 96 69 00 08 00 00 9F 00 00 00 00 97"))
	f.Add(append([]byte{0, 0xAA}, ReplyFrame(0, 0, StatusOK, ReadData(resident.Text(), make([]byte, 1024)))...))
	f.Add(hexb("AA AA AA 96 69 00 03 20 01 22 AA AA AA 96"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for len(b) > 0 {
			body, n, err := Cut(b)
			if errors.Is(err, ErrIncomplete) {
				if n != 0 {
					t.Fatalf("incomplete consumed %d", n)
				}
				return
			}
			if n <= 0 || n > len(b) {
				t.Fatalf("Cut consumed %d of %d", n, len(b))
			}
			if err == nil {
				if len(body) < 2 || len(body)+len(Preamble)+3 != n {
					t.Fatalf("body %d bytes for a frame of %d", len(body), n)
				}
				if rep, err := ParseReply(body); err == nil && len(body) >= 3 && len(rep.Data) != len(body)-3 {
					t.Fatal("reply data length")
				}
				if !bytes.Equal(frame(body), b[:n]) {
					t.Fatal("frame does not re-encode to itself")
				}
			}
			b = b[n:]
		}
	})
}
