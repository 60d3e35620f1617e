package pebble

import (
	"testing"

	"kinesisd/internal/storage"
)

// TestReadLent: ReadLent answers what Read answers; records stay intact while other lent reads come
// and go, until their own release; releasing twice is harmless; a failed ReadLent lends nothing.
func TestReadLent(t *testing.T) {
	ctx := t.Context()
	s, err := Open(Options{Dir: t.TempDir(), TailCache: -1}) // every read from the record log
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ref := storage.ShardRef{StreamID: 1, Shard: 0}
	for range 8 { // spans of 100 records of 2 KiB: entries large enough for the pool
		if err := s.Append(ctx, benchBatch(100, 2<<10, 1, "lend")); err != nil {
			t.Fatal(err)
		}
	}
	want := func(from uint64, n int) []storage.Record {
		t.Helper()
		recs, err := s.Read(ctx, ref, from, n, 10<<20)
		if err != nil || len(recs) != n {
			t.Fatalf("Read(%d, %d) = %d records, %v", from, n, len(recs), err)
		}
		return recs
	}
	lent := func(from uint64, n int) ([]storage.Record, func()) {
		t.Helper()
		recs, release, err := s.ReadLent(ctx, ref, from, n, 10<<20)
		if err != nil {
			t.Fatalf("ReadLent(%d, %d): %v", from, n, err)
		}
		if d := sameRecords(recs, want(from, n)); d != "" {
			t.Fatalf("ReadLent(%d, %d): %s", from, n, d)
		}
		return recs, release
	}
	a, releaseA := lent(0, 250)
	b, releaseB := lent(250, 250)
	held := want(250, 250)
	releaseA()
	releaseA()          // a second release gives nothing back twice
	for i := range 20 { // reads that reuse a's buffers (and each other's) must leave b alone
		from := uint64(i%4) * 150
		c, releaseC := lent(from, 300)
		heldC := want(from, 300)
		releaseA() // stale: c may have a's lender (lenders are pooled), which this must not take back
		d, releaseD := lent(500, 300)
		for j := range d {
			clear(d[j].Data)
		}
		releaseD()
		if diff := sameRecords(c, heldC); diff != "" {
			t.Fatalf("after a stale release and another lent read, a lent record changed: %s", diff)
		}
		for j := range c { // scribble on what comes back: the next reads must not see it
			clear(c[j].Data)
		}
		releaseC()
		if d := sameRecords(b, held); d != "" {
			t.Fatalf("after %d lent reads, a lent record not yet released changed: %s", i+1, d)
		}
	}
	releaseB()
	_ = a

	s.Close()
	if recs, release, err := s.ReadLent(ctx, ref, 0, 10, 10<<20); err == nil || recs != nil || release != nil {
		t.Fatalf("ReadLent on a closed store = %d records, release %v, %v; want an error and nothing", len(recs), release != nil, err)
	}
}
