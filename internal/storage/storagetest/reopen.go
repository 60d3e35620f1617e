package storagetest

import (
	"errors"
	"math"
	"testing"
	"time"

	"kinesisd/internal/storage"
)

// RunReopen runs the part of the contract that spans a restart, for engines that persist: open(t, dir)
// must open the store kept in dir (a fresh t.TempDir per subtest), creating it if needed. Each subtest
// closes and reopens the store and checks that everything is still there and that offsets keep
// increasing, also after every record was trimmed.
func RunReopen(t *testing.T, open func(t *testing.T, dir string) storage.Store) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, reopen func() storage.Store)
	}{
		{"Everything", testReopenEverything},
		{"AfterTrimmingEverything", testReopenAfterTrimAll},
		{"AfterPartialTrim", testReopenAfterPartialTrim},
		{"AfterDrop", testReopenAfterDrop},
		{"Repeatedly", testReopenRepeatedly},
		{"Sealed", testReopenSealed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			var cur storage.Store
			t.Cleanup(func() {
				if cur != nil {
					if err := cur.Close(); err != nil && !errors.Is(err, storage.ErrClosed) {
						t.Errorf("Close: %v", err)
					}
				}
			})
			// reopen closes the current store, if any, and opens dir again.
			reopen := func() storage.Store {
				t.Helper()
				if cur != nil {
					if err := cur.Close(); err != nil {
						t.Fatalf("Close before reopening: %v", err)
					}
				}
				cur = open(t, dir)
				return cur
			}
			tt.run(t, reopen)
		})
	}
}

// testReopenEverything: metadata with its versions, records of several shards, NextOffset and
// OffsetAtTime survive a restart, and new appends continue above the old offsets.
func testReopenEverything(t *testing.T, reopen func() storage.Store) {
	ctx := t.Context()
	s := reopen()
	ver, err := s.PutMeta(ctx, "stream/a", []byte("doc"), 0)
	if err != nil {
		t.Fatal(err)
	}
	refs := []storage.ShardRef{shardRef(1, 0), shardRef(1, 1), shardRef(2, 0)}
	want := map[storage.ShardRef][]storage.Record{}
	ends := map[storage.ShardRef]uint64{}
	for i, ref := range refs {
		for c := range 3 {
			rs := recs(string(rune('a'+c)), 4+i, 100)
			for j := range rs {
				rs[j].ArrivalMilli = int64(10_000 + 100*c + j)
			}
			want[ref] = append(want[ref], mustAppend(t, s, ref, rs...)...)
		}
		ends[ref] = mustNext(t, s, ref)
	}

	s = reopen()
	if v, gotVer, err := s.GetMeta(ctx, "stream/a"); err != nil || string(v) != "doc" || gotVer != ver {
		t.Fatalf("GetMeta after reopen = %q, %d, %v; want doc, %d", v, gotVer, err, ver)
	}
	if _, err := s.PutMeta(ctx, "stream/a", []byte("doc2"), ver); err != nil {
		t.Errorf("PutMeta with the version from before the restart: %v", err)
	}
	for _, ref := range refs {
		checkRecords(t, "after reopen", readAll(t, s, ref, 0), want[ref])
		if n := mustNext(t, s, ref); n < ends[ref] {
			t.Errorf("NextOffset after reopen %d, before %d", n, ends[ref])
		}
		rs := want[ref]
		for _, c := range []struct {
			ms   int64
			want uint64
		}{{0, rs[0].Offset}, {10_100, rs[len(rs)/3].Offset}, {10_201, rs[len(rs)*2/3+1].Offset}} {
			if got, err := s.OffsetAtTime(ctx, ref, time.UnixMilli(c.ms)); err != nil || got != c.want {
				t.Errorf("OffsetAtTime(%d) after reopen = %d, %v; want %d", c.ms, got, err, c.want)
			}
		}
		more := mustAppend(t, s, ref, rec("new", 10, 20_000))
		if more[0].Offset < ends[ref] || more[0].Offset <= rs[len(rs)-1].Offset {
			t.Errorf("append after reopen got offset %d; before: last %d, NextOffset %d", more[0].Offset,
				rs[len(rs)-1].Offset, ends[ref])
		}
		checkRecords(t, "after reopen and append", readAll(t, s, ref, 0), append(rs, more...))
	}
}

