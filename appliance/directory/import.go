package directory

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"

	"gatehouse/appliance/field"
	"gatehouse/appliance/store"
)

// An employee import writes a whole file or nothing. A file is validated in
// full before anything is written; then, because one Badger transaction is
// bounded (see store/DESIGN.md), its rows are staged in chunks that nothing
// reads, a commit command re-validates every staged row against the
// directory as it is at that moment and marks the import committed, and
// apply commands move the chunks into the directory. After a crash, Recover
// finishes a committed import and throws away an uncommitted one, so a file
// is never half-written. While a committed import is being applied, single
// edits of people are refused with ErrImportRunning.

type stagePayload struct {
	ImportID string   `json:"import_id"`
	Seq      int      `json:"seq"`
	Rows     []Person `json:"rows"`
}

type commitPayload struct {
	ImportID string `json:"import_id"`
	Chunks   int    `json:"chunks"`
	Rows     int    `json:"rows"`
}

type chunkPayload struct {
	ImportID string `json:"import_id"`
	Seq      int    `json:"seq"`
}

func stageKey(id string, seq int) []byte {
	return store.Key(store.KindImportStage, id, fmt.Sprintf("%08d", seq))
}

func applyImportStage(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p stagePayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	if !store.ValidID(p.ImportID) || p.Seq < 0 || len(p.Rows) == 0 || len(p.Rows) > importChunkRows {
		return store.Effect{}, fmt.Errorf("%w: malformed import chunk", field.ErrInvalid)
	}
	if ok, err := tx.Has(store.Key(store.KindImportCommit, p.ImportID)); err != nil || ok {
		if err == nil {
			err = fmt.Errorf("%w: import %s already committed", field.ErrInvalid, p.ImportID)
		}
		return store.Effect{}, err
	}
	if err := tx.SetJSON(stageKey(p.ImportID, p.Seq), p.Rows); err != nil {
		return store.Effect{}, err
	}
	return store.Effect{Subject: "import:" + p.ImportID, Note: fmt.Sprintf("staged chunk %d, %d rows", p.Seq, len(p.Rows))}, nil
}

func stagedChunks(r *store.Reader, id string, fn func(seq int, rows []Person) (bool, error)) error {
	return r.Scan(store.Prefix(store.KindImportStage, id), store.ScanOptions{}, func(k, v []byte) (bool, error) {
		var rows []Person
		if err := jsonUnmarshal(v, &rows); err != nil {
			return false, err
		}
		var seq int
		fmt.Sscanf(string(k[len(k)-8:]), "%d", &seq)
		return fn(seq, rows)
	})
}

func applyImportCommit(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p commitPayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	if busy, err := importPending(&tx.Reader); err != nil || busy {
		if err == nil {
			err = ErrImportRunning
		}
		return store.Effect{}, err
	}
	chunks, rows := 0, 0
	v := newRowChecker(&tx.Reader)
	err := stagedChunks(&tx.Reader, p.ImportID, func(_ int, staged []Person) (bool, error) {
		chunks++
		rows += len(staged)
		for i := range staged {
			if err := v.check(&staged[i]); err != nil {
				return false, err
			}
		}
		return true, nil
	})
	if err != nil {
		return store.Effect{}, err
	}
	if chunks != p.Chunks || rows != p.Rows {
		return store.Effect{}, fmt.Errorf("%w: import %s has %d chunks/%d rows staged, commit says %d/%d",
			field.ErrInvalid, p.ImportID, chunks, rows, p.Chunks, p.Rows)
	}
	if len(v.errs) > 0 {
		return store.Effect{}, v.errs
	}
	if err := tx.SetJSON(store.Key(store.KindImportCommit, p.ImportID), p); err != nil {
		return store.Effect{}, err
	}
	return store.Effect{Subject: "import:" + p.ImportID, Note: fmt.Sprintf("committed %d rows", rows)}, nil
}

func applyImportApply(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p chunkPayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	var c commitPayload
	if err := tx.GetJSON(store.Key(store.KindImportCommit, p.ImportID), &c); err != nil {
		return store.Effect{}, fmt.Errorf("directory: import %s not committed: %w", p.ImportID, err)
	}
	var rows []Person
	if err := tx.GetJSON(stageKey(p.ImportID, p.Seq), &rows); err != nil {
		return store.Effect{}, fmt.Errorf("directory: import %s chunk %d: %w", p.ImportID, p.Seq, err)
	}
	for _, r := range rows {
		r.Line = 0
		if err := putPerson(tx, r); err != nil {
			return store.Effect{}, err
		}
	}
	if err := tx.Delete(stageKey(p.ImportID, p.Seq)); err != nil {
		return store.Effect{}, err
	}
	// Deletes inside this transaction are visible to it: the marker goes
	// with the last chunk.
	left := 0
	if err := stagedChunks(&tx.Reader, p.ImportID, func(int, []Person) (bool, error) { left++; return false, nil }); err != nil {
		return store.Effect{}, err
	}
	if left == 0 {
		if err := tx.Delete(store.Key(store.KindImportCommit, p.ImportID)); err != nil {
			return store.Effect{}, err
		}
	}
	return store.Effect{Subject: "import:" + p.ImportID, Note: fmt.Sprintf("wrote chunk %d, %d rows", p.Seq, len(rows))}, nil
}

