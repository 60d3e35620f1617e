package seqnum

import (
	"math"
	"math/big"
	"testing"
)

var cases = []struct {
	shard  uint32
	offset uint64
}{
	{0, 0}, {0, 1}, {1, 0}, {3, 12345}, {7, math.MaxUint64}, {math.MaxUint32, math.MaxUint64}, {42, 1 << 63},
}

func TestRoundTrip(t *testing.T) {
	for _, c := range cases {
		s := Format(c.shard, c.offset)
		if len(s) != Len {
			t.Fatalf("Format(%d, %d) = %q: %d digits, want %d", c.shard, c.offset, s, len(s), Len)
		}
		// The value must be 49·10^54 + shard·2^64 + offset, computed independently with math/big.
		want := new(big.Int).Mul(big.NewInt(49), new(big.Int).Exp(big.NewInt(10), big.NewInt(54), nil))
		want.Add(want, new(big.Int).Lsh(new(big.Int).SetUint64(uint64(c.shard)), 64))
		want.Add(want, new(big.Int).SetUint64(c.offset))
		if s != want.String() {
			t.Errorf("Format(%d, %d) = %s, want %s", c.shard, c.offset, s, want)
		}
		shard, offset, err := Parse(s)
		if err != nil || shard != c.shard || offset != c.offset {
			t.Errorf("Parse(%s) = %d, %d, %v; want %d, %d", s, shard, offset, err, c.shard, c.offset)
		}
	}
}

func TestOrder(t *testing.T) {
	// Within a shard by offset, and a higher shard above every offset of a lower one.
	pairs := [][2]string{
		{Format(0, 5), Format(0, 6)},
		{Format(0, math.MaxUint64), Format(1, 0)},
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
	tests := []string{
		"", "0", "1", "49", Format(1, 1)[:55], Format(1, 1) + "0",
		"48" + Format(1, 1)[2:], "49" + "x" + Format(1, 1)[3:],
		"49" + "+0000000000000000000000000000000000000000000000000001",
		// shard·2^64+offset with shard = 2^32: one past the largest.
		"49000000000000000000000000079228162514264337593543950336",
		"4999999999999999999999999999999999999999999999999999999",
	}
	for _, s := range tests {
		if _, _, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) succeeded, want error", s)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, c := range cases {
		f.Add(Format(c.shard, c.offset))
	}
	f.Add("49000000000000000000000000079228162514264337593543950336")
	f.Fuzz(func(t *testing.T, s string) {
		shard, offset, err := Parse(s)
		if err != nil {
			return
		}
		if got := Format(shard, offset); got != s {
			t.Fatalf("Parse(%q) = %d, %d but Format gives %q", s, shard, offset, got)
		}
	})
}

func BenchmarkFormat(b *testing.B) {
	buf := make([]byte, 0, Len)
	for i := range b.N {
		buf = Append(buf[:0], 3, uint64(i))
	}
}
