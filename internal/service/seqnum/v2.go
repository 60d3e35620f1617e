package seqnum

import (
	"math/bits"
	"strconv"
)

// Form tells the two layouts apart.
type Form uint8

const (
	// Legacy is kinesisd's first layout: "49" followed by (shard·2^64 + offset)·10^13 + tick in 54
	// digits (Format, FormatTick, Parse, ParseTick).
	Legacy Form = 1
	// V2 is AWS's version-2 layout (Pos.Format, Decode).
	V2 Form = 2
)

// String returns the form's name.
func (f Form) String() string {
	switch f {
	case Legacy:
		return "legacy"
	case V2:
		return "v2"
	}
	return "Form(" + strconv.Itoa(int(f)) + ")"
}

// MaxSeconds is the largest value of a V2 number's two time fields (9 hex digits: the year 4147).
const MaxSeconds = 1<<36 - 1

// MaxContinuationTick is the largest spare byte, the most significant part of a continuation's tick.
const MaxContinuationTick = 0xFF

// Pos is what a V2 sequence number holds, field by field (see the package doc for the layout).
type Pos struct {
	Shard        uint32 // shard index: the last 8 hex digits, its low hex digit also after ShardCreated
	ShardCreated int64  // the shard's creation field, Unix seconds in [0, MaxSeconds]; see ChildCreated
	Offset       uint64 // the sequence index: the position in the shard's log
	Tick         uint8  // the spare byte: 0 in a record's number, above 0 in a continuation (see Continue)
	RecordTime   int64  // Unix seconds in [0, MaxSeconds]: the record's arrival, or the continuation's time
}

// Layout of a V2 number's 188 bits, from the least significant: the final hex 2 (4 bits), the shard
// index (32), the record time (36), the spare byte (8), the sequence index (64), the shard index's low
// hex digit (4), the creation time (36) and the leading hex 2 (4). In 64-bit words w0 (bits 0-63), w1
// (64-127) and w2 (128-191):
//
//	w0 = 2 | shard<<4 | time<<36          (time's low 28 bits)
//	w1 = time>>28 | tick<<8 | offset<<16   (time's high 8 bits, offset's low 48)
//	w2 = offset>>48 | low<<16 | created<<20 | 2<<56
const (
	v2Version = 2
	secsMask  = MaxSeconds
)

// Format returns p's V2 sequence number, a 56-digit decimal string. ShardCreated and RecordTime
// outside [0, MaxSeconds] are clamped into it.
func (p Pos) Format() string {
	var buf [Len]byte
	return string(p.Append(buf[:0]))
}

// Append appends p's V2 sequence number to dst, as Format returns it.
func (p Pos) Append(dst []byte) []byte {
	created, rtime := uint64(clampSecs(p.ShardCreated)), uint64(clampSecs(p.RecordTime))
	shard := uint64(p.Shard)
	w0 := v2Version | shard<<4 | rtime<<36
	w1 := rtime>>28 | uint64(p.Tick)<<8 | p.Offset<<16
	w2 := p.Offset>>48 | (shard&0xF)<<16 | created<<20 | v2Version<<56

	// value < 3·2^184 < 10^56, and ≥ 2^185 > 10^55: 56 digits, the first never 0.
	dst, out := extend(dst)
	put56(out, w2, w1, w0)
	return dst
}

func clampSecs(s int64) int64 { return min(max(s, 0), MaxSeconds) }

// Decode returns what sequence number s holds and which form it has. It accepts exactly the strings
// Pos.Format and FormatTick return. For a V2 number, p.Format() == s. For a Legacy number, p holds the
// shard index and offset; Tick is 1 when the number's tick is above 0 (a continuation after Offset)
// and RecordTime is that tick (service-clock milliseconds) in seconds; ShardCreated is 0, as the form
// has no such field: fill it in from the shard before formatting p (ParseTick gives the exact tick).
func Decode(s string) (p Pos, f Form, err error) {
	if p, ok := decodeV2(s); ok {
		return p, V2, nil
	}
	shard, offset, tick, err := ParseTick(s)
	if err != nil {
		return Pos{}, 0, err
	}
	p = Pos{Shard: shard, Offset: offset, RecordTime: int64(tick / 1000)}
	if tick > 0 {
		p.Tick = 1
	}
	return p, Legacy, nil
}

