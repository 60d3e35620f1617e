package seqnum

import (
	"cmp"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
)

// awsNumber is a number AWS handed out (KINESIS-FACTS.md), and what it holds.
const awsNumber = "49590338271490256608559692538361571095921575989136588898"

var awsPos = Pos{Shard: 6, ShardCreated: 1542776258, Offset: 1734642199, Tick: 0, RecordTime: 1545084650}

var v2Cases = []Pos{
	{},
	awsPos,
	{Shard: 1, ShardCreated: 1_764_000_000, Offset: 1, RecordTime: 1_764_000_123},
	{Shard: 17, ShardCreated: 1_764_000_001, Offset: 1 << 40, Tick: 1, RecordTime: 1_764_000_999},
	{Shard: math.MaxUint32, ShardCreated: MaxSeconds, Offset: math.MaxUint64, Tick: MaxContinuationTick, RecordTime: MaxSeconds},
	{Shard: 0x7fffffff, ShardCreated: 1, Offset: 1 << 63, Tick: 0x80, RecordTime: 1 << 35},
}

// v2Value builds the number from its hex digits as kinesalite's stringifySequence does, with math/big:
// an oracle independent of the package's word arithmetic.
func v2Value(p Pos) string {
	hex := fmt.Sprintf("2%09x%x%016x%02x%09x%08x2", p.ShardCreated, p.Shard&0xF, p.Offset, p.Tick, p.RecordTime, p.Shard)
	v, ok := new(big.Int).SetString(hex, 16)
	if !ok || len(hex) != 47 {
		panic("bad hex " + hex)
	}
	return v.String()
}

func TestV2Layout(t *testing.T) {
	for _, p := range v2Cases {
		s := p.Format()
		if want := v2Value(p); s != want {
			t.Errorf("%+v.Format() = %s, want %s", p, s, want)
		}
		if len(s) != Len {
			t.Errorf("%+v.Format() = %s: %d digits, want %d", p, s, len(s), Len)
		}
		if got := string(p.Append([]byte("x"))); got != "x"+s {
			t.Errorf("Append = %s, want x%s", got, s)
		}
		got, f, err := Decode(s)
		if err != nil || f != V2 || got != p {
			t.Errorf("Decode(%s) = %+v, %v, %v; want %+v, v2", s, got, f, err, p)
		}
	}
	if got, f, err := Decode(awsNumber); err != nil || f != V2 || got != awsPos {
		t.Errorf("Decode(AWS's %s) = %+v, %v, %v; want %+v", awsNumber, got, f, err, awsPos)
	}
	// The range of the form: [2^185, 3·2^184), all of it 56 digits.
	low, high := Pos{}.Format(), v2Cases[4].Format()
	if !strings.HasPrefix(low, "4903985730") || !strings.HasPrefix(high, "7355978596") {
		t.Errorf("range %s..%s", low, high)
	}
}

// Clamping: times outside [0, MaxSeconds] are written as the nearest bound.
func TestV2Clamp(t *testing.T) {
	p := Pos{Shard: 3, ShardCreated: -5, Offset: 9, RecordTime: MaxSeconds + 10}
	got, _, err := Decode(p.Format())
	want := Pos{Shard: 3, ShardCreated: 0, Offset: 9, RecordTime: MaxSeconds}
	if err != nil || got != want {
		t.Errorf("Decode(%+v.Format()) = %+v, %v; want %+v", p, got, err, want)
	}
}

// rng is the fixed-seed source of the property tests.
func rng() *rand.Rand { return rand.New(rand.NewPCG(16, 2)) }

// randBits returns a value of a random bit length up to n, so that small and large values both come.
func randBits(r *rand.Rand, n int) uint64 {
	k := r.IntN(n + 1)
	if k == 0 {
		return 0
	}
	return r.Uint64() >> (64 - k)
}

func randPos(r *rand.Rand) Pos {
	return Pos{
		Shard:        uint32(randBits(r, 32)),
		ShardCreated: int64(randBits(r, 36)),
		Offset:       randBits(r, 64),
		Tick:         uint8(randBits(r, 8)),
		RecordTime:   int64(randBits(r, 36)),
	}
}

const rounds = 5000

