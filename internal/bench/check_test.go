package bench

import (
	"bytes"
	"math/big"
	"math/bits"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestParseSeq(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"0", true},
		{"1", true},
		{"18446744073709551615", true}, // 2^64-1
		{"18446744073709551616", true}, // 2^64
		{"49590338271490256608559692538361571095921575989136588898", true},
		{strings.Repeat("9", 57), true}, // < 2^192
		{strings.Repeat("9", 58), false},
		{"", false},
		{"12a", false},
		{"-1", false},
	}
	for _, tt := range tests {
		got, ok := parseSeq([]byte(tt.in))
		if ok != tt.ok {
			t.Errorf("parseSeq(%q) ok = %v, want %v", tt.in, ok, tt.ok)
			continue
		}
		if !ok {
			continue
		}
		want, _ := new(big.Int).SetString(tt.in, 10)
		v := new(big.Int)
		for _, w := range got {
			v.Lsh(v, 64).Or(v, new(big.Int).SetUint64(w))
		}
		if v.Cmp(want) != 0 {
			t.Errorf("parseSeq(%q) = %v", tt.in, v)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		digits := make([]byte, 1+rng.IntN(57))
		for i := range digits {
			digits[i] = byte('0' + rng.IntN(10))
		}
		got, ok := parseSeq(digits)
		want, _ := new(big.Int).SetString(string(digits), 10)
		v := new(big.Int)
		for _, w := range got {
			v.Lsh(v, 64).Or(v, new(big.Int).SetUint64(w))
		}
		if !ok || v.Cmp(want) != 0 {
			t.Fatalf("parseSeq(%s) = %v, %v", digits, v, ok)
		}
	}
	a, _ := parseSeq([]byte("18446744073709551616"))
	b, _ := parseSeq([]byte("18446744073709551615"))
	if a.compare(b) != 1 || b.compare(a) != -1 || a.compare(a) != 0 {
		t.Errorf("2^64 and 2^64-1 compare wrong")
	}
}

// compare runs the check of one shard: acked as acknowledged, read in the order GetRecords returned
// it; each record is "seq:hash" with small decimal numbers.
func compare(acked, read []string, strict bool) checkCounts {
	rec := func(s string) ack {
		seq, hash, _ := strings.Cut(s, ":")
		n, _ := parseSeq([]byte(seq))
		h, _ := new(big.Int).SetString(hash, 10)
		return ack{seq: n, hash: h.Uint64()}
	}
	var as []ack
	for _, s := range acked {
		as = append(as, rec(s))
	}
	c := newShardCheck(as)
	for _, s := range read {
		if strings.HasPrefix(s, "x") {
			c.badSeq()
			continue
		}
		r := rec(s)
		c.see(r.seq, r.hash)
	}
	counts := c.finish()
	counts.judge(strict)
	return counts
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name   string
		acked  []string
		read   []string
		strict bool
		want   checkCounts // Passed and StrictExtra are set from pass and strict
		pass   bool
	}{
		{name: "nothing", pass: true},
		{name: "all read", acked: []string{"3:30", "1:10", "2:20"}, read: []string{"1:10", "2:20", "3:30"}, pass: true,
			want: checkCounts{Acked: 3, Read: 3, Matched: 3}},
		{name: "one missing in the middle", acked: []string{"1:10", "2:20", "3:30"}, read: []string{"1:10", "3:30"},
			want: checkCounts{Acked: 3, Read: 2, Matched: 2, Missing: 1}},
		{name: "missing at the end", acked: []string{"1:10", "2:20", "3:30"}, read: []string{"1:10"},
			want: checkCounts{Acked: 3, Read: 1, Matched: 1, Missing: 2}},
		{name: "nothing read", acked: []string{"1:10"},
			want: checkCounts{Acked: 1, Missing: 1}},
		{name: "other bytes", acked: []string{"1:10", "2:20"}, read: []string{"1:10", "2:21"},
			want: checkCounts{Acked: 2, Read: 2, Matched: 1, Mismatched: 1}},
		{name: "read twice", acked: []string{"1:10", "2:20"}, read: []string{"1:10", "1:10", "2:20"},
			want: checkCounts{Acked: 2, Read: 3, Matched: 2, Duplicates: 1}},
		{name: "out of order", acked: []string{"1:10", "2:20"}, read: []string{"2:20", "1:10"},
			want: checkCounts{Acked: 2, Read: 2, Matched: 1, Missing: 1, OutOfOrder: 1}},
		{name: "acknowledged twice", acked: []string{"1:10", "1:11"}, read: []string{"1:10"},
			want: checkCounts{Acked: 2, Read: 1, Matched: 1, DuplicateAcks: 1}},
		{name: "unreadable sequence number", acked: []string{"1:10"}, read: []string{"1:10", "x"},
			want: checkCounts{Acked: 1, Read: 2, Matched: 1, BadSeqs: 1}},
		{name: "extra records, lenient", acked: []string{"2:20"}, read: []string{"1:10", "2:20", "3:30"}, pass: true,
			want: checkCounts{Acked: 1, Read: 3, Matched: 1, Extra: 2}},
		{name: "extra records, strict", acked: []string{"2:20"}, read: []string{"1:10", "2:20"}, strict: true,
			want: checkCounts{Acked: 1, Read: 2, Matched: 1, Extra: 1}},
		{name: "large sequence numbers", acked: []string{"49590338271490256608559692538361571095921575989136588898:1",
			"49590338271490256608559692538361571095921575989136588899:2"},
			read: []string{"49590338271490256608559692538361571095921575989136588898:1", "49590338271490256608559692538361571095921575989136588899:2"},
			pass: true, want: checkCounts{Acked: 2, Read: 2, Matched: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := compare(tt.acked, tt.read, tt.strict)
			want := tt.want
			want.Passed, want.StrictExtra = tt.pass, tt.strict
			if got != want {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
			if !got.Passed && !strings.Contains(got.problems(), "acknowledged") {
				t.Errorf("problems() = %q", got.problems())
			}
		})
	}
}

