package notice

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"regexp"
	"strings"
	"testing"
)

// onAttr matches an event-handler attribute in sanitised output.
var onAttr = regexp.MustCompile(`<[^>]*\son[a-z]+\s*=`)

// jsURL matches a javascript: URL in an attribute (the words in text are
// harmless and stay).
var jsURL = regexp.MustCompile(`<[^>]*=\s*["']?\s*javascript:`)

// FuzzSanitize checks the wrapper's promises on any input: its output
// sanitises to itself, and no script tag, javascript: URL or event handler
// survives.
func FuzzSanitize(f *testing.F) {
	for _, s := range []string{
		`<p>hi</p><script>alert(1)</script>`,
		`<img src="/notices/images/0123456789abcdef" onerror="alert(1)">`,
		`<a href="javascript:alert(1)">x</a>`,
		`<a href="jav&#x09;ascript:alert(1)">x</a>`,
		`<span class="fg-red" onmouseover=alert(1)>r</span>`,
		`<table><tr><td colspan=2>1</td></tr></table>`,
		`<<script>script>alert(1)<</script>/script>`,
		`<p title="</p><script>">x</p>`,
		`<svg><style><img src=x onerror=alert(1)></style></svg>`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := Sanitize(in)
		if again := Sanitize(out); again != out {
			t.Fatalf("not stable:\n in  %q\n out %q\n again %q", in, out, again)
		}
		low := strings.ToLower(out)
		if strings.Contains(low, "<script") || jsURL.MatchString(low) || onAttr.MatchString(low) {
			t.Fatalf("unsafe output %q from %q", out, in)
		}
	})
}

// FuzzPrepareImage checks PrepareImage on any bytes: it does not panic,
// and it refuses with ErrImage or answers a JPEG at most MaxWidth wide.
// The header readers decodeCost uses (JPEG frame, PNG chunks) run first.
func FuzzPrepareImage(f *testing.F) {
	var small, anim bytes.Buffer
	png.Encode(&small, image.NewNRGBA(image.Rect(0, 0, 30, 20)))
	gif.Encode(&anim, image.NewPaletted(image.Rect(0, 0, 30, 20), color.Palette{color.Black, color.White}), nil)
	for _, b := range [][]byte{
		small.Bytes(),
		anim.Bytes(),
		greyPNG(1300, 10),
		pngHeader(6000, 6000),
		zeroPNG(pngSpec{w: 40, h: 30, depth: 8, chunks: []pngChunk{{"tRNS", []byte{0, 0}}}}),
		zeroPNG(pngSpec{w: 40, h: 30, colour: 3, depth: 8, interlace: true, chunks: []pngChunk{{"PLTE", []byte{0, 0, 0}}}}),
		zeroJPEG(jpegSpec{w: 1500, h: 40, ids: "\x01\x02\x03", hv: []byte{0x22, 0x11, 0x11}, progressive: true}),
		zeroJPEG(jpegSpec{w: 50, h: 40, ids: "\x01", hv: []byte{0x11}}),
		zeroJPEG(jpegSpec{w: 50, h: 40, ids: "RGB", hv: []byte{0x11, 0x11, 0x11}}),
	} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := PrepareImage(b)
		if err != nil {
			if !errors.Is(err, ErrImage) {
				t.Fatalf("refused with %v, not ErrImage", err)
			}
			return
		}
		cfg, format, err := image.DecodeConfig(bytes.NewReader(out))
		if err != nil || format != "jpeg" || cfg.Width > MaxWidth {
			t.Fatalf("prepared %s %dx%d: %v", format, cfg.Width, cfg.Height, err)
		}
	})
}
