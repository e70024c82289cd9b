package idcard

import (
	"encoding/binary"
	"fmt"
	"unicode/utf16"
)

// Text lays c out as a card's 256-byte text block, as a reader returns
// it: for simulators and tests. Fields too long for their place are cut.
func (c Card) Text() []byte {
	b := make([]byte, TextSize)
	for i := 0; i < TextSize; i += 2 {
		b[i] = ' '
	}
	put := func(off, n int, s string) {
		u := utf16.Encode([]rune(s))
		for i := 0; i < len(u) && 2*i < n; i++ {
			binary.LittleEndian.PutUint16(b[off+2*i:], u[i])
		}
	}
	until := c.ValidTo.compact()
	if c.LongTerm {
		until = "长期"
	}
	sex := ""
	if c.Sex != 0 {
		sex = string(rune(c.Sex))
	}
	switch c.Kind {
	case Foreigner:
		put(0, 120, c.NameEN)
		put(120, 2, sex)
		put(122, 30, c.Number)
		put(152, 6, c.Nationality)
		put(158, 30, c.Name)
		put(188, 16, c.ValidFrom.compact())
		put(204, 16, until)
		put(220, 16, c.Birth.compact())
		put(236, 4, c.Version)
		put(240, 8, c.Authority)
		put(typeOffset, 2, "I")
	default:
		put(0, 30, c.Name)
		put(30, 2, sex)
		put(32, 4, c.Ethnicity)
		put(36, 16, c.Birth.compact())
		put(52, 70, c.Address)
		put(122, 36, c.Number)
		put(158, 30, c.Authority)
		put(188, 16, c.ValidFrom.compact())
		put(204, 16, until)
		if c.Kind == Permit {
			put(220, 18, c.PassNumber)
			put(238, 4, c.IssueCount)
			put(typeOffset, 2, "J")
		}
	}
	return b
}

func (d Date) compact() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d%02d%02d", d.Year, d.Month, d.Day)
}

// ReadData is the data of a read reply (30 01): the lengths of the text
// and of the photo, then both.
func ReadData(text, photo []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(len(text)))
	b = binary.BigEndian.AppendUint16(b, uint16(len(photo)))
	b = append(b, text...)
	return append(b, photo...)
}

// SplitReadData takes a read reply's data apart.
func SplitReadData(data []byte) (text, photo []byte, err error) {
	if len(data) < 4 {
		return nil, nil, fmt.Errorf("%w: read reply of %d bytes", ErrGarbled, len(data))
	}
	tl, pl := int(binary.BigEndian.Uint16(data)), int(binary.BigEndian.Uint16(data[2:]))
	if 4+tl+pl > len(data) {
		return nil, nil, fmt.Errorf("%w: read reply lengths %d+%d exceed its %d bytes", ErrGarbled, tl, pl, len(data)-4)
	}
	return data[4 : 4+tl], data[4+tl : 4+tl+pl], nil
}
