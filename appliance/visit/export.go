package visit

// What leaves the appliance on paper or in a spreadsheet: the printable
// sheet of a conference's passes, and the rows of a visit listing for the
// CSV and XLSX exports (the file formats themselves are the web server's
// business; this file says what a row holds).
//
// The pass sheet is A4 with 2 × 4 cards of 95 × 69 mm, a size that fits the
// common 100 × 70 mm badge holder once cut along the dashed lines. Each card
// has the attendee's name (shrunk to fit), company, the conference, its
// window and place, and the pass's QR code as a PNG image (the code
// pass.PNG draws, see qrImage). Names are often
// Chinese, and PDF's built-in fonts have no CJK glyphs, so a TrueType font
// with CJK coverage is embedded (subset: only the glyphs used). fpdf reads
// only single TrueType fonts with glyf outlines — not the .ttc collections
// or CFF-based .otf files that most CJK packages ship — and Droid Sans
// Fallback (Debian package fonts-droid-fallback, 4 MB, Apache 2.0) is one
// that it reads, so it is the default. It has no Latin letters, though, so
// Latin script is set in DejaVu Sans (fonts-dejavu-core), in runs of one
// font each. SheetOptions names other fonts.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"gatehouse/appliance/cpu"
	"image"
	"image/png"
	"io"
	"os"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-pdf/fpdf"
	qrcode "github.com/skip2/go-qrcode"

	"gatehouse/appliance/directory"
	"gatehouse/appliance/pass"
	"gatehouse/appliance/store"
)

// The fonts of the pass sheet: Debian packages fonts-droid-fallback (CJK)
// and fonts-dejavu-core (Latin, Greek, Cyrillic, Vietnamese).
const (
	DefaultFont      = "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"
	DefaultLatinFont = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
)

// ErrNoFont means a font of the pass sheet is missing or unreadable.
var ErrNoFont = errors.New("visit: a font of the pass sheet is missing (install Debian packages fonts-droid-fallback and fonts-dejavu-core)")

// SheetOptions sets how a pass sheet is printed.
type SheetOptions struct {
	Location  *time.Location // the building's time zone; nil: UTC
	FontPath  string         // a .ttf with CJK glyphs; "": DefaultFont
	LatinPath string         // a .ttf for Latin script; "": DefaultLatinFont
	Footer    string         // printed under the cards of every page, e.g. "Show the code at the gate"
}

// Sheet layout, in millimetres.
const (
	sheetMargin = 10.0
	sheetCols   = 2
	sheetRows   = 4
	cardW       = (210 - 2*sheetMargin) / sheetCols
	cardH       = (297 - 2*sheetMargin - 6) / sheetRows // 6 mm for the footer
	cardPad     = 4.0
	qrSide      = 44.0
	qrScale     = 4 // pixels a module
)

// PassSheet writes the printable sheet of the passes of a conference's
// attendees whose pass is good (approved, in or out), in list order.
func (s *Conferences) PassSheet(w io.Writer, id string, o SheetOptions) error {
	m, err := s.Get(id)
	if err != nil {
		return err
	}
	vs, err := s.Attendees(id)
	if err != nil {
		return err
	}
	signer := s.keys.Signer()
	return WritePassSheet(w, m, vs, func(v Visit) (string, error) {
		return pass.Sign(signer, pass.Claims{PassID: v.PassID, VisitID: v.ID,
			NotBefore: time.Unix(0, v.From), NotAfter: time.Unix(0, v.Until)})
	}, o)
}

// readFont reads a TrueType font. fpdf reads single TrueType fonts only,
// and says so on stdout rather than as an error: the magic number is
// checked here.
func readFont(path, fallback string) ([]byte, error) {
	if path == "" {
		path = fallback
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoFont, err)
	}
	if len(b) < 12 || !(bytes.HasPrefix(b, []byte{0, 1, 0, 0}) || bytes.HasPrefix(b, []byte("true"))) {
		return nil, fmt.Errorf("%w: %s is not a single TrueType (.ttf) font", ErrNoFont, path)
	}
	return b, nil
}

