package report

// The printable report: A4 portrait, a title, then every table of the page
// in turn, breaking pages where a table runs over. Names are often
// Chinese and PDF's built-in fonts have none, so, as for the conference
// pass sheet (appliance/visit/export.go), text is set in two embedded
// TrueType fonts — DejaVu Sans for Latin script, Droid Sans Fallback for
// the rest — in runs of one font each. Without the CJK font installed the
// report still prints, with "?" for the characters it would have set.

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-pdf/fpdf"

	"gatehouse/appliance/visit"
)

// Table is one table of a report as every format shows it: the page, the
// CSV and XLSX exports and the PDF. Cells are strings, ints or float64.
type Table struct {
	Title  string
	Header []string
	Rows   [][]any
}

// ErrNoLatinFont means the Latin font of the printable report is missing.
// It is a visit.ErrNoFont, so the pages answer it as every printable page's
// missing font.
var ErrNoLatinFont = fmt.Errorf("%w: report: DejaVu Sans", visit.ErrNoFont)

func ttf(path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil || len(b) < 12 || !(bytes.HasPrefix(b, []byte{0, 1, 0, 0}) || bytes.HasPrefix(b, []byte("true"))) {
		return nil
	}
	return b
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

type pdfText struct {
	pdf  *fpdf.Fpdf
	cjk  bool
	size float64
}

func latinRune(r rune) bool {
	return r < 0x0530 || (r >= 0x1E00 && r < 0x2400)
}

func (p *pdfText) runs(s string) (fonts, texts []string) {
	for _, r := range s {
		switch {
		case r == utf8.RuneError || r > 0xFFFF:
			r = '?'
		case unicode.IsControl(r):
			r = ' '
		}
		font := "latin"
		if !latinRune(r) {
			if p.cjk {
				font = "cjk"
			} else {
				r = '?'
			}
		}
		if n := len(fonts); n > 0 && fonts[n-1] == font {
			texts[n-1] += string(r)
		} else {
			fonts, texts = append(fonts, font), append(texts, string(r))
		}
	}
	return
}

func (p *pdfText) width(s string) float64 {
	fonts, texts := p.runs(s)
	w := 0.0
	for i := range fonts {
		p.pdf.SetFont(fonts[i], "", p.size)
		w += p.pdf.GetStringWidth(texts[i])
	}
	return w
}

// fit cuts s with an ellipsis to at most w.
func (p *pdfText) fit(s string, w float64) string {
	if p.width(s) <= w {
		return s
	}
	rs := []rune(s)
	for len(rs) > 0 && p.width(string(rs)+"…") > w {
		rs = rs[:len(rs)-1]
	}
	return strings.TrimSpace(string(rs)) + "…"
}

func (p *pdfText) text(x, y float64, s string) {
	fonts, texts := p.runs(s)
	for i := range fonts {
		p.pdf.SetFont(fonts[i], "", p.size)
		p.pdf.Text(x, y, texts[i])
		x += p.pdf.GetStringWidth(texts[i])
	}
}

// WritePDF writes the printable report: title and subtitle on top, then
// the tables; footer is printed at the foot of every page with the page
// number.
func WritePDF(w io.Writer, title, subtitle, footer string, tables []Table) error {
	latin := ttf(visit.DefaultLatinFont)
	if latin == nil {
		return ErrNoLatinFont
	}
	cjk := ttf(visit.DefaultFont)
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetCompression(true)
	pdf.SetAutoPageBreak(false, 0)
	pdf.AddUTF8FontFromBytes("latin", "", latin)
	if cjk != nil {
		pdf.AddUTF8FontFromBytes("cjk", "", cjk)
	}
	if err := pdf.Error(); err != nil {
		return err
	}
	t := &pdfText{pdf: pdf, cjk: cjk != nil}
	const margin, lineH, pageH, pageW = 15.0, 6.0, 297.0, 210.0
	page := 0
	y := 0.0
	newPage := func() {
		pdf.AddPage()
		page++
		t.size = 8
		pdf.SetTextColor(110, 110, 110)
		t.text(margin, pageH-8, fmt.Sprintf("%s · %d", footer, page))
		pdf.SetTextColor(0, 0, 0)
		y = margin
	}
	newPage()
	t.size = 16
	t.text(margin, y+6, title)
	y += 10
	t.size = 10
	t.text(margin, y+4, subtitle)
	y += 10
	for _, tb := range tables {
		if y+3*lineH > pageH-margin-6 {
			newPage()
		}
		t.size = 12
		t.text(margin, y+5, tb.Title)
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
			t.size = 9
			pdf.SetFillColor(235, 239, 245)
			pdf.Rect(margin, y, pageW-2*margin, lineH, "F")
			for i, h := range tb.Header {
				x, cw := colX(i)
				t.text(x+1, y+4.2, t.fit(h, cw-2))
			}
			y += lineH
		}
		head()
		t.size = 9
		for _, row := range tb.Rows {
			if y+lineH > pageH-margin-6 {
				newPage()
				head()
				t.size = 9
			}
			for i, v := range row {
				x, cw := colX(i)
				s := t.fit(Cell(v), cw-2)
				if i > 0 {
					x += cw - 1 - t.width(s) // numbers right-aligned
				} else {
					x++
				}
				t.text(x, y+4.2, s)
			}
			pdf.SetDrawColor(220, 220, 220)
			pdf.Line(margin, y+lineH, pageW-margin, y+lineH)
			y += lineH
		}
		y += 6
	}
	return pdf.Output(w)
}
