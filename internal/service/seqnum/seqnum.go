// Package seqnum converts Kinesis sequence numbers to and from (shard index, offset, tick) triples.
//
// A sequence number is a 56-digit decimal string, as AWS's are: the digits "49" followed by 54 digits
// holding (shard·2^64 + offset)·10^13 + tick, that is shard·2^64 + offset in 41 digits and then the
// tick in 13. A record's number has tick 0. A tick above 0 names a point after the record's number
// and before the next offset's: a position that moves on while no record is written, which is what
// SubscribeToShard's idle events carry (AWS's numbers, as kinesalite reverse-engineered them, also
// order by a per-shard counter first and by a time second). So sequence numbers increase strictly with
// the offset inside a shard, are unique inside a stream, are greater in a child shard (whose index is
// higher) than in its parents, and decode without a lookup.
package seqnum

import (
	"errors"
	"math/bits"
	"strconv"
)

// Len is the number of digits of every sequence number this package makes.
const Len = 56

// MaxTick is the largest tick: 13 digits, room for Unix milliseconds until the year 2286.
const MaxTick = 9_999_999_999_999

const (
	prefix     = "49"
	bodyDigits = Len - len(prefix) // 54
	tickDigits = 13
	posDigits  = bodyDigits - tickDigits // 41: shard·2^64 + offset < 2^96 < 10^29
	loDigits   = 19
	hiDigits   = posDigits - loDigits // 22
	pow19      = 10_000_000_000_000_000_000
)

// ErrInvalid is returned for a string that is not a sequence number this package made.
var ErrInvalid = errors.New("seqnum: not a valid sequence number")

// Format returns the sequence number of the record at offset in shard (tick 0).
func Format(shard uint32, offset uint64) string {
	return string(Append(make([]byte, 0, Len), shard, offset))
}

// FormatTick returns the sequence number of (shard, offset, tick); a tick above MaxTick is MaxTick.
func FormatTick(shard uint32, offset, tick uint64) string {
	return string(AppendTick(make([]byte, 0, Len), shard, offset, tick))
}

// Append appends the sequence number of (shard, offset) to dst.
func Append(dst []byte, shard uint32, offset uint64) []byte {
	return AppendTick(dst, shard, offset, 0)
}

// AppendTick appends the sequence number of (shard, offset, tick) to dst; a tick above MaxTick is
// MaxTick.
func AppendTick(dst []byte, shard uint32, offset, tick uint64) []byte {
	// shard·2^64 + offset < 2^96 < 10^29: split it into q·10^19 + r.
	q, r := bits.Div64(uint64(shard), offset, pow19)
	dst = append(dst, prefix...)
	var digits [bodyDigits]byte
	for i := range digits {
		digits[i] = '0'
	}
	putDecimal(digits[:hiDigits], q)
	putDecimal(digits[hiDigits:posDigits], r)
	putDecimal(digits[posDigits:], min(tick, MaxTick))
	return append(dst, digits[:]...)
}

// putDecimal writes v right-aligned into buf, which is pre-filled with '0'.
func putDecimal(buf []byte, v uint64) {
	for i := len(buf) - 1; v > 0 && i >= 0; i-- {
		buf[i] = byte('0' + v%10)
		v /= 10
	}
}

// Parse returns the shard index and offset held by sequence number s, whatever its tick.
func Parse(s string) (shard uint32, offset uint64, err error) {
	shard, offset, _, err = ParseTick(s)
	return shard, offset, err
}

// ParseTick returns the shard index, offset and tick held by sequence number s.
func ParseTick(s string) (shard uint32, offset, tick uint64, err error) {
	if len(s) != Len || s[:len(prefix)] != prefix {
		return 0, 0, 0, ErrInvalid
	}
	body := s[len(prefix):]
	if !allDigits(body) {
		return 0, 0, 0, ErrInvalid
	}
	// value = q·10^19 + r; q must fit 64 bits and the value 96.
	q, err1 := strconv.ParseUint(body[:hiDigits], 10, 64)
	r, err2 := strconv.ParseUint(body[hiDigits:posDigits], 10, 64)
	tick, err3 := strconv.ParseUint(body[posDigits:], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return 0, 0, 0, ErrInvalid
	}
	hi, lo := bits.Mul64(q, pow19)
	lo, carry := bits.Add64(lo, r, 0)
	hi += carry
	if hi > 0xFFFFFFFF {
		return 0, 0, 0, ErrInvalid
	}
	return uint32(hi), lo, tick, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