func TestV2RoundTripProperty(t *testing.T) {
	r := rng()
	for range rounds {
		p := randPos(r)
		s := p.Format()
		got, f, err := Decode(s)
		if err != nil || f != V2 || got != p || len(s) != Len {
			t.Fatalf("Decode(%s) = %+v, %v, %v; want %+v", s, got, f, err, p)
		}
	}
}

func cmpPos(a, b Pos) int {
	return cmp.Or(cmp.Compare(a.Offset, b.Offset), cmp.Compare(a.Tick, b.Tick), cmp.Compare(a.RecordTime, b.RecordTime))
}

func mustCompare(t *testing.T, a, b string) int {
	t.Helper()
	c, err := Compare(a, b)
	if err != nil {
		t.Fatalf("Compare(%s, %s): %v", a, b, err)
	}
	if bc := bigCmp(a, b); bc != c {
		t.Fatalf("Compare(%s, %s) = %d, big integers %d", a, b, c, bc)
	}
	return c
}

func bigCmp(a, b string) int {
	x, _ := new(big.Int).SetString(a, 10)
	y, _ := new(big.Int).SetString(b, 10)
	return x.Cmp(y)
}

// Within a shard, numbers order by offset, then tick, then time, whatever the times are.
func TestV2OrderWithinShard(t *testing.T) {
	r := rng()
	for range rounds {
		a := randPos(r)
		b := randPos(r)
		b.Shard, b.ShardCreated = a.Shard, a.ShardCreated
		switch r.IntN(3) { // make near neighbours common
		case 0:
			b.Offset = a.Offset + uint64(r.IntN(3)) - 1
		case 1:
			b.Offset, b.Tick = a.Offset, a.Tick
		}
		if got, want := mustCompare(t, a.Format(), b.Format()), cmpPos(a, b); got != want {
			t.Fatalf("%+v vs %+v: %d, want %d", a, b, got, want)
		}
	}
}

// A child's numbers lie above every number of its parents, also when created in the parent's second,
// when the clock is behind the parent's field, and down a chain of reshards in one second.
func TestV2ChildAboveParents(t *testing.T) {
	r := rng()
	for range rounds {
		p1, p2 := randPos(r), randPos(r)
		p1.ShardCreated = int64(randBits(r, 35))
		p2.ShardCreated = p1.ShardCreated - int64(r.IntN(3))
		now := p1.ShardCreated + int64(r.IntN(5)) - 2 // same second, behind or ahead
		child := randPos(r)
		child.Shard = max(p1.Shard, p2.Shard) + 1 // not needed for the order; the service's rule
		child.ShardCreated = ChildCreated(now, p1.ShardCreated, p2.ShardCreated)
		if child.ShardCreated <= p1.ShardCreated || child.ShardCreated < now {
			t.Fatalf("ChildCreated(%d, %d, %d) = %d", now, p1.ShardCreated, p2.ShardCreated, child.ShardCreated)
		}
		// The parents' highest numbers and the child's lowest.
		hi1, hi2, lo := p1, p2, child
		hi1.Offset, hi1.Tick, hi1.RecordTime = math.MaxUint64, MaxContinuationTick, MaxSeconds
		hi2.Offset, hi2.Tick, hi2.RecordTime = math.MaxUint64, MaxContinuationTick, MaxSeconds
		lo.Offset, lo.Tick, lo.RecordTime = 0, 0, 0
		for _, c := range []Pos{child, lo} {
			for _, p := range []Pos{p1, p2, hi1, hi2} {
				if mustCompare(t, p.Format(), c.Format()) >= 0 {
					t.Fatalf("parent %+v not below child %+v", p, c)
				}
			}
		}
	}
	// A chain: a shard split, its child split again and that child merged, all in one second.
	created := int64(1_764_000_000)
	gen := []int64{created}
	for i := range 5 {
		gen = append(gen, ChildCreated(created, gen[i]))
	}
	for i := 1; i < len(gen); i++ {
		last := Pos{Shard: uint32(i - 1), ShardCreated: gen[i-1], Offset: math.MaxUint64, Tick: MaxContinuationTick, RecordTime: MaxSeconds}
		first := Pos{Shard: uint32(i), ShardCreated: gen[i]}
		if mustCompare(t, last.Format(), first.Format()) >= 0 {
			t.Errorf("generation %d: %s not below %s", i, last.Format(), first.Format())
		}
	}
}

