package notice

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	_ "image/gif" // decoders the upload accepts
	"image/jpeg"
	_ "image/png"

	"golang.org/x/image/draw"
)

// Picture limits.
const (
	MaxUpload = 5 << 20    // bytes accepted from the browser
	MaxPixels = 40_000_000 // refused before decoding: a small file can claim a huge picture
	// MaxDecode bounds the memory a picture takes to decode and scale,
	// estimated from its header (pixels × bytes per pixel of its colour
	// model, plus the scaled copy): a 5 MB PNG can claim 36 megapixels
	// of 16-bit colour, 288 MB, on an appliance with 1 GB. A 24-megapixel
	// phone photo fits.
	MaxDecode    = 96 << 20
	MaxWidth     = 1200 // wider pictures are scaled down
	JPEGQuality  = 85
	maxStoredJPG = 2 << 20 // what a 1200-px JPEG stays well under
)

// ErrImage means the upload is not a JPEG, PNG or GIF picture that can be
// read, or is too large.
var ErrImage = errors.New("notice: not a usable picture")

// PrepareImage checks that b is a picture (by decoding it, whatever the
// browser called it), scales it to at most MaxWidth wide and re-encodes it
// as JPEG. Re-encoding also drops whatever else the file carried (EXIF with
// a phone's location, scripts hidden in comments).
func PrepareImage(b []byte) ([]byte, error) {
	if len(b) == 0 || len(b) > MaxUpload {
		return nil, ErrImage
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil || (format != "jpeg" && format != "png" && format != "gif") {
		return nil, ErrImage
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return nil, ErrImage
	}
	if decodeCost(cfg) > MaxDecode {
		return nil, ErrImage
	}
	src, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, ErrImage
	}
	sb := src.Bounds()
	w, h := sb.Dx(), sb.Dy()
	if w > MaxWidth {
		h = max(1, h*MaxWidth/w)
		w = MaxWidth
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	// White under transparent parts: JPEG has no alpha.
	draw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	if w == sb.Dx() {
		draw.Draw(dst, dst.Bounds(), src, sb.Min, draw.Over)
	} else {
		draw.CatmullRom.Scale(dst, dst.Bounds(), src, sb, draw.Over, nil)
	}
	var out bytes.Buffer
	if err := jpeg.Encode(&out, dst, &jpeg.Options{Quality: JPEGQuality}); err != nil {
		return nil, err
	}
	if out.Len() > maxStoredJPG {
		return nil, ErrImage
	}
	return out.Bytes(), nil
}

// isJPEG is the command handler's own check of what it stores.
func isJPEG(b []byte) bool {
	if len(b) == 0 || len(b) > maxStoredJPG {
		return false
	}
	_, format, err := image.DecodeConfig(bytes.NewReader(b))
	return err == nil && format == "jpeg"
}

// decodeCost estimates the bytes that decoding a picture of cfg and
// drawing its scaled copy allocate.
func decodeCost(cfg image.Config) int64 {
	var bpp int64
	switch cfg.ColorModel {
	case color.GrayModel, color.AlphaModel:
		bpp = 1
	case color.Gray16Model:
		bpp = 2
	case color.YCbCrModel:
		bpp = 3 // 4:4:4 at most
	case color.RGBAModel, color.NRGBAModel, color.CMYKModel:
		bpp = 4
	default:
		if _, ok := cfg.ColorModel.(color.Palette); ok {
			bpp = 1
		} else {
			bpp = 8 // 16-bit colour, or anything else
		}
	}
	w, h := int64(cfg.Width), int64(cfg.Height)
	sw, sh := w, h
	if sw > MaxWidth {
		sh = max(1, h*MaxWidth/w)
		sw = MaxWidth
	}
	return w*h*bpp + sw*sh*4
}
