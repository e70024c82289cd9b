// Package field carries validation errors that name the field at fault, so
// a page can mark the field and say what is wrong in the user's language.
// Codes are stable identifiers ("required", "invalid_mobile"); the UI's
// catalogues turn them into sentences.
package field

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid is wrapped by every Errors value.
var ErrInvalid = errors.New("invalid input")

// Error is one field's problem. Line is the 1-based line of a file row, or 0.
type Error struct {
	Line  int    `json:"line,omitempty"`
	Field string `json:"field"`
	Code  string `json:"code"`
	Arg   string `json:"arg,omitempty"` // e.g. the limit for too_long
}

// Errors is a list of field problems; it is an error when not empty.
type Errors []Error

func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteString("; ")
		}
		if e.Line > 0 {
			fmt.Fprintf(&b, "line %d: ", e.Line)
		}
		fmt.Fprintf(&b, "%s: %s", e.Field, e.Code)
		if e.Arg != "" {
			fmt.Fprintf(&b, " (%s)", e.Arg)
		}
	}
	return b.String()
}

// Unwrap lets errors.Is(err, ErrInvalid) match.
func (es Errors) Unwrap() error { return ErrInvalid }

// Add appends a problem.
func (es *Errors) Add(fieldName, code string) { *es = append(*es, Error{Field: fieldName, Code: code}) }

// AddArg appends a problem with an argument.
func (es *Errors) AddArg(fieldName, code, arg string) {
	*es = append(*es, Error{Field: fieldName, Code: code, Arg: arg})
}

// Err returns es as an error, or nil when there is nothing wrong.
func (es Errors) Err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// For returns the first code reported for fieldName, or "".
func (es Errors) For(fieldName string) Error {
	for _, e := range es {
		if e.Field == fieldName {
			return e
		}
	}
	return Error{}
}

// Text checks a required or optional free-text value: trimmed, at most max
// runes, no control characters. It returns the cleaned value.
func (es *Errors) Text(fieldName, v string, required bool, max int) string {
	v = strings.TrimSpace(v)
	switch {
	case v == "" && required:
		es.Add(fieldName, "required")
	case len([]rune(v)) > max:
		es.AddArg(fieldName, "too_long", fmt.Sprint(max))
	case strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7F }):
		es.Add(fieldName, "bad_characters")
	}
	return v
}

// As extracts Errors from err.
func As(err error) (Errors, bool) {
	var es Errors
	ok := errors.As(err, &es)
	return es, ok
}
