package pass

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The Debian fonts the pass picture is set in (packaging/deb: Depends).
var cardFontPaths = []string{
	"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
	"/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
}

// TestCardPNGIsABrandedPassAReaderScans: the picture has the building's
// band on top, text below it, and a QR that a real reader decodes to the
// pass — with the system's fonts and with none (the ASCII fallback).
func TestCardPNGIsABrandedPassAReaderScans(t *testing.T) {
	tok, _ := Sign(key, claims)
	card := Card{Building: "Century Tower 世纪大厦", Name: "李雷 Li Lei 先生",
		Lines:  []string{"Host: 王芳 Wang Fang · 远景科技 Vista Tech", "Floor: 8F", "When: 2026-12-07 10:00 – 12:00", strings.Repeat("很长的地址", 40)},
		Footer: "Show this code at the gate", Token: tok}
	withFonts, errs := LoadFonts(cardFontPaths...)
	if len(errs) > 0 {
		t.Logf("fonts missing here, the fallback is used for them: %v", errs)
	}
	none, errs := LoadFonts(filepath.Join(t.TempDir(), "no-such-font.ttf"))
	if len(errs) != 1 || len(none.fonts) != 0 {
		t.Fatalf("a missing font: %v", errs)
	}
	for name, fs := range map[string]*Fonts{"system fonts": withFonts, "no fonts": none, "nil": nil} {
		t.Run(name, func(t *testing.T) {
			b, err := fs.CardPNG(card)
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w != cardWidth || h < 900 || h > 1400 {
				t.Fatalf("picture %dx%d", w, h)
			}
			// The band carries the building's name in white; the body
			// has dark text above the QR.
			if n := count(img, image.Rect(0, 0, cardWidth, bandHeight), func(r, g, b uint32) bool { return r > 0xf000 && g > 0xf000 && b > 0xf000 }); n < 200 {
				t.Fatalf("%d white pixels in the band: no building name", n)
			}
			if n := count(img, image.Rect(0, bandHeight, cardWidth, bandHeight+200), func(r, g, b uint32) bool { return r < 0x8000 && g < 0x8000 }); n < 500 {
				t.Fatalf("%d dark pixels under the band: no name", n)
			}
			zbar, err := exec.LookPath("zbarimg")
			if err != nil {
				if os.Getenv("CI") != "" {
					t.Fatal("zbarimg missing in CI")
				}
				t.Skip("zbarimg not installed")
			}
			p := filepath.Join(t.TempDir(), "card.png")
			os.WriteFile(p, b, 0o600)
			out, err := exec.Command(zbar, "--raw", "-q", p).Output()
			if err != nil {
				t.Fatalf("zbarimg: %v", err)
			}
			if got := strings.TrimSpace(string(out)); got != tok {
				t.Fatalf("decoded %q, want %q", got, tok)
			}
		})
	}
}

func count(img image.Image, r image.Rectangle, match func(r, g, b uint32) bool) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			if match(cr, cg, cb) {
				n++
			}
		}
	}
	return n
}

// BenchmarkCardPNG is one "save the pass as a picture" with the fonts
// already read (the server reads them once).
func BenchmarkCardPNG(b *testing.B) {
	tok, _ := Sign(key, claims)
	fs, _ := LoadFonts(cardFontPaths...)
	card := Card{Building: "Century Tower 世纪大厦", Name: "李雷 Li Lei 先生",
		Lines:  []string{"被访人：王芳 Wang Fang · 远景科技 Vista Tech", "楼层：8F", "时间：2026-12-07 10:00 – 12:00"},
		Footer: "请在闸机处出示此码", Token: tok}
	for b.Loop() {
		if _, err := fs.CardPNG(card); err != nil {
			b.Fatal(err)
		}
	}
}
