// Package mrz reads the machine-readable zone of identity documents (ICAO
// Doc 9303): TD1 cards (3 lines of 30), TD2 cards (2 of 36), TD3 passports
// (2 of 44), and the machine-readable visas of the last two sizes. Every
// check digit is verified; a failure names the field, never its value, since
// document numbers must not reach a log.
package mrz

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Errors.
var (
	// ErrFormat: the lines are not an MRZ (sizes, characters or field
	// shapes are wrong).
	ErrFormat = errors.New("mrz: not a machine-readable zone")
	// ErrCheckDigit: an MRZ whose check digits do not all match; the error
	// is a *CheckError naming the fields.
	ErrCheckDigit = errors.New("mrz: check digit mismatch")
	// ErrDate: a date field holds fillers (unknown) or no calendar date.
	ErrDate = errors.New("mrz: date unknown or invalid")
)

// Format is the size of a document.
type Format int

// Formats.
const (
	TD1 Format = 1 + iota // ID card: 3 lines of 30
	TD2                   // ID card or visa (MRV-B): 2 lines of 36
	TD3                   // passport or visa (MRV-A): 2 lines of 44
)

func (f Format) String() string {
	switch f {
	case TD1:
		return "TD1"
	case TD2:
		return "TD2"
	case TD3:
		return "TD3"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// Shape is how many lines of how many characters a format has.
func (f Format) Shape() (lines, length int) {
	switch f {
	case TD1:
		return 3, 30
	case TD2:
		return 2, 36
	case TD3:
		return 2, 44
	}
	return 0, 0
}

// formatOf finds the format from a line length.
func formatOf(length int) (Format, bool) {
	switch length {
	case 30:
		return TD1, true
	case 36:
		return TD2, true
	case 44:
		return TD3, true
	}
	return 0, false
}

// Field names a checked field.
type Field string

// Checked fields.
const (
	FieldNumber    Field = "document number"
	FieldBirth     Field = "date of birth"
	FieldExpiry    Field = "date of expiry"
	FieldPersonal  Field = "personal number" // TD3 optional data
	FieldComposite Field = "composite"
)

// CheckError lists the fields whose check digits failed.
type CheckError struct {
	Fields []Field
}

// Key is the field's short name, as forms name it: "number", "birth",
// "expiry", "personal", "composite".
func (f Field) Key() string {
	switch f {
	case FieldNumber:
		return "number"
	case FieldBirth:
		return "birth"
	case FieldExpiry:
		return "expiry"
	case FieldPersonal:
		return "personal"
	}
	return "composite"
}

func (e *CheckError) Error() string {
	names := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		names[i] = string(f)
	}
	return "mrz: check digit mismatch in " + strings.Join(names, ", ")
}

// Is makes errors.Is(err, ErrCheckDigit) true.
func (e *CheckError) Is(target error) bool { return target == ErrCheckDigit }

// Document is what an MRZ says. Text fields have fillers removed.
type Document struct {
	Format      Format
	Code        string // "P", "PD", "I", "ID", "AC", "V", ...
	Issuer      string // issuing state or organisation, e.g. "CHN", "D", "UTO"
	Number      string // document number, long TD1/TD2 numbers joined up; never log it
	Primary     string // primary identifier (surname), fillers as spaces
	Secondary   string // secondary identifiers (given names)
	Nationality string
	Birth       string // YYMMDD as printed; '<' marks unknown parts
	Sex         string // "M", "F" or "X" (unspecified)
	Expiry      string // YYMMDD
	Optional1   string // TD1 line 1 optional data; TD3 personal number; visa optional data
	Optional2   string // TD1 line 2 optional data; TD2 optional data
}

// Visa reports a machine-readable visa (document code V).
func (d Document) Visa() bool { return strings.HasPrefix(d.Code, "V") }

// String describes the document without its holder or number, so a %v in
// a log line leaks nothing.
func (d Document) String() string {
	return fmt.Sprintf("%s %s document from %s", d.Format, d.Code, d.Issuer)
}

// LogValue keeps personal data out of structured logs.
func (d Document) LogValue() slog.Value { return slog.StringValue(d.String()) }

// BirthDate is the date of birth, in the latest century that does not put
// it after now.
func (d Document) BirthDate(now time.Time) (time.Time, error) {
	t, err := parseDate(d.Birth, now.Year()-99)
	if err != nil {
		return time.Time{}, err
	}
	if t.After(now) {
		t = t.AddDate(-100, 0, 0)
	}
	return t, nil
}

// ExpiryDate is the date of expiry, in the century that puts it within
// 50 years either side of now.
func (d Document) ExpiryDate(now time.Time) (time.Time, error) {
	return parseDate(d.Expiry, now.Year()-50)
}

// parseDate reads YYMMDD as the first such date in or after year from.
func parseDate(s string, from int) (time.Time, error) {
	if len(s) != 6 || strings.Trim(s, "0123456789") != "" {
		return time.Time{}, ErrDate
	}
	yy := int(s[0]-'0')*10 + int(s[1]-'0')
	mm := int(s[2]-'0')*10 + int(s[3]-'0')
	dd := int(s[4]-'0')*10 + int(s[5]-'0')
	year := from - from%100 + yy
	if year < from {
		year += 100
	}
	t := time.Date(year, time.Month(mm), dd, 0, 0, 0, 0, time.UTC)
	if t.Month() != time.Month(mm) || t.Day() != dd || mm == 0 || dd == 0 {
		return time.Time{}, ErrDate
	}
	return t, nil
}

// value is a character's value in a check digit: digits as themselves,
// A–Z as 10–35, the filler as 0.
func value(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	return 0
}

// CheckDigit computes the check digit of s with the weights 7, 3, 1.
func CheckDigit(s string) byte {
	weights := [3]int{7, 3, 1}
	sum := 0
	for i := 0; i < len(s); i++ {
		sum += value(s[i]) * weights[i%3]
	}
	return byte('0' + sum%10)
}

// checks collects check-digit failures.
type checks []Field

// verify checks data against its check character. A filler in place of the
// check digit stands for an empty (all-filler) field.
func (c *checks) verify(f Field, data string, digit byte) {
	if digit == '<' && strings.Trim(data, "<") == "" {
		return
	}
	if digit != CheckDigit(data) {
		*c = append(*c, f)
	}
}

// mrzChars reports whether s holds only MRZ characters.
func mrzChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '<') {
			return false
		}
	}
	return true
}

