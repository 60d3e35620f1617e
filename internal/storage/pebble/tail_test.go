package pebble

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"kinesisd/internal/storage"
)

// tailStore opens an in-memory store whose tail cache keeps budget bytes.
func tailStore(t *testing.T, budget int64) *Store {
	t.Helper()
	s, err := Open(Options{InMemory: true, TailCache: budget})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// sameRecords reports how got differs from want ("" when it does not).
func sameRecords(got, want []storage.Record) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d records, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Offset != w.Offset || g.ArrivalMilli != w.ArrivalMilli || g.PartitionKey != w.PartitionKey || string(g.Data) != string(w.Data) {
			return fmt.Sprintf("record %d: offset %d pk %q %d bytes, want offset %d pk %q %d bytes",
				i, g.Offset, g.PartitionKey, len(g.Data), w.Offset, w.PartitionKey, len(w.Data))
		}
	}
	return ""
}

// TestTailCacheMatchesPebble: whatever the appends, trims, evictions and sparse AppendAt spans, a Read
// answers exactly what Pebble holds, and the reads at the end of the log come from the cache.
func TestTailCacheMatchesPebble(t *testing.T) {
	for _, budget := range []int64{-1, 8 << 10, 256 << 10, 0} {
		t.Run(fmt.Sprint("budget=", budget), func(t *testing.T) {
			ctx := context.Background()
			s := tailStore(t, budget)
			rng := rand.New(rand.NewPCG(1, uint64(budget)))
			refs := []storage.ShardRef{{StreamID: 1, Shard: 0}, {StreamID: 1, Shard: 1}}
			hits := 0
			// check compares a Read at from with Pebble's answer.
			check := func(step int, ref storage.ShardRef, from uint64) {
				t.Helper()
				next, _ := s.NextOffset(ctx, ref)
				maxRecords, maxBytes := 1+rng.IntN(60), 1+rng.IntN(8<<10)
				got, err := s.Read(ctx, ref, from, maxRecords, maxBytes)
				if err != nil {
					t.Fatal(err)
				}
				want, err := s.readDB(ctx, ref, from, next, maxRecords, maxBytes, nil)
				if err != nil {
					t.Fatal(err)
				}
				if d := sameRecords(got, want); d != "" {
					t.Fatalf("step %d: Read(%d, %d, %d) with the watermark at %d: %s", step, from, maxRecords, maxBytes, next, d)
				}
				sh := s.getShard(ref)
				sh.mu.Lock()
				if sh.tail != nil {
					if _, ok := sh.tail.read(from, maxRecords, maxBytes); ok {
						hits++
					}
				}
				sh.mu.Unlock()
			}
			for step := range 600 {
				ref := refs[rng.IntN(len(refs))]
				switch op := rng.IntN(20); {
				case op < 12:
					recs := make([]storage.Record, 1+rng.IntN(40))
					for i := range recs {
						recs[i] = storage.Record{ArrivalMilli: int64(step), PartitionKey: fmt.Sprint("pk", step, i),
							Data: []byte(fmt.Sprintf("%d-%d-%s", step, i, make([]byte, rng.IntN(300))))}
					}
					if err := s.Append(ctx, []storage.Append{{Shard: ref, Records: recs}}); err != nil {
						t.Fatal(err)
					}
					for i := range recs { // Append must have copied: the caller recycles its buffers
						clear(recs[i].Data)
					}
				case op == 12:
					next, _ := s.NextOffset(ctx, ref)
					recs := []storage.Record{{Offset: next + 3, ArrivalMilli: int64(step), PartitionKey: "at", Data: []byte("sparse")}}
					if err := s.AppendAt(ctx, ref, recs, next+10); err != nil {
						t.Fatal(err)
					}
				case op == 13:
					next, _ := s.NextOffset(ctx, ref)
					before := uint64(rng.Int64N(int64(next) + 1))
					if err := s.Trim(ctx, ref, before); err != nil {
						t.Fatal(err)
					}
					check(step, ref, before-min(before, uint64(rng.IntN(4)))) // just below the floor
				default:
					next, _ := s.NextOffset(ctx, ref)
					from := uint64(rng.Int64N(int64(next) + 2))
					if rng.IntN(2) == 0 && next > 5 {
						from = next - uint64(rng.IntN(5)) // near the end, where the cache answers
					}
					check(step, ref, from)
				}
			}
			if budget >= 0 && hits == 0 {
				t.Error("no read came from the tail cache")
			}
			if budget > 0 {
				s.tailBudget.mu.Lock()
				used := s.tailBudget.used
				s.tailBudget.mu.Unlock()
				if used > budget {
					t.Errorf("tail cache holds %d bytes, budget %d", used, budget)
				}
			}
		})
	}
}