func TestCanonical(t *testing.T) {
	tests := []struct{ in, want string }{
		{"YQ==", "YQ=="},
		{"Y\r\nQ==", "YQ=="},
		{"", ""},
		{"YWJj", "YWJj"},
	}
	for _, tt := range tests {
		if got, ok := canonical([]byte(tt.in)); !ok || string(got) != tt.want {
			t.Errorf("canonical(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
		}
	}
	for _, bad := range []string{"Y", "YQ", "Y!==", "YQ==YQ=="} {
		if got, ok := canonical([]byte(bad)); ok {
			t.Errorf("canonical(%q) = %q, want not base64", bad, got)
		}
	}
	for _, tt := range []struct {
		b64  string
		want int
	}{{"", 0}, {"YQ==", 1}, {"YWI=", 2}, {"YWJj", 3}, {"YWJjZA==", 4}} {
		if got := decodedLen([]byte(tt.b64)); got != tt.want {
			t.Errorf("decodedLen(%q) = %d, want %d", tt.b64, got, tt.want)
		}
	}
}

// BenchmarkParseSeq: one 56-digit sequence number, as the client parses one per acknowledged record.
func BenchmarkParseSeq(b *testing.B) {
	seq := []byte("49590338271490256608559692538361571095921575989136588898")
	for b.Loop() {
		if _, ok := parseSeq(seq); !ok {
			b.Fatal("not parsed")
		}
	}
}

// parseSeqLoop is parseSeq as it was before digits8: one digit at a time into chunks of up to 19,
// kept to hold the new one to.
func parseSeqLoop(b []byte) (seqNum, bool) {
	var n seqNum
	if len(b) == 0 || len(b) > 57 {
		return n, false
	}
	for len(b) > 0 {
		k := len(b) % 19
		if k == 0 {
			k = 19
		}
		var chunk uint64
		for _, c := range b[:k] {
			if c < '0' || c > '9' {
				return n, false
			}
			chunk = chunk*10 + uint64(c-'0')
		}
		carry := chunk
		for i := 2; i >= 0; i-- {
			hi, lo := bits.Mul64(n[i], pow10[k])
			lo, c := bits.Add64(lo, carry, 0)
			n[i], carry = lo, hi+c
		}
		b = b[k:]
	}
	return n, true
}

// BenchmarkParseSeqLoop is BenchmarkParseSeq with parseSeqLoop, to compare in one run.
func BenchmarkParseSeqLoop(b *testing.B) {
	seq := []byte("49590338271490256608559692538361571095921575989136588898")
	for b.Loop() {
		if _, ok := parseSeqLoop(seq); !ok {
			b.Fatal("not parsed")
		}
	}
}

// seqBig is n as a big.Int.
func seqBig(n seqNum) *big.Int {
	v := new(big.Int)
	for _, w := range n {
		v.Lsh(v, 64).Or(v, new(big.Int).SetUint64(w))
	}
	return v
}

// sameAsLoop fails t unless parseSeq and parseSeqLoop agree on b: both reject it, or both read the
// same number. (parseSeqLoop's number when it rejects is whatever it had read; callers ignore it.)
func sameAsLoop(t *testing.T, b []byte) {
	t.Helper()
	got, ok := parseSeq(b)
	want, wantOK := parseSeqLoop(b)
	if ok != wantOK || ok && got != want {
		t.Fatalf("parseSeq(%q) = %v, %v; parseSeqLoop %v, %v", b, got, ok, want, wantOK)
	}
	if !ok && got != (seqNum{}) {
		t.Fatalf("parseSeq(%q) rejected it but returned %v", b, got)
	}
}

func TestParseSeqAgreesWithLoop(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	digits := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('0' + rng.IntN(10))
		}
		return b
	}
	for n := range 66 { // every length, past the 57 digits allowed
		for range 200 {
			sameAsLoop(t, digits(n))
		}
		sameAsLoop(t, bytes.Repeat([]byte("9"), n))
		sameAsLoop(t, bytes.Repeat([]byte("0"), n))
	}
	// Every byte value at every place of numbers of the lengths where the groups and chunks change.
	for _, n := range []int{1, 7, 8, 9, 15, 16, 17, 19, 20, 24, 25, 38, 39, 55, 56, 57} {
		b := digits(n)
		for i := range b {
			keep := b[i]
			for c := range 256 {
				b[i] = byte(c)
				sameAsLoop(t, b)
			}
			b[i] = keep
		}
	}
}

