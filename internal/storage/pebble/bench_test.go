package pebble

import (
	"crypto/rand"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kinesisd/internal/storage"
)

// benchBatch builds one PutRecords-shaped call: n records of size random bytes spread over shards.
// Random, as `kinesisd bench` sends: data that compresses (a repeated pattern) makes flushes write a
// fraction of the bytes and the engine look twice as fast as it is.
func benchBatch(n, size, shards int, tag string) []storage.Append {
	apps := make([]storage.Append, shards)
	data := make([]byte, n*size)
	rand.Read(data)
	for i := range n {
		a := &apps[i%shards]
		a.Shard = storage.ShardRef{StreamID: 1, Shard: uint32(i % shards)}
		a.Records = append(a.Records, storage.Record{PartitionKey: fmt.Sprintf("%s-%d", tag, i), Data: data[i*size : (i+1)*size]})
	}
	return apps
}

// BenchmarkAppend: calls of 500 records × 1 KiB over 4 shards from 8 goroutines, synced, on disk: the
// engine-alone ceiling of the PutRecords load. Run it for long enough (-benchtime=15s) that
// memtables flush and the page cache stops absorbing the writes.
func BenchmarkAppend(b *testing.B) {
	const records, size, shards, goroutines = 500, 1 << 10, 4, 8
	s, err := Open(Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	calls := make([][]storage.Append, goroutines)
	for g := range calls {
		calls[g] = benchBatch(records, size, shards, fmt.Sprint(g))
	}
	b.SetBytes(records * size)
	b.ReportAllocs()
	b.ResetTimer()
	var next atomic.Int64
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			apps := calls[g]
			for next.Add(1) <= int64(b.N) {
				now := time.Now().UnixMilli()
				for i := range apps {
					for j := range apps[i].Records {
						apps[i].Records[j].ArrivalMilli = now
					}
				}
				if err := s.Append(b.Context(), apps); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N*records)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkRead: GetRecords-shaped reads of up to 1000 records × 1 KiB from one shard, on disk.
func BenchmarkRead(b *testing.B) {
	b.Run("fresh", func(b *testing.B) { benchmarkRead(b, false) })
	b.Run("lent", func(b *testing.B) { benchmarkRead(b, true) })
}

// benchmarkRead reads 1,000 records of 1 KiB a call, with Read or (lent) ReadLent and release.
func benchmarkRead(b *testing.B, lent bool) {
	const total, size, perRead = 50_000, 1 << 10, 1000
	s, err := Open(Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ref := storage.ShardRef{StreamID: 1, Shard: 0}
	for range total / 500 {
		if err := s.Append(b.Context(), benchBatch(500, size, 1, "r")); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.db.Flush(); err != nil { // read from sstables and blob files, not the memtable
		b.Fatal(err)
	}
	b.SetBytes(perRead * size)
	b.ReportAllocs()
	b.ResetTimer()
	from := uint64(0)
	for range b.N {
		var rs []storage.Record
		release := func() {}
		if lent {
			rs, release, err = s.ReadLent(b.Context(), ref, from, perRead, 10<<20)
		} else {
			rs, err = s.Read(b.Context(), ref, from, perRead, 10<<20)
		}
		if err != nil || len(rs) != perRead {
			b.Fatalf("Read = %d records, %v", len(rs), err)
		}
		release()
		if from += perRead; from+perRead > total {
			from = 0
		}
	}
	b.ReportMetric(float64(b.N*perRead)/b.Elapsed().Seconds(), "records/s")
}
