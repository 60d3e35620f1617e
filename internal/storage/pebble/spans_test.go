package pebble

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"kinesisd/internal/storage"
)

// TestEntryRoundTrip: appendEntry's output reads back as the records it was given, dense and sparse
// offsets alike; a flipped byte anywhere, a cut, or an entry of another shard is an error wrapping
// errCorrupt, never a panic or a wrong record.
func TestEntryRoundTrip(t *testing.T) {
	ref := storage.ShardRef{StreamID: 7, Shard: 3}
	for _, offsets := range [][]uint64{{0, 1, 2, 3}, {5, 9, 1 << 40, 1<<40 + 1}, {42}} {
		recs := make([]storage.Record, len(offsets))
		for i, off := range offsets {
			recs[i] = storage.Record{Offset: off, ArrivalMilli: int64(1000 + i), PartitionKey: fmt.Sprint("pk", i),
				Data: bytes.Repeat([]byte{byte(i)}, 10*i)}
		}
		entry := appendEntry([]byte("prefix"), ref, recs)[len("prefix"):]
		if len(entry) != entryLen(recs) {
			t.Fatalf("entry of %d bytes, entryLen %d", len(entry), entryLen(recs))
		}
		var got []storage.Record
		err := eachEntryRecord(entry, ref, func(off uint64, arr int64, pk, data []byte) bool {
			got = append(got, storage.Record{Offset: off, ArrivalMilli: arr, PartitionKey: string(pk), Data: data})
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		if d := sameRecords(got, recs); d != "" {
			t.Fatalf("offsets %v: %s", offsets, d)
		}
		for i := range entry {
			bad := bytes.Clone(entry)
			bad[i] ^= 0x10
			if err := eachEntryRecord(bad, ref, func(uint64, int64, []byte, []byte) bool { return true }); err == nil {
				t.Fatalf("offsets %v: byte %d flipped: no error", offsets, i)
			}
		}
		if err := eachEntryRecord(entry[:len(entry)-1], ref, func(uint64, int64, []byte, []byte) bool { return true }); err == nil {
			t.Fatal("a cut entry: no error")
		}
		if err := eachEntryRecord(entry, storage.ShardRef{StreamID: 7, Shard: 4}, func(uint64, int64, []byte, []byte) bool { return true }); err == nil {
			t.Fatal("the entry of another shard: no error")
		}
	}
}

// FuzzEntry: eachEntryRecord on any bytes returns an error or records that lie inside the input,
// never panics.
func FuzzEntry(f *testing.F) {
	ref := storage.ShardRef{StreamID: 1, Shard: 0}
	f.Add(appendEntry(nil, ref, []storage.Record{{Offset: 3, PartitionKey: "k", Data: []byte("data")}}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = eachEntryRecord(b, ref, func(_ uint64, _ int64, pk, data []byte) bool {
			if len(pk)+len(data) > len(b) {
				t.Fatalf("a record of %d bytes from %d bytes", len(pk)+len(data), len(b))
			}
			return true
		})
	})
}

// TestOpenDropsUnsyncedSpans: a span key that points past the record log's synced position at bytes
// that are not its entry (what a crash between the Pebble commit and the log's sync leaves of a call
// never acknowledged) is dropped at Open; the acknowledged records stay, readable, and the shard goes
// on after them.
func TestOpenDropsUnsyncedSpans(t *testing.T) {
	dir := t.TempDir()
	ref := storage.ShardRef{StreamID: 1, Shard: 0}
	s := mustOpen(t, Options{Dir: dir})
	want := appendSized(t, s, ref, 150, 100)
	ids, active := s.records.segments()
	t.Logf("segments %v, active %d", ids, active)
	s.Close()

	// The key of a call whose entries never reached the segment: at its end, 10 records.
	db, err := pebble.Open(dir, &pebble.Options{FormatMajorVersion: pebble.FormatValueSeparation})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, logDirName, segmentName(active)))
	if err != nil {
		t.Fatal(err)
	}
	v := make([]byte, spanValueLen)
	putSpanValue(v, spanRef{seg: active, pos: fi.Size(), n: 4000, last: 159})
	if err := db.Set(spanKey(ref, 150), v, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	// And one past the synced position whose entry is there, whole: kept.
	if err := db.Set(logSyncedKey, encodeLogPos(logPos{seg: active, pos: 0}), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s = mustOpen(t, Options{Dir: dir})
	if n := mustNextOffset(t, s, ref); n != 150 {
		t.Errorf("NextOffset %d after dropping the unsynced span, want 150", n)
	}
	got, err := s.Read(t.Context(), ref, 0, 1000, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if d := sameRecords(got, want); d != "" {
		t.Fatal(d)
	}
	more := appendSized(t, s, ref, 10, 100)
	if more[0].Offset != 150 {
		t.Errorf("the next append at offset %d, want 150", more[0].Offset)
	}
}
