package report

import (
	"encoding/json"
	"strconv"
)

// A year's report reads some 80,000 visit records of about 1.2 KB of JSON
// each, and encoding/json spends most of a yearly report validating and
// skipping the fields a report does not need (the visitor, the history).
// readVisitRow picks the eight top-level fields out of the record in one
// pass and falls back to encoding/json for anything it does not expect.

// readVisitRow decodes the fields of a visitRow from a stored visit.
func readVisitRow(b []byte, row *visitRow) bool {
	*row = visitRow{}
	if fastVisitRow(b, row) {
		return true
	}
	*row = visitRow{}
	return json.Unmarshal(b, row) == nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	return i
}

// plainString reads a string starting at b[i] == '"' that has no escapes;
// ok is false for an escape (the fallback handles those).
func plainString(b []byte, i int) (s []byte, next int, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, i, false
	}
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			return nil, i, false
		case '"':
			return b[i+1 : j], j + 1, true
		}
	}
	return nil, i, false
}

// skipValue returns the index after the JSON value starting at b[i].
func skipValue(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return i, false
	}
	switch b[i] {
	case '"':
		for j := i + 1; j < len(b); j++ {
			switch b[j] {
			case '\\':
				j++
			case '"':
				return j + 1, true
			}
		}
		return i, false
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				k, ok := skipValue(b, j)
				if !ok {
					return i, false
				}
				j = k - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, true
				}
			}
		}
		return i, false
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\n' {
		j++
	}
	return j, j > i
}

func fastVisitRow(b []byte, row *visitRow) bool {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return true
	}
	for {
		key, next, ok := plainString(b, skipSpace(b, i))
		if !ok {
			return false
		}
		i = skipSpace(b, next)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = skipSpace(b, i+1)
		var str *string
		var num *int64
		switch string(key) {
		case "mode":
			str = (*string)(&row.Mode)
		case "state":
			str = (*string)(&row.State)
		case "company_id":
			str = &row.CompanyID
		case "floor_id":
			str = &row.FloorID
		case "from":
			num = &row.From
		case "until":
			num = &row.Until
		case "first_in":
			num = &row.FirstIn
		case "last_out":
			num = &row.LastOut
		}
		end, ok := skipValue(b, i)
		if !ok {
			return false
		}
		switch {
		case str != nil:
			s, _, ok := plainString(b, i)
			if !ok {
				return false
			}
			*str = string(s)
		case num != nil:
			n, err := strconv.ParseInt(string(b[i:end]), 10, 64)
			if err != nil {
				return false
			}
			*num = n
		}
		i = skipSpace(b, end)
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i++
		case '}':
			return true
		default:
			return false
		}
	}
}
