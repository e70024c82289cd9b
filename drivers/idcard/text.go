package idcard

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
)

// TextSize is the text block's size.
const TextSize = 256

// Text-block layouts, in bytes (UCS-2 little-endian, 2 bytes a
// character), padded with spaces. The resident card's is GA 467's and is
// the one every public SDK agrees on:
//
//	name 30 | sex 2 | ethnicity 4 | birth 16 | address 70 | number 36 |
//	authority 30 | valid from 16 | valid until 16 (or 长期) | reserved 36
//
// The Hong Kong/Macao/Taiwan residence permit ("J" at byte 248) keeps the
// resident card's fields up to "valid until", with the ethnicity field
// unused, and then: pass number 18 (the 通行证号码) | issue count 4 |
// reserved 6 | type 2 | reserved 6.
//
// The foreigners' permanent residence card of 2017 ("I" at byte 248):
//
//	English name 120 | sex 2 | card number 30 | nationality 6 (ISO 3166-1
//	alpha-3) | Chinese name 30 | valid from 16 | valid until 16 | birth 16 |
//	version 4 | authority code 8 | type 2 | reserved 6
//
// What is confirmed and what is not: the resident layout and the frame are
// in every public implementation; the type characters ("I", "J"), the
// permit's pass number and issue count, the foreigners' English name,
// version and 15-character number appear as fields in a vendor's public SDK
// header. The byte offsets of the "I" and "J" layouts above come from
// vendors' manuals as commonly reproduced and could not be checked against
// the standards (not public) or a real card; the permit's reserved bytes
// are unknown. The 2023 foreigners' card ("Y") has a different layout and
// an 18-character number; it is refused as ErrUnknownKind, not guessed.
const typeOffset = 248

// Kind is what card a text block describes.
type Kind int

// Kinds.
const (
	Resident  Kind = 1 + iota // 居民身份证
	Foreigner                 // 外国人永久居留身份证 (2017)
	Permit                    // 港澳台居民居住证
)

