package pebble

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"kinesisd/internal/storage"
)

// appendSized appends n records with data of size bytes to ref, in calls of 50.
func appendSized(t *testing.T, s *Store, ref storage.ShardRef, n, size int) []storage.Record {
	t.Helper()
	var all []storage.Record
	for len(all) < n {
		rs := make([]storage.Record, min(50, n-len(all)))
		for i := range rs {
			tag := fmt.Sprintf("r%06d|", len(all)+i)
			rs[i] = storage.Record{ArrivalMilli: int64(len(all) + i), PartitionKey: "pk",
				Data: bytes.Repeat([]byte(tag), size/len(tag)+1)[:size]}
		}
		if err := s.Append(t.Context(), []storage.Append{{Shard: ref, Records: rs}}); err != nil {
			t.Fatal(err)
		}
		all = append(all, rs...)
	}
	return all
}

// appendLegacy writes n records with data of size bytes to ref as format version 1 wrote them: a
// record key each, offsets from 0, straight into Pebble. The shard must not have been used since Open.
func appendLegacy(t *testing.T, s *Store, ref storage.ShardRef, n, size int) []storage.Record {
	t.Helper()
	all := make([]storage.Record, n)
	b := s.db.NewBatch()
	for i := range all {
		tag := fmt.Sprintf("v1 r%06d|", i)
		all[i] = storage.Record{Offset: uint64(i), ArrivalMilli: int64(i), PartitionKey: "pk",
			Data: bytes.Repeat([]byte(tag), size/len(tag)+1)[:size]}
		if err := putRecord(b, ref, &all[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		t.Fatal(err)
	}
	return all
}

// TestValueSeparation proves that large values of record keys (format version 1, still read) really
// go to blob files (which takes the right format major version, columnar blocks and the policy
// together), that small ones stay in sstables, and that records read back the same either way.
func TestValueSeparation(t *testing.T) {
	tests := []struct {
		name      string
		size      int
		wantBlobs bool
	}{
		{"large values", 4 << 10, true},
		{"at the threshold", valueSepMinSize, true}, // the value holds the record's header too
		{"small values", 100, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustOpen(t, Options{InMemory: true})
			ref := storage.ShardRef{StreamID: 1, Shard: 0}
			want := appendLegacy(t, s, ref, 200, tt.size)
			if err := s.db.Flush(); err != nil {
				t.Fatal(err)
			}
			m := s.db.Metrics()
			t.Logf("format %s, table format %s, blob files %d, blob values %d bytes, flushed to blobs %d bytes",
				s.db.FormatMajorVersion(), s.db.TableFormat(), m.BlobFiles.LiveCount, m.BlobFiles.ValueSize,
				m.Levels[0].BlobBytesFlushed)
			if got := m.BlobFiles.LiveCount > 0; got != tt.wantBlobs {
				t.Fatalf("live blob files: %d, want some: %v", m.BlobFiles.LiveCount, tt.wantBlobs)
			}
			if tt.wantBlobs && m.BlobFiles.ValueSize < uint64(200*tt.size) {
				t.Errorf("blob files hold %d bytes of values, want at least %d", m.BlobFiles.ValueSize, 200*tt.size)
			}
			got, err := s.Read(t.Context(), ref, 0, 1000, 1<<30)
			if err != nil {
				t.Fatal(err)
			}
			if d := sameRecords(got, want); d != "" {
				t.Fatalf("after flush: %s", d)
			}
		})
	}
}

// TestFormat1Records: a shard of a store written by format version 1 (record keys) goes on with spans
// after the upgrade: the next offset follows its last record key across a reopen, Read and
// OffsetAtTime cross from record keys to spans, and Trim removes both.
func TestFormat1Records(t *testing.T) {
	dir := t.TempDir()
	ref := storage.ShardRef{StreamID: 1, Shard: 0}
	s := mustOpen(t, Options{Dir: dir})
	old := appendLegacy(t, s, ref, 300, 100)
	s.Close()
	setFormat(t, dir, 1)
	s = mustOpen(t, Options{Dir: dir})
	if n := mustNextOffset(t, s, ref); n != 300 {
		t.Fatalf("NextOffset after the upgrade: %d, want 300", n)
	}
	recent := make([]storage.Record, 120)
	for i := range recent {
		recent[i] = storage.Record{ArrivalMilli: int64(1000 + i), PartitionKey: "pk", Data: []byte(fmt.Sprintf("v2 r%06d", i))}
	}
	if err := s.Append(t.Context(), []storage.Append{{Shard: ref, Records: recent[:70]}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(t.Context(), []storage.Append{{Shard: ref, Records: recent[70:]}}); err != nil {
		t.Fatal(err)
	}
	for i := range recent {
		if recent[i].Offset != 300+uint64(i) {
			t.Fatalf("record %d of the upgraded shard at offset %d", i, recent[i].Offset)
		}
	}
	want := append(slices.Clone(old), recent...)
	var got []storage.Record
	for from := uint64(0); from < 420; {
		recs, err := s.Read(t.Context(), ref, from, 70, 1<<20)
		if err != nil || len(recs) == 0 {
			t.Fatalf("Read at %d: %d records, %v", from, len(recs), err)
		}
		got = append(got, recs...)
		from = recs[len(recs)-1].Offset + 1
	}
	if d := sameRecords(got, want); d != "" {
		t.Fatal(d)
	}
	for _, tc := range []struct {
		ms   int64
		want uint64
	}{{0, 0}, {299, 299}, {300, 300}, {1000 + 50, 350}, {1 << 40, 420}} {
		if off, err := s.OffsetAtTime(t.Context(), ref, time.UnixMilli(tc.ms)); err != nil || off != tc.want {
			t.Errorf("OffsetAtTime(%d) = %d, %v; want %d", tc.ms, off, err, tc.want)
		}
	}
	if err := s.Trim(t.Context(), ref, 310); err != nil {
		t.Fatal(err)
	}
	if recs, err := s.Read(t.Context(), ref, 0, 5, 1<<20); err != nil || len(recs) == 0 || recs[0].Offset != 310 {
		t.Fatalf("Read after Trim(310): %v, %v; want records from 310", recs, err)
	}
	s.Close()
	s = mustOpen(t, Options{Dir: dir})
	v, closer, err := s.db.Get(formatKey)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := decodeU64(v); got != formatVersion {
		t.Errorf("format version after the upgrade: %d, want %d", got, formatVersion)
	}
	closer.Close()
	if n := mustNextOffset(t, s, ref); n != 420 {
		t.Errorf("NextOffset after reopening: %d, want 420", n)
	}
}

func mustNextOffset(t *testing.T, s *Store, ref storage.ShardRef) uint64 {
	t.Helper()
	n, err := s.NextOffset(t.Context(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// segmentFiles returns the number of the record log's segments in s's directory.
func segmentFiles(t *testing.T, s *Store) int {
	t.Helper()
	names, err := s.fs.List(s.fs.PathJoin(s.dir, logDirName))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, name := range names {
		if _, ok := parseSegmentName(name); ok {
			n++
		}
	}
	return n
}

// TestTrimReclaimsSpace: trimming everything deletes every segment of the record log but the one
// being written, and the background compaction leaves few table bytes for the span keys; a reopened
// store deletes segments nothing points into.
func TestTrimReclaimsSpace(t *testing.T) {
	compacted := make(chan error, 16)
	dir := t.TempDir()
	opts := Options{Dir: dir, segmentSize: 256 << 10, onCompacted: func(_, _ []byte, err error) { compacted <- err }}
	s := mustOpen(t, opts)
	refs := []storage.ShardRef{{StreamID: 1, Shard: 0}, {StreamID: 1, Shard: 1}}
	data := bytes.Repeat([]byte("x"), 4<<10)
	for range 25 { // both shards in every call: every segment holds records of both
		var appends []storage.Append
		for _, ref := range refs {
			rs := make([]storage.Record, 20)
			for i := range rs {
				rs[i] = storage.Record{PartitionKey: "pk", Data: data}
			}
			appends = append(appends, storage.Append{Shard: ref, Records: rs})
		}
		if err := s.Append(t.Context(), appends); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.db.Flush(); err != nil {
		t.Fatal(err)
	}
	segsBefore, diskBefore := segmentFiles(t, s), s.records.size()
	if segsBefore < 8 {
		t.Fatalf("%d segments for 4 MB at 256 KiB each", segsBefore)
	}
	before := s.db.Metrics()
	if err := s.Trim(t.Context(), refs[0], 1<<62); err != nil {
		t.Fatal(err)
	}
	if n := segmentFiles(t, s); n != segsBefore {
		t.Errorf("trimming one of two shards written together deleted segments: %d → %d", segsBefore, n)
	}
	if err := s.Trim(t.Context(), refs[1], 1<<62); err != nil {
		t.Fatal(err)
	}
	if n := segmentFiles(t, s); n != 1 {
		t.Errorf("%d segments after trimming everything, want 1 (the one being written)", n)
	}
	for range refs { // one compaction per shard, unless the two requests were taken together
		select {
		case err := <-compacted:
			if err != nil {
				t.Fatalf("compaction: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("no compaction 30s after the trims")
		}
	}
	after := s.db.Metrics()
	t.Logf("segments %d → %d (%d → %d bytes); tables %d → %d bytes", segsBefore, segmentFiles(t, s),
		diskBefore, s.records.size(), before.Total().TablesSize, after.Total().TablesSize)
	if s.records.size() > 256<<10 {
		t.Errorf("the record log takes %d bytes after trimming everything, more than a segment", s.records.size())
	}
	if after.Total().TablesSize > before.Total().TablesSize {
		t.Errorf("tables grew from %d to %d bytes over trim and compaction", before.Total().TablesSize, after.Total().TablesSize)
	}

	// Segments nothing points into (a crash between a Trim's commit and the deletion) go at Open.
	appendSized(t, s, refs[0], 200, 4<<10)
	if err := s.DropStream(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	stray := s.fs.PathJoin(dir, logDirName, segmentName(1000))
	writeFile(t, s.fs, stray, []byte("nobody points here"))
	s = mustOpen(t, opts)
	if n := segmentFiles(t, s); n != 1 {
		t.Errorf("%d segments after reopening a store with nothing in it, want 1", n)
	}
}
