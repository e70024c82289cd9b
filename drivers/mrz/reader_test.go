package mrz

import (
	"errors"
	"testing"
)

func TestAssembler(t *testing.T) {
	bad := set(td3, 1, 15, '1')
	tests := []struct {
		name    string
		lines   []string
		docs    int // documents read
		rejects int // documents with bad check digits
		stray   int
	}{
		{"passport", td3, 1, 0, 0},
		{"card of three lines", td1, 1, 0, 0},
		{"two documents", append(append([]string{}, td3...), td2...), 2, 0, 0},
		{"first line lost, next document read", append([]string{td3[1]}, td3...), 1, 0, 1},
		{"second line lost, next document read", append([]string{td3[0]}, td3...), 1, 0, 1},
		{"TD1 middle line lost", append([]string{td1[0], td1[2]}, td1...), 1, 0, 2},
		{"junk line between", []string{td3[0], "HELLO", td3[0], td3[1]}, 1, 0, 2},
		{"misread", bad, 0, 1, 0},
		{"misread then good", append(append([]string{}, bad...), td3...), 1, 1, 0},
		{"line of another size resets", []string{td3[0], td2[0], td2[1]}, 1, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a Assembler
			var docs, rejects, stray int
			for _, l := range tt.lines {
				r, ok, s := a.Add(l)
				stray += s
				switch {
				case ok && r.Err == nil:
					docs++
					if r.Doc.Primary != "ERIKSSON" {
						t.Fatalf("document %#v", r.Doc)
					}
				case ok && errors.Is(r.Err, ErrCheckDigit):
					rejects++
				case ok:
					t.Fatalf("result error %v", r.Err)
				}
			}
			if docs != tt.docs || rejects != tt.rejects || stray != tt.stray {
				t.Fatalf("docs %d rejects %d stray %d; want %d %d %d", docs, rejects, stray, tt.docs, tt.rejects, tt.stray)
			}
		})
	}
}

func TestTrimFraming(t *testing.T) {
	if got := string(trimFraming([]byte("\x02 P<UTO \x03"))); got != "P<UTO" {
		t.Fatalf("got %q", got)
	}
	if got := trimFraming([]byte("\x02\x03")); len(got) != 0 {
		t.Fatalf("got %q", got)
	}
}

func FuzzAssembler(f *testing.F) {
	f.Add([]byte(td3[0] + "\r\n" + td3[1] + "\r\n"))
	f.Add([]byte(td1[0] + "\r" + td1[1] + "\r" + td1[2] + "\r"))
	f.Add([]byte("\x02" + td2[0] + "\r\n" + td2[1] + "\x03\r\n"))
	f.Add([]byte{0xff, 0x00, '\r', '\n'})
	f.Fuzz(func(t *testing.T, b []byte) {
		var (
			a   Assembler
			buf []byte
		)
		for _, c := range b {
			if c != '\r' && c != '\n' {
				if len(buf) < 64 {
					buf = append(buf, c)
				}
				continue
			}
			r, ok, stray := a.Add(string(trimFraming(buf)))
			buf = buf[:0]
			if stray < 0 || len(a.pending) > 2 {
				t.Fatalf("stray %d, pending %d", stray, len(a.pending))
			}
			if ok && r.Err != nil && !errors.Is(r.Err, ErrCheckDigit) {
				t.Fatalf("result error %v", r.Err)
			}
		}
	})
}

func TestOfferKeepsOnlyTheLatest(t *testing.T) {
	r := &Reader{results: make(chan Result, 1)}
	r.offer(Result{Doc: Document{Format: TD3}})
	r.offer(Result{Doc: Document{Format: TD2}})
	if got := <-r.results; got.Doc.Format != TD2 {
		t.Fatalf("got %v, want the later TD2", got.Doc.Format)
	}
	select {
	case old := <-r.results:
		t.Fatalf("an older result was still queued: %v", old.Doc)
	default:
	}
}
