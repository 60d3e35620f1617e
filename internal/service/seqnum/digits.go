package seqnum

import (
	"encoding/binary"
	"math/bits"
)

// Decimal output. Every record of every PutRecords and GetRecords reply has its 56-digit number
// written, so this is on the server's hot path: formatting showed at about 8% of its CPU in a profile
// answering GetRecords at 850k records/s, when it took five hardware divisions and wrote two digits a
// step. Now a number is cut into 19-digit chunks by division by 10^19 with multiplications (div19),
// and each chunk is written as a head of 2 or 3 digits and two 8-digit groups, each group converted at
// once in a 64-bit register (digits8). Every byte is written once: there is no '0' pre-fill.

const (
	pow8  = 100_000_000
	pow16 = pow8 * pow8
	// recip19 is floor((2^128 - 1) / 10^19) - 2^64, the reciprocal div19 multiplies by (TestDiv19
	// recomputes it).
	recip19 = 0xD83C94FB6D2AC34A
)

// div19 returns (hi·2^64 + lo) / 10^19 and the remainder, as bits.Div64(hi, lo, pow19) does, for
// hi < 10^19, but with two multiplications in place of a 128/64-bit hardware division (for the three
// chained divisions of a number, 7 ns rather than 12 on an AMD EPYC). It is algorithm 4 of Möller and
// Granlund, "Improved division by invariant integers" (IEEE Trans. Computers, 2011), which needs a
// divisor with its top bit set, as 10^19 > 2^63 has. The estimate q from the reciprocal is off by at
// most one, and the remainder computed from it tells which way: r > q0, one too many; r ≥ 10^19, one
// too few (rare).
func div19(hi, lo uint64) (q, r uint64) {
	q, q0 := bits.Mul64(recip19, hi)
	q0, c := bits.Add64(q0, lo, 0)
	q += hi + c + 1
	r = lo - q*pow19
	if r > q0 {
		q--
		r += pow19
	}
	if r >= pow19 {
		q++
		r -= pow19
	}
	return q, r
}

// put56 writes the value w2·2^128 + w1·2^64 + w0, below 10^56, into out as exactly 56 decimal digits
// (leading zeros included): value = (hi·10^19 + mid)·10^19 + lo with hi < 10^18, hi's 18 digits, then
// mid's 19 and lo's 19.
func put56(out *[Len]byte, w2, w1, w0 uint64) {
	// value < 10^56 makes w2 < 2^59, and the quotient's high word q1 < 10^37/2^64 < 2^59: both below
	// 10^19, as div19 needs.
	q1, r := div19(w2, w1)
	q0, lo := div19(r, w0)
	hi, mid := div19(q1, q0)
	put2((*[2]byte)(out[0:2]), hi/pow16)
	put8((*[8]byte)(out[2:10]), uint32(hi/pow8%pow8))
	put8((*[8]byte)(out[10:18]), uint32(hi%pow8))
	put3((*[3]byte)(out[18:21]), mid/pow16)
	put8((*[8]byte)(out[21:29]), uint32(mid/pow8%pow8))
	put8((*[8]byte)(out[29:37]), uint32(mid%pow8))
	put3((*[3]byte)(out[37:40]), lo/pow16)
	put8((*[8]byte)(out[40:48]), uint32(lo/pow8%pow8))
	put8((*[8]byte)(out[48:56]), uint32(lo%pow8))
}

// put8 writes v < 10^8 into b as exactly 8 digits (leading zeros included).
func put8(b *[8]byte, v uint32) {
	binary.LittleEndian.PutUint64(b[:], digits8(v))
}

// digits8 returns the 8 decimal digits of v < 10^8 (leading zeros included) as the little-endian word
// put8 stores, the first digit in the low byte. It converts all of them at once in one 64-bit word
// (SWAR: SIMD within a register) rather than with a division per digit or pair. The word is split
// into lanes, and each step divides every lane by a power of ten with a multiply and a shift:
//
//   - two 32-bit lanes hold the first and last four digits (v/10^4 in the low lane, v%10^4 in the
//     high one);
//   - each 32-bit lane y < 10^4 becomes two 16-bit lanes, y/100 then y%100, with
//     y/100 = (y·10486)>>20, exact for every y < 10^4;
//   - each 16-bit lane z < 100 becomes two 8-bit lanes, z/10 then z%10, with z/10 = (z·103)>>10,
//     exact for every z < 100;
//   - adding '0' (0x30) to every byte makes the digits.
//
// No lane spills into the next: y·10486 < 2^27 fits a 32-bit lane (and the high lane's product stays
// below 2^64), z·103 < 2^14 fits a 16-bit lane, and the masks keep only each lane's quotient (below
// 2^7, then 2^4) once the shift has brought the next lane's bits down.
//
// Each split puts quotient q in the low half of a lane and the remainder x - q·d in the high half,
// that is q + (x - q·d)<<s, computed as x<<s - q·(d<<s - 1): one multiply and a subtraction rather
// than a multiply, a subtraction, a shift and an or (the same value modulo 2^64, and the true value is
// below 2^64). TestDigits8 checks both constants over their whole ranges and digits8 for every v < 10^8.
func digits8(v uint32) uint64 {
	hi := uint64(v / 10_000)
	x := uint64(v)<<32 - hi*(10_000<<32-1) // hi | (v - hi·10^4)<<32
	q := (x * 10486 >> 20) & 0x0000007F_0000007F
	x = x<<16 - q*(100<<16-1) // q | (x - q·100)<<16
	q = (x * 103 >> 10) & 0x000F000F_000F000F
	x = x<<8 - q*(10<<8-1) // q | (x - q·10)<<8
	return x | 0x30303030_30303030
}

// put2 writes v < 100 into b as exactly 2 digits, from a table.
func put2(b *[2]byte, v uint64) {
	b[0], b[1] = digitPairs[2*v], digitPairs[2*v+1]
}

// put3 writes v < 1000 into b as exactly 3 digits.
func put3(b *[3]byte, v uint64) {
	h := v / 100
	b[0] = byte('0' + h)
	put2((*[2]byte)(b[1:3]), v-h*100)
}

// digitPairs holds "00" to "99".
const digitPairs = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"