func TestChildCreated(t *testing.T) {
	tests := []struct {
		now     int64
		parents []int64
		want    int64
	}{
		{100, nil, 100},
		{100, []int64{50}, 100},
		{100, []int64{100}, 101},
		{100, []int64{99, 100}, 101},
		{100, []int64{105}, 106},
		{-3, nil, 0},
		{MaxSeconds + 7, nil, MaxSeconds},
	}
	for _, tt := range tests {
		if got := ChildCreated(tt.now, tt.parents...); got != tt.want {
			t.Errorf("ChildCreated(%d, %v) = %d, want %d", tt.now, tt.parents, got, tt.want)
		}
	}
}

// Every Legacy number is below every V2 number of the same shard (of any shard, in fact).
func TestLegacyBelowV2(t *testing.T) {
	r := rng()
	for range rounds {
		p := randPos(r)
		old := FormatTick(p.Shard, randBits(r, 64), min(randBits(r, 44), MaxTick))
		if mustCompare(t, old, p.Format()) >= 0 {
			t.Fatalf("legacy %s not below v2 %s", old, p.Format())
		}
	}
	// The extremes: the highest Legacy number below the lowest V2 one.
	hiOld := FormatTick(math.MaxUint32, math.MaxUint64, MaxTick)
	for _, shard := range []uint32{0, 1, math.MaxUint32} {
		lo := Pos{Shard: shard}.Format()
		if mustCompare(t, hiOld, lo) >= 0 || !(hiOld < lo) {
			t.Errorf("highest legacy %s not below lowest v2 %s", hiOld, lo)
		}
	}
	if bound := "49000000000000792281625142643375935439503360000000000000"; hiOld >= bound {
		t.Errorf("highest legacy %s not below the documented bound %s", hiOld, bound)
	}
}

func TestDecodeLegacy(t *testing.T) {
	for _, c := range cases {
		s := FormatTick(c.shard, c.offset, c.tick)
		p, f, err := Decode(s)
		want := Pos{Shard: c.shard, Offset: c.offset, RecordTime: int64(c.tick / 1000)}
		if c.tick > 0 {
			want.Tick = 1
		}
		if err != nil || f != Legacy || p != want {
			t.Errorf("Decode(%s) = %+v, %v, %v; want %+v, legacy", s, p, f, err, want)
		}
	}
	// V2 numbers are not Legacy ones.
	for _, p := range v2Cases {
		if _, _, _, err := ParseTick(p.Format()); err == nil {
			t.Errorf("ParseTick(%s) of a v2 number succeeded", p.Format())
		}
	}
}

func TestDecodeInvalid(t *testing.T) {
	bump := func(delta int64) string { // awsNumber + delta
		v, _ := new(big.Int).SetString(awsNumber, 10)
		return v.Add(v, big.NewInt(delta)).String()
	}
	wrongLow := v2Value(awsPos)
	{ // the low-hex field disagreeing with the shard index
		v, _ := new(big.Int).SetString(wrongLow, 10)
		v.Add(v, new(big.Int).Lsh(big.NewInt(1), 144))
		wrongLow = v.String()
	}
	top := func(hex string) string { // a 47-hex-digit value with another first digit
		v, _ := new(big.Int).SetString(hex+strings.Repeat("0", 45)+"2", 16)
		return v.String()
	}
	tests := []string{
		"", "0", "2", awsNumber[:55], awsNumber + "0", "0" + awsNumber[:55],
		strings.Replace(awsNumber, "9", "x", 1), "+" + awsNumber[1:], "-" + awsNumber[1:],
		bump(1), bump(-1), bump(14), // the final hex digit is not 2
		wrongLow,
		top("1f"), top("3"), // below 2^185 (not legacy either), and at 3·2^184
		Pos{}.Format()[:55] + "1",
		strings.Repeat("9", Len),
		"49" + strings.Repeat("9", 54),
		"4903985730770844346746710486880989387579965190987526963", // 2^185 cut short
		awsNumber[:10] + "\u0660" + awsNumber[12:],                // a non-ASCII digit
	}
	for _, s := range tests {
		if p, f, err := Decode(s); err == nil {
			t.Errorf("Decode(%q) = %+v, %v; want error", s, p, f)
		}
		if _, err := Compare(s, awsNumber); err == nil {
			t.Errorf("Compare(%q, …) succeeded", s)
		}
		if _, err := Compare(awsNumber, s); err == nil {
			t.Errorf("Compare(…, %q) succeeded", s)
		}
	}
}

