// Package seqnum converts Kinesis sequence numbers to and from (shard index, offset) pairs.
//
// A sequence number is a 56-digit decimal string, as AWS's are: the digits "49" followed by 54 digits
// holding shard·2^64 + offset. So sequence numbers increase strictly with the offset inside a shard,
// are unique inside a stream, are greater in a child shard (whose index is higher) than in its
// parents, and decode without a lookup.
package seqnum

import (
	"errors"
	"math/bits"
	"strconv"
)

// Len is the number of digits of every sequence number this package makes.
const Len = 56

const (
	prefix     = "49"
	bodyDigits = Len - len(prefix) // 54
	pow19      = 10_000_000_000_000_000_000
)

// ErrInvalid is returned for a string that is not a sequence number this package made.
var ErrInvalid = errors.New("seqnum: not a valid sequence number")

// Format returns the sequence number of the record at offset in shard.
func Format(shard uint32, offset uint64) string {
	return string(Append(make([]byte, 0, Len), shard, offset))
}

// Append appends the sequence number of (shard, offset) to dst.
func Append(dst []byte, shard uint32, offset uint64) []byte {
	// value = shard·2^64 + offset < 2^96 < 10^29: split it into q·10^19 + r.
	q, r := bits.Div64(uint64(shard), offset, pow19)
	dst = append(dst, prefix...)
	var digits [bodyDigits]byte
	for i := range digits {
		digits[i] = '0'
	}
	putDecimal(digits[:bodyDigits-19], q)
	putDecimal(digits[bodyDigits-19:], r)
	return append(dst, digits[:]...)
}

// putDecimal writes v right-aligned into buf, which is pre-filled with '0'.
func putDecimal(buf []byte, v uint64) {
	for i := len(buf) - 1; v > 0 && i >= 0; i-- {
		buf[i] = byte('0' + v%10)
		v /= 10
	}
}

// Parse returns the shard index and offset held by sequence number s.
func Parse(s string) (shard uint32, offset uint64, err error) {
	if len(s) != Len || s[:len(prefix)] != prefix {
		return 0, 0, ErrInvalid
	}
	body := s[len(prefix):]
	// The top 35 digits hold q, the low 19 hold r; value = q·10^19 + r.
	q, err1 := strconv.ParseUint(body[:bodyDigits-19], 10, 64)
	r, err2 := strconv.ParseUint(body[bodyDigits-19:], 10, 64)
	if err1 != nil || err2 != nil || !allDigits(body) {
		return 0, 0, ErrInvalid
	}
	hi, lo := bits.Mul64(q, pow19)
	lo, carry := bits.Add64(lo, r, 0)
	hi += carry
	if hi > 0xFFFFFFFF {
		return 0, 0, ErrInvalid
	}
	return uint32(hi), lo, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
