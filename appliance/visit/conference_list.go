package visit

// The attendee list as an organiser hands it over: parsing and checking.

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"

	"gatehouse/appliance/field"
)

// Columns of an attendee list with a header line, and the names accepted.
var attendeeColumns = []struct {
	name     string
	required bool
	aliases  []string
}{
	{"name", true, []string{"name", "姓名", "名字"}},
	{"mobile", true, []string{"mobile", "phone", "mobile phone", "手机", "手机号", "手机号码", "电话"}},
	{"company", false, []string{"company", "organisation", "organization", "公司", "单位"}},
	{"title", false, []string{"title", "称呼", "称谓"}},
}

func attendeeColumn(h string) (string, bool) {
	h = strings.ToLower(strings.TrimSpace(h))
	for _, c := range attendeeColumns {
		if slices.Contains(c.aliases, h) {
			return c.name, true
		}
	}
	return "", false
}

// ParseAttendees reads an attendee list: a CSV file, or text pasted from a
// spreadsheet (tab-separated) or typed one attendee per line as
// "name, mobile[, company[, title]]" (full-width commas too; "name mobile"
// with a space works for the two required fields). A first line naming the
// columns (name/姓名, mobile/手机, company/公司, title/称呼) sets their order.
// UTF-8 (with or without BOM) and GB18030 (Excel's "CSV" on Chinese
// Windows) are read. Every row is checked; when any is wrong the errors by
// line (at most 100) are returned and no attendees.
func ParseAttendees(data []byte) ([]Attendee, error) {
	data = bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))
	if !utf8.Valid(data) {
		dec, err := simplifiedchinese.GB18030.NewDecoder().Bytes(data)
		if err != nil || !utf8.Valid(dec) || bytes.ContainsRune(dec, utf8.RuneError) {
			return nil, field.Errors{{Line: 1, Field: "list", Code: "not_text"}}
		}
		data = dec
	}
	if bytes.IndexByte(data, 0) >= 0 {
		return nil, field.Errors{{Line: 1, Field: "list", Code: "not_text"}}
	}
	text := strings.ReplaceAll(strings.ReplaceAll(string(data), "\r\n", "\n"), "\r", "\n")
	comma := ','
	if strings.Contains(text, "\t") {
		comma = '\t' // pasted from a spreadsheet
	} else {
		text = strings.ReplaceAll(text, "，", ",")
	}
	cr := csv.NewReader(strings.NewReader(text))
	cr.Comma, cr.FieldsPerRecord, cr.TrimLeadingSpace = comma, -1, true
	var (
		es     field.Errors
		out    []Attendee
		col    map[string]int // from a header; nil: positional
		width  int            // cells of the header
		seen   = map[string]int{}
		first  = true
		errAdd = func(e field.Error) {
			if len(es) < maxListErrors {
				es = append(es, e)
			}
		}
	)
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			line := 1
			if errors.As(err, &pe) {
				line = pe.Line
			}
			errAdd(field.Error{Line: line, Field: "row", Code: "bad_csv"})
			break
		}
		line, _ := cr.FieldPos(0)
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		// Spreadsheets pad rows with empty cells.
		for len(rec) > 0 && rec[len(rec)-1] == "" {
			rec = rec[:len(rec)-1]
		}
		if len(rec) == 0 {
			continue // a blank line
		}
		if first {
			first = false
			if hdr, isHeader, herrs := attendeeHeader(rec, line); isHeader {
				if len(herrs) > 0 {
					return nil, herrs
				}
				col, width = hdr, len(rec)
				continue
			}
		}
		if len(out) >= MaxAttendees {
			errAdd(field.Error{Line: line, Field: "list", Code: "too_many_rows", Arg: fmt.Sprint(MaxAttendees)})
			break
		}
		a, rowErrs := attendeeRow(rec, col, width, line)
		for _, e := range rowErrs {
			errAdd(e)
		}
		if len(rowErrs) == 0 {
			if firstLine, dup := seen[a.Mobile]; dup {
				errAdd(field.Error{Line: line, Field: "mobile", Code: "duplicate_in_list", Arg: fmt.Sprint(firstLine)})
			} else {
				seen[a.Mobile] = line
			}
		}
		out = append(out, a)
	}
	if len(es) > 0 {
		return nil, es
	}
	if len(out) == 0 {
		return nil, field.Errors{{Line: 1, Field: "list", Code: "empty_list"}}
	}
	return out, nil
}

// attendeeHeader tells whether rec is a header line and maps its columns.
func attendeeHeader(rec []string, line int) (map[string]int, bool, field.Errors) {
	col := map[string]int{}
	known := false
	var es field.Errors
	for i, h := range rec {
		if h == "" {
			continue // an unnamed column is not read
		}
		if name, ok := attendeeColumn(h); ok {
			known = true
			if _, dup := col[name]; dup {
				es = append(es, field.Error{Line: line, Field: "header", Code: "duplicate_column", Arg: h})
			}
			col[name] = i
		} else {
			es = append(es, field.Error{Line: line, Field: "header", Code: "unknown_column", Arg: cutRunes(h, 32)})
		}
	}
	if !known {
		return nil, false, nil
	}
	for _, c := range attendeeColumns {
		if _, ok := col[c.name]; !ok && c.required {
			es = append(es, field.Error{Line: line, Field: "header", Code: "missing_column", Arg: c.name})
		}
	}
	return col, true, es
}

func attendeeRow(rec []string, col map[string]int, width, line int) (Attendee, field.Errors) {
	var es field.Errors
	a := Attendee{Line: line}
	if col == nil {
		// "张三 13800138000": one field, the mobile after the last space.
		if len(rec) == 1 {
			if i := strings.LastIndexFunc(rec[0], unicode.IsSpace); i > 0 && phoneLike(rec[0][i+1:]) {
				rec = []string{strings.TrimSpace(rec[0][:i]), rec[0][i+1:]}
			}
		}
		if len(rec) > len(attendeeColumns) {
			return a, field.Errors{{Line: line, Field: "row", Code: "wrong_field_count", Arg: fmt.Sprintf("%d/%d", len(rec), len(attendeeColumns))}}
		}
		col = map[string]int{}
		for i, c := range attendeeColumns {
			col[c.name] = i
		}
	} else if len(rec) > width {
		return a, field.Errors{{Line: line, Field: "row", Code: "wrong_field_count", Arg: fmt.Sprintf("%d/%d", len(rec), width)}}
	}
	get := func(name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return rec[i]
		}
		return ""
	}
	a.Name = es.Text("name", get("name"), true, MaxName)
	a.Mobile = NormalizeMobile(get("mobile"))
	switch {
	case a.Mobile == "":
		es.Add("mobile", "required")
	case !mobileRE.MatchString(a.Mobile):
		es.Add("mobile", "invalid_mobile")
	}
	a.Company = es.Text("company", get("company"), false, maxAttendeeCompany)
	a.Title = get("title")
	if !titles[a.Title] {
		es.Add("title", "invalid_title")
	}
	for i := range es {
		es[i].Line = line
	}
	return a, es
}

func phoneLike(s string) bool {
	return s != "" && strings.Trim(s, "+0123456789-") == "" && strings.ContainsAny(s, "0123456789")
}

func cutRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