func applyImportDiscard(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p chunkPayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	if ok, err := tx.Has(store.Key(store.KindImportCommit, p.ImportID)); err != nil || ok {
		if err == nil {
			err = fmt.Errorf("directory: import %s is committed and cannot be discarded", p.ImportID)
		}
		return store.Effect{}, err
	}
	var keys [][]byte
	err := tx.Scan(store.Prefix(store.KindImportStage, p.ImportID), store.ScanOptions{KeysOnly: true}, func(k, _ []byte) (bool, error) {
		keys = append(keys, bytes.Clone(k))
		return true, nil
	})
	if err != nil {
		return store.Effect{}, err
	}
	for _, k := range keys {
		if err := tx.Delete(k); err != nil {
			return store.Effect{}, err
		}
	}
	return store.Effect{Subject: "import:" + p.ImportID, Note: "discarded"}, nil
}

// rowChecker validates import rows against the directory and each other.
type rowChecker struct {
	r      *store.Reader
	errs   field.Errors
	seenNo map[string]int  // lower employee number -> first line
	seenID map[string]bool // record IDs in this import
}

func newRowChecker(r *store.Reader) *rowChecker {
	return &rowChecker{r: r, seenNo: map[string]int{}, seenID: map[string]bool{}}
}

const maxReportedErrors = 100

func (v *rowChecker) check(p *Person) error {
	es, err := checkPerson(v.r, p)
	if err != nil {
		return err
	}
	// Every imported row is a new person: an ID already used would
	// overwrite someone.
	if v.seenID[p.ID] {
		es = append(es, field.Error{Field: "id", Code: "duplicate"})
	} else if exists, err := v.r.Has(store.Key(store.KindPerson, p.ID)); err != nil {
		return err
	} else if exists {
		es = append(es, field.Error{Field: "id", Code: "duplicate"})
	}
	v.seenID[p.ID] = true
	if p.EmployeeNo != "" {
		no := strings.ToLower(p.EmployeeNo)
		if first, dup := v.seenNo[no]; dup {
			es = append(es, field.Error{Field: "employee_no", Code: "duplicate_in_file", Arg: fmt.Sprint(first)})
		} else {
			v.seenNo[no] = p.Line
		}
	}
	for _, e := range es {
		if len(v.errs) < maxReportedErrors {
			e.Line = p.Line
			v.errs = append(v.errs, e)
		}
	}
	return nil
}

// Columns of the employee CSV, with the header names accepted for each.
var csvColumns = []struct {
	name     string
	required bool
	aliases  []string
}{
	{"name", true, []string{"name", "姓名"}},
	{"english_name", false, []string{"english_name", "english name", "英文名"}},
	{"mobile", true, []string{"mobile", "phone", "手机", "手机号"}},
	{"company", true, []string{"company", "公司"}},
	{"floor", true, []string{"floor", "楼层"}},
	{"employee_no", true, []string{"employee_no", "employee number", "工号"}},
	{"position", false, []string{"position", "职位"}},
	{"can_host", false, []string{"can_host", "host", "可接待"}},
}

// CSVHeader is the header line of a blank employee file.
const CSVHeader = "name,mobile,company,floor,employee_no,position,can_host"