// only reports whether s holds only characters from set.
func only(s, set string) bool { return strings.Trim(s, set) == "" }

const (
	letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ<"
	digits  = "0123456789"
)

// Parse reads the lines of one MRZ. On a check-digit failure it returns the
// document as read together with a *CheckError, so a receptionist can still
// see the name and retype what is wrong; on ErrFormat the document is empty.
func Parse(lines ...string) (Document, error) {
	if len(lines) == 0 {
		return Document{}, fmt.Errorf("%w: no lines", ErrFormat)
	}
	f, ok := formatOf(len(lines[0]))
	n, length := f.Shape()
	if !ok || len(lines) != n {
		return Document{}, fmt.Errorf("%w: %d lines of %d characters", ErrFormat, len(lines), len(lines[0]))
	}
	for i, l := range lines {
		if len(l) != length {
			return Document{}, fmt.Errorf("%w: line %d has %d characters, want %d", ErrFormat, i+1, len(l), length)
		}
		if !mrzChars(l) {
			return Document{}, fmt.Errorf("%w: line %d holds a character outside A-Z, 0-9 and <", ErrFormat, i+1)
		}
	}
	switch f {
	case TD1:
		return parseTD1(lines[0], lines[1], lines[2])
	default:
		return parseTwoLine(f, lines[0], lines[1])
	}
}

// shape checks the fields every format has, so a line out of place is told
// apart from a misread one: codes start with a letter, states are letters,
// dates are digits (birth may have unknown parts), sex is M, F, X or <.
func shape(code, issuer, nationality, birth, sex, expiry string) error {
	switch {
	case code[0] < 'A' || code[0] > 'Z' || !only(code, letters):
		return fmt.Errorf("%w: document code", ErrFormat)
	case !only(issuer, letters) || !only(nationality, letters):
		return fmt.Errorf("%w: state code", ErrFormat)
	case !only(birth, digits+"<"):
		return fmt.Errorf("%w: date of birth", ErrFormat)
	case !only(expiry, digits):
		return fmt.Errorf("%w: date of expiry", ErrFormat)
	case !strings.Contains("MFX<", sex):
		return fmt.Errorf("%w: sex", ErrFormat)
	}
	return nil
}

