package seqnum

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/big"
	"math/bits"
	"math/rand/v2"
	"strconv"
	"testing"
)

// refAppend is Pos.Append as it was before div19 and digits8 (five bits.Div64 into 18+19+19
// digit chunks, two digits a step): the reference the new code must match byte for byte.
func refAppend(p Pos, dst []byte) []byte {
	created, rtime := uint64(clampSecs(p.ShardCreated)), uint64(clampSecs(p.RecordTime))
	shard := uint64(p.Shard)
	w0 := v2Version | shard<<4 | rtime<<36
	w1 := rtime>>28 | uint64(p.Tick)<<8 | p.Offset<<16
	w2 := p.Offset>>48 | (shard&0xF)<<16 | created<<20 | v2Version<<56

	_, r := bits.Div64(0, w2, pow19)
	q1, r := bits.Div64(r, w1, pow19)
	q0, lo := bits.Div64(r, w0, pow19)
	_, r = bits.Div64(0, q1, pow19)
	hi, mid := bits.Div64(r, q0, pow19)

	var digits [Len]byte
	for i := range digits {
		digits[i] = '0'
	}
	refPutDecimal(digits[:18], hi)
	refPutDecimal(digits[18:37], mid)
	refPutDecimal(digits[37:], lo)
	return append(dst, digits[:]...)
}

// refAppendTick is AppendTick as it was before the rewrite: the reference for the Legacy form.
func refAppendTick(dst []byte, shard uint32, offset, tick uint64) []byte {
	q, r := bits.Div64(uint64(shard), offset, pow19)
	dst = append(dst, prefix...)
	var digits [bodyDigits]byte
	for i := range digits {
		digits[i] = '0'
	}
	refPutDecimal(digits[:hiDigits], q)
	refPutDecimal(digits[hiDigits:posDigits], r)
	refPutDecimal(digits[posDigits:], min(tick, MaxTick))
	return append(dst, digits[:]...)
}

// refPutDecimal is the old putDecimal: v right-aligned into buf, pre-filled with '0', two digits a
// step, the digits that do not fit dropped.
func refPutDecimal(buf []byte, v uint64) {
	const pairs = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
		"40414243444546474849505152535455565758596061626364656667686970717273747576777879" +
		"8081828384858687888990919293949596979899"
	i := len(buf)
	for v >= 100 && i >= 2 {
		q := v / 100
		r := v - q*100
		i -= 2
		buf[i], buf[i+1] = pairs[2*r], pairs[2*r+1]
		v = q
	}
	for ; v > 0 && i > 0; v /= 10 {
		i--
		buf[i] = byte('0' + v%10)
	}
}

// edgePositions are positions at and around every field's bounds: each field in turn takes 0, 1,
// every power of two with its neighbours up to the field's width, its largest value and the values
// around it (the times also beyond their bounds, which are clamped), the others staying at 0, at their
// largest or at a typical value. Every Tick comes with every kind of the other fields.
func edgePositions() []Pos {
	around := func(width int, max uint64) []uint64 {
		vs := []uint64{0, 1, 2, max - 1, max}
		for k := 1; k < width; k++ {
			vs = append(vs, 1<<k-1, 1<<k, 1<<k+1)
		}
		return vs
	}
	secs := func() []int64 {
		var out []int64
		for _, v := range around(36, MaxSeconds) {
			out = append(out, int64(v))
		}
		return append(out, -1, math.MinInt64, MaxSeconds+1, math.MaxInt64, 1_764_000_000)
	}
	bases := []Pos{
		{},
		{Shard: math.MaxUint32, ShardCreated: MaxSeconds, Offset: math.MaxUint64, Tick: MaxContinuationTick, RecordTime: MaxSeconds},
		awsPos,
	}
	var ps []Pos
	for _, b := range bases {
		for _, v := range around(32, math.MaxUint32) {
			p := b
			p.Shard = uint32(v)
			ps = append(ps, p)
		}
		for _, v := range around(64, math.MaxUint64) {
			p := b
			p.Offset = v
			ps = append(ps, p)
		}
		for k := range uint64(1000) { // offsets just below 2^64
			p := b
			p.Offset = math.MaxUint64 - k
			ps = append(ps, p)
		}
		for tick := range MaxContinuationTick + 1 {
			p := b
			p.Tick = uint8(tick)
			ps = append(ps, p)
		}
		for _, v := range secs() {
			p := b
			p.ShardCreated = v
			ps = append(ps, p)
			p = b
			p.RecordTime = v
			ps = append(ps, p)
		}
	}
	return ps
}

