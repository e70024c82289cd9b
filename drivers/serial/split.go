package serial

import "errors"

// ErrLineTooLong: a line ran past the splitter's limit; it was thrown away.
var ErrLineTooLong = errors.New("serial: line too long")

// Splitter cuts a byte stream into lines ended by CR, LF or CRLF, for the
// devices that speak in lines (scanners, MRZ readers, modems). Empty lines
// are skipped, so CRLF and LFCR count once. A line longer than Max is thrown
// away up to its end and reported once as ErrLineTooLong: memory stays
// bounded whatever arrives.
type Splitter struct {
	Max int // longest line kept; default 4096

	buf      []byte
	overlong bool
}

// Feed splits b, calling emit for each finished line (valid only during
// the call) or once per over-long line with ErrLineTooLong.
func (s *Splitter) Feed(b []byte, emit func(line []byte, err error)) {
	limit := s.Max
	if limit <= 0 {
		limit = 4096
	}
	for _, c := range b {
		if c == '\r' || c == '\n' {
			switch {
			case s.overlong:
				emit(nil, ErrLineTooLong)
			case len(s.buf) > 0:
				emit(s.buf, nil)
			}
			s.buf = s.buf[:0]
			s.overlong = false
			continue
		}
		if s.overlong {
			continue
		}
		if len(s.buf) >= limit {
			s.overlong = true
			s.buf = s.buf[:0]
			continue
		}
		s.buf = append(s.buf, c)
	}
}

// Reset forgets a partial line, e.g. one cut short by a reconnect.
func (s *Splitter) Reset() {
	s.buf = s.buf[:0]
	s.overlong = false
}

// Pending is how many bytes of an unfinished line are held.
func (s *Splitter) Pending() int { return len(s.buf) }