func parseTD1(l1, l2, l3 string) (Document, error) {
	d := Document{
		Format:      TD1,
		Code:        strip(l1[0:2]),
		Issuer:      strip(l1[2:5]),
		Birth:       l2[0:6],
		Sex:         sex(l2[7]),
		Expiry:      l2[8:14],
		Nationality: strip(l2[15:18]),
		Optional2:   strip(l2[18:29]),
	}
	if err := shape(l1[0:2], l1[2:5], l2[15:18], l2[0:6], l2[7:8], l2[8:14]); err != nil {
		return Document{}, err
	}
	var c checks
	d.Number, d.Optional1 = number(l1[5:14], l1[14], l1[15:30], &c)
	c.verify(FieldBirth, l2[0:6], l2[6])
	c.verify(FieldExpiry, l2[8:14], l2[14])
	c.verify(FieldComposite, l1[5:30]+l2[0:7]+l2[8:15]+l2[18:29], l2[29])
	d.Primary, d.Secondary = names(l3)
	return d, c.err()
}

// parseTwoLine reads TD2 and TD3 documents and the visas of both sizes.
func parseTwoLine(f Format, l1, l2 string) (Document, error) {
	d := Document{
		Format:      f,
		Code:        strip(l1[0:2]),
		Issuer:      strip(l1[2:5]),
		Nationality: strip(l2[10:13]),
		Birth:       l2[13:19],
		Sex:         sex(l2[20]),
		Expiry:      l2[21:27],
	}
	if err := shape(l1[0:2], l1[2:5], l2[10:13], l2[13:19], l2[20:21], l2[21:27]); err != nil {
		return Document{}, err
	}
	d.Primary, d.Secondary = names(l1[5:])
	var c checks
	end := len(l2) - 1 // the composite check digit's position
	switch {
	case d.Visa():
		// Visas carry no composite check digit and no long numbers.
		d.Number = strip(l2[0:9])
		c.verify(FieldNumber, l2[0:9], l2[9])
		d.Optional1 = strip(l2[28:])
	case f == TD3:
		d.Number = strip(l2[0:9])
		c.verify(FieldNumber, l2[0:9], l2[9])
		d.Optional1 = strip(l2[28:42])
		c.verify(FieldPersonal, l2[28:42], l2[42])
	default: // TD2
		d.Number, d.Optional2 = number(l2[0:9], l2[9], l2[28:35], &c)
	}
	c.verify(FieldBirth, l2[13:19], l2[19])
	c.verify(FieldExpiry, l2[21:27], l2[27])
	if !d.Visa() {
		c.verify(FieldComposite, l2[0:10]+l2[13:20]+l2[21:end], l2[end])
	}
	return d, c.err()
}

// number reads a TD1/TD2 document number. A number longer than nine
// characters has a filler where its check digit would be; the rest of it
// and then its check digit open the optional data.
func number(head string, digit byte, optional string, c *checks) (num, rest string) {
	if digit != '<' || strings.Contains(head, "<") { // a long number fills all nine places
		c.verify(FieldNumber, head, digit)
		return strip(head), strip(optional)
	}
	tail, after, _ := strings.Cut(optional, "<")
	if len(tail) < 1 {
		c.verify(FieldNumber, head, digit) // a bare filler: reported as a failed check digit
		return strip(head), strip(optional)
	}
	full := head + tail[:len(tail)-1]
	c.verify(FieldNumber, full, tail[len(tail)-1])
	return full, strip(after)
}

func (c checks) err() error {
	if len(c) == 0 {
		return nil
	}
	return &CheckError{Fields: c}
}

// strip turns fillers into spaces and trims them.
func strip(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '<' }), " ")
}

// names splits a name field at its first double filler.
func names(s string) (primary, secondary string) {
	p, rest, _ := strings.Cut(strings.TrimRight(s, "<"), "<<")
	return strip(p), strip(rest)
}

func sex(c byte) string {
	if c == 'M' || c == 'F' {
		return string(c)
	}
	return "X"
}

// Date reads a YYMMDD date of an MRZ. Its century is not printed: a birth
// date is the latest one not after now; an expiry is in this century (no
// document is valid for 75 years). ok is false for anything not a date.
func Date(yymmdd string, now time.Time, birth bool) (t time.Time, ok bool) {
	d, err := time.Parse("060102", yymmdd)
	if err != nil {
		return time.Time{}, false
	}
	y := 2000 + d.Year()%100
	if birth && y > now.Year() {
		y -= 100
	}
	return time.Date(y, d.Month(), d.Day(), 0, 0, 0, 0, time.UTC), true
}
