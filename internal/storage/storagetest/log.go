package storagetest

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"kinesisd/internal/storage"
)

// testAppendOffsets: offsets strictly increase within a call, across calls, and Append sets them.
func testAppendOffsets(t *testing.T, s storage.Store) {
	ref := shardRef(1, 0)
	var all []storage.Record
	for i, n := range []int{1, 5, 2, 100} {
		rs := recs(string(rune('a'+i)), n, 10)
		for j := range rs {
			rs[j].Offset = math.MaxUint64 // Append must overwrite it
		}
		all = append(all, mustAppend(t, s, ref, rs...)...)
	}
	checkIncreasing(t, "offsets set by Append", all, 0)
	checkRecords(t, "read back", readAll(t, s, ref, 0), all)

	// Nothing to append is not an error.
	if err := s.Append(t.Context(), nil); err != nil {
		t.Errorf("Append(nil) = %v", err)
	}
	if err := s.Append(t.Context(), []storage.Append{{Shard: ref}}); err != nil {
		t.Errorf("Append(no records) = %v", err)
	}
	checkRecords(t, "after empty appends", readAll(t, s, ref, 0), all)
}

// testAppendManyShards: one call writing to several shards of several streams, one shard twice.
func testAppendManyShards(t *testing.T, s storage.Store) {
	refs := []storage.ShardRef{shardRef(1, 0), shardRef(1, 1), shardRef(2, 0), shardRef(1, 7)}
	want := map[storage.ShardRef][]storage.Record{}
	for round := range 3 {
		var apps []storage.Append
		for i, ref := range refs {
			apps = append(apps, storage.Append{Shard: ref, Records: recs(string(rune('a'+round*4+i)), i+1, 20)})
		}
		apps = append(apps, storage.Append{Shard: refs[0], Records: recs("again", 2, 5)})
		if err := s.Append(t.Context(), apps); err != nil {
			t.Fatal(err)
		}
		for _, a := range apps {
			want[a.Shard] = append(want[a.Shard], a.Records...)
		}
	}
	for _, ref := range refs {
		checkIncreasing(t, "offsets", want[ref], 0)
		checkRecords(t, "shard read back", readAll(t, s, ref, 0), want[ref])
	}
	if got := readAll(t, s, shardRef(3, 0), 0); len(got) != 0 {
		t.Errorf("untouched shard holds %d records", len(got))
	}
}

// testAppendCopiesInput: changing the caller's records after Append, or appending to a Read's
// data, changes nothing stored.
func testAppendCopiesInput(t *testing.T, s storage.Store) {
	ref := shardRef(1, 0)
	rs := mustAppend(t, s, ref, rec("x", 64, 1), rec("y", 64, 2))
	want := []storage.Record{rs[0], rs[1]}
	want[0].Data, want[1].Data = append([]byte(nil), rs[0].Data...), append([]byte(nil), rs[1].Data...)
	copy(rs[0].Data, make([]byte, 64))
	got := readAll(t, s, ref, 0)
	checkRecords(t, "after changing Append's input", got, want)
	grown := append(got[0].Data, "overflow"...) // must not spill into the next record's data
	checkRecords(t, "after appending to one record's data", got, want)
	if string(grown[len(grown)-8:]) != "overflow" {
		t.Fatal("append to Read's data lost its bytes")
	}
	// Read's Data may be shared with the engine (the contract forbids changing it), so the test
	// does not write into it.
}

// testAppendLimit: a call of storage.MaxAppendRecords records, over two shards, is appended whole;
// one record more is refused with ErrTooManyRecords and writes nothing, on one shard or spread over
// several (an engine that split it would store a part).
func testAppendLimit(t *testing.T, s storage.Store) {
	a, b := shardRef(1, 0), shardRef(1, 1)
	const most = storage.MaxAppendRecords
	full := []storage.Append{{Shard: a, Records: recs("a", most-most/3, 8)}, {Shard: b, Records: recs("b", most/3, 8)}}
	if err := s.Append(t.Context(), full); err != nil {
		t.Fatalf("Append of %d records: %v", most, err)
	}
	wantA, wantB := full[0].Records, full[1].Records
	checkIncreasing(t, "shard a", wantA, 0)
	checkIncreasing(t, "shard b", wantB, 0)
	checkRecords(t, "shard a after the largest call", readAll(t, s, a, 0), wantA)
	checkRecords(t, "shard b after the largest call", readAll(t, s, b, 0), wantB)

	endB := mustNext(t, s, b)
	tests := []struct {
		name    string
		appends []storage.Append
	}{
		{"one shard", []storage.Append{{Shard: a, Records: recs("x", most+1, 8)}}},
		{"two shards", []storage.Append{{Shard: a, Records: recs("y", most, 8)}, {Shard: b, Records: recs("z", 1, 8)}}},
		{"two streams", []storage.Append{{Shard: b, Records: recs("v", 1, 8)}, {Shard: shardRef(2, 0), Records: recs("w", most, 8)}}},
	}
	for _, tt := range tests {
		if err := s.Append(t.Context(), tt.appends); !errors.Is(err, storage.ErrTooManyRecords) {
			t.Errorf("%s: Append of %d records = %v, want ErrTooManyRecords", tt.name, most+1, err)
		}
	}
	checkRecords(t, "shard a after refused calls", readAll(t, s, a, 0), wantA)
	checkRecords(t, "shard b after refused calls", readAll(t, s, b, 0), wantB)
	if got := readAll(t, s, shardRef(2, 0), 0); len(got) != 0 {
		t.Errorf("a refused call stored %d records in another stream", len(got))
	}
	// The store still appends after refusing.
	after := mustAppend(t, s, b, rec("after", 8, 5))
	checkRecords(t, "shard b after a later append", readAll(t, s, b, endB), after)
}

