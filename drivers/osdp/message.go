package osdp

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Command and reply data layouts (spec §6 "commands" and §7 "replies").
// The byte order of every multi-byte field is least significant first.
// Field by field they match libosdp's src/osdp_cp.c (cp_build_command,
// cp_decode_response) and src/osdp_pd.c.

// ErrMalformed is returned for message data that does not fit its layout.
var ErrMalformed = errors.New("osdp: malformed message data")

func malformed(what string, data []byte) error {
	return fmt.Errorf("%w: %s (%d bytes)", ErrMalformed, what, len(data))
}

// RequestID is the data of osdp_ID and osdp_CAP: 0x00, "standard report".
var RequestID = []byte{0x00}

// PDID is osdp_PDID (12 bytes).
type PDID struct {
	Vendor   [3]byte // IEEE OUI
	Model    byte
	Version  byte
	Serial   uint32
	Firmware [3]byte // major, minor, build
}

// Marshal encodes the reply data.
func (p PDID) Marshal() []byte {
	b := append([]byte(nil), p.Vendor[:]...)
	b = append(b, p.Model, p.Version)
	b = binary.LittleEndian.AppendUint32(b, p.Serial)
	return append(b, p.Firmware[:]...)
}

// ClientUID is the 8-byte cUID a PD of this identity sends in osdp_CCRYPT:
// vendor code, model and serial number. The spec leaves its make-up to the
// vendor; the CP only carries it.
func (p PDID) ClientUID() (u [8]byte) {
	copy(u[:3], p.Vendor[:])
	u[3] = p.Model
	binary.LittleEndian.PutUint32(u[4:], p.Serial)
	return u
}

// ParsePDID decodes osdp_PDID data.
func ParsePDID(d []byte) (PDID, error) {
	if len(d) != 12 {
		return PDID{}, malformed("PDID", d)
	}
	var p PDID
	copy(p.Vendor[:], d[0:3])
	p.Model, p.Version = d[3], d[4]
	p.Serial = binary.LittleEndian.Uint32(d[5:9])
	copy(p.Firmware[:], d[9:12])
	return p, nil
}

// Capability is one 3-byte entry of osdp_PDCAP.
type Capability struct {
	Function   byte
	Compliance byte
	Count      byte
}

// MarshalCaps encodes osdp_PDCAP data.
func MarshalCaps(cs []Capability) []byte {
	b := make([]byte, 0, 3*len(cs))
	for _, c := range cs {
		b = append(b, c.Function, c.Compliance, c.Count)
	}
	return b
}

// ParseCaps decodes osdp_PDCAP data.
func ParseCaps(d []byte) ([]Capability, error) {
	if len(d) == 0 || len(d)%3 != 0 {
		return nil, malformed("PDCAP", d)
	}
	cs := make([]Capability, 0, len(d)/3)
	for i := 0; i < len(d); i += 3 {
		cs = append(cs, Capability{d[i], d[i+1], d[i+2]})
	}
	return cs, nil
}

// SupportsSecure reports whether capabilities announce the AES-128 secure
// channel (function 9, compliance bit 0).
func SupportsSecure(cs []Capability) bool {
	for _, c := range cs {
		if c.Function == CapCommSecurity && c.Compliance&1 != 0 {
			return true
		}
	}
	return false
}

// LocalStatus is osdp_LSTATR: tamper and power, 0 normal, 1 tripped.
type LocalStatus struct {
	Tamper byte
	Power  byte
}

// Marshal encodes the reply data.
func (s LocalStatus) Marshal() []byte { return []byte{s.Tamper, s.Power} }

// ParseLocalStatus decodes osdp_LSTATR data.
func ParseLocalStatus(d []byte) (LocalStatus, error) {
	if len(d) != 2 {
		return LocalStatus{}, malformed("LSTATR", d)
	}
	return LocalStatus{d[0], d[1]}, nil
}

// OutputControl is one 4-byte record of osdp_OUT. Timer is in 100 ms units.
type OutputControl struct {
	Output byte
	Code   byte
	Timer  uint16
}

// MarshalOutputs encodes osdp_OUT data.
func MarshalOutputs(os ...OutputControl) []byte {
	b := make([]byte, 0, 4*len(os))
	for _, o := range os {
		b = append(b, o.Output, o.Code)
		b = binary.LittleEndian.AppendUint16(b, o.Timer)
	}
	return b
}

// ParseOutputs decodes osdp_OUT data.
func ParseOutputs(d []byte) ([]OutputControl, error) {
	if len(d) == 0 || len(d)%4 != 0 {
		return nil, malformed("OUT", d)
	}
	os := make([]OutputControl, 0, len(d)/4)
	for i := 0; i < len(d); i += 4 {
		os = append(os, OutputControl{d[i], d[i+1], binary.LittleEndian.Uint16(d[i+2:])})
	}
	return os, nil
}

