package idcard

import (
	"errors"
	"fmt"
)

// Commands (CMD, PARA).
const (
	CmdFind   = 0x20 // PARA 01: find card; PARA 02: select card
	ParaFind  = 0x01
	ParaSel   = 0x02
	CmdRead   = 0x30 // PARA 01: text and photo
	ParaRead  = 0x01
	CmdSAM    = 0x12 // PARA FF: the SAM's serial number (not used here)
	ParaSAMID = 0xFF
)

// Status codes (SW3) of GA 467.
const (
	StatusOK          = 0x90
	StatusNoContent   = 0x91 // the card has nothing in this field
	StatusFound       = 0x9F // find card: a card is there
	StatusChecksum    = 0x10 // the reader received a frame with a bad checksum
	StatusLength      = 0x11 // the reader received a frame of a wrong length
	StatusCommand     = 0x21 // unknown command
	StatusForbidden   = 0x23 // command not allowed now
	StatusUnknown     = 0x24 // unrecognised error
	StatusCardAuth    = 0x31 // the card did not authenticate the SAM
	StatusSAMAuth     = 0x32 // the SAM did not authenticate the card
	StatusVerify      = 0x33 // information verification failed
	StatusCardType    = 0x40 // unknown card type
	StatusReadFailed  = 0x41 // reading the card failed
	StatusRandom      = 0x47 // getting a random number failed
	StatusSelfTest    = 0x60 // the SAM failed its self-test
	StatusUnlicensed  = 0x66 // the SAM is not authorised
	StatusNoCard      = 0x80 // find card: no card
	StatusSelectFails = 0x81 // select card failed
)

// Classes of reader status, for errors.Is on a *StatusError.
var (
	// ErrNoCard: no card on the reader (80), or it was taken away before
	// it could be selected (81).
	ErrNoCard = errors.New("idcard: no card on the reader")
	// ErrChecksum: the reader received a frame with a bad checksum or
	// length (10, 11): the wire is noisy.
	ErrChecksum = errors.New("idcard: the reader received a damaged frame")
	// ErrAuth: the card and the reader's security module did not
	// authenticate each other (31, 32, 33): not a genuine card, or a
	// faulty module.
	ErrAuth = errors.New("idcard: the card could not be authenticated")
	// ErrReadFailed: the card could not be read (40, 41, 47): usually it
	// was moved during the read.
	ErrReadFailed = errors.New("idcard: the card could not be read")
	// ErrReader: the reader or its security module failed or refused the
	// command (anything else).
	ErrReader = errors.New("idcard: the reader failed")
	// ErrTimeout: the reader did not answer in time.
	ErrTimeout = errors.New("idcard: no reply from the reader")
)

// StatusError is a reply whose SW3 is not the one expected.
type StatusError struct {
	Cmd, Para byte
	SW3       byte
}

var sentences = map[byte]string{
	StatusNoContent:   "the card holds nothing in this field",
	StatusChecksum:    "the reader received a frame with a bad checksum",
	StatusLength:      "the reader received a frame of a wrong length",
	StatusCommand:     "the reader does not know the command",
	StatusForbidden:   "the reader does not allow the command now",
	StatusUnknown:     "the reader reported an unrecognised error",
	StatusCardAuth:    "the card did not accept the reader's security module (authentication failed)",
	StatusSAMAuth:     "the reader's security module did not accept the card (authentication failed: not a genuine card?)",
	StatusVerify:      "the card's information failed verification",
	StatusCardType:    "the card is of a type the reader does not know",
	StatusReadFailed:  "reading the card failed: hold it still on the reader and try again",
	StatusRandom:      "the reader could not get a random number from the card",
	StatusSelfTest:    "the reader's security module failed its self-test",
	StatusUnlicensed:  "the reader's security module is not authorised",
	StatusNoCard:      "no card on the reader",
	StatusSelectFails: "the card could not be selected: it was moved away",
}

func (e *StatusError) Error() string {
	s, ok := sentences[e.SW3]
	if !ok {
		s = "the reader answered with an unknown status"
	}
	return fmt.Sprintf("idcard: %s (command %02X %02X, status %02X)", s, e.Cmd, e.Para, e.SW3)
}

// Unwrap gives the status's class: ErrNoCard, ErrChecksum, ErrAuth,
// ErrReadFailed or ErrReader.
func (e *StatusError) Unwrap() error {
	switch e.SW3 {
	case StatusNoCard, StatusSelectFails:
		return ErrNoCard
	case StatusChecksum, StatusLength:
		return ErrChecksum
	case StatusCardAuth, StatusSAMAuth, StatusVerify:
		return ErrAuth
	case StatusCardType, StatusReadFailed, StatusRandom:
		return ErrReadFailed
	}
	return ErrReader
}
