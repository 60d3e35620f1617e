package seqnum

import (
	"math"
	"math/big"
	"testing"
)

var cases = []struct {
	shard        uint32
	offset, tick uint64
}{
	{0, 0, 0}, {0, 1, 0}, {1, 0, 0}, {3, 12345, 0}, {7, math.MaxUint64, 0}, {math.MaxUint32, math.MaxUint64, 0}, {42, 1 << 63, 0},
	{0, 0, 1}, {0, 7, 1_764_000_000_123}, {math.MaxUint32, math.MaxUint64, MaxTick},
}

// value is 49·10^54 + (shard·2^64 + offset)·10^13 + tick, computed independently with math/big.
func value(shard uint32, offset, tick uint64) *big.Int {
	v := new(big.Int).Lsh(new(big.Int).SetUint64(uint64(shard)), 64)
	v.Add(v, new(big.Int).SetUint64(offset))
	v.Mul(v, new(big.Int).Exp(big.NewInt(10), big.NewInt(13), nil))
	v.Add(v, new(big.Int).SetUint64(tick))
	return v.Add(v, new(big.Int).Mul(big.NewInt(49), new(big.Int).Exp(big.NewInt(10), big.NewInt(54), nil)))
}

func TestRoundTrip(t *testing.T) {
	for _, c := range cases {
		s := FormatTick(c.shard, c.offset, c.tick)
		if len(s) != Len {
			t.Fatalf("FormatTick(%d, %d, %d) = %q: %d digits, want %d", c.shard, c.offset, c.tick, s, len(s), Len)
		}
		if want := value(c.shard, c.offset, c.tick); s != want.String() {
			t.Errorf("FormatTick(%d, %d, %d) = %s, want %s", c.shard, c.offset, c.tick, s, want)
		}
		if c.tick == 0 && Format(c.shard, c.offset) != s {
			t.Errorf("Format(%d, %d) = %s, want %s", c.shard, c.offset, Format(c.shard, c.offset), s)
		}
		shard, offset, tick, err := ParseTick(s)
		if err != nil || shard != c.shard || offset != c.offset || tick != c.tick {
			t.Errorf("ParseTick(%s) = %d, %d, %d, %v; want %d, %d, %d", s, shard, offset, tick, err, c.shard, c.offset, c.tick)
		}
		if shard, offset, err := Parse(s); err != nil || shard != c.shard || offset != c.offset {
			t.Errorf("Parse(%s) = %d, %d, %v; want %d, %d", s, shard, offset, err, c.shard, c.offset)
		}
	}
	if got, want := FormatTick(1, 2, MaxTick+5), FormatTick(1, 2, MaxTick); got != want {
		t.Errorf("a tick above MaxTick: %s, want %s", got, want)
	}
}

func TestOrder(t *testing.T) {
	// Within a shard by offset, then tick; a higher shard above every offset and tick of a lower one.
	pairs := [][2]string{
		{Format(0, 5), Format(0, 6)},
		{Format(0, 5), FormatTick(0, 5, 1)},
		{FormatTick(0, 5, 1), FormatTick(0, 5, 2)},
		{FormatTick(0, 5, MaxTick), Format(0, 6)},
		{FormatTick(0, math.MaxUint64, MaxTick), Format(1, 0)},
		{Format(9, 99), Format(10, 0)},
	}
	for _, p := range pairs {
		a, _ := new(big.Int).SetString(p[0], 10)
		b, _ := new(big.Int).SetString(p[1], 10)
		if a.Cmp(b) >= 0 {
			t.Errorf("%s should be below %s", p[0], p[1])
		}
	}
}

func TestParseInvalid(t *testing.T) {
	// shard·2^64+offset with shard = 2^32: one past the largest.
	tooBig := value(0, 0, 0)
	tooBig.Add(tooBig, new(big.Int).Mul(new(big.Int).Lsh(big.NewInt(1), 96), new(big.Int).Exp(big.NewInt(10), big.NewInt(13), nil)))
	tests := []string{
		"", "0", "1", "49", Format(1, 1)[:55], Format(1, 1) + "0",
		"48" + Format(1, 1)[2:], "49" + "x" + Format(1, 1)[3:],
		"49" + "+0000000000000000000000000000000000000000000000000001",
		Format(1, 1)[:50] + "+00001",
		tooBig.String(),
		"49" + "99999999999999999999999999999999999999999999999999999",
		"4999999999999999999999999999999999999999999999999999999",
	}
	for _, s := range tests {
		if _, _, _, err := ParseTick(s); err == nil {
			t.Errorf("ParseTick(%q) succeeded, want error", s)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, c := range cases {
		f.Add(FormatTick(c.shard, c.offset, c.tick))
	}
	f.Add("49" + "99999999999999999999999999999999999999999999999999999")
	f.Fuzz(func(t *testing.T, s string) {
		shard, offset, tick, err := ParseTick(s)
		if err != nil {
			return
		}
		if got := FormatTick(shard, offset, tick); got != s {
			t.Fatalf("ParseTick(%q) = %d, %d, %d but FormatTick gives %q", s, shard, offset, tick, got)
		}
	})
}

// FuzzOrder: the numbers of two triples compare as the triples do, as big integers and as strings.
func FuzzOrder(f *testing.F) {
	for i, c := range cases {
		d := cases[(i+1)%len(cases)]
		f.Add(c.shard, c.offset, c.tick, d.shard, d.offset, d.tick)
	}
	f.Fuzz(func(t *testing.T, sa uint32, oa, ta uint64, sb uint32, ob, tb uint64) {
		ta, tb = min(ta, MaxTick), min(tb, MaxTick)
		a, b := FormatTick(sa, oa, ta), FormatTick(sb, ob, tb)
		want := cmp3(uint64(sa), uint64(sb))
		if want == 0 {
			want = cmp3(oa, ob)
		}
		if want == 0 {
			want = cmp3(ta, tb)
		}
		ba, _ := new(big.Int).SetString(a, 10)
		bb, _ := new(big.Int).SetString(b, 10)
		if got := ba.Cmp(bb); got != want {
			t.Fatalf("%s vs %s: big compare %d, want %d", a, b, got, want)
		}
		if got := cmpStr(a, b); got != want {
			t.Fatalf("%s vs %s: string compare %d, want %d", a, b, got, want)
		}
	})
}

func cmp3(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func BenchmarkFormat(b *testing.B) {
	buf := make([]byte, 0, Len)
	for i := range b.N {
		buf = Append(buf[:0], 3, uint64(i))
	}
}
