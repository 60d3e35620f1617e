package eventstream

// CRC-32 (IEEE) of a concatenation from the CRCs of its parts, after zlib's crc32_combine: the CRC of a
// payload piece that many subscriptions write (a batch of records) is computed once, and each message
// that carries it combines it in O(log n) instead of reading the piece again.

// crcPoly is the reflected CRC-32 (IEEE) polynomial.
const crcPoly = 0xedb88320

// crcMultModP multiplies a and b modulo the polynomial (reflected bit order: the top bit is x^0).
func crcMultModP(a, b uint32) uint32 {
	var p uint32
	for m := uint32(1) << 31; m != 0; m >>= 1 {
		if a&m != 0 {
			p ^= b
			if a&(m-1) == 0 {
				break
			}
		}
		if b&1 != 0 {
			b = b>>1 ^ crcPoly
		} else {
			b >>= 1
		}
	}
	return p
}

// crcX2N are x^(2^k) modulo the polynomial, k = 0…31.
var crcX2N = func() (t [32]uint32) {
	p := uint32(1) << 30 // x^1
	for k := range t {
		t[k] = p
		p = crcMultModP(p, p)
	}
	return t
}()

// crcShift is x^(8n) modulo the polynomial: what the CRC of a prefix is multiplied by when n bytes
// follow it.
func crcShift(n uint64) uint32 {
	p := uint32(1) << 31 // x^0
	for k := 3; n != 0; n, k = n>>1, k+1 {
		if n&1 != 0 {
			p = crcMultModP(crcX2N[k&31], p)
		}
	}
	return p
}

// crcCombine returns the CRC-32 (IEEE) of a followed by b, given crcA of a, crcB of b and b's length.
func crcCombine(crcA, crcB uint32, lenB int) uint32 {
	return crcMultModP(crcShift(uint64(lenB)), crcA) ^ crcB
}