func TestCompare(t *testing.T) {
	rec := Pos{Shard: 2, ShardCreated: 1_764_000_000, Offset: 5, RecordTime: 1_764_000_100}
	cont := rec.Continue(1_764_000_050) // a clock behind the record's time: still above it
	next := Pos{Shard: 2, ShardCreated: 1_764_000_000, Offset: 6, RecordTime: 0}
	ordered := []string{
		Format(2, 5), FormatTick(2, 5, 1), FormatTick(2, 5, MaxTick), Format(2, 6), Format(2, math.MaxUint64),
		Pos{Shard: 2, ShardCreated: 1_764_000_000, Offset: 0}.Format(),
		rec.Format(), cont.Format(), next.Format(),
	}
	for i := range ordered {
		for j := range ordered {
			if got, want := mustCompare(t, ordered[i], ordered[j]), cmp.Compare(i, j); got != want {
				t.Errorf("Compare(%s, %s) = %d, want %d", ordered[i], ordered[j], got, want)
			}
		}
	}
}

// Continue always advances, stays in its offset, and starts above the offset's record whatever its time.
func TestContinueProperty(t *testing.T) {
	r := rng()
	for range 200 {
		p := randPos(r)
		p.Tick = 0
		p.Offset = min(p.Offset, math.MaxUint64-1)
		record := p
		next := Pos{Shard: p.Shard, ShardCreated: p.ShardCreated, Offset: p.Offset + 1}
		now := int64(randBits(r, 36))
		prev := p.Format()
		for range 600 {
			// A clock that mostly moves on, sometimes stands or steps back, with bursts in one second.
			switch r.IntN(4) {
			case 0:
			case 1:
				now -= int64(r.IntN(3))
			default:
				now += int64(r.IntN(6))
			}
			p = p.Continue(now)
			s := p.Format()
			if mustCompare(t, prev, s) >= 0 || mustCompare(t, record.Format(), s) >= 0 || mustCompare(t, s, next.Format()) >= 0 {
				t.Fatalf("continuation %+v (%s) after %s: out of order", p, s, prev)
			}
			if p.Offset != record.Offset || p.Tick == 0 {
				t.Fatalf("continuation %+v left offset %d", p, record.Offset)
			}
			prev = s
		}
	}
}

func TestContinue(t *testing.T) {
	tests := []struct {
		name    string
		p       Pos
		now     int64
		want    Pos // Offset 7 implied
		advance bool
	}{
		{"from a record", Pos{Offset: 7, RecordTime: 500}, 400, Pos{Offset: 7, Tick: 1, RecordTime: 400}, true},
		{"a later second", Pos{Offset: 7, Tick: 3, RecordTime: 400}, 401, Pos{Offset: 7, Tick: 3, RecordTime: 401}, true},
		{"the same second", Pos{Offset: 7, Tick: 3, RecordTime: 401}, 401, Pos{Offset: 7, Tick: 4, RecordTime: 401}, true},
		{"a clock behind", Pos{Offset: 7, Tick: 3, RecordTime: 401}, 390, Pos{Offset: 7, Tick: 4, RecordTime: 390}, true},
		{"the last tick", Pos{Offset: 7, Tick: MaxContinuationTick, RecordTime: 401}, 401, Pos{Offset: 7, Tick: MaxContinuationTick, RecordTime: 402}, true},
		{"the last tick, clock behind", Pos{Offset: 7, Tick: MaxContinuationTick, RecordTime: 401}, 3, Pos{Offset: 7, Tick: MaxContinuationTick, RecordTime: 402}, true},
		{"saturated", Pos{Offset: 7, Tick: MaxContinuationTick, RecordTime: MaxSeconds}, 3, Pos{Offset: 7, Tick: MaxContinuationTick, RecordTime: MaxSeconds}, false},
		{"a clock out of range", Pos{Offset: 7}, -9, Pos{Offset: 7, Tick: 1, RecordTime: 0}, true},
	}
	for _, tt := range tests {
		got := tt.p.Continue(tt.now)
		if got != tt.want {
			t.Errorf("%s: %+v.Continue(%d) = %+v, want %+v", tt.name, tt.p, tt.now, got, tt.want)
		}
		if adv := mustCompare(t, tt.p.Format(), got.Format()) < 0; adv != tt.advance {
			t.Errorf("%s: advanced %v, want %v", tt.name, adv, tt.advance)
		}
	}
}

