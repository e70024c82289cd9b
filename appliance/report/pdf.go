package report

// The printable report: A4 portrait, a title, then every table of the page
// in turn, breaking pages where a table runs over. Names are often
// Chinese and PDF's built-in fonts have none, so, as for the conference
// pass sheet (appliance/visit/export.go), text is set in two embedded
// TrueType fonts — DejaVu Sans for Latin script, Droid Sans Fallback for
// the rest — in runs of one font each. Without the CJK font installed the
// report still prints, with "?" for the characters it would have set.

import (
	"context"
	"fmt"
	"gatehouse/appliance/cpu"
	"io"

	"github.com/go-pdf/fpdf"

	"gatehouse/appliance/printout"
)

// Table is one table of a report as every format shows it: the page, the
// CSV and XLSX exports and the PDF. Cells are strings, ints or float64.
type Table struct {
	Title  string
	Header []string
	Rows   [][]any
}

// Cell is a table cell as text.
func Cell(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprint(v)
}

// WritePDF writes the printable report: title and subtitle on top, then
// the tables; footer is printed at the foot of every page with the page
// number.
func WritePDF(w io.Writer, title, subtitle, footer string, tables []Table) error {
	release, err := cpu.Heavy(context.Background())
	if err != nil {
		return err
	}
	defer release()
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetCompression(true)
	pdf.SetAutoPageBreak(false, 0)
	cjk, err := printout.AddFonts(pdf)
	if err != nil {
		return err
	}
	t := &printout.Text{PDF: pdf, CJK: cjk}
	const margin, lineH, pageH, pageW = 15.0, 6.0, 297.0, 210.0
	page := 0
	y := 0.0
	newPage := func() {
		pdf.AddPage()
		page++
		t.Size = 8
		pdf.SetTextColor(110, 110, 110)
		t.Draw(margin, pageH-8, fmt.Sprintf("%s · %d", footer, page))
		pdf.SetTextColor(0, 0, 0)
		y = margin
	}
	newPage()
	t.Size = 16
	t.Draw(margin, y+6, title)
	y += 10
	t.Size = 10
	t.Draw(margin, y+4, subtitle)
	y += 10
	for _, tb := range tables {
		if y+3*lineH > pageH-margin-6 {
			newPage()
		}
		t.Size = 12
		t.Draw(margin, y+5, tb.Title)
		y += 8
		cols := max(1, len(tb.Header))
		// The first column (names) takes what the numbers leave.
		numW := 24.0
		firstW := pageW - 2*margin - numW*float64(cols-1)
		colX := func(i int) (float64, float64) {
			if i == 0 {
				return margin, firstW
			}
			return margin + firstW + numW*float64(i-1), numW
		}
		head := func() {
			t.Size = 9
			pdf.SetFillColor(235, 239, 245)
			pdf.Rect(margin, y, pageW-2*margin, lineH, "F")
			for i, h := range tb.Header {
				x, cw := colX(i)
				t.Draw(x+1, y+4.2, t.Fit(h, cw-2))
			}
			y += lineH
		}
		head()
		t.Size = 9
		for _, row := range tb.Rows {
			if y+lineH > pageH-margin-6 {
				newPage()
				head()
				t.Size = 9
			}
			for i, v := range row {
				x, cw := colX(i)
				s := t.Fit(Cell(v), cw-2)
				if i > 0 {
					x += cw - 1 - t.Width(s) // numbers right-aligned
				} else {
					x++
				}
				t.Draw(x, y+4.2, s)
			}
			pdf.SetDrawColor(220, 220, 220)
			pdf.Line(margin, y+lineH, pageW-margin, y+lineH)
			y += lineH
		}
		y += 6
	}
	return pdf.Output(w)
}
