package visit

// The attendee list as an organiser hands it over: parsing and checking.
//
// A list is read by its columns with encoding/csv, never split by hand:
// cells pasted from a spreadsheet are separated by tabs, a CSV file's by
// commas (quoted fields may hold commas, quotes and line breaks), and a
// list typed by hand may use full-width commas. The separator is chosen
// from the first line that holds one, so a tab or full-width comma inside a
// later quoted field stays text. An empty cell stays an empty field: csv's
// TrimLeadingSpace is off, because with a tab as the separator it swallows
// empty cells and shifts every column after them (a blank company made the
// courtesy title the company). Each field is trimmed on its own instead.
// Quotes are read strictly (LazyQuotes off): a lazy reader takes
// `"Lucy" Liu,138…` or an unclosed quote as one long field that swallows
// the separators after it, and the row is then read wrong without a word
// — the very fault this parser exists to prevent. Strictly, such a row is
// refused with its line number, and a spreadsheet's own quoting (a cell
// holding a tab, a line break or a quote is quoted, inner quotes doubled)
// reads as it should.

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
// Only the name is required: an attendee without a mobile gets a printed
// pass and no text message.
var attendeeColumns = []struct {
	name     string
	required bool
	aliases  []string
}{
	{"name", true, []string{"name", "full name", "attendee", "姓名", "名字", "参会人", "参会人员"}},
	{"mobile", false, []string{"mobile", "phone", "mobile phone", "mobile number", "phone number", "cell", "cell phone", "tel",
		"手机", "手机号", "手机号码", "电话", "联系电话", "移动电话"}},
	{"company", false, []string{"company", "company name", "organisation", "organization", "公司", "公司名称", "单位", "单位名称", "工作单位", "企业"}},
	{"title", false, []string{"title", "courtesy title", "salutation", "称呼", "称谓"}},
}

// Columns organisers' spreadsheets often carry that a pass does not need:
// read and ignored rather than refused.
var ignoredColumns = []string{"no", "no.", "#", "序号", "编号", "email", "e-mail", "邮箱", "电子邮件",
	"position", "job title", "职务", "职位", "department", "部门", "remark", "remarks", "notes", "备注"}

// attendeeColumn names the column a header cell means: "" and true for a
// column that is read and ignored. A bilingual cell ("姓名 Name",
// "手机号码/Mobile") counts when its parts agree; a required mark ("姓名*")
// or a colon is dropped.
func attendeeColumn(h string) (string, bool) {
	one := func(h string) (string, bool) {
		h = strings.ToLower(strings.TrimSpace(strings.TrimRight(strings.TrimSpace(h), "*:：")))
		for _, c := range attendeeColumns {
			if slices.Contains(c.aliases, h) {
				return c.name, true
			}
		}
		return "", slices.Contains(ignoredColumns, h)
	}
	if name, ok := one(h); ok {
		return name, true
	}
	// Cut at the separators, then where the script changes.
	var parts []string
	for _, p := range strings.FieldsFunc(h, func(r rune) bool { return strings.ContainsRune("/|()（）", r) }) {
		start := 0
		for i, r := range p {
			if i > 0 && (r < utf8.RuneSelf) != (p[i-1] < utf8.RuneSelf) {
				parts, start = append(parts, p[start:i]), i
			}
		}
		parts = append(parts, p[start:])
	}
	if len(parts) < 2 {
		return "", false
	}
	name, found := "", false
	for _, p := range parts {
		if strings.TrimSpace(p) == "" {
			continue
		}
		n, ok := one(p)
		if !ok || (found && n != name) {
			return "", false
		}
		name, found = n, true
	}
	return name, found
}

// listComma is the separator of a list: that of its first line holding
// one — a tab (a spreadsheet paste), a comma (a CSV file or typed), or a
// full-width comma (typed on a Chinese keyboard).
func listComma(text string) rune {
	for line := range strings.Lines(text) {
		switch {
		case strings.ContainsRune(line, '\t'):
			return '\t'
		case strings.ContainsRune(line, ','):
			return ','
		case strings.ContainsRune(line, '，'):
			return '，'
		}
	}
	return ','
}

// ParseAttendees reads an attendee list: a CSV file, or text pasted from a
// spreadsheet (tab-separated) or typed one attendee per line as
// "name, mobile[, company[, title]]" (or with full-width commas; "name
// mobile" with a space works for those two). Empty cells are empty fields,
// and every field but the name may be empty. A first line naming the
// columns (name/姓名, mobile/手机, company/公司, title/称呼, in English or
// Chinese, in any order) sets their order. UTF-8 (with or without BOM) and
// GB18030 (Excel's "CSV" on Chinese Windows) are read. Every row is
// checked; when any is wrong the errors by line (at most 100) are returned
// and no attendees.
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
	// A lone CR ends a line too (old Mac exports); csv reads CRLF itself.
	text := strings.ReplaceAll(strings.ReplaceAll(string(data), "\r\n", "\n"), "\r", "\n")
	cr := csv.NewReader(strings.NewReader(text))
	cr.Comma, cr.FieldsPerRecord = listComma(text), -1
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
				line = pe.StartLine
			}
			errAdd(field.Error{Line: line, Field: "row", Code: "bad_csv"})
			break
		}
		line, _ := cr.FieldPos(0)
		for i := range rec {
			// A cell's line breaks (Alt+Enter in a spreadsheet) and runs
			// of spaces print as one space on a pass.
			rec[i] = strings.Join(strings.Fields(rec[i]), " ")
		}
		// Spreadsheets pad rows with empty cells.
		for len(rec) > 0 && rec[len(rec)-1] == "" {
			rec = rec[:len(rec)-1]
		}
		if len(rec) == 0 {
			continue // a blank line, or a row of empty cells
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
		if len(rowErrs) == 0 && a.Mobile != "" {
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
// A line is a header when one of its cells names a column we read.
func attendeeHeader(rec []string, line int) (map[string]int, bool, field.Errors) {
	col := map[string]int{}
	known := false
	var es field.Errors
	for i, h := range rec {
		if h == "" {
			continue // an unnamed column is not read
		}
		name, ok := attendeeColumn(h)
		switch {
		case !ok:
			es = append(es, field.Error{Line: line, Field: "header", Code: "unknown_column", Arg: cutRunes(h, 32)})
		case name == "":
			// a column we ignore
		default:
			known = true
			if _, dup := col[name]; dup {
				es = append(es, field.Error{Line: line, Field: "header", Code: "duplicate_column", Arg: h})
			}
			col[name] = i
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
	if a.Mobile != "" && !mobileRE.MatchString(a.Mobile) {
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
