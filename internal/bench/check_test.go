package bench

import (
	"math/big"
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
