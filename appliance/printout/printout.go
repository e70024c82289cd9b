// Package printout sets mixed Latin and Chinese text on fpdf pages: the
// one place the printable listings (stock, key room) and reports choose a
// font per run of characters, measure and shorten text.
package printout

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-pdf/fpdf"

	"gatehouse/appliance/visit"
)

// AddFonts adds DejaVu Sans as "latin" (required: visit.ErrNoFont without
// it) and Droid Sans Fallback as "cjk" when it is installed, and says
// whether it was.
func AddFonts(pdf *fpdf.Fpdf) (cjk bool, err error) {
	latin := ttf(visit.DefaultLatinFont)
	if latin == nil {
		return false, fmt.Errorf("%w: %s", visit.ErrNoFont, visit.DefaultLatinFont)
	}
	pdf.AddUTF8FontFromBytes("latin", "", latin)
	if b := ttf(visit.DefaultFont); b != nil {
		pdf.AddUTF8FontFromBytes("cjk", "", b)
		cjk = true
	}
	return cjk, pdf.Error()
}

// ttf is the font file at path if it is a single TrueType font.
func ttf(path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil || len(b) < 12 || !(bytes.HasPrefix(b, []byte{0, 1, 0, 0}) || bytes.HasPrefix(b, []byte("true"))) {
		return nil
	}
	return b
}

// Text sets strings in runs of one font each, at Size points. Without the
// CJK font, characters the Latin font lacks print as '?'.
type Text struct {
	PDF  *fpdf.Fpdf
	CJK  bool
	Size float64
}

func latinRune(r rune) bool { return r < 0x0530 || (r >= 0x1E00 && r < 0x2400) }

func (p *Text) runs(s string) (fonts, texts []string) {
	for _, r := range s {
		switch {
		case r == utf8.RuneError || r > 0xFFFF:
			r = '?'
		case unicode.IsControl(r):
			r = ' '
		}
		font := "latin"
		if !latinRune(r) {
			if p.CJK {
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

// Width is how wide s is set.
func (p *Text) Width(s string) float64 {
	fonts, texts := p.runs(s)
	w := 0.0
	for i := range fonts {
		p.PDF.SetFont(fonts[i], "", p.Size)
		w += p.PDF.GetStringWidth(texts[i])
	}
	return w
}

// Fit shortens s with an ellipsis until it is at most w wide.
func (p *Text) Fit(s string, w float64) string {
	if p.Width(s) <= w {
		return s
	}
	rs := []rune(s)
	if len(rs) > 200 {
		rs = rs[:200] // no cell is wider than a page
	}
	for len(rs) > 0 && p.Width(string(rs)+"…") > w {
		rs = rs[:len(rs)-1]
	}
	return strings.TrimSpace(string(rs)) + "…"
}

// Draw sets s with its baseline starting at (x, y).
func (p *Text) Draw(x, y float64, s string) {
	fonts, texts := p.runs(s)
	for i := range fonts {
		p.PDF.SetFont(fonts[i], "", p.Size)
		p.PDF.Text(x, y, texts[i])
		x += p.PDF.GetStringWidth(texts[i])
	}
}