// FuzzDecode: Decode never panics, and what it accepts formats back to the same string in its form.
func FuzzDecode(f *testing.F) {
	for _, p := range v2Cases {
		f.Add(p.Format())
	}
	for _, c := range cases {
		f.Add(FormatTick(c.shard, c.offset, c.tick))
	}
	f.Add(awsNumber)
	f.Add(strings.Repeat("9", Len))
	f.Fuzz(func(t *testing.T, s string) {
		p, form, err := Decode(s)
		if err != nil {
			if _, cerr := Compare(s, s); cerr == nil {
				t.Fatalf("Compare accepts %q, Decode does not", s)
			}
			return
		}
		switch form {
		case V2:
			if got := p.Format(); got != s {
				t.Fatalf("Decode(%q) = %+v, which formats as %q", s, p, got)
			}
		case Legacy:
			shard, offset, tick, err := ParseTick(s)
			if err != nil || shard != p.Shard || offset != p.Offset || (tick > 0) != (p.Tick > 0) {
				t.Fatalf("Decode(%q) = %+v, ParseTick = %d, %d, %d, %v", s, p, shard, offset, tick, err)
			}
		default:
			t.Fatalf("Decode(%q): form %v", s, form)
		}
		if c, err := Compare(s, s); c != 0 || err != nil {
			t.Fatalf("Compare(%q, itself) = %d, %v", s, c, err)
		}
	})
}

// FuzzV2Order: two positions of one shard compare as their (offset, tick, time); a Legacy number of the
// shard is below both; decode(encode(p)) = p.
func FuzzV2Order(f *testing.F) {
	for i, a := range v2Cases {
		b := v2Cases[(i+1)%len(v2Cases)]
		f.Add(a.Shard, a.ShardCreated, a.Offset, a.Tick, a.RecordTime, b.Offset, b.Tick, b.RecordTime, uint64(0))
	}
	f.Fuzz(func(t *testing.T, shard uint32, created int64, oa uint64, ta uint8, ra int64, ob uint64, tb uint8, rb int64, old uint64) {
		created, ra, rb = clampSecs(created), clampSecs(ra), clampSecs(rb)
		a := Pos{Shard: shard, ShardCreated: created, Offset: oa, Tick: ta, RecordTime: ra}
		b := Pos{Shard: shard, ShardCreated: created, Offset: ob, Tick: tb, RecordTime: rb}
		for _, p := range []Pos{a, b} {
			if got, form, err := Decode(p.Format()); err != nil || form != V2 || got != p {
				t.Fatalf("Decode(%+v.Format()) = %+v, %v, %v", p, got, form, err)
			}
		}
		if got, want := mustCompare(t, a.Format(), b.Format()), cmpPos(a, b); got != want {
			t.Fatalf("%+v vs %+v: %d, want %d", a, b, got, want)
		}
		legacy := FormatTick(shard, old, old%(MaxTick+1))
		if mustCompare(t, legacy, a.Format()) >= 0 {
			t.Fatalf("legacy %s not below %s", legacy, a.Format())
		}
	})
}

func BenchmarkPosFormat(b *testing.B) {
	buf := make([]byte, 0, Len)
	p := awsPos
	for i := range b.N {
		p.Offset = uint64(i)
		buf = p.Append(buf[:0])
	}
}

func BenchmarkDecode(b *testing.B) {
	for range b.N {
		if _, _, err := Decode(awsNumber); err != nil {
			b.Fatal(err)
		}
	}
}
