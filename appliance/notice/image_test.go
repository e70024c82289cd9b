package notice

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"runtime"
	"testing"
)

// TestDecodeCostCoversAllocations: the memory counted from a picture's
// header covers what decoding it allocates, and what preparing it (decode,
// scale, encode) allocates in all, for every kind of picture the decoders
// treat apart. Allocations are counted whole (garbage too), so the peak is
// no higher. The old estimate left out the scaler's working buffer (32
// bytes per stored column for every source row), progressive JPEG
// coefficients, PNG interlace passes, and the colour a grey PNG with a
// transparent colour decodes to.
func TestDecodeCostCoversAllocations(t *testing.T) {
	const w, h = 640, 400 // a missing byte a pixel is 256 KB, twice the tables
	var palette bytes.Buffer
	if err := gif.Encode(&palette, image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{color.Black, color.White}), nil); err != nil {
		t.Fatal(err)
	}
	ycc420 := []byte{0x22, 0x11, 0x11}
	for _, c := range []struct {
		name string
		raw  []byte
	}{
		{"PNG grey", zeroPNG(pngSpec{w: w, h: h, depth: 8})},
		{"PNG grey with a transparent colour", zeroPNG(pngSpec{w: w, h: h, depth: 8, chunks: []pngChunk{{"tRNS", []byte{0, 0}}}})},
		{"PNG 16-bit grey", zeroPNG(pngSpec{w: w, h: h, depth: 16})},
		{"PNG 16-bit grey with a transparent colour", zeroPNG(pngSpec{w: w, h: h, depth: 16, chunks: []pngChunk{{"tRNS", []byte{0, 0}}}})},
		{"PNG 4-bit grey", zeroPNG(pngSpec{w: w, h: h, depth: 4})},
		{"PNG grey and alpha", zeroPNG(pngSpec{w: w, h: h, colour: 4, depth: 8})},
		{"PNG RGB", zeroPNG(pngSpec{w: w, h: h, colour: 2, depth: 8})},
		{"PNG RGB interlaced", zeroPNG(pngSpec{w: w, h: h, colour: 2, depth: 8, interlace: true})},
		{"PNG 16-bit RGBA", zeroPNG(pngSpec{w: w, h: h, colour: 6, depth: 16})},
		{"PNG palette", zeroPNG(pngSpec{w: w, h: h, colour: 3, depth: 8, chunks: []pngChunk{{"PLTE", []byte{0, 0, 0, 255, 255, 255}}}})},
		{"JPEG grey", zeroJPEG(jpegSpec{w: w, h: h, ids: "\x01", hv: []byte{0x11}})},
		{"JPEG 4:2:0", zeroJPEG(jpegSpec{w: w, h: h, ids: "\x01\x02\x03", hv: ycc420})},
		{"JPEG 4:2:2", zeroJPEG(jpegSpec{w: w, h: h, ids: "\x01\x02\x03", hv: []byte{0x21, 0x11, 0x11}})},
		{"JPEG RGB", zeroJPEG(jpegSpec{w: w, h: h, ids: "RGB", hv: []byte{0x11, 0x11, 0x11}})},
		{"JPEG 4:2:0 progressive", zeroJPEG(jpegSpec{w: w, h: h, ids: "\x01\x02\x03", hv: ycc420, progressive: true})},
		{"JPEG 4:4:4 progressive", zeroJPEG(jpegSpec{w: w, h: h, ids: "\x01\x02\x03", hv: []byte{0x11, 0x11, 0x11}, progressive: true})},
		{"JPEG grey progressive", zeroJPEG(jpegSpec{w: w, h: h, ids: "\x01", hv: []byte{0x11}, progressive: true})},
		{"GIF", palette.Bytes()},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, format, err := image.DecodeConfig(bytes.NewReader(c.raw))
			if err != nil {
				t.Fatal(err)
			}
			decoder, ok1 := decoderCost(c.raw, format, cfg)
			total, ok2 := decodeCost(c.raw, format, cfg)
			if !ok1 || !ok2 {
				t.Fatal("header not read")
			}
			var decErr, prepErr error
			decoded := allocated(func() { _, _, decErr = image.Decode(bytes.NewReader(c.raw)) })
			prepared := allocated(func() { _, prepErr = prepare(c.raw) })
			if decErr != nil || prepErr != nil {
				t.Fatalf("decode: %v, prepare: %v", decErr, prepErr)
			}
			t.Logf("%d bytes: decoder allocated %.1f MB of %.1f counted; preparing %.1f MB of %.1f",
				len(c.raw), mb(decoded), mb(decoder), mb(prepared), mb(total))
			const tables = 128 << 10 // what decoderCost leaves out: readers, Huffman tables
			if int64(decoded) > decoder+tables {
				t.Errorf("decoder allocated %.1f MB, counted %.1f MB", mb(decoded), mb(decoder))
			}
			if int64(prepared) > total {
				t.Errorf("preparing allocated %.1f MB, counted %.1f MB", mb(prepared), mb(total))
			}
		})
	}
}