// WritePassSheet writes the sheet for the visits of vs whose pass is good;
// token signs one visit's pass.
func WritePassSheet(w io.Writer, m Meeting, vs []Visit, token func(Visit) (string, error), o SheetOptions) error {
	release, err := cpu.Heavy(context.Background())
	if err != nil {
		return err
	}
	defer release()
	loc := o.Location
	if loc == nil {
		loc = time.UTC
	}
	cjk, err := readFont(o.FontPath, DefaultFont)
	if err != nil {
		return err
	}
	latin, err := readFont(o.LatinPath, DefaultLatinFont)
	if err != nil {
		return err
	}
	var good []Visit
	for _, v := range vs {
		if v.State.PassValid() && v.PassID != "" {
			good = append(good, v)
		}
	}
	qrs, err := passImages(good, token)
	if err != nil {
		return err
	}

	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetMargins(sheetMargin, sheetMargin, sheetMargin)
	pdf.SetTitle(m.Name, true)
	pdf.SetCreator("Gatehouse", true)
	pdf.AddUTF8FontFromBytes("cjk", "", cjk)
	pdf.AddUTF8FontFromBytes("latin", "", latin)
	if pdf.Err() {
		return fmt.Errorf("%w: %v", ErrNoFont, pdf.Error())
	}
	sh := &sheet{pdf: pdf}
	window := WindowText(m, loc)
	colW := cardW - 2*cardPad - qrSide - 2 // beside the QR code
	sh.style(10, 0)
	confLines := sh.wrap(m.Name, colW, 3)
	sh.style(8.5, 0)
	windowLines := sh.wrap(window, colW, 2)
	place := sh.fit(m.Place, colW)
	perPage := sheetCols * sheetRows
	pages := max(1, (len(good)+perPage-1)/perPage)
	for i := 0; i < pages*perPage; i++ {
		if i%perPage == 0 {
			pdf.AddPage()
			sh.style(7, 110)
			foot := fmt.Sprintf("%s · %s · %d/%d", m.Name, window, i/perPage+1, pages)
			if o.Footer != "" {
				foot = o.Footer + " · " + foot
			}
			sh.text(sheetMargin, 297-sheetMargin+2, sh.fit(foot, 210-2*sheetMargin))
		}
		if i >= len(good) {
			break
		}
		x := sheetMargin + float64(i%sheetCols)*cardW
		y := sheetMargin + float64((i%perPage)/sheetCols)*cardH
		sh.card(x, y, good[i], qrs[i], confLines, windowLines, place)
	}
	if pdf.Err() {
		return fmt.Errorf("visit: pass sheet: %w", pdf.Error())
	}
	return pdf.Output(w)
}

