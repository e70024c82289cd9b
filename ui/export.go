package ui

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"gatehouse/appliance/cpu"
	"io"
	"iter"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/labstack/echo/v4"
	"github.com/xuri/excelize/v2"

	"gatehouse/appliance/store"
	"gatehouse/appliance/visit"
	"gatehouse/ui/i18n"
)

// Every listing can be exported (DOMAIN.md). A listing hands sendTable a
// table — a file name, translated column titles and rows of cells — and
// gets CSV or XLSX. Cells are strings, ints or time.Time (the zero time is
// an empty cell); times are written in the building's zone. CSV is UTF-8
// with a byte-order mark, which Excel needs to read UTF-8, and with CRLF
// line ends; a cell that a spreadsheet would run as a formula (it begins
// with = + - @) is prefixed with an apostrophe, since names typed on the
// public booking page end up here. XLSX has real date cells, so a
// spreadsheet sorts and filters by time.

// Export formats.
const (
	formatCSV  = "csv"
	formatXLSX = "xlsx"
)

// table is a listing to export.
type table struct {
	name   string // file name without extension: ASCII letters, digits, '-'
	sheet  string // its sheet's title when it is one of several
	header []string
	rows   iter.Seq[[]any]
	// failed, when set, reports an error the rows met (a store read
	// that streams them); checked before anything is sent.
	failed func() error
}

// rowsErr is the error the rows of t met, if any.
func (t table) rowsErr() error {
	if t.failed == nil {
		return nil
	}
	return t.failed()
}

const exportTimeLayout = "2006-01-02 15:04"

var unsafeFileName = regexp.MustCompile(`[^A-Za-z0-9-]+`)

// sendTable writes t as a download in format (csv or xlsx). The file is
// built whole before anything is sent, so a failure is still an error page.
func (s *Server) sendTable(c echo.Context, format string, t table) error {
	var buf bytes.Buffer
	var ctype string
	loc := s.app.Config.Location
	release, err := cpu.Heavy(c.Request().Context())
	if err != nil {
		return err
	}
	defer release()
	switch format {
	case formatCSV:
		ctype, err = "text/csv; charset=utf-8", writeCSV(&buf, t, loc)
	case formatXLSX:
		ctype, err = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", writeXLSX(&buf, loc, t)
	default:
		return echo.ErrNotFound
	}
	if err == nil {
		err = t.rowsErr()
	}
	if err != nil {
		return err
	}
	name := strings.Trim(unsafeFileName.ReplaceAllString(t.name, "-"), "-")
	if name == "" {
		name = "export"
	}
	h := c.Response().Header()
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.%s"`, name, format))
	h.Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, ctype, buf.Bytes())
}

// csvCell is the text of one cell.
func csvCell(v any, loc *time.Location) string {
	var s string
	switch v := v.(type) {
	case nil:
	case string:
		s = v
	case time.Time:
		if !v.IsZero() {
			s = v.In(loc).Format(exportTimeLayout)
		}
	default:
		s = fmt.Sprint(v)
	}
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) && !numberLike(s) {
		s = "'" + s // not a formula
	}
	return s
}

// numberLike reports whether s is a plain (possibly masked) number such as
// +8613800138000 or -5, which no spreadsheet runs.
func numberLike(s string) bool {
	return len(s) > 1 && strings.Trim(s[1:], "0123456789*. ") == "" && (s[0] == '+' || s[0] == '-')
}