// checkAppend fails t unless p.Append and refAppend write the same bytes after the same prefix, and
// Decode reads back p with its times clamped.
func checkAppend(t *testing.T, p Pos) {
	t.Helper()
	got := p.Append([]byte("x"))
	if want := refAppend(p, []byte("x")); !bytes.Equal(got, want) {
		t.Fatalf("%+v.Append = %s, want %s", p, got, want)
	}
	q, f, err := Decode(string(got[1:]))
	p.ShardCreated, p.RecordTime = clampSecs(p.ShardCreated), clampSecs(p.RecordTime)
	if err != nil || f != V2 || q != p {
		t.Fatalf("Decode(%s) = %+v, %v, %v; want %+v", got[1:], q, f, err, p)
	}
}

// TestPosAppendMatchesReference holds Pos.Append to the old implementation, byte for byte, at the
// edges and for random positions (random bit lengths, then uniformly random fields).
func TestPosAppendMatchesReference(t *testing.T) {
	for _, p := range edgePositions() {
		checkAppend(t, p)
	}
	r := rng()
	for range 20 * rounds {
		checkAppend(t, randPos(r))
		checkAppend(t, Pos{Shard: r.Uint32(), ShardCreated: r.Int64N(MaxSeconds + 1), Offset: r.Uint64(),
			Tick: uint8(r.Uint32()), RecordTime: r.Int64N(MaxSeconds + 1)})
	}
}

// TestAppendInPlace: both Appends write into dst's spare capacity when it has room, touching nothing
// past their Len bytes, and grow dst when it has not.
func TestAppendInPlace(t *testing.T) {
	for _, app := range []func([]byte) []byte{
		awsPos.Append,
		func(dst []byte) []byte { return AppendTick(dst, 7, 12345, 678) },
	} {
		want := string(app(nil))
		buf := bytes.Repeat([]byte("#"), 100)
		got := app(buf[:10])
		if string(got[10:]) != want || &got[0] != &buf[0] || string(buf[10+Len:]) != string(bytes.Repeat([]byte("#"), 100-10-Len)) {
			t.Errorf("in place: %s, buffer %s; want %s", got[10:], buf, want)
		}
		buf = bytes.Repeat([]byte("#"), 100)
		got = app(buf[:100-Len+1]) // one byte short: grown, the buffer untouched
		if string(got[100-Len+1:]) != want || string(buf[100-Len+1:]) != string(bytes.Repeat([]byte("#"), Len-1)) {
			t.Errorf("grown: %s, buffer %s; want %s", got, buf, want)
		}
	}
}

// TestAppendTickMatchesReference holds AppendTick to the old implementation, byte for byte.
func TestAppendTickMatchesReference(t *testing.T) {
	check := func(shard uint32, offset, tick uint64) {
		t.Helper()
		got, want := AppendTick([]byte("x"), shard, offset, tick), refAppendTick([]byte("x"), shard, offset, tick)
		if !bytes.Equal(got, want) {
			t.Fatalf("AppendTick(%d, %d, %d) = %s, want %s", shard, offset, tick, got, want)
		}
	}
	// 542_101_086·2^64 is just below 10^28: with it q, the value over 10^19, reaches 10 digits.
	shards := []uint32{0, 1, 9, 10, 542_101_086, 542_101_087, math.MaxUint32 - 1, math.MaxUint32}
	offsets := []uint64{0, 1, 9, 10, pow19 - 1, pow19, pow19 + 1, 1 << 63, math.MaxUint64 - 1, math.MaxUint64}
	ticks := []uint64{0, 1, 9, 10, pow8 - 1, pow8, MaxTick - 1, MaxTick, MaxTick + 1, math.MaxUint64}
	for _, s := range shards {
		for _, o := range offsets {
			for _, k := range ticks {
				check(s, o, k)
			}
		}
	}
	r := rng()
	for range 20 * rounds {
		check(uint32(randBits(r, 32)), randBits(r, 64), randBits(r, 64))
		check(r.Uint32(), r.Uint64(), r.Uint64N(MaxTick+1))
	}
}