// allocated is how many bytes f allocates, garbage included.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func mb[N int64 | uint64](n N) float64 { return float64(n) / (1 << 20) }

// TestPictureSizeRefusals: what a picture's header claims decides, before
// any pixel is decoded, whether it is too large: more than MaxPixels, a
// stored JPEG taller than JPEG allows, or more than MaxDecode to decode.
// A phone's photo passes.
func TestPictureSizeRefusals(t *testing.T) {
	ycc420 := []byte{0x22, 0x11, 0x11}
	for _, c := range []struct {
		name string
		raw  []byte
		want error // nil: accepted
	}{
		{"35 KB claiming 6000 × 6000 grey", greyPNG(6000, 6000), ErrImageTooLarge},
		{"16 Mpx grey", greyPNG(4000, 4000), nil},
		{"16 Mpx grey with a transparent colour (NRGBA: 64 MB)", zeroPNG(pngSpec{w: 4000, h: 4000, depth: 8, chunks: []pngChunk{{"tRNS", []byte{0, 0}}}}), nil},
		{"16 Mpx RGB", zeroPNG(pngSpec{w: 4000, h: 4000, colour: 2, depth: 8}), nil},
		{"12 Mpx of 16-bit colour (98 MB)", pngHeader(3500, 3500), ErrImageTooLarge},
		{"12 Mpx RGB interlaced (98 MB)", zeroPNG(pngSpec{w: 3500, h: 3500, colour: 2, depth: 8, interlace: true}), ErrImageTooLarge},
		{"taller than a JPEG may be", greyPNG(100, 70000), ErrImageTooLarge},
		{"12 Mpx phone photo", zeroJPEG(jpegSpec{w: 4032, h: 3024, ids: "\x01\x02\x03", hv: ycc420}), nil},
		{"16 Mpx photo", zeroJPEG(jpegSpec{w: 4608, h: 3456, ids: "\x01\x02\x03", hv: ycc420}), nil},
		{"12 Mpx progressive JPEG (with its coefficients: 91 MB)", zeroJPEG(jpegSpec{w: 4032, h: 3024, ids: "\x01\x02\x03", hv: ycc420, progressive: true}), ErrImageTooLarge},
		{"8 Mpx progressive JPEG", zeroJPEG(jpegSpec{w: 3264, h: 2448, ids: "\x01\x02\x03", hv: ycc420, progressive: true}), nil},
		{"not a picture", []byte("<svg onload=alert(1)>"), ErrImage},
		{"a JPEG with no frame", []byte("\xff\xd8\xff\xd9"), ErrImage},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := inspect(c.raw)
			switch {
			case c.want == nil && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want != nil && !errors.Is(err, c.want):
				t.Fatalf("got %v, want %v", err, c.want)
			case c.want == ErrImage && errors.Is(err, ErrImageTooLarge):
				t.Fatalf("not a picture, refused as too large")
			}
		})
	}
}

// TestScaleAveragesOnWhite: a scaled pixel is the average of the source
// area it covers, transparent parts white.
func TestScaleAveragesOnWhite(t *testing.T) {
	black, white := color.NRGBA{0, 0, 0, 255}, color.NRGBA{255, 255, 255, 255}
	none, halfRed := color.NRGBA{}, color.NRGBA{255, 0, 0, 128}
	for _, c := range []struct {
		name string
		src  [][]color.NRGBA
		w, h int
		want [][]color.RGBA
	}{
		{"same size", [][]color.NRGBA{{black, white}}, 2, 1, [][]color.RGBA{{{0, 0, 0, 255}, {255, 255, 255, 255}}}},
		{"four into one", [][]color.NRGBA{{black, white}, {white, black}}, 1, 1, [][]color.RGBA{{{128, 128, 128, 255}}}},
		{"three into two", [][]color.NRGBA{{black, white, black}}, 2, 1, [][]color.RGBA{{{85, 85, 85, 255}, {85, 85, 85, 255}}}},
		{"three rows into two", [][]color.NRGBA{{white}, {black}, {white}}, 1, 2, [][]color.RGBA{{{170, 170, 170, 255}}, {{170, 170, 170, 255}}}},
		{"transparent is white", [][]color.NRGBA{{none, black}}, 2, 1, [][]color.RGBA{{{255, 255, 255, 255}, {0, 0, 0, 255}}}},
		{"half-transparent red on white", [][]color.NRGBA{{halfRed}}, 1, 1, [][]color.RGBA{{{255, 127, 127, 255}}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := image.NewNRGBA(image.Rect(10, 20, 10+len(c.src[0]), 20+len(c.src)))
			for y, row := range c.src {
				for x, px := range row {
					src.SetNRGBA(10+x, 20+y, px)
				}
			}
			dst := scale(src, c.w, c.h)
			for y, row := range c.want {
				for x, want := range row {
					if got := dst.RGBAAt(x, y); got != want {
						t.Errorf("(%d, %d) = %v, want %v", x, y, got, want)
					}
				}
			}
		})
	}
}
