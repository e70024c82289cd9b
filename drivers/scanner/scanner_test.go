package scanner_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/appliance/gate"
	"gatehouse/drivers/scanner"
	"gatehouse/drivers/serial"
	"gatehouse/drivers/sim"
)

func TestCode(t *testing.T) {
	tests := []struct {
		name, line, prefix, suffix, want string
		err                              error
	}{
		{"plain", "GH1.abc-DEF_123", "", "", "GH1.abc-DEF_123", nil},
		{"prefix stripped", "]Q1GH1.abc", "]Q1", "", "GH1.abc", nil},
		{"suffix stripped", "GH1.abc#", "", "#", "GH1.abc", nil},
		{"both", "]Q1GH1.abc#", "]Q1", "#", "GH1.abc", nil},
		{"prefix absent is kept whole", "GH1.abc", "]Q1", "", "GH1.abc", nil},
		{"spaces inside kept", "A B", "", "", "A B", nil},
		{"chinese text", "访客通行证", "", "", "访客通行证", nil},
		{"NUL", "GH1\x00abc", "", "", "", scanner.ErrUnprintable},
		{"escape", "\x1b[2J", "", "", "", scanner.ErrUnprintable},
		{"invalid UTF-8", "GH1\xffabc", "", "", "", scanner.ErrUnprintable},
		{"C1 control", "GH1\u0085", "", "", "", scanner.ErrUnprintable},
		{"tab", "a\tb", "", "", "", scanner.ErrUnprintable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := scanner.Code([]byte(tt.line), tt.prefix, tt.suffix)
			if !errors.Is(err, tt.err) || got != tt.want {
				t.Fatalf("Code(%q) = %q, %v; want %q, %v", tt.line, got, err, tt.want, tt.err)
			}
		})
	}
}

func FuzzScannerLines(f *testing.F) {
	f.Add([]byte("]Q1GH1.abc\r\nGH2\n\x00\xff\r"))
	f.Add([]byte("访客\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		split := serial.Splitter{Max: 32}
		split.Feed(b, func(line []byte, err error) {
			if err != nil {
				return
			}
			code, err := scanner.Code(line, "]Q1", "#")
			if err != nil {
				return
			}
			if len(code) > 32 {
				t.Fatalf("code of %d bytes past the limit", len(code))
			}
			for _, r := range code {
				if r < 0x20 || r == 0x7f {
					t.Fatalf("control character in code %q", code)
				}
			}
		})
	})
}

// decider answers grant for codes in allow, deny otherwise, and keeps
// what it was shown.
type decider struct {
	allow map[string]bool
	mu    sync.Mutex
	seen  []gate.Presentation
}

func (d *decider) Decide(_ context.Context, p gate.Presentation) (gate.Action, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.seen = append(d.seen, p)
	if d.allow[p.Value] {
		return gate.Action{Open: true, Pulse: 30 * time.Millisecond, Feedback: gate.Grant, Reason: "ok"}, nil
	}
	return gate.Action{Feedback: gate.Deny, Reason: "unknown"}, nil
}

func (d *decider) presentations() []gate.Presentation {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]gate.Presentation(nil), d.seen...)
}

// relay records pulses.
type relay struct {
	mu     sync.Mutex
	pulses []time.Duration
}

func (r *relay) Pulse(_ context.Context, d time.Duration) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pulses = append(r.pulses, d)
	return nil
}

func (r *relay) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pulses)
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestScannerOverAPseudoTerminal(t *testing.T) {
	dev, err := sim.NewScanner(filepath.Join(t.TempDir(), "ttySCAN0"))
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	dec := &decider{allow: map[string]bool{"GH1.good": true}}
	rel := &relay{}
	s, err := scanner.Open(context.Background(), scanner.Config{
		Line:      serial.LineConfig{Port: serial.Config{Path: dev.Path()}, MinBackoff: 5 * time.Millisecond},
		Lane:      "A",
		Direction: gate.In,
		Device:    "scanner-a-in",
		Prefix:    "]Q1",
		MaxLen:    64,
		Decider:   dec,
		Relay:     rel,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	eventually(t, "online", func() bool { return s.Health().Online })

	dev.Scan("]Q1GH1.good")
	eventually(t, "grant pulse", func() bool { return rel.count() == 1 })
	p := dec.presentations()[0]
	if p.Lane != "A" || p.Direction != gate.In || p.Kind != gate.QR || p.Value != "GH1.good" || p.Device != "scanner-a-in" || p.At.IsZero() {
		t.Fatalf("presentation %+v", p)
	}

	// Noise, an over-long line, and other terminators; then a deny.
	dev.Write([]byte("\x00\x13\xfe\xff\r\n"))
	dev.Write([]byte(strings.Repeat("0123456789", 7) + "\r"))
	dev.Write([]byte("GH1.bad\r"))
	dev.Write([]byte("GH1.good\n"))
	eventually(t, "both decided", func() bool { return len(dec.presentations()) == 3 })
	if got := dec.presentations()[1].Value; got != "GH1.bad" {
		t.Fatalf("second code %q", got)
	}
	eventually(t, "second pulse", func() bool { return rel.count() == 2 })
	if h := s.Health(); h.Errors != 2 {
		t.Fatalf("errors %d, want 2 (noise line, long line): %+v", h.Errors, h)
	}
}

func TestOpenNeedsADecider(t *testing.T) {
	if _, err := scanner.Open(context.Background(), scanner.Config{Line: serial.LineConfig{Port: serial.Config{Path: "/x"}}}); err == nil {
		t.Fatal("opened without a decider")
	}
}
