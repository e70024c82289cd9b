package notice

import (
	"encoding/binary"
	"image"
	"image/draw"
)

// scale draws src at w × h (no larger than src) on white, since JPEG has
// no transparency. Each pixel is the average of the source area it covers,
// the usual filter for shrinking. It reads the source a row at a time and
// keeps one row of sums, so it needs the destination and two rows whatever
// the source's size. (x/image/draw's CatmullRom.Scale, used before, kept
// four float64 per destination column for every source row: 230 MB for a
// picture 6000 rows tall.)
func scale(src image.Image, w, h int) *image.RGBA {
	sb := src.Bounds()
	sw, sh := sb.Dx(), sb.Dy()
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	row := image.NewRGBA(image.Rect(0, 0, sw, 1))
	sums := make([][4]uint64, w) // the destination row being summed
	total := uint64(sw) * uint64(sh)
	// Source row y covers [y·h, (y+1)·h) of an axis on which destination
	// row j covers [j·sh, (j+1)·sh); shrinking, it overlaps one or two.
	// Positions are int64: 32-bit ARM builds too.
	j := 0
	for y := range sh {
		draw.Draw(row, row.Rect, src, image.Pt(sb.Min.X, sb.Min.Y+y), draw.Src)
		lo, hi, jEnd := int64(y)*int64(h), int64(y+1)*int64(h), int64(j+1)*int64(sh)
		if hi > jEnd {
			addRow(sums, row.Pix, uint64(jEnd-lo))
			average(dst.Pix[j*dst.Stride:], sums, total)
			j, lo, jEnd = j+1, jEnd, jEnd+int64(sh)
		}
		addRow(sums, row.Pix, uint64(hi-lo))
		if hi == jEnd {
			average(dst.Pix[j*dst.Stride:], sums, total)
			j++
		}
	}
	return dst
}

// addRow adds a row of premultiplied RGBA pixels, times wt, to the sums of
// len(sums) columns, each pixel weighted by how much of a column it covers
// (a column's weights add up to the row's width). Shrinking, a pixel
// covers one column or the end of one and the start of the next.
func addRow(sums [][4]uint64, pix []byte, wt uint64) {
	sw, w := int64(len(pix)/4), int64(len(sums))
	var r, g, b, a uint64 // the current column's part of the row
	i, iEnd := 0, sw
	for x := range sw {
		c := binary.LittleEndian.Uint32(pix[4*x:])
		pr, pg, pb, pa := uint64(c&0xff), uint64(c>>8&0xff), uint64(c>>16&0xff), uint64(c>>24)
		lo, hi := x*w, (x+1)*w
		if hi > iEnd { // the pixel straddles columns i and i+1
			k := uint64(iEnd - lo)
			s := &sums[i]
			s[0] += wt * (r + k*pr)
			s[1] += wt * (g + k*pg)
			s[2] += wt * (b + k*pb)
			s[3] += wt * (a + k*pa)
			i, lo, iEnd = i+1, iEnd, iEnd+sw
			r, g, b, a = 0, 0, 0, 0
		}
		k := uint64(hi - lo)
		r, g, b, a = r+k*pr, g+k*pg, b+k*pb, a+k*pa
		if hi == iEnd {
			s := &sums[i]
			s[0] += wt * r
			s[1] += wt * g
			s[2] += wt * b
			s[3] += wt * a
			i, iEnd = i+1, iEnd+sw
			r, g, b, a = 0, 0, 0, 0
		}
	}
}

// average writes a row of sums, each over total, as opaque pixels, and
// clears the sums: a premultiplied colour c with alpha a over white is
// c + (255 − a).
func average(pix []byte, sums [][4]uint64, total uint64) {
	for i := range sums {
		s := &sums[i]
		a := (s[3] + total/2) / total
		for c := range 3 {
			v := (s[c]+total/2)/total + 255 - a
			pix[4*i+c] = byte(min(v, 255))
		}
		pix[4*i+3] = 255
		*s = [4]uint64{}
	}
}