// passImages signs and draws the passes, on every core: drawing a QR code
// is most of the sheet's work.
func passImages(vs []Visit, token func(Visit) (string, error)) ([][]byte, error) {
	out := make([][]byte, len(vs))
	errs := make([]error, len(vs))
	workers := min(cpu.Slots(), len(vs))
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			enc := &png.Encoder{CompressionLevel: png.BestSpeed, BufferPool: &pngBuffer{}}
			var canvas *image.Gray
			for i := w; i < len(vs); i += workers {
				cpu.Yield()
				tok, err := token(vs[i])
				if err == nil {
					out[i], err = qrImage(tok, enc, &canvas)
				}
				errs[i] = err
			}
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// qrImage draws a pass's QR code as a grey-scale PNG of qrScale pixels a
// module. It draws the same code as pass.PNG (error correction level
// Medium, quiet zone included) but not through it: pass.PNG encodes a
// palette image with a fresh zlib writer (a megabyte of allocation) per
// call, and fpdf compresses every palette image's palette with another;
// for 2,000 passes that was three quarters of the sheet's time. Here one
// compressor per worker is reused, and a grey image has no palette. Whole
// pixels a module keep the code sharp however the page is scaled.
func qrImage(tok string, enc *png.Encoder, canvas **image.Gray) ([]byte, error) {
	q, err := qrcode.New(tok, qrcode.Medium)
	if err != nil {
		return nil, fmt.Errorf("visit: qr: %w", err)
	}
	bm := q.Bitmap()
	n := len(bm)
	g := *canvas
	if g == nil || g.Rect.Dx() != n*qrScale {
		g = image.NewGray(image.Rect(0, 0, n*qrScale, n*qrScale))
		*canvas = g
	}
	for y, row := range bm {
		for x, dark := range row {
			v := uint8(255)
			if dark {
				v = 0
			}
			for dy := 0; dy < qrScale; dy++ {
				px := g.Pix[(y*qrScale+dy)*g.Stride+x*qrScale:]
				for dx := 0; dx < qrScale; dx++ {
					px[dx] = v
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := enc.Encode(&buf, g); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// pngBuffer keeps one worker's PNG compressor between images.
type pngBuffer struct{ b *png.EncoderBuffer }

func (p *pngBuffer) Get() *png.EncoderBuffer  { return p.b }
func (p *pngBuffer) Put(b *png.EncoderBuffer) { p.b = b }

// sheet writes text in two fonts: the CJK font has no Latin letters, the
// Latin font no ideographs, so every string is set in runs of one font.
type sheet struct {
	pdf  *fpdf.Fpdf
	size float64
}

// latinRune tells which runes the Latin font sets: Latin, Greek, Cyrillic
// and the general punctuation and symbols; everything else, CJK above
// all, goes to the CJK font.
func latinRune(r rune) bool {
	return r < 0x0530 || (r >= 0x1E00 && r < 0x2000) || (r >= 0x2000 && r < 0x2400)
}

type textRun struct {
	font string
	text string
}

func runs(s string) []textRun {
	var out []textRun
	for _, r := range printable(s) {
		font := "cjk"
		if latinRune(r) {
			font = "latin"
		}
		if n := len(out); n > 0 && out[n-1].font == font {
			out[n-1].text += string(r)
		} else {
			out = append(out, textRun{font, string(r)})
		}
	}
	return out
}

func (sh *sheet) style(size float64, grey int) {
	sh.size = size
	sh.pdf.SetTextColor(grey, grey, grey)
}

// widths are the widths of the runes of printable(s); fpdf does not kern,
// so a string is as wide as the sum of its runes.
func (sh *sheet) widths(s string) ([]rune, []float64) {
	var rs []rune
	var ws []float64
	for _, run := range runs(s) {
		sh.pdf.SetFont(run.font, "", sh.size)
		for _, r := range run.text {
			rs = append(rs, r)
			ws = append(ws, sh.pdf.GetStringWidth(string(r)))
		}
	}
	return rs, ws
}

func (sh *sheet) width(s string) float64 {
	_, ws := sh.widths(s)
	sum := 0.0
	for _, w := range ws {
		sum += w
	}
	return sum
}

func (sh *sheet) text(x, y float64, s string) {
	for _, r := range runs(s) {
		sh.pdf.SetFont(r.font, "", sh.size)
		sh.pdf.Text(x, y, r.text)
		x += sh.pdf.GetStringWidth(r.text)
	}
}

// fit shortens s with an ellipsis until it is at most w wide.
func (sh *sheet) fit(s string, w float64) string {
	rs, ws := sh.widths(s)
	total := 0.0
	for _, x := range ws {
		total += x
	}
	if total <= w {
		return string(rs)
	}
	room := w - sh.width("…")
	n, used := 0, 0.0
	for n < len(rs) && used+ws[n] <= room {
		used += ws[n]
		n++
	}
	return strings.TrimRightFunc(string(rs[:n]), unicode.IsSpace) + "…"
}

// wrap breaks s into at most n lines of width w: between words, or
// between any two ideographs; the last line ends in "…" if text is left.
func (sh *sheet) wrap(s string, w float64, n int) []string {
	rs, ws := sh.widths(s)
	type unit struct {
		text  string
		width float64 // without trailing spaces
		space float64
	}
	var units []unit // pieces a line may break after
	for i, r := range rs {
		k := len(units) - 1
		switch {
		case k >= 0 && unicode.IsSpace(r):
			units[k].text += " "
			units[k].space += ws[i]
		case k >= 0 && latinRune(r) && units[k].space == 0 && latinRune([]rune(units[k].text)[0]):
			units[k].text += string(r)
			units[k].width += ws[i]
		default:
			units = append(units, unit{text: string(r), width: ws[i]})
		}
	}
	var lines []string
	var line strings.Builder
	used := 0.0 // width of line, with its trailing space
	flush := func() bool {
		lines = append(lines, strings.TrimRight(line.String(), " "))
		line.Reset()
		used = 0
		return len(lines) == n
	}
	for i := 0; i < len(units); i++ {
		u := units[i]
		switch {
		case used+u.width <= w:
			line.WriteString(u.text)
			used += u.width + u.space
			continue
		case line.Len() == 0: // one word wider than the line: cut it
			line.WriteString(sh.fit(u.text, w))
		default:
			i-- // the unit starts the next line
		}
		if flush() {
			if i < len(units)-1 {
				lines[n-1] = sh.fit(lines[n-1]+"…", w)
			}
			return lines
		}
	}
	if line.Len() > 0 {
		flush()
	}
	return lines
}

func (sh *sheet) card(x, y float64, v Visit, qr []byte, conf, window []string, place string) {
	pdf := sh.pdf
	pdf.SetDrawColor(170, 170, 170)
	pdf.SetLineWidth(0.2)
	pdf.SetDashPattern([]float64{1.5, 1.5}, 0)
	pdf.Rect(x, y, cardW, cardH, "D")
	pdf.SetDashPattern(nil, 0)

	inner := cardW - 2*cardPad
	who := v.Visitor.Name
	if v.Visitor.Title != "" {
		who += " " + v.Visitor.Title
	}
	sh.style(18, 0)
	if wd := sh.width(who); wd > inner {
		sh.style(max(10, 18*inner/wd), 0)
	}
	sh.text(x+cardPad, y+cardPad+6.5, sh.fit(who, inner))
	if v.Visitor.Company != "" {
		sh.style(9, 80)
		sh.text(x+cardPad, y+cardPad+12.5, sh.fit(v.Visitor.Company, inner))
	}

	qx, qy := x+cardW-cardPad-qrSide, y+cardH-cardPad-qrSide
	name := "qr-" + v.ID
	pdf.RegisterImageOptionsReader(name, fpdf.ImageOptions{ImageType: "PNG"}, bytes.NewReader(qr))
	pdf.ImageOptions(name, qx, qy, qrSide, qrSide, false, fpdf.ImageOptions{ImageType: "PNG"}, 0, "")

	ty := qy + 4
	sh.style(10, 0)
	for _, l := range conf {
		sh.text(x+cardPad, ty, l)
		ty += 4.6
	}
	ty += 1.5
	sh.style(8.5, 0)
	for _, l := range window {
		sh.text(x+cardPad, ty, l)
		ty += 4
	}
	if place != "" {
		sh.text(x+cardPad, ty, place)
	}
	sh.style(6.5, 130)
	sh.text(x+cardPad, y+cardH-cardPad, v.PassID)
}

// WindowText is a meeting's window as printed: "2026-11-23 09:00 – 17:00",
// with the end's date too when the meeting lasts past midnight.
func WindowText(m Meeting, loc *time.Location) string {
	from, until := m.Window()
	from, until = from.In(loc), until.In(loc)
	end := until.Format("15:04")
	if from.Format("20060102") != until.Format("20060102") {
		end = until.Format("2006-01-02 15:04")
	}
	return from.Format("2006-01-02 15:04") + " – " + end
}

// printable keeps what the embedded fonts can be asked for: fpdf indexes
// its width table by rune and knows only the Basic Multilingual Plane, so
// anything beyond it (emoji, rare ideographs) prints as "?", and control
// characters as a space.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == utf8.RuneError, r > 0xFFFF:
			return '?'
		case unicode.IsControl(r):
			return ' '
		}
		return r
	}, s)
}

// ExportRow is one visit as a listing export shows it: names resolved,
// the mobile masked, times as times (zero when not yet).
type ExportRow struct {
	Visitor        string
	Title          string
	Mobile         string // masked
	VisitorCompany string // where the visitor comes from
	Company        string // the tenant visited
	Floor          string
	Host           string
	Mode           Mode
	State          State
	From           time.Time
	In             time.Time
	Out            time.Time
}

// ExportRows resolves the names of vs's hosts, companies and floors.
func ExportRows(r *store.Reader, vs []Visit) ([]ExportRow, error) {
	hosts, companies, floors := map[string]string{}, map[string]string{}, map[string]string{}
	lookup := func(cache map[string]string, id string, get func(string) (string, error)) (string, error) {
		if n, ok := cache[id]; ok || id == "" {
			return n, nil
		}
		n, err := get(id)
		if errors.Is(err, directory.ErrNotFound) || errors.Is(err, store.ErrNotFound) {
			n, err = "", nil
		}
		cache[id] = n
		return n, err
	}
	at := func(ns int64) time.Time {
		if ns == 0 {
			return time.Time{}
		}
		return time.Unix(0, ns)
	}
	out := make([]ExportRow, 0, len(vs))
	for _, v := range vs {
		row := ExportRow{Visitor: v.Visitor.Name, Title: v.Visitor.Title, Mobile: v.Visitor.MobileMasked,
			VisitorCompany: v.Visitor.Company, Mode: v.Mode, State: v.State, From: at(v.From), In: at(v.FirstIn), Out: at(v.LastOut)}
		var err error
		if row.Host, err = lookup(hosts, v.HostID, func(id string) (string, error) {
			p, err := directory.GetPerson(r, id)
			return p.Name, err
		}); err != nil {
			return nil, err
		}
		if row.Company, err = lookup(companies, v.CompanyID, func(id string) (string, error) {
			c, err := directory.GetCompany(r, id)
			return c.Name, err
		}); err != nil {
			return nil, err
		}
		if row.Floor, err = lookup(floors, v.FloorID, func(id string) (string, error) {
			f, err := directory.GetFloor(r, id)
			return f.Name, err
		}); err != nil {
			return nil, err
		}
		out = append(out, row)
	}
	return out, nil
}

// ExportRows resolves the names of vs for an export.
func (s *Service) ExportRows(vs []Visit) (rows []ExportRow, err error) {
	err = s.db.View(func(r *store.Reader) error { rows, err = ExportRows(r, vs); return err })
	return rows, err
}
