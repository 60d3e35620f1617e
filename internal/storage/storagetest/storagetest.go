// Package storagetest is the conformance suite every storage engine runs: storagetest.Run(t, open).
package storagetest

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"kinesisd/internal/storage"
)

// Run runs the storage.Store contract against the engine built by open, one subtest per behaviour, in
// parallel. open must return a new, empty store on each call; Run closes every store it gets (a
// second Close answering ErrClosed is fine), after which t's cleanups (t.TempDir) run.
func Run(t *testing.T, open func(t *testing.T) storage.Store) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, s storage.Store)
	}{
		{"MetaCAS", testMetaCAS},
		{"MetaCopies", testMetaCopies},
		{"ListMeta", testListMeta},
		{"AppendOffsets", testAppendOffsets},
		{"AppendManyShards", testAppendManyShards},
		{"AppendCopiesInput", testAppendCopiesInput},
		{"AppendLimit", testAppendLimit},
		{"Read", testRead},
		{"ReadFirstRecordOverMaxBytes", testReadFirstOverMaxBytes},
		{"NextOffset", testNextOffset},
		{"OffsetAtTime", testOffsetAtTime},
		{"OffsetAtTimeOracle", testOffsetAtTimeOracle},
		{"Trim", testTrim},
		{"TrimOrdering", testTrimOrdering},
		{"DropStream", testDropStream},
		{"Seal", testSeal},
		{"SealConcurrent", testSealConcurrent},
		{"ConcurrentAppends", testConcurrentAppends},
		{"Wait", testWait},
		{"Close", testClose},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, openClosing(t, open))
		})
	}
}

// openClosing opens a store that is closed when t ends.
func openClosing(t *testing.T, open func(t *testing.T) storage.Store) storage.Store {
	t.Helper()
	s := open(t)
	t.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, storage.ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// shardRef names a shard; ids are arbitrary (every subtest has its own store) but not small, so that an
// engine that truncates them shows it.
func shardRef(stream uint64, shard uint32) storage.ShardRef {
	return storage.ShardRef{StreamID: stream<<40 | 0x1234, Shard: shard}
}

// rec builds a record with data of n bytes derived from tag.
func rec(tag string, n int, arrival int64) storage.Record {
	data := bytes.Repeat([]byte(tag), n/max(len(tag), 1)+1)[:n]
	return storage.Record{ArrivalMilli: arrival, PartitionKey: "pk-" + tag, Data: data}
}

// recs builds n records tagged prefix0, prefix1, … with dataLen bytes each and arrival times from 1000.
func recs(prefix string, n, dataLen int) []storage.Record {
	out := make([]storage.Record, n)
	for i := range out {
		out[i] = rec(fmt.Sprintf("%s%d", prefix, i), dataLen, 1000+int64(i))
	}
	return out
}

// mustAppend appends rs to ref in one call and returns them with their offsets.
func mustAppend(t *testing.T, s storage.Store, ref storage.ShardRef, rs ...storage.Record) []storage.Record {
	t.Helper()
	if err := s.Append(t.Context(), []storage.Append{{Shard: ref, Records: rs}}); err != nil {
		t.Fatalf("Append(%v, %d records): %v", ref, len(rs), err)
	}
	return rs
}

// readAll reads every visible record of ref at or after from.
func readAll(t *testing.T, s storage.Store, ref storage.ShardRef, from uint64) []storage.Record {
	t.Helper()
	var out []storage.Record
	for {
		got, err := s.Read(t.Context(), ref, from, 1000, 1<<30)
		if err != nil {
			t.Fatalf("Read(%v, %d): %v", ref, from, err)
		}
		if len(got) == 0 {
			return out
		}
		out = append(out, got...)
		from = got[len(got)-1].Offset + 1
	}
}

func mustNext(t *testing.T, s storage.Store, ref storage.ShardRef) uint64 {
	t.Helper()
	n, err := s.NextOffset(t.Context(), ref)
	if err != nil {
		t.Fatalf("NextOffset(%v): %v", ref, err)
	}
	return n
}

// sameRecord reports whether got is want as stored: offset, arrival, partition key and data.
func sameRecord(got, want storage.Record) bool {
	return got.Offset == want.Offset && got.ArrivalMilli == want.ArrivalMilli &&
		got.PartitionKey == want.PartitionKey && bytes.Equal(got.Data, want.Data)
}

// checkRecords fails unless got and want hold the same records in the same order.
func checkRecords(t *testing.T, what string, got, want []storage.Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %d records %v, want %d %v", what, len(got), offsets(got), len(want), offsets(want))
		return
	}
	for i := range got {
		if !sameRecord(got[i], want[i]) {
			t.Errorf("%s: record %d = {off %d, t %d, pk %q, %d bytes}, want {off %d, t %d, pk %q, %d bytes}", what, i,
				got[i].Offset, got[i].ArrivalMilli, got[i].PartitionKey, len(got[i].Data),
				want[i].Offset, want[i].ArrivalMilli, want[i].PartitionKey, len(want[i].Data))
			return
		}
	}
}

// checkIncreasing fails unless offsets are strictly increasing and, if floor > 0, at least floor.
func checkIncreasing(t *testing.T, what string, rs []storage.Record, floor uint64) {
	t.Helper()
	for i, r := range rs {
		if r.Offset < floor || (i > 0 && r.Offset <= rs[i-1].Offset) {
			t.Errorf("%s: offsets %v not strictly increasing from %d", what, offsets(rs), floor)
			return
		}
	}
}

func offsets(rs []storage.Record) []uint64 {
	out := make([]uint64, len(rs))
	for i, r := range rs {
		out[i] = r.Offset
	}
	return out
}