// testReopenAfterTrimAll: with every record trimmed, the offsets used before the restart are still
// never reused.
func testReopenAfterTrimAll(t *testing.T, reopen func() storage.Store) {
	ctx := t.Context()
	s := reopen()
	ref := shardRef(1, 0)
	rs := mustAppend(t, s, ref, recs("a", 10, 10)...)
	end := mustNext(t, s, ref)
	if err := s.Trim(ctx, ref, math.MaxUint64); err != nil {
		t.Fatal(err)
	}
	s = reopen()
	if got := readAll(t, s, ref, 0); len(got) != 0 {
		t.Fatalf("%d records after trimming everything and reopening", len(got))
	}
	if n := mustNext(t, s, ref); n < end {
		t.Errorf("NextOffset after reopen %d, before %d", n, end)
	}
	more := mustAppend(t, s, ref, recs("b", 2, 10)...)
	if more[0].Offset <= rs[9].Offset || more[0].Offset < end {
		t.Errorf("append after trim-all and reopen got offset %d; last before %d, NextOffset %d",
			more[0].Offset, rs[9].Offset, end)
	}
	s = reopen()
	checkRecords(t, "after a second reopen", readAll(t, s, ref, 0), more)
}

// testReopenAfterPartialTrim: the records above the trim point, and only they, come back.
func testReopenAfterPartialTrim(t *testing.T, reopen func() storage.Store) {
	ctx := t.Context()
	s := reopen()
	ref := shardRef(1, 0)
	rs := mustAppend(t, s, ref, recs("a", 10, 10)...)
	if err := s.Trim(ctx, ref, rs[6].Offset); err != nil {
		t.Fatal(err)
	}
	s = reopen()
	checkRecords(t, "after trim and reopen", readAll(t, s, ref, 0), rs[6:])
	if got, err := s.OffsetAtTime(ctx, ref, time.UnixMilli(0)); err != nil || got != rs[6].Offset {
		t.Errorf("OffsetAtTime(0) after trim and reopen = %d, %v; want %d", got, err, rs[6].Offset)
	}
	// A lower trim after the restart brings nothing back and resets nothing.
	if err := s.Trim(ctx, ref, rs[2].Offset); err != nil {
		t.Fatal(err)
	}
	s = reopen()
	checkRecords(t, "after a lower trim and reopen", readAll(t, s, ref, 0), rs[6:])
}

// testReopenAfterDrop: a dropped stream stays dropped; the others stay.
func testReopenAfterDrop(t *testing.T, reopen func() storage.Store) {
	ctx := t.Context()
	s := reopen()
	a, b := shardRef(1, 0), shardRef(2, 0)
	mustAppend(t, s, a, recs("a", 3, 10)...)
	rb := mustAppend(t, s, b, recs("b", 3, 10)...)
	if err := s.DropStream(ctx, a.StreamID); err != nil {
		t.Fatal(err)
	}
	s = reopen()
	if got := readAll(t, s, a, 0); len(got) != 0 {
		t.Errorf("dropped stream holds %d records after reopen", len(got))
	}
	checkRecords(t, "other stream after reopen", readAll(t, s, b, 0), rb)
}

// testReopenRepeatedly: appends across several restarts keep strictly increasing offsets and all stay.
func testReopenRepeatedly(t *testing.T, reopen func() storage.Store) {
	ref := shardRef(1, 0)
	var all []storage.Record
	for round := range 4 {
		s := reopen()
		checkRecords(t, "before appending", readAll(t, s, ref, 0), all)
		all = append(all, mustAppend(t, s, ref, recs(string(rune('a'+round)), 3+round, 50)...)...)
		checkIncreasing(t, "offsets across restarts", all, 0)
	}
}
