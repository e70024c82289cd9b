package pass

// The pass as a picture: what a visitor saves to their phone's photos and
// shows at the gate or the desk when the network is gone. It carries what a
// guard reads (building, visitor, host and company, floor, time window)
// above the QR a reader scans, drawn at whole pixels a module so that the
// code stays sharp when the photo is zoomed.
//
// Text is set in TrueType fonts read from the system — the same Debian
// fonts as the conference pass sheet (fonts-dejavu-core for Latin script,
// fonts-droid-fallback for Chinese, both dependencies of the .deb) — and a
// character is drawn in the first font that has it. Without any of them
// (a development machine without the packages) the text falls back to
// golang.org/x/image/font/basicfont, which has ASCII only: other characters
// are drawn as "?", and the QR is unaffected. No font is embedded in the
// binary: the CJK one alone is 4 MB.

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"strings"

	xdraw "golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	qrcode "github.com/skip2/go-qrcode"
)

// Card is what a pass picture shows. Lines are set by the caller in the
// reader's language ("Host: 王芳 · Acme").
type Card struct {
	Building string // the site's name, in the band on top
	Name     string // the visitor, large
	Lines    []string
	Footer   string // under the QR: "Show this code at the gate"
	Token    string // the signed pass the QR carries
}

// Fonts are the parsed fonts a card's text is set in, in order of
// preference; empty, the ASCII-only fallback is used. Parsed once, they
// are safe for concurrent use (each card makes its own faces).
type Fonts struct {
	fonts []*opentype.Font
}

// LoadFonts reads the TrueType fonts at paths, skipping those missing or
// unreadable; it says which were skipped, for the log.
func LoadFonts(paths ...string) (*Fonts, []error) {
	fs := &Fonts{}
	var errs []error
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		f, err := opentype.Parse(b)
		if err != nil {
			errs = append(errs, fmt.Errorf("pass: font %s: %w", p, err))
			continue
		}
		fs.fonts = append(fs.fonts, f)
	}
	return fs, errs
}

// Card picture layout, in pixels.
const (
	cardWidth   = 720
	cardPad     = 40
	bandHeight  = 112
	qrTarget    = 480 // the QR is the largest whole multiple of its modules up to this
	buildingPt  = 36
	namePt      = 44
	linePt      = 26
	footerPt    = 22
	lineSpacing = 1.45
)

var (
	inkColour    = color.RGBA{0x1d, 0x24, 0x33, 0xff} // app.css --ink
	mutedColour  = color.RGBA{0x66, 0x70, 0x85, 0xff} // --muted
	accentColour = color.RGBA{0x1f, 0x6f, 0xeb, 0xff} // --accent
)

// CardPNG draws the pass picture.
func (fs *Fonts) CardPNG(c Card) ([]byte, error) {
	q, err := qrcode.New(c.Token, qrcode.Medium)
	if err != nil {
		return nil, fmt.Errorf("pass: qr: %w", err)
	}
	bm := q.Bitmap() // with its quiet zone
	scale := max(qrTarget/len(bm), 1)
	qrSide := scale * len(bm)

	t := fs.setter()
	defer t.close()
	lineH := func(pt float64) int { return int(pt * lineSpacing) }
	h := bandHeight + cardPad + lineH(namePt) + len(c.Lines)*lineH(linePt) + cardPad/2 + qrSide + lineH(footerPt) + cardPad
	img := image.NewRGBA(image.Rect(0, 0, cardWidth, h))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	draw.Draw(img, image.Rect(0, 0, cardWidth, bandHeight), image.NewUniform(accentColour), image.Point{}, draw.Src)

	textW := cardWidth - 2*cardPad
	t.draw(img, cardPad, bandHeight/2+buildingPt/3, c.Building, buildingPt, textW, color.White)
	y := bandHeight + cardPad + namePt
	t.draw(img, cardPad, y, c.Name, namePt, textW, inkColour)
	y += lineH(namePt) - namePt + linePt
	for _, l := range c.Lines {
		t.draw(img, cardPad, y, l, linePt, textW, inkColour)
		y += lineH(linePt)
	}
	y += cardPad/2 - linePt
	x0 := (cardWidth - qrSide) / 2
	for my, row := range bm {
		for mx, dark := range row {
			if dark {
				r := image.Rect(x0+mx*scale, y+my*scale, x0+(mx+1)*scale, y+(my+1)*scale)
				draw.Draw(img, r, image.Black, image.Point{}, draw.Src)
			}
		}
	}
	y += qrSide + footerPt
	t.draw(img, (cardWidth-t.width(c.Footer, footerPt))/2, y, c.Footer, footerPt, textW, mutedColour)

	var buf bytes.Buffer
	// Speed over size: a picture is ~60 KB either way, and encoding is most
	// of its cost.
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// setter sets lines of text, a character at a time in the first face that
// has it. Faces are made per size on first use and closed with the setter.
type setter struct {
	fonts []*opentype.Font
	faces map[float64][]font.Face
}

func (fs *Fonts) setter() *setter {
	var fonts []*opentype.Font
	if fs != nil {
		fonts = fs.fonts
	}
	return &setter{fonts: fonts, faces: map[float64][]font.Face{}}
}

func (t *setter) close() {
	for _, fs := range t.faces {
		for _, f := range fs {
			f.Close()
		}
	}
}

func (t *setter) facesAt(pt float64) []font.Face {
	if fs, ok := t.faces[pt]; ok {
		return fs
	}
	var fs []font.Face
	for _, f := range t.fonts {
		face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: pt, DPI: 72, Hinting: font.HintingFull})
		if err == nil {
			fs = append(fs, face)
		}
	}
	t.faces[pt] = fs
	return fs
}