// TestPut56 holds put56 to math/big for values whose 19- and 16-digit chunks sit at their bounds
// (0, 1, 10^k - 1, 10^k for every k, and their sums), and for random values below 10^56.
func TestPut56(t *testing.T) {
	if bits.UintSize != 64 {
		t.Skip("big.Word is not 64 bits")
	}
	limit := new(big.Int).Exp(big.NewInt(10), big.NewInt(Len), nil)
	check := func(v *big.Int) {
		t.Helper()
		if v.Sign() < 0 || v.Cmp(limit) >= 0 {
			return
		}
		var words [3]uint64
		for i, w := range v.Bits() { // 64-bit words on amd64 and arm64
			words[i] = uint64(w)
		}
		var out [Len]byte
		put56(&out, words[2], words[1], words[0])
		want := v.Text(10)
		want = string(bytes.Repeat([]byte("0"), Len-len(want))) + want
		if string(out[:]) != want {
			t.Fatalf("put56(%s) = %s", want, out[:])
		}
	}
	var edges []*big.Int
	for k := range Len + 1 {
		p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(k)), nil)
		edges = append(edges, p, new(big.Int).Sub(p, big.NewInt(1)), new(big.Int).Add(p, big.NewInt(1)))
	}
	edges = append(edges, big.NewInt(0))
	for _, a := range edges {
		for _, b := range edges {
			check(new(big.Int).Add(a, b))
			check(new(big.Int).Sub(a, b))
		}
	}
	r := rng()
	for range 20 * rounds {
		v := new(big.Int).SetUint64(r.Uint64())
		v.Lsh(v, 64).Or(v, new(big.Int).SetUint64(r.Uint64()))
		v.Lsh(v, 64).Or(v, new(big.Int).SetUint64(r.Uint64()))
		check(v.Rsh(v, uint(r.IntN(192))).Mod(v, limit))
	}
}

// TestDiv19 checks recip19 and holds div19 to bits.Div64 at the edges of its domain (hi < 10^19) and
// for random dividends.
func TestDiv19(t *testing.T) {
	if want, _ := bits.Div64(^uint64(pow19), math.MaxUint64, pow19); recip19 != want {
		t.Fatalf("recip19 = %#x, want %#x", uint64(recip19), want)
	}
	check := func(hi, lo uint64) {
		t.Helper()
		q, r := div19(hi, lo)
		wq, wr := bits.Div64(hi, lo, pow19)
		if q != wq || r != wr {
			t.Fatalf("div19(%d, %d) = %d, %d; want %d, %d", hi, lo, q, r, wq, wr)
		}
	}
	edges := []uint64{0, 1, 2, pow19 - 2, pow19 - 1, pow19, pow19 + 1, 1 << 63, math.MaxUint64 - 1, math.MaxUint64}
	for _, hi := range edges {
		for _, lo := range edges {
			if hi < pow19 {
				check(hi, lo)
			}
		}
	}
	r := rng()
	for range 100 * rounds {
		hi := r.Uint64N(pow19)
		check(hi, r.Uint64())
		check(randBits(r, 64)%pow19, randBits(r, 64))
		// Multiples of 10^19 and dividends just above and below them (all below 2^64·10^19, so
		// hi < 10^19), where the estimate needs correcting; the last correction (r ≥ 10^19) comes for
		// about one large multiple in 400.
		q, d := r.Uint64(), r.Uint64N(1000)
		if r.IntN(2) == 0 {
			q = randBits(r, 64)
		}
		h, l := bits.Mul64(q, pow19)
		check(h, l)
		l1, c := bits.Add64(l, d, 0)
		check(h+c, l1)
		if q > 0 {
			l2, b := bits.Sub64(l, d+1, 0)
			check(h-b, l2)
		}
	}
	// Dividends found to take the last correction: 16690746834196274463·10^19, and one with a
	// remainder.
	check(9048071989020578120, 18362631777699758080)
	check(9356731606653466406, 18339087727150336113)
}