// testRead: maxRecords, maxBytes and the starting offset.
func testRead(t *testing.T, s storage.Store) {
	ref := shardRef(1, 0)
	all := mustAppend(t, s, ref, recs("r", 10, 10)...) // each Size() 10 + len("pk-rN") = 15
	size := all[0].Size()
	end := mustNext(t, s, ref)
	tests := []struct {
		name       string
		from       uint64
		maxRecords int
		maxBytes   int
		want       []storage.Record
	}{
		{"everything", 0, 100, 1 << 20, all},
		{"maxRecords", 0, 3, 1 << 20, all[:3]},
		{"maxRecords 1", 0, 1, 1 << 20, all[:1]},
		{"maxBytes exact fit", 0, 100, 3 * size, all[:3]},
		{"maxBytes one short", 0, 100, 3*size - 1, all[:2]},
		{"maxBytes below one record", 0, 100, 1, all[:1]},
		{"maxBytes 0", 0, 100, 0, all[:1]},
		{"both limits, records first", 0, 2, 5 * size, all[:2]},
		{"both limits, bytes first", 0, 5, 2 * size, all[:2]},
		{"from the first offset", all[0].Offset, 100, 1 << 20, all},
		{"from the middle", all[4].Offset, 100, 1 << 20, all[4:]},
		{"from the middle, limited", all[4].Offset, 2, 1 << 20, all[4:6]},
		{"from the last", all[9].Offset, 100, 1 << 20, all[9:]},
		{"from the end", end, 100, 1 << 20, nil},
		{"past the end", end + 1000, 100, 1 << 20, nil},
		{"from the top", math.MaxUint64, 100, 1 << 20, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Read(t.Context(), ref, tt.from, tt.maxRecords, tt.maxBytes)
			if err != nil {
				t.Fatal(err)
			}
			checkRecords(t, "Read", got, tt.want)
		})
	}
	if got, err := s.Read(t.Context(), shardRef(9, 9), 0, 10, 1<<20); err != nil || len(got) != 0 {
		t.Errorf("Read(unknown shard) = %d records, %v", len(got), err)
	}
}

// testReadFirstOverMaxBytes: the first record comes back whatever its size; the next one does not.
func testReadFirstOverMaxBytes(t *testing.T, s storage.Store) {
	ref := shardRef(1, 0)
	rs := mustAppend(t, s, ref, rec("big", 100_000, 1), rec("small", 1, 2), rec("small2", 1, 3))
	tests := []struct {
		name     string
		from     uint64
		maxBytes int
		want     []storage.Record
	}{
		{"big first", rs[0].Offset, 1000, rs[:1]},
		{"big first, room for it only", rs[0].Offset, rs[0].Size(), rs[:1]},
		{"big first, room for two", rs[0].Offset, rs[0].Size() + rs[1].Size(), rs[:2]},
		{"small first stops before big", rs[1].Offset, 1000, rs[1:]},
	}
	for _, tt := range tests {
		got, err := s.Read(t.Context(), ref, tt.from, 10, tt.maxBytes)
		if err != nil {
			t.Fatal(err)
		}
		checkRecords(t, tt.name, got, tt.want)
	}
}

// testNextOffset: the end of the log before and after appends.
func testNextOffset(t *testing.T, s storage.Store) {
	ref := shardRef(1, 0)
	n0 := mustNext(t, s, ref)
	if again := mustNext(t, s, ref); again != n0 {
		t.Errorf("NextOffset moved without appends: %d then %d", n0, again)
	}
	prev := n0
	for i := range 5 {
		rs := mustAppend(t, s, ref, recs("n", i+1, 3)...)
		if rs[0].Offset < prev {
			t.Errorf("append %d: first offset %d below the NextOffset %d seen before it", i, rs[0].Offset, prev)
		}
		n := mustNext(t, s, ref)
		if n <= rs[len(rs)-1].Offset {
			t.Errorf("append %d: NextOffset %d not above the last offset %d", i, n, rs[len(rs)-1].Offset)
		}
		prev = n
		if got, _ := s.Read(t.Context(), ref, n, 10, 1<<20); len(got) != 0 {
			t.Errorf("Read(NextOffset) returned %d records", len(got))
		}
	}
}

