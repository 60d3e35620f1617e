package storagetest

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"kinesisd/internal/storage"
)

// RunOffsetAppender runs the storage.OffsetAppender contract against an engine that has it; open is as
// for Run. reopen, if not nil, is as for RunReopen and adds the subtests that span a restart.
func RunOffsetAppender(t *testing.T, open func(t *testing.T) storage.Store, reopen func(t *testing.T, dir string) storage.Store) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, s storage.Store, a storage.OffsetAppender)
	}{
		{"KeepsOffsets", testAppendAtKeepsOffsets},
		{"InBatches", testAppendAtInBatches},
		{"Refuses", testAppendAtRefuses},
		{"EmptyMovesEnd", testAppendAtEmptyMovesEnd},
		{"OffsetAtTimeOracle", testAppendAtOffsetAtTime},
		{"Trim", testAppendAtTrim},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := openClosing(t, open)
			a, ok := s.(storage.OffsetAppender)
			if !ok {
				t.Fatalf("%T is not a storage.OffsetAppender", s)
			}
			tt.run(t, s, a)
		})
	}
	if reopen == nil {
		return
	}
	t.Run("Reopen", func(t *testing.T) {
		t.Parallel()
		testAppendAtReopen(t, reopen)
	})
}

// sparse returns n records at offsets from first with gaps of 0 to 3, arrival times from 5000.
func sparse(rng *rand.Rand, first uint64, n int) []storage.Record {
	out := make([]storage.Record, n)
	off := first
	for i := range out {
		out[i] = rec("a", 1+rng.IntN(20), 5000+int64(i))
		out[i].Offset = off
		off += 1 + uint64(rng.IntN(4))
	}
	return out
}

func mustAppendAt(t *testing.T, a storage.OffsetAppender, ref storage.ShardRef, rs []storage.Record, end uint64) {
	t.Helper()
	if err := a.AppendAt(t.Context(), ref, rs, end); err != nil {
		t.Fatalf("AppendAt(%v, %d records, end %d): %v", ref, len(rs), end, err)
	}
}

// testAppendAtKeepsOffsets: records land at their own offsets, NextOffset is end, and a later Append
// continues at or after end; other shards are untouched.
func testAppendAtKeepsOffsets(t *testing.T, s storage.Store, a storage.OffsetAppender) {
	ref, other := shardRef(1, 3), shardRef(1, 4)
	want := sparse(rand.New(rand.NewPCG(3, 4)), 7, 50)
	end := want[len(want)-1].Offset + 10
	mustAppendAt(t, a, ref, want, end)
	checkRecords(t, "after AppendAt", readAll(t, s, ref, 0), want)
	if n := mustNext(t, s, ref); n != end {
		t.Errorf("NextOffset = %d, want end %d", n, end)
	}
	if n := mustNext(t, s, other); n != 0 {
		t.Errorf("NextOffset of another shard = %d, want 0", n)
	}
	more := mustAppend(t, s, ref, recs("m", 3, 4)...)
	checkIncreasing(t, "Append after AppendAt", more, end)
	checkRecords(t, "everything", readAll(t, s, ref, 0), append(want, more...))
}

// testAppendAtInBatches: several calls, each continuing the last, then an empty one moving the end.
func testAppendAtInBatches(t *testing.T, s storage.Store, a storage.OffsetAppender) {
	ref := shardRef(2, 0)
	all := sparse(rand.New(rand.NewPCG(5, 6)), 0, 300)
	for i := 0; i < len(all); i += 70 {
		batch := all[i:min(i+70, len(all))]
		mustAppendAt(t, a, ref, batch, batch[len(batch)-1].Offset+1)
	}
	end := all[len(all)-1].Offset + 1000
	mustAppendAt(t, a, ref, nil, end)
	checkRecords(t, "batches", readAll(t, s, ref, 0), all)
	if n := mustNext(t, s, ref); n != end {
		t.Errorf("NextOffset = %d, want %d", n, end)
	}
}

// testAppendAtRefuses: every way of breaking the contract is ErrConflict and changes nothing.
func testAppendAtRefuses(t *testing.T, s storage.Store, a storage.OffsetAppender) {
	ref := shardRef(3, 1)
	base := mustAppend(t, s, ref, recs("b", 5, 3)...)
	next := mustNext(t, s, ref)
	at := func(off uint64) storage.Record { r := rec("x", 2, 9); r.Offset = off; return r }
	tests := []struct {
		name string
		recs []storage.Record
		end  uint64
	}{
		{"below the end of the log", []storage.Record{at(next - 1)}, next + 5},
		{"not increasing", []storage.Record{at(next + 2), at(next + 2)}, next + 5},
		{"decreasing", []storage.Record{at(next + 3), at(next + 1)}, next + 5},
		{"last at end", []storage.Record{at(next), at(next + 4)}, next + 4},
		{"end below the log", nil, next - 1},
	}
	for _, tt := range tests {
		err := a.AppendAt(t.Context(), ref, tt.recs, tt.end)
		if !errors.Is(err, storage.ErrConflict) {
			t.Errorf("%s: AppendAt = %v, want ErrConflict", tt.name, err)
		}
	}
	checkRecords(t, "after refusals", readAll(t, s, ref, 0), base)
	if n := mustNext(t, s, ref); n != next {
		t.Errorf("NextOffset after refusals = %d, want %d", n, next)
	}
	// At the end of the log is fine, after an Append too.
	ok := []storage.Record{at(next), at(next + 2)}
	mustAppendAt(t, a, ref, ok, next+3)
	checkRecords(t, "after a valid AppendAt", readAll(t, s, ref, next), ok)
}