// LEDTemporary is the temporary half of an osdp_LED record. Times are in
// 100 ms units: OnTime and OffTime make the blink, Timer how long it lasts.
type LEDTemporary struct {
	Code     byte
	OnTime   byte
	OffTime  byte
	OnColor  byte
	OffColor byte
	Timer    uint16
}

// LEDPermanent is the permanent half of an osdp_LED record.
type LEDPermanent struct {
	Code     byte
	OnTime   byte
	OffTime  byte
	OnColor  byte
	OffColor byte
}

// LEDControl is one 14-byte record of osdp_LED.
type LEDControl struct {
	Reader    byte
	LED       byte
	Temporary LEDTemporary
	Permanent LEDPermanent
}

// MarshalLEDs encodes osdp_LED data.
func MarshalLEDs(ls ...LEDControl) []byte {
	b := make([]byte, 0, 14*len(ls))
	for _, l := range ls {
		t, p := l.Temporary, l.Permanent
		b = append(b, l.Reader, l.LED, t.Code, t.OnTime, t.OffTime, t.OnColor, t.OffColor)
		b = binary.LittleEndian.AppendUint16(b, t.Timer)
		b = append(b, p.Code, p.OnTime, p.OffTime, p.OnColor, p.OffColor)
	}
	return b
}

// ParseLEDs decodes osdp_LED data.
func ParseLEDs(d []byte) ([]LEDControl, error) {
	if len(d) == 0 || len(d)%14 != 0 {
		return nil, malformed("LED", d)
	}
	ls := make([]LEDControl, 0, len(d)/14)
	for i := 0; i < len(d); i += 14 {
		r := d[i : i+14]
		ls = append(ls, LEDControl{
			Reader: r[0], LED: r[1],
			Temporary: LEDTemporary{r[2], r[3], r[4], r[5], r[6], binary.LittleEndian.Uint16(r[7:9])},
			Permanent: LEDPermanent{r[9], r[10], r[11], r[12], r[13]},
		})
	}
	return ls, nil
}

// Buzzer is osdp_BUZ (5 bytes). Times are in 100 ms units; Count 0 means
// "until told otherwise".
type Buzzer struct {
	Reader  byte
	Tone    byte
	OnTime  byte
	OffTime byte
	Count   byte
}

// Marshal encodes the command data.
func (b Buzzer) Marshal() []byte { return []byte{b.Reader, b.Tone, b.OnTime, b.OffTime, b.Count} }

// ParseBuzzer decodes osdp_BUZ data.
func ParseBuzzer(d []byte) (Buzzer, error) {
	if len(d) != 5 {
		return Buzzer{}, malformed("BUZ", d)
	}
	return Buzzer{d[0], d[1], d[2], d[3], d[4]}, nil
}

// KeySet is osdp_KEYSET: key type (1, SCBK), key length (16), key.
type KeySet struct {
	Key Key
}

// Marshal encodes the command data. It holds the key in clear: it is only
// ever sent through Session.Seal.
func (k KeySet) Marshal() []byte {
	return append([]byte{KeyTypeSCBK, KeyLen}, k.Key.Bytes()...)
}

// ParseKeySet decodes osdp_KEYSET data.
func ParseKeySet(d []byte) (KeySet, error) {
	if len(d) != 2+KeyLen || d[0] != KeyTypeSCBK || d[1] != KeyLen {
		return KeySet{}, malformed("KEYSET", d)
	}
	k, err := NewKey(d[2:])
	return KeySet{Key: k}, err
}

// ParseChallenge decodes osdp_CHLNG data: RND.A.
func ParseChallenge(d []byte) ([8]byte, error) {
	var r [8]byte
	if len(d) != 8 {
		return r, malformed("CHLNG", d)
	}
	copy(r[:], d)
	return r, nil
}

// ParseCryptogram decodes osdp_SCRYPT or osdp_RMAC_I data: 16 bytes.
func ParseCryptogram(d []byte) ([16]byte, error) {
	var c [16]byte
	if len(d) != 16 {
		return c, malformed("cryptogram", d)
	}
	copy(c[:], d)
	return c, nil
}

// CCrypt is osdp_CCRYPT (32 bytes).
type CCrypt struct {
	UID        [8]byte
	RndB       [8]byte
	Cryptogram [16]byte
}

// Marshal encodes the reply data.
func (c CCrypt) Marshal() []byte {
	b := append([]byte(nil), c.UID[:]...)
	b = append(b, c.RndB[:]...)
	return append(b, c.Cryptogram[:]...)
}

// ParseCCrypt decodes osdp_CCRYPT data.
func ParseCCrypt(d []byte) (CCrypt, error) {
	var c CCrypt
	if len(d) != 32 {
		return c, malformed("CCRYPT", d)
	}
	copy(c.UID[:], d[0:8])
	copy(c.RndB[:], d[8:16])
	copy(c.Cryptogram[:], d[16:32])
	return c, nil
}

// Nak is osdp_NAK: an error code and, for some codes, more data.
type Nak struct {
	Code byte
	Data []byte
}

// Marshal encodes the reply data.
func (n Nak) Marshal() []byte { return append([]byte{n.Code}, n.Data...) }

