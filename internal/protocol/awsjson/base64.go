package awsjson

import (
	"encoding/base64"
	"encoding/binary"
	"slices"
)

// GetRecords replies are mostly base64: at 10,000 records of 1 KiB a reply is 13.7 MB of it, and
// encoding/base64 (one 6-bit table lookup per character, 1.4 GB/s here) was a third of the server's
// CPU during a read-back. appendBase64 encodes six bytes per step with two-character lookups (a
// 4,096-entry table, 8 KiB, which stays in L1), two steps at a time: 3.8 GB/s. It writes exactly what
// base64.StdEncoding.AppendEncode writes, which does the final bytes and padding.

const base64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// base64Pairs maps 12 bits to their two base64 characters, the first in the low byte (the order they
// are stored in, little-endian).
var base64Pairs = func() (t [1 << 12]uint16) {
	for i := range t {
		t[i] = uint16(base64Alphabet[i>>6]) | uint16(base64Alphabet[i&63])<<8
	}
	return t
}()

// appendBase64 appends the standard, padded base64 encoding of src to dst.
func appendBase64(dst, src []byte) []byte {
	n := base64.StdEncoding.EncodedLen(len(src))
	dst = slices.Grow(dst, n)
	in, out := src, dst[len(dst):len(dst)+n]
	t := &base64Pairs
	// Each step reads eight bytes and encodes the first six into eight characters, so it stops while
	// eight remain to read; the first loop does two steps at a time (2.3 GB/s with one). The tests
	// on out always hold; they let the compiler drop the bounds checks, which makes the loop 1.6
	// times faster.
	for len(in) >= 14 && len(out) >= 16 {
		v, u := binary.BigEndian.Uint64(in), binary.BigEndian.Uint64(in[6:])
		binary.LittleEndian.PutUint64(out, uint64(t[v>>52])|uint64(t[v>>40&0xfff])<<16|
			uint64(t[v>>28&0xfff])<<32|uint64(t[v>>16&0xfff])<<48)
		binary.LittleEndian.PutUint64(out[8:], uint64(t[u>>52])|uint64(t[u>>40&0xfff])<<16|
			uint64(t[u>>28&0xfff])<<32|uint64(t[u>>16&0xfff])<<48)
		in, out = in[12:], out[16:]
	}
	for len(in) >= 8 && len(out) >= 8 {
		v := binary.BigEndian.Uint64(in)
		binary.LittleEndian.PutUint64(out, uint64(t[v>>52])|uint64(t[v>>40&0xfff])<<16|
			uint64(t[v>>28&0xfff])<<32|uint64(t[v>>16&0xfff])<<48)
		in, out = in[6:], out[8:]
	}
	base64.StdEncoding.Encode(out, in)
	return dst[:len(dst)+n]
}

// PutRecords bodies are mostly base64 too, which encoding/base64 decodes at 1.7 GB/s here, one
// table lookup per character. decodeBase64 looks characters up two at a time, in a table of 65,536
// entries (128 KiB, of which the 4,096 pairs of the alphabet touch about 24 KiB, which stays in L1),
// sixteen characters a step: 2.7 GB/s.

// base64Invalid marks the pairs of base64PairBits that hold a character outside the alphabet.
const base64Invalid = 0xffff

// base64PairBits maps two characters, the first in the low byte, to their 12 bits, or base64Invalid.
var base64PairBits = func() *[1 << 16]uint16 {
	t := new([1 << 16]uint16)
	for i := range t {
		t[i] = base64Invalid
	}
	for v0 := range 64 {
		for v1 := range 64 {
			t[int(base64Alphabet[v0])|int(base64Alphabet[v1])<<8] = uint16(v0<<6 | v1)
		}
	}
	return t
}()

// pair is the 12 bits of the two characters b[0] and b[1] (and base64Invalid's bits when either is
// outside the alphabet).
func pair(t *[1 << 16]uint16, b []byte) uint32 {
	return uint32(t[binary.LittleEndian.Uint16(b)])
}

