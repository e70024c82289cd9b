package serial

import (
	"bytes"
	"errors"
	"testing"
)

type emitted struct {
	lines []string
	long  int
}

func (e *emitted) emit(line []byte, err error) {
	if errors.Is(err, ErrLineTooLong) {
		e.long++
		return
	}
	e.lines = append(e.lines, string(line))
}

func TestSplitter(t *testing.T) {
	tests := []struct {
		name   string
		max    int
		chunks []string
		lines  []string
		long   int
	}{
		{"CR", 0, []string{"ab\rcd\r"}, []string{"ab", "cd"}, 0},
		{"LF", 0, []string{"ab\ncd\n"}, []string{"ab", "cd"}, 0},
		{"CRLF counts once", 0, []string{"ab\r\ncd\r\n"}, []string{"ab", "cd"}, 0},
		{"empty lines skipped", 0, []string{"\r\n\r\nab\n\n"}, []string{"ab"}, 0},
		{"split across chunks", 0, []string{"a", "b\r", "\ncd", "\r"}, []string{"ab", "cd"}, 0},
		{"unfinished line held", 0, []string{"ab\rcd"}, []string{"ab"}, 0},
		{"exactly max kept", 3, []string{"abc\r"}, []string{"abc"}, 0},
		{"over max dropped once", 3, []string{"abcdefgh", "ijk\rxy\r"}, []string{"xy"}, 1},
		{"binary kept for the caller to judge", 0, []string{"\x00\xff\r"}, []string{"\x00\xff"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Splitter{Max: tt.max}
			var e emitted
			for _, c := range tt.chunks {
				s.Feed([]byte(c), e.emit)
			}
			if len(e.lines) != len(tt.lines) || e.long != tt.long {
				t.Fatalf("lines %q long %d, want %q long %d", e.lines, e.long, tt.lines, tt.long)
			}
			for i := range e.lines {
				if e.lines[i] != tt.lines[i] {
					t.Fatalf("lines %q, want %q", e.lines, tt.lines)
				}
			}
		})
	}
}

func TestSplitterReset(t *testing.T) {
	var s Splitter
	var e emitted
	s.Feed([]byte("half a li"), e.emit)
	s.Reset()
	s.Feed([]byte("whole\r"), e.emit)
	if len(e.lines) != 1 || e.lines[0] != "whole" {
		t.Fatalf("after reset: %q", e.lines)
	}
}

func FuzzSplitter(f *testing.F) {
	f.Add([]byte("ab\r\ncd\n"), 8)
	f.Add([]byte("\r\r\n\n"), 1)
	f.Add(bytes.Repeat([]byte{'x'}, 100), 10)
	f.Fuzz(func(t *testing.T, b []byte, max int) {
		max = max%64 + 1
		if max <= 0 {
			max += 64
		}
		s := Splitter{Max: max}
		var joined []byte
		s.Feed(b, func(line []byte, err error) {
			if err != nil {
				return
			}
			if len(line) == 0 || len(line) > max {
				t.Fatalf("line of %d bytes with max %d", len(line), max)
			}
			if bytes.ContainsAny(line, "\r\n") {
				t.Fatalf("line %q holds a terminator", line)
			}
			joined = append(joined, line...)
		})
		if s.Pending() > max {
			t.Fatalf("holding %d bytes with max %d", s.Pending(), max)
		}
		// Lines emitted are bytes of the input, in order.
		if len(joined) > len(b) {
			t.Fatalf("emitted more than was fed")
		}
	})
}