func (k Kind) String() string {
	switch k {
	case Resident:
		return "resident"
	case Foreigner:
		return "foreigner"
	case Permit:
		return "permit"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Field names a card field in errors.
type Field string

// Fields.
const (
	FieldName      Field = "name"
	FieldSex       Field = "sex"
	FieldEthnicity Field = "ethnicity"
	FieldBirth     Field = "birth"
	FieldNumber    Field = "number"
	FieldValidFrom Field = "valid_from"
	FieldValidTo   Field = "valid_until"
	FieldText      Field = "text"
)

// Parse errors.
var (
	// ErrText: the text block is not one of the known cards' (short,
	// not UCS-2, an unknown type).
	ErrText = errors.New("idcard: text block not understood")
	// ErrUnknownKind: the type field names a card whose layout this
	// package does not know.
	ErrUnknownKind = errors.New("idcard: unknown card type")
	// ErrInvalid: fields that fail their checks; the error is a
	// *FieldError naming them.
	ErrInvalid = errors.New("idcard: invalid fields")
)

// FieldError names the fields that failed their checks (the ID number's
// check digit, an impossible date, an unknown code) — never their values.
type FieldError struct{ Fields []Field }

func (e *FieldError) Error() string {
	names := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		names[i] = string(f)
		if f == FieldNumber {
			names[i] = "number (check digit or form)"
		}
	}
	return "idcard: invalid fields: " + strings.Join(names, ", ")
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

// Date is a calendar date as printed on a card.
type Date struct{ Year, Month, Day int }

func (d Date) String() string {
	if d == (Date{}) {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
}

// IsZero reports whether the date is unset.
func (d Date) IsZero() bool { return d == (Date{}) }

// Sex is a GB/T 2261.1 sex code.
type Sex byte

// Sexes (GB/T 2261.1).
const (
	SexUnknown     Sex = '0' // 未知的性别
	SexMale        Sex = '1' // 男
	SexFemale      Sex = '2' // 女
	SexUnspecified Sex = '9' // 未说明的性别
)

// Chinese is the sex as printed on the card.
func (s Sex) Chinese() string {
	switch s {
	case SexMale:
		return "男"
	case SexFemale:
		return "女"
	case SexUnknown:
		return "未知"
	case SexUnspecified:
		return "未说明"
	}
	return ""
}

// Card is what a card's text block says. The photo is not here (see the
// package doc).
type Card struct {
	Kind      Kind
	Name      string // Chinese name (foreigners: may be empty)
	NameEN    string // foreigners: the English name
	Sex       Sex
	Ethnicity string // residents: the GB 3304 code, "01".."56", "97", "98"
	Birth     Date
	Address   string // residents and permit holders
	Number    string // the ID or card number: never logged
	Authority string // issuing authority (foreigners: its code)
	ValidFrom Date
	ValidTo   Date // zero when LongTerm
	LongTerm  bool // 长期: valid without end
	// Nationality: foreigners, ISO 3166-1 alpha-3.
	Nationality string
	// PassNumber and IssueCount: permit holders, the HK/Macao/Taiwan pass
	// number (never logged) and how many times the permit was issued.
	PassNumber string
	IssueCount string
	// Version: foreigners, the card's version.
	Version string
}

// EthnicityName is the ethnicity as printed on the card (汉, 蒙古, …).
func (c Card) EthnicityName() string { return ethnicities[c.Ethnicity] }

// shanghai is China Standard Time; China keeps no daylight saving time.
var shanghai = time.FixedZone("CST", 8*3600)

// Expired reports whether the card's validity ended before now's date in
// China (the end date is the last valid day).
func (c Card) Expired(now time.Time) bool {
	if c.LongTerm || c.ValidTo.IsZero() {
		return false
	}
	y, m, d := now.In(shanghai).Date()
	today := Date{y, int(m), d}
	return before(c.ValidTo, today)
}

func before(a, b Date) bool {
	if a.Year != b.Year {
		return a.Year < b.Year
	}
	if a.Month != b.Month {
		return a.Month < b.Month
	}
	return a.Day < b.Day
}

// LogValue keeps personal data out of structured logs.
func (c Card) LogValue() slog.Value {
	return slog.GroupValue(slog.String("kind", c.Kind.String()))
}

// ParseText parses a 256-byte text block. A card whose fields fail their
// checks comes back as read with a *FieldError; a block that is no card
// comes back empty with ErrText or ErrUnknownKind.
func ParseText(b []byte) (Card, error) {
	if len(b) != TextSize {
		return Card{}, fmt.Errorf("%w: %d bytes, want %d", ErrText, len(b), TextSize)
	}
	r := textReader{b: b}
	switch t := r.str(typeOffset, 2); t {
	case "", "J":
		c := Card{Kind: Resident}
		if t == "J" {
			c.Kind = Permit
		}
		c.Name = r.str(0, 30)
		c.Sex = r.sex(30)
		if c.Kind == Resident {
			c.Ethnicity = r.str(32, 4)
		}
		c.Birth = r.date(36, FieldBirth)
		c.Address = r.str(52, 70)
		c.Number = r.str(122, 36)
		c.Authority = r.str(158, 30)
		c.ValidFrom = r.date(188, FieldValidFrom)
		c.ValidTo, c.LongTerm = r.until(204)
		if c.Kind == Permit {
			c.PassNumber = r.str(220, 18)
			c.IssueCount = r.str(238, 4)
		}
		if c.Kind == Resident {
			if _, ok := ethnicities[c.Ethnicity]; !ok {
				r.bad(FieldEthnicity)
			}
		}
		if !ValidNumber(c.Number) {
			r.bad(FieldNumber)
		}
		if c.Name == "" {
			r.bad(FieldName)
		}
		return c, r.err()
	case "I":
		c := Card{Kind: Foreigner}
		c.NameEN = r.str(0, 120)
		c.Sex = r.sex(120)
		c.Number = r.str(122, 30)
		c.Nationality = r.str(152, 6)
		c.Name = r.str(158, 30)
		c.ValidFrom = r.date(188, FieldValidFrom)
		c.ValidTo, c.LongTerm = r.until(204)
		c.Birth = r.date(220, FieldBirth)
		c.Version = r.str(236, 4)
		c.Authority = r.str(240, 8)
		if len(c.Number) != 15 || !isAlnum(c.Number) {
			r.bad(FieldNumber) // the 2017 card: 15 letters and digits, no check digit we know
		}
		if c.NameEN == "" && c.Name == "" {
			r.bad(FieldName)
		}
		return c, r.err()
	default:
		if r.broken {
			return Card{}, fmt.Errorf("%w: not UCS-2 text", ErrText)
		}
		return Card{}, fmt.Errorf("%w (type field holds %d characters)", ErrUnknownKind, len([]rune(t)))
	}
}

// textReader decodes fields and gathers the failed ones.
type textReader struct {
	b      []byte
	failed []Field
	broken bool // a field held unpaired surrogates or control characters
}

// str decodes n bytes at off as UCS-2 little-endian, trimmed of the
// space padding (and of NULs, which some readers pad with).
func (r *textReader) str(off, n int) string {
	u := make([]uint16, n/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(r.b[off+2*i:])
	}
	s := string(utf16.Decode(u))
	s = strings.TrimRight(s, " \x00\u3000")
	s = strings.TrimLeft(s, " \u3000")
	if strings.ContainsFunc(s, func(c rune) bool { return c == unicode.ReplacementChar || unicode.IsControl(c) }) {
		r.broken = true
		s = strings.Map(func(c rune) rune {
			if c == unicode.ReplacementChar || unicode.IsControl(c) {
				return -1
			}
			return c
		}, s)
	}
	return s
}

func (r *textReader) bad(f Field) { r.failed = append(r.failed, f) }

func (r *textReader) sex(off int) Sex {
	s := r.str(off, 2)
	switch s {
	case "0", "1", "2", "9":
		return Sex(s[0])
	}
	r.bad(FieldSex)
	return 0
}

func (r *textReader) date(off int, f Field) Date {
	d, ok := parseDate(r.str(off, 16))
	if !ok {
		r.bad(f)
	}
	return d
}

// until reads a validity end: a date, or 长期 (long-term).
func (r *textReader) until(off int) (Date, bool) {
	s := r.str(off, 16)
	if s == "长期" {
		return Date{}, true
	}
	d, ok := parseDate(s)
	if !ok {
		r.bad(FieldValidTo)
	}
	return d, false
}

func (r *textReader) err() error {
	if r.broken {
		r.failed = append(r.failed, FieldText)
	}
	if len(r.failed) == 0 {
		return nil
	}
	return &FieldError{Fields: r.failed}
}

// parseDate reads YYYYMMDD.
func parseDate(s string) (Date, bool) {
	if len(s) != 8 || !isDigits(s) {
		return Date{}, false
	}
	t, err := time.Parse("20060102", s)
	if err != nil {
		return Date{}, false
	}
	return Date{t.Year(), int(t.Month()), t.Day()}, true
}

func isDigits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func isAlnum(s string) bool {
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'A' || c > 'Z') {
			return false
		}
	}
	return true
}

// ValidNumber reports whether s is an 18-character citizen identity
// number (GB 11643) whose last character is the ISO 7064 MOD 11-2 check
// character of the first 17 digits.
func ValidNumber(s string) bool {
	if len(s) != 18 || !isDigits(s[:17]) {
		return false
	}
	c, ok := CheckChar(s[:17])
	return ok && s[17] == c
}

// CheckChar computes the ISO 7064 MOD 11-2 check character of 17 digits.
func CheckChar(digits string) (byte, bool) {
	if len(digits) != 17 || !isDigits(digits) {
		return 0, false
	}
	sum := 0
	w := 1
	for i := 16; i >= 0; i-- {
		w = w * 2 % 11 // weight 2^(17-i) mod 11
		sum += int(digits[i]-'0') * w
	}
	return "10X98765432"[sum%11], true
}
