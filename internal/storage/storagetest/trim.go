package storagetest

import (
	"math"
	"testing"

	"kinesisd/internal/storage"
)

// testTrim: trimming at 0, the first offset, the middle, the last, the end and past it; then appending.
// Offsets are never reused, also when every record was trimmed.
func testTrim(t *testing.T, s storage.Store) {
	tests := []struct {
		name   string
		before func(rs []storage.Record, end uint64) uint64
		keep   int // how many of the 10 records remain
	}{
		{"zero", func([]storage.Record, uint64) uint64 { return 0 }, 10},
		{"first offset", func(rs []storage.Record, _ uint64) uint64 { return rs[0].Offset }, 10},
		{"second offset", func(rs []storage.Record, _ uint64) uint64 { return rs[1].Offset }, 9},
		{"middle", func(rs []storage.Record, _ uint64) uint64 { return rs[4].Offset }, 6},
		{"last offset", func(rs []storage.Record, _ uint64) uint64 { return rs[9].Offset }, 1},
		{"just past last", func(rs []storage.Record, _ uint64) uint64 { return rs[9].Offset + 1 }, 0},
		{"end", func(_ []storage.Record, end uint64) uint64 { return end }, 0},
		{"past end", func(_ []storage.Record, end uint64) uint64 { return end + 1000 }, 0},
		{"top", func([]storage.Record, uint64) uint64 { return math.MaxUint64 }, 0},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := shardRef(1, uint32(i))
			rs := mustAppend(t, s, ref, recs("t", 10, 8)...)
			end := mustNext(t, s, ref)
			before := tt.before(rs, end)
			for range 2 { // Trim is idempotent
				if err := s.Trim(t.Context(), ref, before); err != nil {
					t.Fatalf("Trim(%d): %v", before, err)
				}
				checkRecords(t, "after trim", readAll(t, s, ref, 0), rs[10-tt.keep:])
			}
			if got, _ := s.Read(t.Context(), ref, rs[0].Offset, 1, 1<<20); tt.keep < 10 && len(got) > 0 &&
				got[0].Offset < before {
				t.Errorf("Read from the first offset returned trimmed offset %d", got[0].Offset)
			}
			n := mustNext(t, s, ref)
			if n < end {
				t.Errorf("NextOffset went back from %d to %d", end, n)
			}
			more := mustAppend(t, s, ref, recs("m", 3, 8)...)
			if more[0].Offset <= rs[9].Offset || more[0].Offset < n {
				t.Errorf("append after trim got offset %d; last before was %d, NextOffset %d", more[0].Offset,
					rs[9].Offset, n)
			}
			checkRecords(t, "after trim and append", readAll(t, s, ref, 0), append(rs[10-tt.keep:], more...))
		})
	}
}

// testTrimOrdering: a lower trim after a higher one brings nothing back; trimming everything twice
// with appends in between never reuses an offset.
func testTrimOrdering(t *testing.T, s storage.Store) {
	ref := shardRef(1, 0)
	rs := mustAppend(t, s, ref, recs("a", 10, 4)...)
	if err := s.Trim(t.Context(), ref, rs[5].Offset); err != nil {
		t.Fatal(err)
	}
	if err := s.Trim(t.Context(), ref, rs[2].Offset); err != nil {
		t.Fatal(err)
	}
	checkRecords(t, "after a lower trim", readAll(t, s, ref, 0), rs[5:])

	seen := append([]storage.Record(nil), rs...)
	for round := range 3 {
		if err := s.Trim(t.Context(), ref, math.MaxUint64); err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, s, ref, 0); len(got) != 0 {
			t.Fatalf("round %d: %d records after trimming everything", round, len(got))
		}
		seen = append(seen, mustAppend(t, s, ref, recs("b", 1+round, 4)...)...)
		checkIncreasing(t, "offsets across trims", seen, 0)
	}
}

// testDropStream: dropping one stream removes all its shards and nothing else.
func testDropStream(t *testing.T, s storage.Store) {
	ctx := t.Context()
	a0, a1, b0 := shardRef(1, 0), shardRef(1, 1), shardRef(2, 0)
	keep := map[storage.ShardRef][]storage.Record{}
	for _, ref := range []storage.ShardRef{a0, a1, b0} {
		keep[ref] = mustAppend(t, s, ref, recs("d", 5, 16)...)
	}
	if err := s.Trim(ctx, a1, keep[a1][2].Offset); err != nil { // a trim floor to drop as well
		t.Fatal(err)
	}
	if _, err := s.PutMeta(ctx, "stream/a", []byte("a"), 0); err != nil {
		t.Fatal(err)
	}
	for range 2 { // dropping twice is fine
		if err := s.DropStream(ctx, a0.StreamID); err != nil {
			t.Fatalf("DropStream: %v", err)
		}
		for _, ref := range []storage.ShardRef{a0, a1} {
			if got := readAll(t, s, ref, 0); len(got) != 0 {
				t.Errorf("shard %d of the dropped stream still holds %d records", ref.Shard, len(got))
			}
		}
		checkRecords(t, "other stream", readAll(t, s, b0, 0), keep[b0])
		if v, _, err := s.GetMeta(ctx, "stream/a"); err != nil || string(v) != "a" {
			t.Errorf("metadata after DropStream = %q, %v", v, err)
		}
	}
	if err := s.DropStream(ctx, 999_999); err != nil {
		t.Errorf("DropStream(unknown) = %v", err)
	}
	checkRecords(t, "other stream after dropping an unknown one", readAll(t, s, b0, 0), keep[b0])
}