func writeCSV(w io.Writer, t table, loc *time.Location) error {
	if _, err := io.WriteString(w, "\xEF\xBB\xBF"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(t.header); err != nil {
		return err
	}
	rec := make([]string, 0, len(t.header))
	for row := range t.rows {
		rec = rec[:0]
		for _, v := range row {
			rec = append(rec, csvCell(v, loc))
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// xlsxText drops the characters XML cannot hold.
func xlsxText(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || (!unicode.IsControl(r) && r != 0xFFFE && r != 0xFFFF) {
			return r
		}
		return -1
	}, s)
}

// writeXLSX writes each table as a sheet (a listing has one, "Sheet1"; a
// report one per table, named by its title).
func writeXLSX(w io.Writer, loc *time.Location, ts ...table) (err error) {
	f := excelize.NewFile()
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	dateFmt := "yyyy-mm-dd hh:mm"
	dateStyle, err := f.NewStyle(&excelize.Style{CustomNumFmt: &dateFmt})
	if err != nil {
		return err
	}
	headStyle, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return err
	}
	for i, t := range ts {
		sheet := "Sheet1"
		if len(ts) > 1 {
			sheet = sheetName(xlsxText(t.sheet), i)
			if i == 0 {
				err = f.SetSheetName("Sheet1", sheet)
			} else {
				_, err = f.NewSheet(sheet)
			}
			if err != nil {
				return err
			}
		}
		if err := writeSheet(f, sheet, t, loc, headStyle, dateStyle); err != nil {
			return err
		}
	}
	return f.Write(w)
}

func writeSheet(f *excelize.File, sheet string, t table, loc *time.Location, headStyle, dateStyle int) error {
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return err
	}
	if err := sw.SetColWidth(1, max(1, len(t.header)), 18); err != nil {
		return err
	}
	head := make([]any, len(t.header))
	for i, h := range t.header {
		head[i] = excelize.Cell{StyleID: headStyle, Value: xlsxText(h)}
	}
	if err := sw.SetRow("A1", head, excelize.RowOpts{Height: 18}); err != nil {
		return err
	}
	n := 1
	for row := range t.rows {
		n++
		cells := make([]any, len(row))
		for i, v := range row {
			switch v := v.(type) {
			case time.Time:
				if !v.IsZero() {
					cells[i] = excelize.Cell{StyleID: dateStyle, Value: v.In(loc)}
				}
			case string:
				cells[i] = xlsxText(v)
			default:
				cells[i] = v
			}
		}
		cell, err := excelize.CoordinatesToCellName(1, n)
		if err != nil {
			return err
		}
		if err := sw.SetRow(cell, cells); err != nil {
			return err
		}
	}
	return sw.Flush()
}

// sheetName is a valid, unique worksheet name: at most 31 characters,
// none of : \ / ? * [ ].
func sheetName(title string, i int) string {
	r := []rune(strings.Map(func(r rune) rune {
		if strings.ContainsRune(`:\/?*[]`, r) {
			return '-'
		}
		return r
	}, title))
	if len(r) > 27 {
		r = r[:27]
	}
	return fmt.Sprintf("%d %s", i+1, string(r))
}

// visitTable is a visit listing as an export: visitor, masked mobile, the
// visitor's own company, company and floor visited, host, way in, state,
// expected start, first entry and last exit.
func visitTable(l i18n.Lang, name string, rows []visit.ExportRow) table {
	return table{
		name: name,
		header: []string{l.T("visit.visitor"), l.T("field.mobile"), l.T("export.visitor_company"), l.T("field.company"),
			l.T("field.floor"), l.T("visit.host"), l.T("visit.mode"), l.T("field.status"), l.T("visit.from"), l.T("visit.in"), l.T("visit.out")},
		rows: func(yield func([]any) bool) {
			for _, r := range rows {
				who := r.Visitor
				if r.Title != "" {
					who += " " + r.Title
				}
				if !yield([]any{who, r.Mobile, r.VisitorCompany, r.Company, r.Floor, r.Host,
					l.T("mode." + string(r.Mode)), l.T("state." + string(r.State)), r.From, r.In, r.Out}) {
					return
				}
			}
		},
	}
}

// todayExport downloads today's visits (0:00–24:00 local), as on
// /desk/today.
func (s *Server) todayExport(format string) echo.HandlerFunc {
	return func(c echo.Context) error {
		now := s.app.Clock.Now()
		vs, err := s.app.Visits.Day(now, s.app.Config.Location)
		if err != nil {
			return err
		}
		var rows []visit.ExportRow
		err = s.app.Store.View(func(r *store.Reader) error { rows, err = visit.ExportRows(r, vs); return err })
		if err != nil {
			return err
		}
		day := now.In(s.app.Config.Location).Format("2006-01-02")
		return s.sendTable(c, format, visitTable(langOf(c), "visits-"+day, rows))
	}
}