// TestDigits8 checks digits8's constants over the whole ranges its lanes take, and digits8 itself
// for every v < 10^8 against a decimal counter; and that put8 stores the digits in order.
func TestDigits8(t *testing.T) {
	for y := range uint64(10_000) {
		if y*10486>>20 != y/100 {
			t.Fatalf("(%d·10486)>>20 = %d, want %d", y, y*10486>>20, y/100)
		}
	}
	for z := range uint64(100) {
		if z*103>>10 != z/10 {
			t.Fatalf("(%d·103)>>10 = %d, want %d", z, z*103>>10, z/10)
		}
	}
	// want holds the expected digits as digits8 returns them: a little-endian word, the last digit in
	// the top byte.
	want := uint64(0x30303030_30303030)
	for v := range uint32(pow8) {
		if got := digits8(v); got != want {
			t.Fatalf("digits8(%d) = %q, want %q", v, binary.LittleEndian.AppendUint64(nil, got),
				binary.LittleEndian.AppendUint64(nil, want))
		}
		// Count want up by one: from the last digit, nines become zeros until one digit can go up.
		for i := 56; i >= 0; i -= 8 {
			if want>>i&0xFF < '9' {
				want += 1 << i
				break
			}
			want -= 9 << i
		}
	}
	var b [8]byte
	for _, v := range []uint32{0, 1, 12345678, 90817263, pow8 - 1} {
		put8(&b, v)
		if want := strconv.FormatUint(uint64(v)+pow8, 10)[1:]; string(b[:]) != want {
			t.Errorf("put8(%d) = %s, want %s", v, b[:], want)
		}
	}
}

// TestPut23 holds put2 and put3 to strconv for every value they take.
func TestPut23(t *testing.T) {
	var b2 [2]byte
	for v := range uint64(100) {
		put2(&b2, v)
		if want := strconv.FormatUint(v+100, 10)[1:]; string(b2[:]) != want {
			t.Fatalf("put2(%d) = %s, want %s", v, b2[:], want)
		}
	}
	var b3 [3]byte
	for v := range uint64(1000) {
		put3(&b3, v)
		if want := strconv.FormatUint(v+1000, 10)[1:]; string(b3[:]) != want {
			t.Fatalf("put3(%d) = %s, want %s", v, b3[:], want)
		}
	}
}

// FuzzPosAppend: Pos.Append writes what the old implementation wrote, and Decode reads it back.
func FuzzPosAppend(f *testing.F) {
	for _, p := range v2Cases {
		f.Add(p.Shard, p.ShardCreated, p.Offset, p.Tick, p.RecordTime)
	}
	f.Add(uint32(0), int64(-1), uint64(math.MaxUint64), uint8(0), int64(math.MaxInt64))
	f.Fuzz(func(t *testing.T, shard uint32, created int64, offset uint64, tick uint8, rtime int64) {
		checkAppend(t, Pos{Shard: shard, ShardCreated: created, Offset: offset, Tick: tick, RecordTime: rtime})
	})
}

// benchPositions are what the server formats: one shard, consecutive offsets, a record time that
// moves on now and then ("record"); and positions with every field random ("random").
func benchPositions(kind string) []Pos {
	ps := make([]Pos, 1024)
	r := rand.New(rand.NewPCG(7, 8))
	for i := range ps {
		if kind == "record" {
			ps[i] = Pos{Shard: 3, ShardCreated: 1_764_000_000, Offset: 1_000_000 + uint64(i), RecordTime: 1_764_000_123 + int64(i/300)}
		} else {
			ps[i] = randPos(r)
		}
	}
	return ps
}

func BenchmarkPosAppend(b *testing.B) {
	for _, kind := range []string{"record", "random"} {
		b.Run(kind, func(b *testing.B) {
			ps := benchPositions(kind)
			buf := make([]byte, 0, Len)
			for i := range b.N {
				buf = ps[i&(len(ps)-1)].Append(buf[:0])
			}
		})
	}
}

func BenchmarkAppendTick(b *testing.B) {
	b.Run("record", func(b *testing.B) {
		buf := make([]byte, 0, Len)
		for i := range b.N {
			buf = AppendTick(buf[:0], 3, 1_000_000+uint64(i), 0)
		}
	})
	b.Run("random", func(b *testing.B) {
		r := rand.New(rand.NewPCG(9, 10))
		type arg struct {
			shard        uint32
			offset, tick uint64
		}
		args := make([]arg, 1024)
		for i := range args {
			args[i] = arg{uint32(randBits(r, 32)), randBits(r, 64), randBits(r, 44) % (MaxTick + 1)}
		}
		buf := make([]byte, 0, Len)
		for i := range b.N {
			a := args[i&(len(args)-1)]
			buf = AppendTick(buf[:0], a.shard, a.offset, a.tick)
		}
	})
}