// testOffsetAtTime: before the first, exact, between, equal times, non-monotonic arrival, after the last.
func testOffsetAtTime(t *testing.T, s storage.Store) {
	ref := shardRef(1, 0)
	empty := mustNext(t, s, ref)
	if got, err := s.OffsetAtTime(t.Context(), ref, time.UnixMilli(0)); err != nil || got != empty {
		t.Errorf("OffsetAtTime(empty shard) = %d, %v; want NextOffset %d", got, err, empty)
	}
	arrivals := []int64{1000, 2000, 2000, 1500, 3000}
	var rs []storage.Record
	for i, a := range arrivals { // one call each, so that offsets may have gaps between them
		rs = append(rs, mustAppend(t, s, ref, rec(string(rune('a'+i)), 4, a))...)
	}
	end := mustNext(t, s, ref)
	tests := []struct {
		name string
		ms   int64
		want uint64
	}{
		{"long before", -1 << 40, rs[0].Offset},
		{"before first", 999, rs[0].Offset},
		{"exactly first", 1000, rs[0].Offset},
		{"between", 1001, rs[1].Offset},
		{"exact, two equal", 2000, rs[1].Offset},
		{"older record later in the log", 1500, rs[1].Offset},
		{"after all but last", 2001, rs[4].Offset},
		{"exactly last", 3000, rs[4].Offset},
		{"after last", 3001, end},
		{"far future", 1 << 50, end},
	}
	for _, tt := range tests {
		got, err := s.OffsetAtTime(t.Context(), ref, time.UnixMilli(tt.ms))
		if err != nil || got != tt.want {
			t.Errorf("%s: OffsetAtTime(%d) = %d, %v; want %d", tt.name, tt.ms, got, err, tt.want)
		}
	}
	// A time with a sub-millisecond part may be rounded either way.
	if got, _ := s.OffsetAtTime(t.Context(), ref, time.UnixMilli(1000).Add(500*time.Microsecond)); got != rs[0].Offset && got != rs[1].Offset {
		t.Errorf("OffsetAtTime(1000.5ms) = %d, want %d or %d", got, rs[0].Offset, rs[1].Offset)
	}
	// After trimming the first two, the earliest stored record answers for early times.
	if err := s.Trim(t.Context(), ref, rs[2].Offset); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		ms   int64
		want uint64
	}{{0, rs[2].Offset}, {1600, rs[2].Offset}, {2001, rs[4].Offset}} {
		if got, err := s.OffsetAtTime(t.Context(), ref, time.UnixMilli(c.ms)); err != nil || got != c.want {
			t.Errorf("after trim: OffsetAtTime(%d) = %d, %v; want %d", c.ms, got, err, c.want)
		}
	}
}

// testOffsetAtTimeOracle compares OffsetAtTime with a linear scan over a long log with jittered,
// sometimes decreasing arrival times, appended in calls of varied sizes over two shards (so that an
// engine's time index is crossed many times), before and after a trim.
func testOffsetAtTimeOracle(t *testing.T, s storage.Store) {
	rng := rand.New(rand.NewPCG(1, 2))
	refs := []storage.ShardRef{shardRef(1, 0), shardRef(1, 1)}
	all := map[storage.ShardRef][]storage.Record{}
	clock := int64(1_000_000)
	for range 150 {
		var apps []storage.Append
		for _, ref := range refs {
			rs := make([]storage.Record, 1+rng.IntN(40))
			for i := range rs {
				clock += int64(rng.IntN(5))
				rs[i] = rec("o", 1+rng.IntN(8), clock-int64(rng.IntN(30))) // up to 30 ms out of order
			}
			apps = append(apps, storage.Append{Shard: ref, Records: rs})
		}
		if err := s.Append(t.Context(), apps); err != nil {
			t.Fatal(err)
		}
		for _, a := range apps {
			all[a.Shard] = append(all[a.Shard], a.Records...)
		}
	}
	oracle := func(rs []storage.Record, ms int64, end uint64) uint64 {
		for _, r := range rs {
			if r.ArrivalMilli >= ms {
				return r.Offset
			}
		}
		return end
	}
	check := func(phase string) {
		t.Helper()
		for _, ref := range refs {
			rs, end := all[ref], mustNext(t, s, ref)
			lo, hi := rs[0].ArrivalMilli-5, clock+5
			times := []int64{math.MinInt64 / 2, lo, hi, math.MaxInt64 / 2}
			for range 200 {
				times = append(times, lo+rng.Int64N(hi-lo+1))
			}
			for _, ms := range times {
				want := oracle(rs, ms, end)
				got, err := s.OffsetAtTime(t.Context(), ref, time.UnixMilli(ms))
				if err != nil || got != want {
					t.Fatalf("%s: shard %d: OffsetAtTime(%d) = %d, %v; want %d", phase, ref.Shard, ms, got, err, want)
				}
			}
		}
	}
	check("full log")
	for _, ref := range refs {
		cut := all[ref][len(all[ref])*2/3].Offset
		if err := s.Trim(t.Context(), ref, cut); err != nil {
			t.Fatal(err)
		}
		rs := all[ref]
		for len(rs) > 0 && rs[0].Offset < cut {
			rs = rs[1:]
		}
		all[ref] = rs
	}
	check("after trim")
}
