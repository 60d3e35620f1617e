// Package seqnum converts Kinesis sequence numbers to and from the positions they name, in two forms.
//
// Every number is a 56-digit decimal string without leading zero, as AWS's are, so that two numbers
// compare as big integers (as KCL compares them) exactly as they compare as strings.
//
// # V2: AWS's version-2 layout
//
// The form AWS hands out (as kinesalite reverse-engineered it) is a 188-bit number whose 47 hex
// digits read, from the most significant (hex digit positions, 0-based):
//
//	0       "2"
//	1-9     ShardCreated: the shard's creation field, Unix seconds (36 bits)
//	10      the shard index's low hex digit
//	11-26   Offset: the sequence index (64 bits)
//	27-28   Tick: the spare byte; 0 in a record's number
//	29-37   RecordTime: Unix seconds (36 bits); a record's arrival, or a continuation's time
//	38-45   Shard: the shard index (32 bits)
//	46      "2"
//
// Its decimal form always has 56 digits: the value lies in [2^185, 3·2^184), from 4903985730… to
// 7355978596…. Pos holds the fields; Pos.Format and Pos.Append write a number, Decode reads one (of
// either form, telling which) without any lookup, and decode(encode(p)) = p for every p whose times
// lie in [0, MaxSeconds]. AWS's own numbers decode too.
//
// Order. Within a shard ShardCreated and the low hex digit are fixed, so numbers order by Offset,
// then Tick, then RecordTime: strictly by offset whatever the times, a record's number (Tick 0) below
// every continuation of its offset (Tick ≥ 1), and those below the next offset's numbers. Numbers of
// shards with different creation fields order by the creation field first, so a child shard's numbers
// lie above its parents' when its creation field is later than each parent's: a shard made by a split
// or a merge takes ChildCreated(now, parents' fields...), which is one second past the latest parent's
// when they were created within the same second. The shard index field makes numbers unique in a
// stream.
//
// Continuations. An idle SubscribeToShard event carries a ContinuationSequenceNumber that must
// advance although nothing is written: Pos.Continue moves (Tick, RecordTime) on from the last number
// handed out at that offset (the last record's own number, or the previous continuation), keeping
// RecordTime the service clock's seconds while events are at least a second apart and raising Tick
// when they are not. A continuation is "after Offset": as a starting point it means the same as
// AFTER_SEQUENCE_NUMBER of the offset's record, for AT_SEQUENCE_NUMBER too, as a Legacy tick does.
//
// # Legacy: kinesisd's first form
//
// The digits "49" followed by 54 digits holding (shard·2^64 + offset)·10^13 + tick, that is
// shard·2^64 + offset in 41 digits and then the tick in 13 (Format, FormatTick, Parse, ParseTick). A
// record's number has tick 0. A tick above 0 names a point after the record's number and before the
// next offset's: a continuation, as Tick above 0 is in V2. These numbers increase strictly with the
// offset inside a shard, are unique inside a stream, greater in a child shard (whose index is higher)
// than in its parents, and decode without a lookup.
//
// Every Legacy number is below 49000000000000792281625142643375935439503360000000000000, and so below
// every V2 number of any shard: a checkpoint taken in the Legacy form stays below every V2 number the
// same shard hands out later, as KCL requires, and Compare orders numbers of both forms.
package seqnum

import (
	"errors"
	"math/bits"
	"slices"
	"strconv"
)

// Len is the number of digits of every sequence number this package makes, in either form.
const Len = 56

// MaxTick is the largest Legacy tick: 13 digits, room for Unix milliseconds until the year 2286.
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

// ErrInvalid is returned for a string that is not a sequence number of either form.
var ErrInvalid = errors.New("seqnum: not a valid sequence number")

// Format returns the Legacy sequence number of the record at offset in shard (tick 0).
func Format(shard uint32, offset uint64) string {
	return string(Append(make([]byte, 0, Len), shard, offset))
}

// FormatTick returns the Legacy sequence number of (shard, offset, tick); a tick above MaxTick is
// MaxTick.
func FormatTick(shard uint32, offset, tick uint64) string {
	return string(AppendTick(make([]byte, 0, Len), shard, offset, tick))
}

// Append appends the Legacy sequence number of (shard, offset) to dst.
func Append(dst []byte, shard uint32, offset uint64) []byte {
	return AppendTick(dst, shard, offset, 0)
}

// AppendTick appends the Legacy sequence number of (shard, offset, tick) to dst; a tick above MaxTick is
// MaxTick.
func AppendTick(dst []byte, shard uint32, offset, tick uint64) []byte {
	// shard·2^64 + offset < 2^96: split it into q·10^19 + r, q < 2^96/10^19 < 10^10. The 54 digits after
	// "49" are q in 22 (12 zeros, then 2 + 8 digits), r in 19 (3 + 8 + 8) and the tick in 13 (5 + 8).
	q, r := div19(uint64(shard), offset)
	tick = min(tick, MaxTick)
	dst, out := extend(dst)
	copy(out[:14], prefix+"000000000000")
	put2((*[2]byte)(out[14:16]), q/pow8)
	put8((*[8]byte)(out[16:24]), uint32(q%pow8))
	put3((*[3]byte)(out[24:27]), r/pow16)
	put8((*[8]byte)(out[27:35]), uint32(r/pow8%pow8))
	put8((*[8]byte)(out[35:43]), uint32(r%pow8))
	th := tick / pow8 // < 10^5
	put3((*[3]byte)(out[43:46]), th/100)
	put2((*[2]byte)(out[46:48]), th%100)
	put8((*[8]byte)(out[48:56]), uint32(tick%pow8))
	return dst
}

// extend returns dst lengthened by Len bytes, and those bytes for the caller to fill: digits are
// written in place, with no copy from a buffer on the stack.
func extend(dst []byte) ([]byte, *[Len]byte) {
	n := len(dst)
	dst = slices.Grow(dst, Len)[:n+Len]
	return dst, (*[Len]byte)(dst[n:])
}

// Parse returns the shard index and offset held by Legacy sequence number s, whatever its tick. It
// refuses V2 numbers: Decode reads both forms.
func Parse(s string) (shard uint32, offset uint64, err error) {
	shard, offset, _, err = ParseTick(s)
	return shard, offset, err
}

// ParseTick returns the shard index, offset and tick held by Legacy sequence number s. It refuses V2
// numbers: Decode reads both forms.
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