// ParseNak decodes osdp_NAK data.
func ParseNak(d []byte) (Nak, error) {
	if len(d) == 0 {
		return Nak{}, malformed("NAK", d)
	}
	n := Nak{Code: d[0]}
	if len(d) > 1 {
		n.Data = append([]byte(nil), d[1:]...)
	}
	return n, nil
}

// CardRaw is osdp_RAW: a card's bits as the reader saw them, most
// significant bit of Data first, Bits of them.
type CardRaw struct {
	Reader byte
	Format byte // RawFormatUnspecified or RawFormatWiegand
	Bits   uint16
	Data   []byte
}

// Marshal encodes the reply data.
func (c CardRaw) Marshal() []byte {
	b := []byte{c.Reader, c.Format}
	b = binary.LittleEndian.AppendUint16(b, c.Bits)
	return append(b, c.Data...)
}

// ParseCardRaw decodes osdp_RAW data.
func ParseCardRaw(d []byte) (CardRaw, error) {
	if len(d) < 5 {
		return CardRaw{}, malformed("RAW", d)
	}
	c := CardRaw{Reader: d[0], Format: d[1], Bits: binary.LittleEndian.Uint16(d[2:4])}
	if c.Bits == 0 || (int(c.Bits)+7)/8 != len(d)-4 {
		return CardRaw{}, malformed("RAW bit count", d)
	}
	c.Data = append([]byte(nil), d[4:]...)
	return c, nil
}

// CardText is osdp_FMT: a card number the reader formatted as ASCII.
type CardText struct {
	Reader    byte
	Direction byte // 0 forward read, 1 reverse
	Text      []byte
}

// Marshal encodes the reply data.
func (c CardText) Marshal() []byte {
	return append([]byte{c.Reader, c.Direction, byte(len(c.Text))}, c.Text...)
}

// ParseCardText decodes osdp_FMT data.
func ParseCardText(d []byte) (CardText, error) {
	if len(d) < 4 || int(d[2]) != len(d)-3 {
		return CardText{}, malformed("FMT", d)
	}
	return CardText{Reader: d[0], Direction: d[1], Text: append([]byte(nil), d[3:]...)}, nil
}

// Keypad is osdp_KEYPPAD: keys pressed, '0'..'9', KeyStar and KeyPound.
type Keypad struct {
	Reader byte
	Keys   []byte
}

// Marshal encodes the reply data.
func (k Keypad) Marshal() []byte {
	return append([]byte{k.Reader, byte(len(k.Keys))}, k.Keys...)
}

// ParseKeypad decodes osdp_KEYPPAD data.
func ParseKeypad(d []byte) (Keypad, error) {
	if len(d) < 3 || int(d[1]) != len(d)-2 {
		return Keypad{}, malformed("KEYPPAD", d)
	}
	return Keypad{Reader: d[0], Keys: append([]byte(nil), d[2:]...)}, nil
}

func parseEmpty(what string, d []byte) (struct{}, error) {
	if len(d) != 0 {
		return struct{}{}, malformed(what, d)
	}
	return struct{}{}, nil
}

// ParseReply decodes the data of a reply by its code into one of the reply
// types above (struct{} for ACK and BUSY).
func ParseReply(code byte, d []byte) (any, error) {
	switch code {
	case ReplyACK:
		return parseEmpty("ACK", d)
	case ReplyBusy:
		return parseEmpty("BUSY", d)
	case ReplyNAK:
		return ParseNak(d)
	case ReplyPDID:
		return ParsePDID(d)
	case ReplyPDCap:
		return ParseCaps(d)
	case ReplyLStatR:
		return ParseLocalStatus(d)
	case ReplyRaw:
		return ParseCardRaw(d)
	case ReplyFmt:
		return ParseCardText(d)
	case ReplyKeypad:
		return ParseKeypad(d)
	case ReplyCCrypt:
		return ParseCCrypt(d)
	case ReplyRMACI:
		return ParseCryptogram(d)
	}
	return nil, fmt.Errorf("%w: unknown reply %#x", ErrMalformed, code)
}

// ParseCommand decodes the data of a command by its code (the PD's side).
func ParseCommand(code byte, d []byte) (any, error) {
	switch code {
	case CmdPoll:
		return parseEmpty("POLL", d)
	case CmdLStat:
		return parseEmpty("LSTAT", d)
	case CmdID, CmdCap:
		if len(d) != 1 {
			return nil, malformed("ID/CAP", d)
		}
		return d[0], nil
	case CmdOut:
		return ParseOutputs(d)
	case CmdLED:
		return ParseLEDs(d)
	case CmdBuz:
		return ParseBuzzer(d)
	case CmdKeySet:
		return ParseKeySet(d)
	case CmdChlng:
		return ParseChallenge(d)
	case CmdSCrypt:
		return ParseCryptogram(d)
	}
	return nil, fmt.Errorf("%w: unknown command %#x", ErrMalformed, code)
}
