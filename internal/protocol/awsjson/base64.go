package awsjson

import (
	"slices"

	asmbase64 "github.com/segmentio/asm/base64"
)

// GetRecords replies and PutRecords bodies are mostly base64: at 10,000 records of 1 KiB a reply is
// 13.7 MB of it. encoding/base64 looks up one character at a time (1.4 GB/s encoding and 1.7 GB/s
// decoding here) and was a third of the server's CPU during a read-back; two-character tables in Go
// reached 3.4 and 2.6 GB/s and still took 15-18% of the server. segmentio/asm's base64 does 32
// characters a step with AVX2 (13.7 and 13.1 GB/s on this machine; BenchmarkAppendBase64,
// BenchmarkDecodeBase64), falling back to encoding/base64 for the last bytes and on machines without
// it, and writes exactly what encoding/base64 writes.

// strictBase64 is the base64 the service reads: standard alphabet, padded, no stray bits.
var strictBase64 = asmbase64.StdEncoding.Strict()

// appendBase64 appends the standard, padded base64 encoding of src to dst.
func appendBase64(dst, src []byte) []byte {
	n := strictBase64.EncodedLen(len(src))
	dst = slices.Grow(dst, n)
	strictBase64.Encode(dst[len(dst):len(dst)+n], src)
	return dst[:len(dst)+n]
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
	// Every quantum but the last is four characters of the alphabet, three bytes: a decoder that
	// skipped a line break, or stopped at padding, wrote fewer. The last may be padded.
	body, last := src[:len(src)-4], src[len(src)-4:]
	m, err := strictBase64.Decode(dst, body)
	if err != nil || m != len(body)/4*3 {
		return 0, false
	}
	// Four characters: with a line break skipped, too few are left for a quantum (an error), or none
	// (no byte).
	k, err := strictBase64.Decode(dst[m:], last)
	if err != nil || k == 0 {
		return 0, false
	}
	return m + k, true
}
