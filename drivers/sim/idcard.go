package sim

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"sync"

	"gatehouse/drivers/idcard"
	"gatehouse/drivers/sim/pty"
)

// IDCardMode is what a simulated ID card reader does with the next card.
type IDCardMode int

// Modes.
const (
	IDCardNormal   IDCardMode = iota // answers find, select and read with the card on it
	IDCardNoCard                     // find answers 80: the card was taken away
	IDCardChecksum                   // every command is answered 10: the reader saw a bad checksum
	IDCardAuth                       // select answers 31: the card and the SAM did not authenticate
	IDCardReadFail                   // read answers 41: the card moved during the read
)

// IDCardReader is a desk resident ID card reader (the SAM behind a serial
// port): it answers find card (20 01), select (20 02) and read (30 01) for
// the card laid on it. A frame with a bad checksum is answered 10 as the
// real module does; bytes that are no frame are skipped.
type IDCardReader struct {
	plug
	done chan struct{}

	mu sync.Mutex
	st idcardState
}

// NewIDCardReader plugs a reader in at path, with no card on it.
func NewIDCardReader(path string) (*IDCardReader, error) {
	d, err := pty.New(path)
	if err != nil {
		return nil, err
	}
	r := &IDCardReader{plug: plug{d}, done: make(chan struct{})}
	go answer(d, &r.mu, r.st.feed, r.done)
	return r, nil
}

// Close unplugs the reader for good and stops its goroutine.
func (r *IDCardReader) Close() error {
	err := r.dev.Close()
	<-r.done
	return err
}

// PresentCard lays a card on the reader (replacing any) and sets the mode
// back to normal.
func (r *IDCardReader) PresentCard(c idcard.Card) {
	r.PresentText(c.Text())
}

// PresentText lays a card with this raw 256-byte text block on the reader.
// Its chip serial (what select card answers) is the first 8 bytes of the
// text's SHA-256: one card, one serial, as on real cards.
func (r *IDCardReader) PresentText(text []byte) {
	sum := sha256.Sum256(text)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.st.text = append([]byte(nil), text...)
	r.st.chip = sum[:8]
	r.st.mode = IDCardNormal
}

// Chip is the serial the reader reports for the card on it (upper-case
// hex), as a gate reader that reads ID cards reports it.
func (r *IDCardReader) Chip() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.ToUpper(hex.EncodeToString(r.st.chip))
}

// RemoveCard takes the card away.
func (r *IDCardReader) RemoveCard() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.st.text = nil
}

// SetMode makes the reader fail (or stop failing).
func (r *IDCardReader) SetMode(m IDCardMode) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.st.mode = m
}

// Inject sends noise before the next reply.
func (r *IDCardReader) Inject(noise []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.st.noise = append(r.st.noise, noise...)
}

// Commands counts the well-formed commands received.
func (r *IDCardReader) Commands() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.st.commands
}

// idcardState is the reader's behaviour, without I/O (feed is driven by
// answer, and by tests).
type idcardState struct {
	buf      []byte
	text     []byte // the card on the reader; nil: none
	chip     []byte // its chip serial, answered to select card
	mode     IDCardMode
	noise    []byte
	commands int
}

// photo stands in for the card's encrypted photo: the simulator cannot
// make a real one, and the driver does not decode it.
var photo = func() []byte {
	b := make([]byte, 1024)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}()

func (s *idcardState) feed(in []byte) []byte {
	s.buf = append(s.buf, in...)
	var out []byte
	for {
		if n := badChecksum(s.buf); n > 0 {
			// A whole command with a bad checksum: a real module answers 10.
			s.buf = s.buf[n:]
			out = append(out, s.reply(idcard.StatusChecksum, nil)...)
			continue
		}
		body, n, err := idcard.Cut(s.buf)
		if errors.Is(err, idcard.ErrIncomplete) {
			break
		}
		s.buf = s.buf[n:]
		if err != nil || len(body) < 2 {
			continue // noise
		}
		s.commands++
		out = append(out, s.answer(body[0], body[1])...)
	}
	return out
}

// badChecksum returns the size of the frame at the start of b when it is
// whole but for a wrong checksum, or 0.
func badChecksum(b []byte) int {
	if !bytes.HasPrefix(b, idcard.Preamble) || len(b) < len(idcard.Preamble)+2 {
		return 0
	}
	l := int(binary.BigEndian.Uint16(b[len(idcard.Preamble):]))
	end := len(idcard.Preamble) + 2 + l
	if l < 3 || l > idcard.MaxLength || len(b) < end {
		return 0
	}
	var x byte
	for _, c := range b[len(idcard.Preamble) : end-1] {
		x ^= c
	}
	if x == b[end-1] {
		return 0
	}
	return end
}

func (s *idcardState) answer(cmd, para byte) []byte {
	if s.mode == IDCardChecksum {
		return s.reply(idcard.StatusChecksum, nil)
	}
	card := s.text != nil && s.mode != IDCardNoCard
	switch {
	case cmd == idcard.CmdFind && para == idcard.ParaFind:
		if !card {
			return s.reply(idcard.StatusNoCard, nil)
		}
		return s.reply(idcard.StatusFound, make([]byte, 4))
	case cmd == idcard.CmdFind && para == idcard.ParaSel:
		switch {
		case !card:
			return s.reply(idcard.StatusSelectFails, nil)
		case s.mode == IDCardAuth:
			return s.reply(idcard.StatusCardAuth, nil)
		}
		return s.reply(idcard.StatusOK, s.chip)
	case cmd == idcard.CmdRead && para == idcard.ParaRead:
		switch {
		case !card:
			return s.reply(idcard.StatusReadFailed, nil)
		case s.mode == IDCardReadFail:
			return s.reply(idcard.StatusReadFailed, nil)
		}
		return s.reply(idcard.StatusOK, idcard.ReadData(s.text, photo))
	}
	return s.reply(idcard.StatusCommand, nil)
}

func (s *idcardState) reply(sw3 byte, data []byte) []byte {
	out := append(s.noise, idcard.ReplyFrame(0, 0, sw3, data)...)
	s.noise = nil
	return out
}
