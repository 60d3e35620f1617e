package stream

import (
	"encoding/json"
	"testing"
	"time"

	"kinesisd/internal/service/hashkey"
)

// decodeDoc is Decode of d's stored form.
func decodeDoc(t *testing.T, d *Doc) *Stream {
	t.Helper()
	raw, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	st, err := Decode(raw, 1)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestRoute: Route finds the open shard holding a key at every boundary of every open shard (its
// start, its end, and end+1, which is the next shard's start), for uneven ranges listed out of order
// and with closed shards overlapping them; the routing table is in hash-key order with the API's ids.
func TestRoute(t *testing.T) {
	m := ^uint64(0)
	ranges := [][2]hashkey.Key{ // in the document's order, not hash-key order
		{{Hi: 1, Lo: 1}, hashkey.Max.Dec()},
		{{}, {Lo: 9}},
		{hashkey.Max, hashkey.Max},
		{{Lo: 10}, {Hi: 1}},
	}
	d := newDoc("s", 0, ranges)
	d.Shards = append(d.Shards, Shard{Index: 4, StartHash: "0", EndHash: hashkey.Max.String(), Closed: true})
	d.NextShard = 5
	st := decodeDoc(t, d)
	open := st.OpenShards()
	wantOrder := []uint32{1, 3, 0, 2}
	if len(open) != len(wantOrder) {
		t.Fatalf("%d open shards, want %d", len(open), len(wantOrder))
	}
	for i, o := range open {
		if o.Index != wantOrder[i] || o.ID != ShardID(o.Index) {
			t.Errorf("open[%d] = %d %s, want %d", i, o.Index, o.ID, wantOrder[i])
		}
	}
	route := func(k hashkey.Key, want uint32) {
		t.Helper()
		if o := st.Route(k); o == nil || o.Index != want {
			t.Errorf("Route(%v) = %+v, want shard %d", k, o, want)
		}
	}
	for i, o := range open {
		route(o.Start, o.Index)
		route(o.End, o.Index)
		if i+1 < len(open) {
			route(o.End.Inc(), open[i+1].Index)
		}
	}
	route(hashkey.Key{}, 1)
	route(hashkey.Key{Lo: 5}, 1)
	route(hashkey.Key{Lo: m}, 3)
	route(hashkey.Key{Hi: 1, Lo: 1}, 0)
	route(hashkey.Max, 2)

	// Evenly divided streams.
	for _, n := range []int{1, 2, 3, 7, 64} {
		st := decodeDoc(t, newDoc("s", 0, hashkey.SplitEvenly(n)))
		for i, r := range hashkey.SplitEvenly(n) {
			for _, k := range []hashkey.Key{r[0], r[1], hashkey.Midpoint(r[0], r[1])} {
				if o := st.Route(k); o == nil || o.Index != uint32(i) {
					t.Errorf("%d shards: Route(%v) = %+v, want %d", n, k, o, i)
				}
			}
		}
	}
}

// TestNextInTurn: NextInTurn cycles through the open shards: every open shard once in any n calls, in
// the same order each round; it is nil for a stream without open shards.
func TestNextInTurn(t *testing.T) {
	d := newDoc("s", 0, hashkey.SplitEvenly(4))
	d.Shards[2].Closed = true // three open
	st := decodeDoc(t, d)
	const n = 3
	var seq []uint32
	for range 3 * n {
		seq = append(seq, st.NextInTurn().Index)
	}
	seen := map[uint32]bool{}
	for i, idx := range seq {
		if idx == 2 {
			t.Fatalf("NextInTurn chose the closed shard: %v", seq)
		}
		if i < n {
			seen[idx] = true
		} else if seq[i-n] != idx {
			t.Fatalf("NextInTurn does not cycle: %v", seq)
		}
	}
	if len(seen) != n {
		t.Fatalf("NextInTurn: %v, want each of the %d open shards once a round", seq, n)
	}

	d = newDoc("s", 0, nil)
	if o := decodeDoc(t, d).NextInTurn(); o != nil {
		t.Errorf("NextInTurn without open shards = %+v, want nil", o)
	}
}

// TestDecodeRefusesBadRanges: Decode refuses a document whose open shard's hash range does not parse,
// and one that is not JSON; a closed shard's range is not read.
func TestDecodeRefusesBadRanges(t *testing.T) {
	d := newDoc("s", 0, hashkey.SplitEvenly(1))
	d.Shards[0].EndHash = "340282366920938463463374607431768211456"
	raw, _ := json.Marshal(d)
	if _, err := Decode(raw, 1); err == nil {
		t.Error("Decode accepted an open shard ending past 2^128−1")
	}
	d.Shards[0].Closed = true
	raw, _ = json.Marshal(d)
	if _, err := Decode(raw, 1); err != nil {
		t.Errorf("Decode refused a bad range of a closed shard: %v", err)
	}
	if _, err := Decode([]byte("{"), 1); err == nil {
		t.Error("Decode accepted broken JSON")
	}
}

// TestShardTimes: OpenAt is true from the shard's opening (the stream's creation for an original shard)
// to its closing, both included; Expired is true for a closed shard once its closing is before the
// retention cutoff, never for an open one.
func TestShardTimes(t *testing.T) {
	const created, opened, closed = 1_000_000, 2_000_000, 3_000_000
	d := newDoc("s", created, hashkey.SplitEvenly(1))
	d.Shards[0].Closed, d.Shards[0].ClosedMilli = true, opened
	zero := uint32(0)
	d.Shards = append(d.Shards, Shard{Index: 1, Parent: &zero, StartHash: "0", EndHash: hashkey.Max.String(), CreatedMilli: opened, Closed: true, ClosedMilli: closed})
	d.Shards = append(d.Shards, Shard{Index: 2, StartHash: "0", EndHash: hashkey.Max.String(), CreatedMilli: closed})
	st := decodeDoc(t, d)
	for _, tc := range []struct {
		shard uint32
		at    int64
		want  bool
	}{
		{0, created - 1, false}, {0, created, true}, {0, opened, true}, {0, opened + 1, false},
		{1, opened - 1, false}, {1, opened, true}, {1, closed, true}, {1, closed + 1, false},
		{2, closed - 1, false}, {2, closed, true}, {2, closed + 1e9, true},
	} {
		if got := st.OpenAt(st.Shard(tc.shard), Milli(tc.at)); got != tc.want {
			t.Errorf("shard %d open at %d: %v, want %v", tc.shard, tc.at, got, tc.want)
		}
	}
	day := int64(24 * time.Hour / time.Millisecond)
	if st.Expired(st.Shard(1), Milli(closed+day)) || !st.Expired(st.Shard(1), Milli(closed+day+1)) {
		t.Error("shard 1 expires other than a retention period after it closed")
	}
	if st.Expired(st.Shard(2), Milli(closed+10*day)) {
		t.Error("an open shard expired")
	}
	if st.Shard(9) != nil {
		t.Error("Shard(9) found a shard that does not exist")
	}
}
