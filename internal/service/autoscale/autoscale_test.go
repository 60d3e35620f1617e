// Package autoscale_test checks from outside when a shard is reported hot, and again after a split attempt.
package autoscale_test

import (
	"testing"
	"time"

	"kinesisd/internal/clock"
	"kinesisd/internal/service/autoscale"
	"kinesisd/internal/storage"
)

// With a 60 s window and 1000 records or 1 MiB a second per shard, a shard is hot above 48,000 records
// or 50,331,648 bytes in the window; buckets are 1 s wide.
var cfg = autoscale.Config{Window: time.Minute, RecordsPerSecond: 1000, BytesPerSecond: 1 << 20}

const (
	maxRecords = 48_000     // 0.8 · 1000 · 60
	maxBytes   = 50_331_648 // 0.8 · 2^20 · 60
)

// start is a whole second: bucket boundaries fall on the clock's seconds.
var start = time.Unix(1_700_000_000, 0)

func ref(i uint32) storage.ShardRef { return storage.ShardRef{StreamID: 7, Shard: i} }

// TestHotOnce: Note reports a shard hot exactly when its total over the window passes 80% of capacity,
// in records or in bytes, and only once while the split attempt is under way; shards are counted apart.
func TestHotOnce(t *testing.T) {
	for _, tc := range []struct {
		name                     string
		records, bytes           int64 // first Note: exactly the threshold
		extraRecords, extraBytes int64 // second Note: one more passes it
	}{
		{"records", maxRecords, 0, 1, 0},
		{"bytes", 1, maxBytes, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := clock.NewFake(start)
			l := autoscale.New(cfg)
			if l.Note(ref(0), tc.records, tc.bytes, clk.Now()) {
				t.Fatal("hot at exactly 80% of capacity")
			}
			if l.Note(ref(1), tc.records, tc.bytes, clk.Now()) {
				t.Fatal("shard 1 hot at exactly 80% of capacity")
			}
			clk.Advance(10 * time.Second)
			if !l.Note(ref(0), tc.extraRecords, tc.extraBytes, clk.Now()) {
				t.Fatal("not hot past 80% of capacity")
			}
			for range 3 {
				clk.Advance(time.Second)
				if l.Note(ref(0), 1000, 1<<20, clk.Now()) {
					t.Fatal("hot again while the split attempt is under way")
				}
			}
			if !l.Note(ref(1), tc.extraRecords, tc.extraBytes, clk.Now()) {
				t.Fatal("shard 1 not hot past 80% of capacity (shard 0's attempt must not hold it)")
			}
		})
	}
}

// TestDoneClosed: after Done(closed=true) the shard's count starts again from zero, and the shard is
// reported hot again, once, when the new count passes the threshold.
func TestDoneClosed(t *testing.T) {
	clk := clock.NewFake(start)
	l := autoscale.New(cfg)
	if !l.Note(ref(0), maxRecords+1, 0, clk.Now()) {
		t.Fatal("not hot")
	}
	l.Done(ref(0), true, clk.Now())
	if l.Note(ref(0), 1, 0, clk.Now()) {
		t.Fatal("hot right after Done(closed): the old count was kept")
	}
	if l.Note(ref(0), maxRecords-1, 0, clk.Now()) {
		t.Fatal("hot at exactly the threshold of the new count")
	}
	if !l.Note(ref(0), 1, 0, clk.Now()) {
		t.Fatal("not hot when the new count passes the threshold")
	}
	if l.Note(ref(0), 1, 0, clk.Now()) {
		t.Fatal("hot twice")
	}
}

// TestDoneFailedRetry: after Done(closed=false) the count is kept, and a hot shard is reported again only
// once a tenth of the window (6 s) has passed since Done.
func TestDoneFailedRetry(t *testing.T) {
	clk := clock.NewFake(start)
	l := autoscale.New(cfg)
	if !l.Note(ref(0), maxRecords+1, 0, clk.Now()) {
		t.Fatal("not hot")
	}
	clk.Advance(2 * time.Second)
	l.Done(ref(0), false, clk.Now())
	if l.Note(ref(0), 1, 0, clk.Now()) {
		t.Fatal("hot again at the failure")
	}
	clk.Advance(6*time.Second - time.Millisecond)
	if l.Note(ref(0), 1, 0, clk.Now()) {
		t.Fatal("hot again 1 ms before a tenth of the window after the failure")
	}
	clk.Advance(time.Millisecond)
	if !l.Note(ref(0), 1, 0, clk.Now()) {
		t.Fatal("not hot again a tenth of the window after the failure (the count must be kept)")
	}
	if l.Note(ref(0), 1, 0, clk.Now()) {
		t.Fatal("hot twice after the retry started")
	}
}

// TestWindowSlides: a bucket counts until the window has passed over it: records of second s count at
// s+59.999 s and no longer at s+60 s.
func TestWindowSlides(t *testing.T) {
	clk := clock.NewFake(start)
	l := autoscale.New(cfg)
	for _, sh := range []uint32{0, 1} {
		if l.Note(ref(sh), 40_000, 0, clk.Now()) {
			t.Fatal("hot below the threshold")
		}
	}
	if !l.Note(ref(0), 8_001, 0, clk.Now().Add(time.Minute-time.Millisecond)) {
		t.Fatal("records of the window's first bucket left it early")
	}
	if l.Note(ref(1), 8_001, 0, clk.Now().Add(time.Minute)) {
		t.Fatal("records older than the window still count")
	}

	// Several buckets: each leaves in turn.
	l = autoscale.New(cfg)
	for i := range 60 {
		if l.Note(ref(2), 800, 0, clk.Now().Add(time.Duration(i)*time.Second)) { // 48,000 over 60 s
			t.Fatalf("hot at second %d", i)
		}
	}
	// At 60 s the bucket of second 0 leaves: 47,200 + 800 = 48,000, still not above.
	if l.Note(ref(2), 800, 0, clk.Now().Add(60*time.Second)) {
		t.Fatal("hot at 60 s: the bucket of second 0 did not leave")
	}
	if !l.Note(ref(2), 1, 0, clk.Now().Add(60*time.Second)) {
		t.Fatal("not hot at 48,001 records in the window")
	}
}
