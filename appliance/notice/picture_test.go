package notice

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
)

// The pictures tests upload are made here, by hand: black, and compressed
// the way a hostile file is, so a picture of millions of pixels takes a
// few kilobytes and a few milliseconds to make even under the race
// detector (image/png's encoder takes seconds for 36 Mpx there).

// pngSpec describes a PNG: its header's fields and the chunks that go
// between the header and the picture data (PLTE, tRNS).
type pngSpec struct {
	w, h      int
	colour    byte // PNG colour type: 0 grey, 2 RGB, 3 palette, 4 grey and alpha, 6 RGBA
	depth     byte // bits a sample
	interlace bool // Adam7
	chunks    []pngChunk
}

type pngChunk struct {
	typ  string
	data []byte
}

// greyPNG is a w × h black 8-bit grey PNG: 35 KB for 6000 × 6000.
func greyPNG(w, h int) []byte { return zeroPNG(pngSpec{w: w, h: h, depth: 8}) }

// zeroPNG is the PNG s describes with every byte of its picture data
// zero: filter "none" on every row, and every sample 0.
func zeroPNG(s pngSpec) []byte {
	channels := map[byte]int{0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[s.colour]
	rowBytes := func(w int) int { return (w*channels*int(s.depth) + 7) / 8 }
	n := s.h * (1 + rowBytes(s.w))
	if s.interlace {
		n = 0
		for _, p := range [][4]int{{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}} {
			pw, ph := (s.w-p[0]+p[2]-1)/p[2], (s.h-p[1]+p[3]-1)/p[3]
			if pw > 0 && ph > 0 {
				n += ph * (1 + rowBytes(pw))
			}
		}
	}
	idat := append([]byte{0x78, 0x01}, deflateZeros(n)...)
	idat = binary.BigEndian.AppendUint32(idat, uint32(n%65521)<<16|1) // Adler-32 of n zeros

	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(typ)
		b.Write(data)
		binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	ihdr := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, uint32(s.w)), uint32(s.h))
	interlace := byte(0)
	if s.interlace {
		interlace = 1
	}
	chunk("IHDR", append(ihdr, s.depth, s.colour, 0, 0, interlace))
	for _, c := range s.chunks {
		chunk(c.typ, c.data)
	}
	chunk("IDAT", idat)
	chunk("IEND", nil)
	return b.Bytes()
}

// deflateZeros is a deflate stream of n zero bytes: one block whose only
// codes are a literal zero, "258 bytes again from 1 back" (two bits) and
// the end.
func deflateZeros(n int) []byte {
	var z bitWriter
	z.bits(1, 1)  // BFINAL: the last block
	z.bits(2, 2)  // BTYPE: dynamic Huffman codes
	z.bits(29, 5) // HLIT: 286 literal/length codes
	z.bits(0, 5)  // HDIST: 1 distance code
	z.bits(14, 4) // HCLEN: 18 code length codes
	// Code length code lengths in RFC 1951's order (16 17 18 0 8 7 9 6 10
	// 5 11 4 12 3 13 2 14 1): 18 gets 1 bit, 2 and 1 get 2 bits, so the
	// codes are 18 → 0, 1 → 10, 2 → 11.
	for _, n := range []uint64{0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2} {
		z.bits(n, 3)
	}
	zeros := func(n uint64) { z.code(0b0, 1); z.bits(n-11, 7) } // code 18: 11–138 zero lengths
	// Literal/length code lengths: 0 → 2, 1–255 none, 256 (end) → 2,
	// 257–284 none, 285 (length 258) → 1; then distance code 0 (1 back)
	// → 1. The codes: 285 → 0, 0 → 10, 256 → 11; distance 0 → 0.
	z.code(0b11, 2)
	zeros(138)
	zeros(117)
	z.code(0b11, 2)
	zeros(28)
	z.code(0b10, 2)
	z.code(0b10, 2)
	z.code(0b10, 2) // a literal zero
	left := n - 1
	for ; left >= 258; left -= 258 {
		z.code(0b0, 1) // length 258
		z.code(0b0, 1) // distance 1
	}
	for ; left > 0; left-- {
		z.code(0b10, 2)
	}
	z.code(0b11, 2) // end of block
	return z.flush()
}

