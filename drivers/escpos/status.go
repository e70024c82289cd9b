package escpos

import (
	"errors"
	"strings"
)

// Status conditions, as errors. A *StatusError matches every one that
// applies (errors.Is), and carries the whole Status.
var (
	ErrPaperOut  = errors.New("escpos: paper out")
	ErrCoverOpen = errors.New("escpos: cover open")
	ErrOffline   = errors.New("escpos: printer offline")
	// ErrFault: the printer reports an error: cutter jammed, head too hot,
	// or an unrecoverable fault.
	ErrFault = errors.New("escpos: printer error")
	// ErrNoStatus: the printer did not answer a status request in time.
	ErrNoStatus = errors.New("escpos: no status from the printer")
)

// Status is what the printer says about itself (DLE EOT 1 to 4).
type Status struct {
	Offline       bool // n=1 bit 3
	CoverOpen     bool // n=2 bit 2
	PaperEndStop  bool // n=2 bit 5: printing stopped for want of paper
	Error         bool // n=2 bit 6
	CutterError   bool // n=3 bit 3
	Unrecoverable bool // n=3 bit 5
	AutoRecover   bool // n=3 bit 6: e.g. head overheated, waiting
	PaperLow      bool // n=4 bits 2,3: near-end sensor
	PaperOut      bool // n=4 bits 5,6: end sensor
}

// Err returns the status as an error: nil when the printer can print.
func (s Status) Err() error {
	if s.CoverOpen || s.PaperOut || s.PaperEndStop || s.fault() || s.Offline {
		return &StatusError{Status: s}
	}
	return nil
}

func (s Status) fault() bool {
	return s.Error || s.CutterError || s.Unrecoverable || s.AutoRecover
}

// StatusError is a printer that cannot print now.
type StatusError struct{ Status Status }

func (e *StatusError) Error() string {
	var why []string
	if e.Status.PaperOut || e.Status.PaperEndStop {
		why = append(why, "paper out")
	}
	if e.Status.CoverOpen {
		why = append(why, "cover open")
	}
	if e.Status.CutterError {
		why = append(why, "cutter error")
	}
	if e.Status.Unrecoverable {
		why = append(why, "unrecoverable error")
	}
	if e.Status.AutoRecover {
		why = append(why, "recoverable error")
	}
	if e.Status.Error && !e.Status.CutterError && !e.Status.Unrecoverable && !e.Status.AutoRecover {
		why = append(why, "error")
	}
	if len(why) == 0 {
		why = append(why, "offline")
	}
	return "escpos: printer " + strings.Join(why, ", ")
}

// Is matches the conditions that apply.
func (e *StatusError) Is(target error) bool {
	s := e.Status
	switch target {
	case ErrPaperOut:
		return s.PaperOut || s.PaperEndStop
	case ErrCoverOpen:
		return s.CoverOpen
	case ErrFault:
		return s.fault()
	case ErrOffline:
		return s.Offline
	}
	return false
}

// StatusRequest is DLE EOT n.
func StatusRequest(n byte) []byte { return []byte{DLE, EOT, n} }

// IsStatusByte reports whether b has the fixed bits of a DLE EOT answer
// (0xx1xx10): bit 0 off, bit 1 on, bit 4 on, bit 7 off. Bytes that do not
// (XON/XOFF, automatic status back, noise) are not answers.
func IsStatusByte(b byte) bool { return b&0x93 == 0x12 }

// Apply reads the answer to DLE EOT n into s. It returns false if b is not
// a status byte or n is not 1 to 4.
func (s *Status) Apply(n, b byte) bool {
	if !IsStatusByte(b) {
		return false
	}
	switch n {
	case 1:
		s.Offline = b&0x08 != 0
	case 2:
		s.CoverOpen = b&0x04 != 0
		s.PaperEndStop = b&0x20 != 0
		s.Error = b&0x40 != 0
	case 3:
		s.CutterError = b&0x08 != 0
		s.Unrecoverable = b&0x20 != 0
		s.AutoRecover = b&0x40 != 0
	case 4:
		s.PaperLow = b&0x0C != 0
		s.PaperOut = b&0x60 != 0
	default:
		return false
	}
	return true
}

// StatusByte is the answer a printer in status s gives to DLE EOT n (the
// inverse of Apply; the simulator answers with it). It returns 0 for n
// outside 1 to 4.
func (s Status) StatusByte(n byte) byte {
	b := byte(0x12)
	set := func(on bool, bits byte) {
		if on {
			b |= bits
		}
	}
	switch n {
	case 1:
		set(s.Offline, 0x08)
	case 2:
		set(s.CoverOpen, 0x04)
		set(s.PaperEndStop, 0x20)
		set(s.Error, 0x40)
	case 3:
		set(s.CutterError, 0x08)
		set(s.Unrecoverable, 0x20)
		set(s.AutoRecover, 0x40)
	case 4:
		set(s.PaperLow, 0x0C)
		set(s.PaperOut, 0x60)
	default:
		return 0
	}
	return b
}
