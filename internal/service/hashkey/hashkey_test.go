package hashkey

import (
	"math/big"
	"strings"
	"testing"
)

var two128 = new(big.Int).Lsh(big.NewInt(1), 128)

// TestParseString: Parse and String are inverse over the space's edges (0, 2^64−1, 2^64, 2^128−1), and
// Parse gives the value the decimal names.
func TestParseString(t *testing.T) {
	tests := []struct {
		s    string
		want Key
	}{
		{"0", Key{}},
		{"1", Key{0, 1}},
		{"18446744073709551615", Key{0, ^uint64(0)}},
		{"18446744073709551616", Key{1, 0}},
		{"170141183460469231731687303715884105728", Key{1 << 63, 0}},
		{"340282366920938463463374607431768211455", Max},
	}
	for _, tc := range tests {
		k, ok := Parse(tc.s)
		if !ok || k != tc.want {
			t.Errorf("Parse(%q) = %v, %v; want %v, true", tc.s, k, ok, tc.want)
		}
		if got := tc.want.String(); got != tc.s {
			t.Errorf("%v.String() = %q, want %q", tc.want, got, tc.s)
		}
		if MustParse(tc.s) != tc.want {
			t.Errorf("MustParse(%q) = %v, want %v", tc.s, MustParse(tc.s), tc.want)
		}
	}
}

// TestParseRefuses: Parse refuses what is not a decimal in [0, 2^128−1]: 2^128 and beyond, the empty
// string, signs, 40 digits, non-digits; MustParse gives the zero key for them.
func TestParseRefuses(t *testing.T) {
	for _, s := range []string{
		"340282366920938463463374607431768211456", // 2^128
		"340282366920938463463374607431768211457",
		"999999999999999999999999999999999999999", // 39 digits, > 2^128
		"",
		"-1",
		"+1",
		"1" + strings.Repeat("0", 39), // 40 digits
		strings.Repeat("0", 40),       // 40 digits, although its value fits
		"12a",
		"a",
		" 1",
		"1 ",
		"1.0",
		"0x10",
		"１", // a full-width digit
	} {
		if k, ok := Parse(s); ok {
			t.Errorf("Parse(%q) = %v, true; want refused", s, k)
		}
		if k := MustParse(s); k != (Key{}) {
			t.Errorf("MustParse(%q) = %v, want the zero key", s, k)
		}
	}
}

// TestOf: a partition key's hash key is MD5 of its UTF-8 bytes read big-endian (values computed
// independently with Python's hashlib).
func TestOf(t *testing.T) {
	for pk, want := range map[string]string{
		"a":               "16955237001963240173058271559858726497",
		"partition-key-1": "33365116028791453877729010807000998774",
		"":                "281949768489412648962353822266799178366",
		"ключ":            "259726384039714788407059515981389908711",
	} {
		if got := Of(pk).String(); got != want {
			t.Errorf("Of(%q) = %s, want %s", pk, got, want)
		}
	}
}

