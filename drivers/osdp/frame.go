package osdp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// Wire constants (spec §5.7 "packet structure"; libosdp src/osdp_phy.c).
const (
	som       = 0x53 // start of message
	markByte  = 0xFF // v2.2 mark byte a sender may put before SOM
	headerLen = 5    // SOM, ADDR, LEN_LSB, LEN_MSB, CTRL
	macLen    = 4    // truncated MAC of a secure message

	ctrlSeq      = 0x03
	ctrlCRC      = 0x04
	ctrlSCB      = 0x08
	ctrlReserved = 0xF0

	replyBit = 0x80 // set in the address byte of every reply

	// MaxFrameLen bounds a frame, so a corrupt length field never makes the
	// decoder wait for, or hold, more than this. The spec lets a PD announce
	// its receive buffer (PDCAP function 10); readers announce far less.
	MaxFrameLen = 1024
)

// Errors of the frame layer.
var (
	ErrIncomplete = errors.New("osdp: frame incomplete")
	ErrBadLength  = errors.New("osdp: bad frame length")
	ErrBadCheck   = errors.New("osdp: bad CRC or checksum")
	ErrBadFormat  = errors.New("osdp: malformed frame header or security block")
	ErrTooLong    = errors.New("osdp: frame longer than MaxFrameLen")
)

// Frame is one OSDP packet. Addr is the address byte as on the wire: the PD
// address, with bit 7 set in a reply. Data is the command or reply data —
// encrypted while a frame with SCB type SCS_17/SCS_18 has not been opened.
type Frame struct {
	Addr     byte
	Seq      byte // 0–3
	Checksum bool // 8-bit checksum instead of CRC-16
	SCB      byte // security block type (SCS11..SCS18); 0 when absent
	SCBData  []byte
	Code     byte
	Data     []byte
	MAC      [macLen]byte // when HasMAC
}

// IsReply reports whether the frame travels from a PD to the CP.
func (f *Frame) IsReply() bool { return f.Addr&replyBit != 0 }

// PD returns the PD address the frame is for or from.
func (f *Frame) PD() byte { return f.Addr &^ replyBit }

// HasMAC reports whether the frame carries a MAC (SCS_15..SCS_18).
func (f *Frame) HasMAC() bool { return f.SCB >= SCS15 && f.SCB <= SCS18 }

func (f *Frame) checkLen() int {
	if f.Checksum {
		return 1
	}
	return 2
}

// wireLen is the value of the LEN field: the whole packet, SOM to check.
func (f *Frame) wireLen() int {
	n := headerLen + 1 + len(f.Data) + f.checkLen()
	if f.SCB != 0 {
		n += 2 + len(f.SCBData)
	}
	if f.HasMAC() {
		n += macLen
	}
	return n
}

// appendAuth appends the packet from SOM to the end of the data — the bytes
// a MAC covers — with the length field already counting MAC and check.
func (f *Frame) appendAuth(dst []byte) ([]byte, error) {
	if f.Seq > 3 {
		return dst, fmt.Errorf("%w: sequence %d", ErrBadFormat, f.Seq)
	}
	if f.SCB != 0 && (f.SCB < SCS11 || f.SCB > SCS18 || len(f.SCBData) > 253) {
		return dst, fmt.Errorf("%w: security block %#x", ErrBadFormat, f.SCB)
	}
	n := f.wireLen()
	if n > MaxFrameLen {
		return dst, ErrTooLong
	}
	ctrl := f.Seq
	if !f.Checksum {
		ctrl |= ctrlCRC
	}
	if f.SCB != 0 {
		ctrl |= ctrlSCB
	}
	dst = append(dst, som, f.Addr, byte(n), byte(n>>8), ctrl)
	if f.SCB != 0 {
		dst = append(dst, byte(2+len(f.SCBData)), f.SCB)
		dst = append(dst, f.SCBData...)
	}
	dst = append(dst, f.Code)
	return append(dst, f.Data...), nil
}

// appendCheck appends to dst the CRC or checksum of pkt, the packet so far
// from SOM (usually the tail of dst).
func (f *Frame) appendCheck(dst, pkt []byte) []byte {
	if f.Checksum {
		return append(dst, checksum(pkt))
	}
	return binary.LittleEndian.AppendUint16(dst, crc16(pkt))
}

// Append appends the frame's wire bytes to dst. A frame with a MAC is
// written with the MAC it holds: Session.Seal is the way to make one.
func (f *Frame) Append(dst []byte) ([]byte, error) {
	start := len(dst)
	dst, err := f.appendAuth(dst)
	if err != nil {
		return dst[:start], err
	}
	if f.HasMAC() {
		dst = append(dst, f.MAC[:]...)
	}
	return f.appendCheck(dst, dst[start:]), nil
}

// DecodeStats counts what a Decoder has seen.
type DecodeStats struct {
	Frames    uint64 // well-formed frames returned
	Garbage   uint64 // bytes skipped while looking for SOM (mark bytes excluded)
	BadLength uint64 // length field too small, too large or inconsistent
	BadCheck  uint64 // CRC or checksum mismatch
	BadFormat uint64 // reserved control bits or a malformed security block
}