// jpegSpec describes a JPEG: its components' IDs and sampling factors
// (H<<4 | V), and whether it is progressive.
type jpegSpec struct {
	w, h        int
	ids         string // "\x01" grey, "\x01\x02\x03" YCbCr, "RGB"
	hv          []byte
	progressive bool
}

// zeroJPEG is the JPEG s describes with every coefficient zero: one scan
// (the DC scan only, when progressive) in which each block is a DC
// difference of 0 and, when baseline, an end of block, one bit each.
func zeroJPEG(s jpegSpec) []byte {
	var b bytes.Buffer
	seg := func(marker byte, data ...byte) {
		b.Write([]byte{0xff, marker, byte((len(data) + 2) >> 8), byte(len(data) + 2)})
		b.Write(data)
	}
	b.Write([]byte{0xff, 0xd8})
	seg(0xdb, append([]byte{0}, bytes.Repeat([]byte{1}, 64)...)...) // quantisation table 0: all ones
	sof := []byte{8, byte(s.h >> 8), byte(s.h), byte(s.w >> 8), byte(s.w), byte(len(s.ids))}
	sos := []byte{byte(len(s.ids))}
	hmax, vmax, perMCU := 1, 1, 0
	for i := range len(s.ids) {
		sof = append(sof, s.ids[i], s.hv[i], 0)
		sos = append(sos, s.ids[i], 0x00) // Huffman tables 0 and 0
		hmax, vmax = max(hmax, int(s.hv[i]>>4)), max(vmax, int(s.hv[i]&15))
		perMCU += int(s.hv[i]>>4) * int(s.hv[i]&15)
	}
	if len(s.ids) == 1 {
		hmax, vmax, perMCU = 1, 1, 1
	}
	sofMarker, se, bitsPerBlock := byte(0xc0), byte(63), 2
	if s.progressive {
		sofMarker, se, bitsPerBlock = 0xc2, 0, 1
	}
	seg(sofMarker, sof...)
	oneCode := append([]byte{1}, make([]byte, 15)...)            // one code of 1 bit…
	seg(0xc4, append(append([]byte{0x00}, oneCode...), 0x00)...) // …DC: difference 0
	seg(0xc4, append(append([]byte{0x10}, oneCode...), 0x00)...) // …AC: end of block
	seg(0xda, append(sos, 0, se, 0)...)
	mcus := ((s.w + 8*hmax - 1) / (8 * hmax)) * ((s.h + 8*vmax - 1) / (8 * vmax))
	nbits := mcus * perMCU * bitsPerBlock
	b.Write(make([]byte, nbits/8))
	if nbits%8 != 0 {
		b.WriteByte(0xff >> (nbits % 8)) // padded with 1 bits
	}
	b.Write([]byte{0xff, 0xd9})
	return b.Bytes()
}

// bitWriter writes a deflate bit stream: numbers least significant bit
// first, Huffman codes most significant bit first.
type bitWriter struct {
	out []byte
	acc uint64
	n   uint
}

func (z *bitWriter) bits(v uint64, n uint) {
	z.acc |= v << z.n
	z.n += n
	for z.n >= 8 {
		z.out = append(z.out, byte(z.acc))
		z.acc >>= 8
		z.n -= 8
	}
}

func (z *bitWriter) code(c uint64, n uint) {
	for i := n; i > 0; i-- {
		z.bits(c>>(i-1)&1, 1)
	}
}

func (z *bitWriter) flush() []byte {
	if z.n > 0 {
		z.out = append(z.out, byte(z.acc))
	}
	return z.out
}