// TestArithmetic: Inc, Dec and Sub carry and borrow across the halves and wrap at the ends; Less
// orders by the high half first.
func TestArithmetic(t *testing.T) {
	m := ^uint64(0)
	eq := func(what string, got, want Key) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	eq("Max.Inc()", Max.Inc(), Key{})
	eq("(2^64−1).Inc()", Key{0, m}.Inc(), Key{1, 0})
	eq("5.Inc()", Key{0, 5}.Inc(), Key{0, 6})
	eq("0.Dec()", Key{}.Dec(), Max)
	eq("2^64.Dec()", Key{1, 0}.Dec(), Key{0, m})
	eq("5.Dec()", Key{0, 5}.Dec(), Key{0, 4})
	eq("0−1", Key{}.Sub(Key{0, 1}), Max)
	eq("2^64−1", Key{1, 0}.Sub(Key{0, 1}), Key{0, m})
	eq("Max−Max", Max.Sub(Max), Key{})
	eq("Max−0", Max.Sub(Key{}), Max)
	eq("(2^64+3)−(2^64+5)", Key{1, 3}.Sub(Key{1, 5}), Key{m, m - 1})
	eq("(3·2^64+1)−(1·2^64+2)", Key{3, 1}.Sub(Key{1, 2}), Key{1, m})

	less := []struct {
		a, b Key
		want bool
	}{
		{Key{0, 1}, Key{0, 2}, true},
		{Key{0, 2}, Key{0, 1}, false},
		{Key{0, m}, Key{1, 0}, true},
		{Key{1, 0}, Key{0, m}, false},
		{Max, Max, false},
		{Key{}, Max, true},
	}
	for _, tc := range less {
		if got := tc.a.Less(tc.b); got != tc.want {
			t.Errorf("%v.Less(%v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

// TestMidpoint: Midpoint is the first key of the upper half of [start, end]: ⌈(start+end)/2⌉, also
// where start+end overflows 128 bits.
func TestMidpoint(t *testing.T) {
	tests := []struct{ start, end, want Key }{
		{Key{}, Max, Key{1 << 63, 0}},
		{Key{}, Key{0, 1}, Key{0, 1}},
		{Key{}, Key{0, 2}, Key{0, 1}},
		{Key{0, 5}, Key{0, 6}, Key{0, 6}},
		{Key{0, 10}, Key{0, 20}, Key{0, 15}},
		{Max.Dec(), Max, Max},
		{Key{1 << 63, 0}, Max, Key{3 << 62, 0}},
		{Key{0, ^uint64(0)}, Key{1, 0}, Key{1, 0}},
	}
	for _, tc := range tests {
		if got := Midpoint(tc.start, tc.end); got != tc.want {
			t.Errorf("Midpoint(%v, %v) = %v, want %v", tc.start, tc.end, got, tc.want)
		}
	}
}

// TestSplitEvenly: SplitEvenly(n) covers [0, 2^128−1] with n contiguous ranges whose starts are
// i·⌊2^128/n⌋, and divides the space for 2 and 3 shards as AWS's CreateStream does.
func TestSplitEvenly(t *testing.T) {
	for _, n := range []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1000} {
		r := SplitEvenly(n)
		if len(r) != n {
			t.Fatalf("SplitEvenly(%d): %d ranges", n, len(r))
		}
		step := new(big.Int).Div(two128, big.NewInt(int64(n)))
		for i := range r {
			want := new(big.Int).Mul(step, big.NewInt(int64(i)))
			if r[i][0].big().Cmp(want) != 0 {
				t.Fatalf("SplitEvenly(%d)[%d] starts at %v, want %v", n, i, r[i][0], want)
			}
			if r[i][1].Less(r[i][0]) {
				t.Fatalf("SplitEvenly(%d)[%d] = %v..%v ends before it starts", n, i, r[i][0], r[i][1])
			}
			if i > 0 && r[i-1][1].Inc() != r[i][0] {
				t.Fatalf("SplitEvenly(%d): range %d ends at %v, range %d starts at %v", n, i-1, r[i-1][1], i, r[i][0])
			}
		}
		if r[0][0] != (Key{}) || r[n-1][1] != Max {
			t.Fatalf("SplitEvenly(%d) covers %v..%v", n, r[0][0], r[n-1][1])
		}
	}
	aws := map[int][][2]string{
		2: {
			{"0", "170141183460469231731687303715884105727"},
			{"170141183460469231731687303715884105728", "340282366920938463463374607431768211455"},
		},
		3: {
			{"0", "113427455640312821154458202477256070484"},
			{"113427455640312821154458202477256070485", "226854911280625642308916404954512140969"},
			{"226854911280625642308916404954512140970", "340282366920938463463374607431768211455"},
		},
	}
	for n, want := range aws {
		for i, r := range SplitEvenly(n) {
			if r[0].String() != want[i][0] || r[1].String() != want[i][1] {
				t.Errorf("SplitEvenly(%d)[%d] = %v..%v, want %s..%s", n, i, r[0], r[1], want[i][0], want[i][1])
			}
		}
	}
}

// TestUniformStarts: UniformStarts(n) starts at 0 with strictly increasing keys ⌊i·2^128/n⌋, the
// sizes of the shards it makes (the last ending at 2^128−1) differing by at most one; for counts
// dividing 2^128 with a remainder of at most one they are SplitEvenly's starts.
func TestUniformStarts(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5, 6, 7, 10, 11, 12, 100, 1000, 9999} {
		starts := UniformStarts(n)
		if len(starts) != n || starts[0] != (Key{}) {
			t.Fatalf("UniformStarts(%d) = %d keys from %v", n, len(starts), starts[0])
		}
		var lo, hi *big.Int
		for i := range starts {
			want := new(big.Int).Lsh(big.NewInt(int64(i)), 128)
			want.Div(want, big.NewInt(int64(n)))
			if starts[i].big().Cmp(want) != 0 {
				t.Fatalf("UniformStarts(%d)[%d] = %v, want %v", n, i, starts[i], want)
			}
			next := two128
			if i+1 < n {
				next = starts[i+1].big()
			}
			size := new(big.Int).Sub(next, starts[i].big())
			if size.Sign() <= 0 {
				t.Fatalf("UniformStarts(%d): shard %d has size %v", n, i, size)
			}
			if lo == nil || size.Cmp(lo) < 0 {
				lo = size
			}
			if hi == nil || size.Cmp(hi) > 0 {
				hi = size
			}
		}
		if d := new(big.Int).Sub(hi, lo); d.Cmp(big.NewInt(1)) > 0 {
			t.Errorf("UniformStarts(%d): sizes from %v to %v", n, lo, hi)
		}
		if rem := new(big.Int).Mod(two128, big.NewInt(int64(n))); rem.Cmp(big.NewInt(1)) <= 0 {
			for i, r := range SplitEvenly(n) {
				if r[0] != starts[i] {
					t.Errorf("n=%d: UniformStarts[%d] = %v, SplitEvenly starts at %v", n, i, starts[i], r[0])
				}
			}
		}
	}
}

// FuzzParse: Parse never panics; it accepts exactly the non-empty decimals of at most 39 digits up to
// 2^128−1, with their value; what it accepts reads back through String (without leading zeros) and
// parses again to the same key.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"0", "1", "18446744073709551616", "340282366920938463463374607431768211455",
		"340282366920938463463374607431768211456", "", "-1", "00012", strings.Repeat("9", 40), "1x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, ok := Parse(s)
		digits := s != "" && len(s) <= 39 && strings.Trim(s, "0123456789") == ""
		var v *big.Int
		if digits {
			v, _ = new(big.Int).SetString(s, 10)
		}
		want := digits && v.Cmp(two128) < 0
		if ok != want {
			t.Fatalf("Parse(%q) ok = %v, want %v", s, ok, want)
		}
		if !ok {
			return
		}
		if k.big().Cmp(v) != 0 {
			t.Fatalf("Parse(%q) = %v, want %v", s, k, v)
		}
		str := k.String()
		if str != v.String() {
			t.Fatalf("Parse(%q).String() = %q, want %q", s, str, v.String())
		}
		if k2, ok := Parse(str); !ok || k2 != k {
			t.Fatalf("Parse(%q) = %v, %v; want %v", str, k2, ok, k)
		}
	})
}