// TestTailCacheConcurrent: appenders and readers on one shard at once; every read is a run of
// consecutive offsets holding what was appended there, from the cache or not (run with -race).
func TestTailCacheConcurrent(t *testing.T) {
	ctx := context.Background()
	s := tailStore(t, 64<<10)
	ref := storage.ShardRef{StreamID: 7, Shard: 0}
	const writers, calls, per = 4, 60, 25
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range calls {
				recs := make([]storage.Record, per)
				for i := range recs {
					recs[i] = storage.Record{ArrivalMilli: 1, PartitionKey: "k", Data: fmt.Appendf(nil, "w%d-c%d-r%d", w, c, i)}
				}
				if err := s.Append(ctx, []storage.Append{{Shard: ref, Records: recs}}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	var readers sync.WaitGroup
	for range 2 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			var from uint64
			for {
				select {
				case <-done:
					return
				default:
				}
				recs, err := s.Read(ctx, ref, from, 100, 1<<20)
				if err != nil {
					t.Error(err)
					return
				}
				for i, r := range recs {
					if r.Offset != from+uint64(i) {
						t.Errorf("read from %d: record %d at offset %d", from, i, r.Offset)
						return
					}
					// Each call's records are consecutive: rN follows rN-1 of the same call.
					var w, c, n int
					if _, err := fmt.Sscanf(string(r.Data), "w%d-c%d-r%d", &w, &c, &n); err != nil {
						t.Errorf("offset %d holds %q", r.Offset, r.Data)
						return
					}
				}
				from += uint64(len(recs))
			}
		}()
	}
	wg.Wait()
	close(done)
	readers.Wait()
	all, err := s.readDB(ctx, ref, 0, writers*calls*per, writers*calls*per, 1<<30, nil)
	if err != nil {
		t.Fatal(err)
	}
	cached, err := s.Read(ctx, ref, uint64(len(all)-per), per, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if d := sameRecords(cached, all[len(all)-per:]); d != "" {
		t.Fatalf("the last call's records: %s", d)
	}
	if !slices.IsSortedFunc(all, func(a, b storage.Record) int { return int(a.Offset) - int(b.Offset) }) || len(all) != writers*calls*per {
		t.Fatalf("%d records in Pebble, want %d", len(all), writers*calls*per)
	}
}

// TestTailCacheOnlyWhileRead: a shard nobody reads is not cached (its appends cost no copy); a read
// starts the caching of what follows, and tailIdle without reads stops it again.
func TestTailCacheOnlyWhileRead(t *testing.T) {
	ctx := context.Background()
	s := tailStore(t, 0)
	ref := storage.ShardRef{StreamID: 3}
	put := func() {
		t.Helper()
		if err := s.Append(ctx, []storage.Append{{Shard: ref, Records: []storage.Record{{PartitionKey: "k", Data: make([]byte, 1000)}}}}); err != nil {
			t.Fatal(err)
		}
	}
	used := func() uint64 { return s.tailBudget.usedBytes() }
	put()
	if used() != 0 {
		t.Fatalf("a shard never read holds %d bytes in the tail cache", used())
	}
	if _, err := s.NextOffset(ctx, ref); err != nil { // a reader arrives at the tip (GetShardIterator LATEST)
		t.Fatal(err)
	}
	put()
	if used() == 0 {
		t.Fatal("a read shard's new records are not cached")
	}
	if recs, err := s.Read(ctx, ref, 1, 10, 1<<20); err != nil || len(recs) != 1 || s.cachedReads.Load() != 1 {
		t.Fatalf("Read at the tip: %d records, %v, %d cached reads", len(recs), err, s.cachedReads.Load())
	}
	s.getShard(ref).readAt.Add(-int64(tailIdle)) // no read for tailIdle
	put()
	if used() != 0 {
		t.Fatalf("after tailIdle without reads the cache still holds %d bytes", used())
	}
	if recs, err := s.Read(ctx, ref, 0, 10, 1<<20); err != nil || len(recs) != 3 {
		t.Fatalf("Read from the start: %d records, %v", len(recs), err)
	}
}