// Decoder cuts a byte stream into frames. It resynchronises on garbage by
// skipping to the next SOM, drops a frame whose length or check is wrong by
// one byte (so a real frame hidden behind a false SOM is found), and never
// holds more than 2×MaxFrameLen bytes.
type Decoder struct {
	buf   []byte
	stats DecodeStats
}

// Stats returns the counters so far.
func (d *Decoder) Stats() DecodeStats { return d.stats }

// Reset drops buffered bytes, counting them as garbage.
func (d *Decoder) Reset() {
	d.skip(len(d.buf))
}

// Buffered is the number of bytes held.
func (d *Decoder) Buffered() int { return len(d.buf) }

// Feed appends bytes read from the line. Call Next until it returns
// ErrIncomplete before feeding more than MaxFrameLen bytes again: past
// 2×MaxFrameLen the oldest bytes are dropped as garbage.
func (d *Decoder) Feed(p []byte) {
	const capacity = 2 * MaxFrameLen
	if len(p) >= capacity {
		d.Reset()
		d.countGarbage(p[:len(p)-capacity])
		p = p[len(p)-capacity:]
	} else if over := len(d.buf) + len(p) - capacity; over > 0 {
		d.skip(over)
	}
	if d.buf == nil {
		d.buf = make([]byte, 0, capacity)
	}
	d.buf = append(d.buf, p...)
}

func (d *Decoder) countGarbage(b []byte) {
	for _, x := range b {
		if x != markByte {
			d.stats.Garbage++
		}
	}
}

// skip drops n bytes from the front of the buffer as garbage.
func (d *Decoder) skip(n int) {
	d.countGarbage(d.buf[:n])
	d.drop(n)
}

func (d *Decoder) drop(n int) {
	m := copy(d.buf, d.buf[n:])
	d.buf = d.buf[:m]
}

// Next returns the next frame. It returns ErrIncomplete when it needs more
// bytes, and ErrBadLength, ErrBadCheck or ErrBadFormat for a rejected frame
// (already skipped and counted): call it again.
func (d *Decoder) Next() (Frame, error) {
	i := bytes.IndexByte(d.buf, som)
	if i < 0 {
		d.skip(len(d.buf))
		return Frame{}, ErrIncomplete
	}
	d.skip(i)
	if len(d.buf) < headerLen {
		return Frame{}, ErrIncomplete
	}
	n := int(binary.LittleEndian.Uint16(d.buf[2:4]))
	ctrl := d.buf[4]
	check := 2
	if ctrl&ctrlCRC == 0 {
		check = 1
	}
	least := headerLen + 1 + check
	if ctrl&ctrlSCB != 0 {
		least += 2
	}
	if n < least || n > MaxFrameLen {
		d.stats.BadLength++
		d.drop(1)
		return Frame{}, ErrBadLength
	}
	if len(d.buf) < n {
		return Frame{}, ErrIncomplete
	}
	pkt := d.buf[:n]
	body := pkt[:n-check]
	if check == 2 {
		if binary.LittleEndian.Uint16(pkt[n-2:]) != crc16(body) {
			d.stats.BadCheck++
			d.drop(1)
			return Frame{}, ErrBadCheck
		}
	} else if pkt[n-1] != checksum(body) {
		d.stats.BadCheck++
		d.drop(1)
		return Frame{}, ErrBadCheck
	}
	// The check is good, so the frame's bounds are right: from here a
	// problem drops the whole frame.
	f, err := parseBody(body, check == 1)
	if err != nil {
		d.stats.BadFormat++
		d.drop(n)
		return Frame{}, err
	}
	d.stats.Frames++
	d.drop(n)
	return f, nil
}

// parseBody splits a checked packet (SOM to the end of the MAC) into a
// Frame, copying what it keeps.
func parseBody(body []byte, sum bool) (Frame, error) {
	ctrl := body[4]
	if ctrl&ctrlReserved != 0 {
		return Frame{}, fmt.Errorf("%w: control byte %#x", ErrBadFormat, ctrl)
	}
	f := Frame{Addr: body[1], Seq: ctrl & ctrlSeq, Checksum: sum}
	rest := body[headerLen:]
	if ctrl&ctrlSCB != 0 {
		l := int(rest[0])
		if l < 2 || l >= len(rest) {
			return Frame{}, fmt.Errorf("%w: security block length %d", ErrBadFormat, l)
		}
		f.SCB = rest[1]
		if f.SCB < SCS11 || f.SCB > SCS18 {
			return Frame{}, fmt.Errorf("%w: security block type %#x", ErrBadFormat, f.SCB)
		}
		if l > 2 {
			f.SCBData = bytes.Clone(rest[2:l])
		}
		rest = rest[l:]
	}
	if f.HasMAC() {
		if len(rest) < 1+macLen {
			return Frame{}, fmt.Errorf("%w: no room for the MAC", ErrBadFormat)
		}
		copy(f.MAC[:], rest[len(rest)-macLen:])
		rest = rest[:len(rest)-macLen]
	}
	f.Code = rest[0]
	if len(rest) > 1 {
		f.Data = bytes.Clone(rest[1:])
	}
	return f, nil
}
