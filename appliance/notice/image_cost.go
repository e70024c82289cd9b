package notice

import (
	"encoding/binary"
	"image"
	"image/color"
)

// decodeCost is the most memory, in bytes, that preparing picture b (whose
// header said cfg) allocates: what the standard decoder of its format
// allocates for that header, the scaled copy with its working rows, and
// the encoded JPEG. It reports false when b's header cannot be read the
// way the decoder reads it.
//
// The decoders' allocations are read off their source (Go 1.26): image/png
// decodes into one image of the colour type (a grey PNG with a transparent
// colour into NRGBA, which DecodeConfig does not tell), plus one image per
// pass when interlaced, plus two rows; image/jpeg decodes into planes of
// whole 8×8 blocks, keeps 256 bytes of coefficients per block when
// progressive, and converts RGB and CMYK pictures into a second image;
// image/gif decodes the first frame, copied once more when interlaced.
// TestDecodeCostCoversAllocations holds the estimate to what decoding
// really allocates.
func decodeCost(b []byte, format string, cfg image.Config) (int64, bool) {
	decode, ok := decoderCost(b, format, cfg)
	if !ok {
		return 0, false
	}
	dw, dh := fit(cfg.Width, cfg.Height)
	scaled := int64(dw)*int64(dh)*4 + // the scaled picture, RGBA
		int64(cfg.Width)*4 + // one source row as RGBA
		int64(dw)*4*8*2 // two rows of sums
	encoded := int64(2 * maxStoredJPG) // a buffer grows by doubling
	const fixed = 1 << 20              // tables, readers, the encoder's blocks
	return decode + scaled + encoded + fixed, true
}

// decoderCost is what the standard decoder of format allocates for a
// picture of cfg, but for a few kilobytes of tables and readers.
func decoderCost(b []byte, format string, cfg image.Config) (int64, bool) {
	switch format {
	case "jpeg":
		return jpegCost(b, cfg)
	case "png":
		return pngCost(b, cfg), true
	case "gif":
		return 2 * int64(cfg.Width) * int64(cfg.Height), true
	}
	return 0, false
}

// pngCost is what image/png allocates to decode a picture: the image,
// twice over when interlaced (the passes and the picture they are merged
// into), and two rows.
func pngCost(b []byte, cfg image.Config) int64 {
	var bpp int64
	switch cfg.ColorModel {
	case color.GrayModel:
		bpp = 1
		if pngTransparent(b) {
			bpp = 4 // NRGBA
		}
	case color.Gray16Model:
		bpp = 2
		if pngTransparent(b) {
			bpp = 8 // NRGBA64
		}
	case color.RGBAModel, color.NRGBAModel:
		bpp = 4
	default:
		if _, ok := cfg.ColorModel.(color.Palette); ok {
			bpp = 1
		} else {
			bpp = 8 // 16-bit colour
		}
	}
	w, h := int64(cfg.Width), int64(cfg.Height)
	img := w * h * bpp
	// The interlace method is the last byte of IHDR, which the decoder
	// has already required to be the first chunk.
	if len(b) <= 28 || b[28] != 0 {
		img *= 2
	}
	return img + 2*(1+8*w)
}

// pngTransparent reports whether a PNG has a transparency chunk (tRNS)
// before its picture data, or cannot be read far enough to tell. A grey
// PNG with one decodes to colour with alpha, though its header says grey.
func pngTransparent(b []byte) bool {
	for i := 8; i+8 <= len(b); {
		n := int64(binary.BigEndian.Uint32(b[i:]))
		switch string(b[i+4 : i+8]) {
		case "tRNS":
			return true
		case "IDAT":
			return false
		}
		if n > int64(len(b)-i) {
			return true
		}
		i += 12 + int(n)
	}
	return true
}

// jpegCost is what image/jpeg allocates to decode a picture of cfg with
// the frame header in b.
func jpegCost(b []byte, cfg image.Config) (int64, bool) {
	fr, ok := readJPEGFrame(b)
	if !ok || fr.width != cfg.Width || fr.height != cfg.Height {
		return 0, false
	}
	// As image/jpeg's processSOS and makeImg: the picture is mxx × myy
	// MCUs, and component i has h_i × v_i blocks of 8 × 8 in each.
	h0, v0 := int64(fr.h[0]), int64(fr.v[0])
	if fr.comps == 1 {
		h0, v0 = 1, 1 // a grey picture's sampling factors mean nothing
	}
	w, h := int64(fr.width), int64(fr.height)
	mxx, myy := (w+8*h0-1)/(8*h0), (h+8*v0-1)/(8*v0)
	blocks := mxx * myy
	if fr.comps > 1 {
		blocks = 0
		for i := range fr.comps {
			blocks += mxx * myy * int64(fr.h[i]) * int64(fr.v[i])
		}
	}
	cost := 64 * blocks // one byte a sample
	if fr.progressive {
		cost += 256 * blocks // 64 int32 coefficients a block, kept between scans
	}
	switch cfg.ColorModel {
	case color.RGBAModel, color.CMYKModel:
		cost += 4 * w * h // converted from the planes into one image
	}
	return cost, true
}

// jpegFrame is what a JPEG's frame header (SOF) says.
type jpegFrame struct {
	progressive   bool
	width, height int
	comps         int
	h, v          [4]int // sampling factors of each component
}

// readJPEGFrame walks a JPEG's marker segments up to its frame header the
// way image/jpeg does: bytes that are not a marker are skipped, so are
// fill bytes and restart markers; every other segment carries its length.
func readJPEGFrame(b []byte) (jpegFrame, bool) {
	if len(b) < 2 || b[0] != 0xff || b[1] != 0xd8 {
		return jpegFrame{}, false
	}
	for i := 2; i+1 < len(b); {
		if b[i] != 0xff {
			i++
			continue
		}
		m := b[i+1]
		i += 2
		for m == 0xff && i < len(b) {
			m = b[i]
			i++
		}
		switch {
		case m == 0x00 || m == 0xff || 0xd0 <= m && m <= 0xd7:
			continue
		case m == 0xd9 || i+2 > len(b): // end of image
			return jpegFrame{}, false
		}
		n := int(b[i])<<8 | int(b[i+1])
		if n < 2 || i+n > len(b) {
			return jpegFrame{}, false
		}
		seg := b[i+2 : i+n]
		i += n
		if m != 0xc0 && m != 0xc1 && m != 0xc2 {
			continue
		}
		// P, Y, X, Nf, then Nf × (C, H<<4|V, Tq).
		if len(seg) < 6 {
			return jpegFrame{}, false
		}
		fr := jpegFrame{
			progressive: m == 0xc2,
			height:      int(seg[1])<<8 | int(seg[2]),
			width:       int(seg[3])<<8 | int(seg[4]),
			comps:       int(seg[5]),
		}
		if fr.comps < 1 || fr.comps > 4 || len(seg) < 6+3*fr.comps {
			return jpegFrame{}, false
		}
		for c := range fr.comps {
			hv := seg[7+3*c]
			fr.h[c], fr.v[c] = int(hv>>4), int(hv&0x0f)
			if fr.h[c] < 1 || fr.h[c] > 4 || fr.v[c] < 1 || fr.v[c] > 4 {
				return jpegFrame{}, false
			}
		}
		return fr, true
	}
	return jpegFrame{}, false
}