func decodeV2(s string) (Pos, bool) {
	if len(s) != Len || !allDigits(s) {
		return Pos{}, false
	}
	hi, err1 := strconv.ParseUint(s[:18], 10, 64)
	mid, err2 := strconv.ParseUint(s[18:37], 10, 64)
	lo, err3 := strconv.ParseUint(s[37:], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return Pos{}, false
	}
	// (hi·10^19 + mid) fits 128 bits; times 10^19 plus lo fits 192.
	a1, a0 := bits.Mul64(hi, pow19)
	a0, c := bits.Add64(a0, mid, 0)
	a1 += c
	h0, w0 := bits.Mul64(a0, pow19)
	h1, w1 := bits.Mul64(a1, pow19)
	w1, c = bits.Add64(w1, h0, 0)
	w2 := h1 + c
	w0, c = bits.Add64(w0, lo, 0)
	w1, c = bits.Add64(w1, 0, c)
	w2 += c

	if w2>>56 != v2Version || w0&0xF != v2Version {
		return Pos{}, false
	}
	p := Pos{
		Shard:        uint32(w0 >> 4),
		RecordTime:   int64(w0>>36 | (w1&0xFF)<<28),
		Tick:         uint8(w1 >> 8),
		Offset:       w1>>16 | (w2&0xFFFF)<<48,
		ShardCreated: int64(w2 >> 20 & secsMask),
	}
	if (w2>>16)&0xF != uint64(p.Shard&0xF) {
		return Pos{}, false
	}
	return p, true
}

// Compare orders two sequence numbers of either form as AWS's clients do, as big integers (KCL's
// BigInteger): -1 if a < b, 0 if equal, +1 if a > b. Within one shard this is the order of positions:
// by offset, a continuation after its offset's record, and every V2 number above every Legacy one. It
// fails, with ErrInvalid, when a or b is not a number of either form.
func Compare(a, b string) (int, error) {
	if _, _, err := Decode(a); err != nil {
		return 0, err
	}
	if _, _, err := Decode(b); err != nil {
		return 0, err
	}
	// Both have Len digits and no leading zero, so the strings sort as the numbers.
	switch {
	case a < b:
		return -1, nil
	case a > b:
		return 1, nil
	}
	return 0, nil
}

// ChildCreated returns the creation field for a shard created at now (Unix seconds) from parents
// with the given creation fields: now, or one second past the latest parent's when that is not
// earlier, so that every number of the child is above every number of its parents also when they were
// created within the same second. The result is clamped to [0, MaxSeconds].
func ChildCreated(now int64, parents ...int64) int64 {
	c := now
	for _, p := range parents {
		c = max(c, p+1)
	}
	return clampSecs(c)
}

// Continue returns the position of the continuation number that follows p at time now (Unix seconds):
// same shard and offset, and above p, so that an idle subscription's ContinuationSequenceNumber always
// advances while staying below the next offset's numbers. From a record's number (Tick 0) it is
// (Tick 1, now); then now when the clock has moved past p's RecordTime, else the next Tick at now, and
// once the Tick is MaxContinuationTick, RecordTime + 1. It returns p itself only when p is the last
// position of its offset (Tick MaxContinuationTick, RecordTime MaxSeconds), which only a client can
// hand in. As a starting point a continuation stands for "after Offset" (see the package doc).
func (p Pos) Continue(now int64) Pos {
	now = clampSecs(now)
	switch {
	case p.Tick == 0:
		p.Tick, p.RecordTime = 1, now
	case now > p.RecordTime:
		p.RecordTime = now
	case p.Tick < MaxContinuationTick:
		p.Tick, p.RecordTime = p.Tick+1, now
	case p.RecordTime < MaxSeconds:
		p.RecordTime = max(p.RecordTime, 0) + 1
	}
	return p
}