// decodeBase64Blocks decodes the longest run of blocks of sixteen characters of the alphabet at the
// start of src into dst, while dst has room for fourteen bytes more, and returns the bytes written
// and the characters read (a multiple of sixteen). It reads no block with a character outside the
// alphabet, so that a caller can decode the text before a closing quote it has not found yet.
func decodeBase64Blocks(dst, src []byte) (n, used int) {
	t := base64PairBits
	in, out := src, dst
	// Four quanta a step, each six bytes written as eight; the tests on out let the compiler drop the
	// bounds checks.
	for len(in) >= 16 && len(out) >= 14 {
		v, u := binary.LittleEndian.Uint64(in), binary.LittleEndian.Uint64(in[8:])
		a, b, c, d := uint64(t[uint16(v)]), uint64(t[uint16(v>>16)]), uint64(t[uint16(v>>32)]), uint64(t[v>>48])
		e, f, g, h := uint64(t[uint16(u)]), uint64(t[uint16(u>>16)]), uint64(t[uint16(u>>32)]), uint64(t[u>>48])
		if (a|b|c|d|e|f|g|h)&^0xfff != 0 {
			break
		}
		binary.BigEndian.PutUint64(out, a<<52|b<<40|c<<28|d<<16)
		binary.BigEndian.PutUint64(out[6:], e<<52|f<<40|g<<28|h<<16)
		in, out = in[16:], out[12:]
	}
	return len(dst) - len(out), len(src) - len(in)
}

// decodeBase64 decodes src, standard padded base64, into dst and returns its length. It accepts
// exactly what base64.StdEncoding.Strict() decodes without error, except text holding '\r' or '\n'
// (which that decoder skips and JSON does not allow raw in a string), and writes the same bytes; ok
// is false for anything else, and for a dst shorter than len(src)/4*3. It may write up to that
// length, however long the result.
func decodeBase64(dst, src []byte) (n int, ok bool) {
	if len(src)%4 != 0 || len(dst) < len(src)/4*3 {
		return 0, false
	}
	if len(src) == 0 {
		return 0, true
	}
	t := base64PairBits
	body, last := src[:len(src)-4], src[len(src)-4:]
	m, used := decodeBase64Blocks(dst, body)
	body, out := body[used:], dst[m:]
	// Two quanta a step, six bytes written as eight: a step needs two bytes more room in out than it
	// fills, which it always has (the last quantum is not in body); the tests on out let the compiler
	// drop the bounds checks.
	for len(body) >= 8 && len(out) >= 8 {
		v := binary.LittleEndian.Uint64(body)
		a, b, c, d := uint64(t[uint16(v)]), uint64(t[uint16(v>>16)]), uint64(t[uint16(v>>32)]), uint64(t[v>>48])
		if (a|b|c|d)&^0xfff != 0 {
			return 0, false
		}
		binary.BigEndian.PutUint64(out, a<<52|b<<40|c<<28|d<<16)
		body, out = body[8:], out[6:]
	}
	if len(body) == 4 && len(out) >= 3 { // a quantum left before the last
		hi, lo := pair(t, body), pair(t, body[2:])
		if (hi|lo)&^0xfff != 0 {
			return 0, false
		}
		w := hi<<12 | lo
		out[0], out[1], out[2] = byte(w>>16), byte(w>>8), byte(w)
		body, out = body[4:], out[3:]
	}
	if len(body) > 0 || len(out) < 3 { // not when len(dst) >= len(src)/4*3
		return 0, false
	}
	o := len(dst) - len(out)
	// The last quantum may be padded: "xx==" is one byte, "xxx=" two, and the bits of the last
	// character that make no whole byte must be zero (Strict).
	hi := pair(t, last)
	switch {
	case last[2] == '=' && last[3] == '=':
		if hi&^0xff0 != 0 {
			return 0, false
		}
		out[0] = byte(hi >> 4)
		return o + 1, true
	case last[3] == '=':
		lo := pair(t, []byte{'A', last[2]}) // 'A' is 0: the pair is the character's six bits
		if hi&^0xfff != 0 || lo&^0x3c != 0 {
			return 0, false
		}
		w := hi<<6 | lo
		out[0], out[1] = byte(w>>10), byte(w>>2)
		return o + 2, true
	}
	lo := pair(t, last[2:])
	if (hi|lo)&^0xfff != 0 {
		return 0, false
	}
	w := hi<<12 | lo
	out[0], out[1], out[2] = byte(w>>16), byte(w>>8), byte(w)
	return o + 3, true
}