// glyph is the face that draws r at pt, and the rune it draws.
func (t *setter) glyph(r rune, pt float64) (font.Face, rune, bool) {
	fs := t.facesAt(pt)
	for _, f := range fs {
		if _, ok := f.GlyphAdvance(r); ok {
			return f, r, true
		}
	}
	if len(fs) > 0 {
		return fs[0], r, true // the first font's missing-glyph box
	}
	return nil, r, false
}

// width is the width of s at pt, in pixels.
func (t *setter) width(s string, pt float64) int {
	if len(t.facesAt(pt)) == 0 {
		return len([]rune(s)) * basicfont.Face7x13.Advance * basicScale(pt)
	}
	var w fixed.Int26_6
	for _, r := range s {
		f, r, _ := t.glyph(r, pt)
		a, _ := f.GlyphAdvance(r)
		w += a
	}
	return w.Ceil()
}

// fit cuts s to at most maxW pixels at pt, ending it with "…" if cut.
func (t *setter) fit(s string, pt float64, maxW int) string {
	if t.width(s, pt) <= maxW {
		return s
	}
	rs := []rune(s)
	for len(rs) > 0 && t.width(string(rs)+"…", pt) > maxW {
		rs = rs[:len(rs)-1]
	}
	return string(rs) + "…"
}

// draw sets s with its baseline at y, cut to maxW.
func (t *setter) draw(dst *image.RGBA, x, y int, s string, pt float64, maxW int, c color.Color) {
	s = strings.Join(strings.Fields(s), " ")
	if len(t.facesAt(pt)) == 0 {
		drawBasic(dst, x, y, s, pt, maxW, c)
		return
	}
	s = t.fit(s, pt, maxW)
	d := font.Drawer{Dst: dst, Src: image.NewUniform(c), Dot: fixed.P(x, y)}
	for _, r := range s {
		f, r, _ := t.glyph(r, pt)
		d.Face = f
		d.DrawString(string(r))
	}
}

func basicScale(pt float64) int { return max(int(pt/13+0.5), 1) }

// drawBasic sets s in the 7×13 ASCII face, scaled to about pt; a character
// outside ASCII is drawn as "?".
func drawBasic(dst *image.RGBA, x, y int, s string, pt float64, maxW int, c color.Color) {
	f := basicfont.Face7x13
	k := basicScale(pt)
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, s)
	if n := maxW / (f.Advance * k); len(s) > n {
		s = s[:max(n-3, 0)] + "..."
	}
	if s == "" {
		return
	}
	small := image.NewRGBA(image.Rect(0, 0, len(s)*f.Advance, f.Height))
	d := font.Drawer{Dst: small, Src: image.NewUniform(c), Face: f, Dot: fixed.P(0, f.Ascent)}
	d.DrawString(s)
	r := image.Rect(x, y-f.Ascent*k, x+small.Bounds().Dx()*k, y-f.Ascent*k+f.Height*k)
	xdraw.NearestNeighbor.Scale(dst, r, small, small.Bounds(), xdraw.Over, nil)
}