func TestDigits8(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for range 1000 {
		var b [8]byte
		want := uint64(0)
		for i := range b {
			d := rng.IntN(10)
			b[i], want = byte('0'+d), want*10+uint64(d)
		}
		if got, ok := digits8(b[:]); !ok || got != want {
			t.Fatalf("digits8(%q) = %d, %v; want %d", b, got, ok, want)
		}
		// One byte other than a digit, anywhere, after any digits: the carry of a byte past 0xf9 must
		// not hide it.
		for i := range b {
			keep := b[i]
			for c := range 256 {
				b[i] = byte(c)
				_, ok := digits8(b[:])
				if isDigit := '0' <= c && c <= '9'; ok != isDigit {
					t.Fatalf("digits8(%q) ok = %v", b, ok)
				}
			}
			b[i] = keep
		}
	}
	for _, s := range []string{"\xff\xff\xff\xff\xff\xff\xff\xff", "\xfa0000000", "0000000\xfa", "////////", "::::::::"} {
		if _, ok := digits8([]byte(s)); ok {
			t.Errorf("digits8(%q) ok", s)
		}
	}
}

func TestSeqCompare(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	word := func() uint64 { return []uint64{0, 1, 1 << 63, ^uint64(0), rng.Uint64()}[rng.IntN(5)] }
	for range 100000 {
		a := seqNum{word(), word(), word()}
		b := a
		b[rng.IntN(3)] = word() // often equal in the other words
		if got, want := a.compare(b), seqBig(a).Cmp(seqBig(b)); got != want {
			t.Fatalf("%v.compare(%v) = %d, want %d", a, b, got, want)
		}
	}
}

// FuzzParseSeq holds parseSeq to parseSeqLoop, and to math/big on what it accepts.
func FuzzParseSeq(f *testing.F) {
	for _, s := range []string{"0", "49590338271490256608559692538361571095921575989136588898", strings.Repeat("9", 57),
		strings.Repeat("9", 58), "", "12a", "-1", "1234567\xfa", "00000000000000000001"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		sameAsLoop(t, b)
		if n, ok := parseSeq(b); ok {
			if want, _ := new(big.Int).SetString(string(b), 10); seqBig(n).Cmp(want) != 0 {
				t.Fatalf("parseSeq(%q) = %v", b, seqBig(n))
			}
		}
	})
}

// TestAckList adds across several blocks and reads the records back in order.
func TestAckList(t *testing.T) {
	var l ackList
	const n = 3*maxAckBlock + 17
	for i := range n {
		l.add(ack{seq: seqNum{0, 0, uint64(i)}, hash: uint64(i) * 7})
	}
	got := l.appendTo([]ack{{hash: 99}})
	if l.n != n || len(got) != n+1 || got[0].hash != 99 {
		t.Fatalf("n = %d, %d read back; want %d after the one already there", l.n, len(got), n)
	}
	for i, a := range got[1:] {
		if a.seq != (seqNum{0, 0, uint64(i)}) || a.hash != uint64(i)*7 {
			t.Fatalf("record %d: %+v", i, a)
		}
	}
	for k, b := range l.blocks {
		if cap(b) > maxAckBlock {
			t.Fatalf("block %d has room for %d, above %d", k, cap(b), maxAckBlock)
		}
	}
}