// testAppendAtEmptyMovesEnd: an empty call on an empty shard moves its end; OffsetAtTime answers it.
func testAppendAtEmptyMovesEnd(t *testing.T, s storage.Store, a storage.OffsetAppender) {
	ref := shardRef(4, 0)
	mustAppendAt(t, a, ref, nil, 100)
	if n := mustNext(t, s, ref); n != 100 {
		t.Errorf("NextOffset = %d, want 100", n)
	}
	if got := readAll(t, s, ref, 0); len(got) != 0 {
		t.Errorf("Read = %v, want nothing", offsets(got))
	}
	for _, ms := range []int64{math.MinInt64 / 2, 0, math.MaxInt64 / 2} {
		if off, err := s.OffsetAtTime(t.Context(), ref, time.UnixMilli(ms)); err != nil || off != 100 {
			t.Errorf("OffsetAtTime(%d) = %d, %v; want 100", ms, off, err)
		}
	}
	mustAppendAt(t, a, ref, nil, 100) // end == NextOffset: nothing to do
	r := mustAppend(t, s, ref, rec("z", 1, 1))
	checkIncreasing(t, "Append after an empty AppendAt", r, 100)
}

// testAppendAtOffsetAtTime: OffsetAtTime over a long sparse log with out-of-order arrivals written by
// AppendAt in batches (an engine's time index crossed many times) agrees with a linear scan.
func testAppendAtOffsetAtTime(t *testing.T, s storage.Store, a storage.OffsetAppender) {
	rng := rand.New(rand.NewPCG(7, 8))
	ref := shardRef(5, 2)
	var all []storage.Record
	off, clock := uint64(40), int64(2_000_000)
	for range 40 {
		batch := make([]storage.Record, 1+rng.IntN(60))
		for i := range batch {
			clock += int64(rng.IntN(5))
			batch[i] = rec("t", 1+rng.IntN(8), clock-int64(rng.IntN(30)))
			batch[i].Offset = off
			off += 1 + uint64(rng.IntN(3))
		}
		end := off + uint64(rng.IntN(3))
		mustAppendAt(t, a, ref, batch, end)
		off = end
		all = append(all, batch...)
	}
	end := mustNext(t, s, ref)
	for range 300 {
		ms := all[0].ArrivalMilli - 5 + rng.Int64N(clock-all[0].ArrivalMilli+10)
		want := end
		for _, r := range all {
			if r.ArrivalMilli >= ms {
				want = r.Offset
				break
			}
		}
		got, err := s.OffsetAtTime(t.Context(), ref, time.UnixMilli(ms))
		if err != nil || got != want {
			t.Fatalf("OffsetAtTime(%d) = %d, %v; want %d", ms, got, err, want)
		}
	}
}

// testAppendAtTrim: Trim works on a log written by AppendAt.
func testAppendAtTrim(t *testing.T, s storage.Store, a storage.OffsetAppender) {
	ref := shardRef(6, 0)
	all := sparse(rand.New(rand.NewPCG(9, 10)), 1000, 40)
	mustAppendAt(t, a, ref, all, all[len(all)-1].Offset+1)
	cut := all[20].Offset
	if err := s.Trim(t.Context(), ref, cut); err != nil {
		t.Fatal(err)
	}
	checkRecords(t, "after Trim", readAll(t, s, ref, 0), all[20:])
}

// testAppendAtReopen: records, the end of the log past the last record, and OffsetAtTime survive a
// restart; Appends after it continue at or after end.
func testAppendAtReopen(t *testing.T, open func(t *testing.T, dir string) storage.Store) {
	dir := t.TempDir()
	ref, empty := shardRef(7, 0), shardRef(7, 1)
	all := sparse(rand.New(rand.NewPCG(11, 12)), 500, 600)
	end := all[len(all)-1].Offset + 77
	s := open(t, dir)
	a := s.(storage.OffsetAppender)
	mustAppendAt(t, a, ref, all[:300], all[299].Offset+1)
	mustAppendAt(t, a, ref, all[300:], end)
	mustAppendAt(t, a, empty, nil, 55)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)
	defer s.Close()
	checkRecords(t, "after reopen", readAll(t, s, ref, 0), all)
	for _, c := range []struct {
		ref  storage.ShardRef
		want uint64
	}{{ref, end}, {empty, 55}} {
		if n := mustNext(t, s, c.ref); n != c.want {
			t.Errorf("shard %d: NextOffset after reopen = %d, want %d", c.ref.Shard, n, c.want)
		}
	}
	mid := all[321]
	if off, err := s.OffsetAtTime(t.Context(), ref, time.UnixMilli(mid.ArrivalMilli)); err != nil || off != mid.Offset {
		t.Errorf("OffsetAtTime after reopen = %d, %v; want %d", off, err, mid.Offset)
	}
	more := mustAppend(t, s, ref, recs("r", 2, 4)...)
	checkIncreasing(t, "Append after reopen", more, end)
}
