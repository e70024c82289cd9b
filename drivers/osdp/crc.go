package osdp

// crcTable is CRC-16/AUG-CCITT: polynomial 0x1021, not reflected. The initial
// value 0x1D0F is applied in crc16. This is the spec's "CRC-16" (Annex C);
// the CRC goes on the wire least significant byte first.
var crcTable = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i) << 8
		for range 8 {
			if c&0x8000 != 0 {
				c = c<<1 ^ 0x1021
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()

// crc16 is the OSDP CRC of b.
func crc16(b []byte) uint16 {
	c := uint16(0x1D0F)
	for _, x := range b {
		c = c<<8 ^ crcTable[byte(c>>8)^x]
	}
	return c
}

// checksum is the OSDP 8-bit checksum of b: the two's complement of the
// low byte of the sum, so that the sum of b and the checksum is zero.
func checksum(b []byte) byte {
	var s byte
	for _, x := range b {
		s += x
	}
	return -s
}
