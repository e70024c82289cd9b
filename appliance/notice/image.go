package notice

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // decoders the upload accepts
	"image/jpeg"
	_ "image/png"
)

// Picture limits.
const (
	MaxUpload = 5 << 20 // bytes accepted from the browser
	// MaxPixels is refused from the header, before anything is decoded: a
	// small file can claim a huge picture (a 35 KB PNG claims 6000 × 6000).
	// What is stored is at most MaxWidth wide, so pixels past a phone
	// photo buy nothing: 16 Mpx holds the 12 Mpx (4032 × 3024) most phones
	// take and 16 Mpx cameras (4608 × 3456), and a photo with more pixels
	// rarely fits in MaxUpload anyway.
	MaxPixels = 16_000_000
	// MaxDecode bounds the memory one picture may take from decoding to
	// the encoded JPEG, counted from its header by decodeCost: every
	// buffer of the decoder (the picture, progressive JPEG coefficients,
	// PNG interlace passes and rows, colour conversions), the scaled copy
	// and the encoder's output. The service decodes one picture at a time
	// and collects its garbage before the next, so uploads, however many
	// at once, take at most this much more memory: under 128 MB on an
	// appliance with 1 GB. A 16 Mpx phone JPEG counts 34 MB, a 16 Mpx RGB
	// PNG 75 MB; refused are progressive JPEGs over about 11 Mpx, and
	// 16-bit or interlaced PNGs over about 10.
	MaxDecode    = 96 << 20
	MaxWidth     = 1200 // wider pictures are scaled down
	JPEGQuality  = 85
	maxStoredJPG = 2 << 20   // what a 1200-px JPEG stays well under
	maxJPEGSide  = 1<<16 - 1 // the longest side image/jpeg can encode
)

// Errors of pictures.
var (
	// ErrImage means the upload is not a JPEG, PNG or GIF picture that can
	// be read.
	ErrImage = errors.New("notice: not a usable picture")
	// ErrImageTooLarge means the picture is one, but has more pixels, or
	// would take more memory to decode, than the appliance allows. It
	// wraps ErrImage.
	ErrImageTooLarge = fmt.Errorf("%w: too large to decode", ErrImage)
)

// PrepareImage checks that b is a picture (by decoding it, whatever the
// browser called it), scales it to at most MaxWidth wide and re-encodes it
// as JPEG. Re-encoding also drops whatever else the file carried (EXIF with
// a phone's location, scripts hidden in comments). It takes up to
// MaxDecode bytes of memory; Service.AddImage runs one at a time.
func PrepareImage(b []byte) ([]byte, error) {
	if err := inspect(b); err != nil {
		return nil, err
	}
	return prepare(b)
}

// inspect reads b's header and refuses, before any pixel is decoded, what
// is not a picture or would take more than MaxDecode to prepare.
func inspect(b []byte) error {
	if len(b) == 0 || len(b) > MaxUpload {
		return ErrImage
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil || (format != "jpeg" && format != "png" && format != "gif") {
		return ErrImage
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return ErrImage
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return ErrImageTooLarge
	}
	if _, h := fit(cfg.Width, cfg.Height); h > maxJPEGSide {
		return ErrImageTooLarge
	}
	cost, ok := decodeCost(b, format, cfg)
	if !ok {
		return ErrImage
	}
	if cost > MaxDecode {
		return ErrImageTooLarge
	}
	return nil
}

// prepare decodes, scales and encodes a picture inspect has accepted.
func prepare(b []byte) ([]byte, error) {
	src, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, ErrImage
	}
	sb := src.Bounds()
	if sb.Empty() {
		return nil, ErrImage
	}
	// A GIF's first frame may be smaller than its screen (the header's
	// size, which the cost counted), never larger.
	w, h := fit(sb.Dx(), sb.Dy())
	dst := scale(src, w, h)
	out := cappedBuffer{max: maxStoredJPG}
	if err := jpeg.Encode(&out, dst, &jpeg.Options{Quality: JPEGQuality}); err != nil {
		return nil, ErrImageTooLarge // only the cap fails: the size was checked
	}
	return out.b.Bytes(), nil
}

// fit is the size a w×h picture is stored at: at most MaxWidth wide, the
// same shape.
func fit(w, h int) (int, int) {
	if w <= MaxWidth {
		return w, h
	}
	return MaxWidth, max(1, int(int64(h)*MaxWidth/int64(w)))
}

// cappedBuffer is a buffer that refuses to grow past max, so a picture
// that encodes large fails at the cap instead of growing the buffer.
type cappedBuffer struct {
	b   bytes.Buffer
	max int
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if c.b.Len()+len(p) > c.max {
		return 0, ErrImageTooLarge
	}
	return c.b.Write(p)
}

// isJPEG is the command handler's own check of what it stores.
func isJPEG(b []byte) bool {
	if len(b) == 0 || len(b) > maxStoredJPG {
		return false
	}
	_, format, err := image.DecodeConfig(bytes.NewReader(b))
	return err == nil && format == "jpeg"
}