// ParseEmployeesCSV reads and validates a whole employee file. Rows refer
// to companies and floors by name. It returns the people to import (with
// new IDs) or, when any row is wrong, the errors by line and no people.
// Files saved by Excel in GB18030/GBK are accepted as well as UTF-8.
func ParseEmployeesCSV(r *store.Reader, data []byte, now time.Time, progress func(done, total int)) ([]Person, error) {
	data = bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))
	if !utf8.Valid(data) {
		dec, err := simplifiedchinese.GB18030.NewDecoder().Bytes(data)
		if err != nil || !utf8.Valid(dec) {
			return nil, field.Errors{{Line: 1, Field: "file", Code: "not_text"}}
		}
		data = dec
	}
	total := bytes.Count(data, []byte("\n")) // a progress estimate
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, field.Errors{{Line: 1, Field: "file", Code: "empty_file"}}
	}
	if err != nil {
		return nil, csvError(err)
	}
	col := map[string]int{}
	var es field.Errors
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		found := false
		for _, c := range csvColumns {
			for _, a := range c.aliases {
				if h == a {
					col[c.name], found = i, true
				}
			}
		}
		if !found {
			es = append(es, field.Error{Line: 1, Field: "header", Code: "unknown_column", Arg: h})
		}
	}
	for _, c := range csvColumns {
		if _, ok := col[c.name]; !ok && c.required {
			es = append(es, field.Error{Line: 1, Field: "header", Code: "missing_column", Arg: c.name})
		}
	}
	if len(es) > 0 {
		return nil, es
	}
	companies := map[string]Company{}
	floorsByName := map[string]Floor{}
	fs, err := Floors(r, false)
	if err != nil {
		return nil, err
	}
	for _, f := range fs {
		floorsByName[strings.ToLower(f.Name)] = f
	}
	v := newRowChecker(r)
	var people []Person
	// IDs are drawn for the whole file in one millisecond: 32 random bits
	// each, so a 100,000-row file would likely draw one twice. Redraw.
	ids := map[string]bool{}
	newID := func() string {
		for {
			id := store.NewID(now)
			if !ids[id] {
				ids[id] = true
				return id
			}
		}
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			v.errs = append(v.errs, csvError(err)...)
			break
		}
		line, _ := cr.FieldPos(0)
		if len(people) >= maxImportRowsFile {
			v.errs = append(v.errs, field.Error{Line: line, Field: "file", Code: "too_many_rows", Arg: fmt.Sprint(maxImportRowsFile)})
			break
		}
		if len(rec) != len(header) {
			v.errs = append(v.errs, field.Error{Line: line, Field: "row", Code: "wrong_field_count",
				Arg: fmt.Sprintf("%d/%d", len(rec), len(header))})
			continue
		}
		get := func(name string) string {
			if i, ok := col[name]; ok {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		p := Person{ID: newID(), Kind: Employee, Active: true, Line: line,
			Name: get("name"), EnglishName: get("english_name"), Mobile: get("mobile"), EmployeeNo: get("employee_no"), Position: get("position")}
		host, ok := parseBool(get("can_host"))
		if !ok {
			v.errs = append(v.errs, field.Error{Line: line, Field: "can_host", Code: "invalid_yes_no"})
		}
		p.CanHost = host
		if cn := strings.ToLower(get("company")); cn != "" {
			c, ok := companies[cn]
			if !ok {
				c, err = CompanyByName(r, cn)
				if err != nil && !errors.Is(err, ErrNotFound) {
					return nil, err
				}
				companies[cn] = c
			}
			p.CompanyID = c.ID
			if c.ID == "" {
				p.CompanyID = "unknown"
			}
		}
		if fn := strings.ToLower(get("floor")); fn != "" {
			p.FloorID = floorsByName[fn].ID
			if p.FloorID == "" {
				v.errs = append(v.errs, field.Error{Line: line, Field: "floor", Code: "unknown_floor", Arg: get("floor")})
				p.FloorID = "unknown"
			}
		}
		if err := v.check(&p); err != nil {
			return nil, err
		}
		people = append(people, p)
		if progress != nil && len(people)%1000 == 0 {
			progress(len(people), total)
		}
	}
	if len(people) == 0 && len(v.errs) == 0 {
		return nil, field.Errors{{Line: 2, Field: "file", Code: "empty_file"}}
	}
	if len(v.errs) > 0 {
		return nil, renameImportFields(v.errs)
	}
	return people, nil
}

// renameImportFields reports company and floor problems under the CSV's
// column names, and drops a floor complaint that a bad company or an unknown
// floor name already explains.
func renameImportFields(es field.Errors) field.Errors {
	explained := map[int]bool{}
	for _, e := range es {
		if e.Field == "company_id" || e.Field == "floor" {
			explained[e.Line] = true
		}
	}
	out := es[:0]
	for _, e := range es {
		switch e.Field {
		case "company_id":
			e.Field = "company"
		case "floor_id":
			if explained[e.Line] {
				continue
			}
			e.Field = "floor"
		}
		out = append(out, e)
	}
	return out
}

func csvError(err error) field.Errors {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return field.Errors{{Line: pe.Line, Field: "row", Code: "bad_csv"}}
	}
	return field.Errors{{Line: 1, Field: "file", Code: "bad_csv"}}
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "yes", "y", "true", "1", "是":
		return true, true
	case "no", "n", "false", "0", "否":
		return false, true
	}
	return false, false
}
