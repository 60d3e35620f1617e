package jetstream

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kinesisd/internal/storage"
	"kinesisd/internal/storage/jetstream/natstest"
)

// benchBatch builds one PutRecords-shaped call: n records of size bytes spread over shards.
func benchBatch(n, size, shards int, tag string) []storage.Append {
	apps := make([]storage.Append, shards)
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i)
	}
	for i := range n {
		a := &apps[i%shards]
		a.Shard = storage.ShardRef{StreamID: 1, Shard: uint32(i % shards)}
		a.Records = append(a.Records, storage.Record{PartitionKey: fmt.Sprintf("%s-%d", tag, i), Data: data})
	}
	return apps
}

// BenchmarkAppend: calls of records × 1 KiB over 4 shards from 8 goroutines, on one in-process
// nats-server (no fsync per write: JetStream's default sync interval).
func BenchmarkAppend(b *testing.B) {
	for _, records := range []int{1, 500} {
		b.Run(fmt.Sprint(records), func(b *testing.B) {
			const size, shards, goroutines = 1 << 10, 4, 8
			srv := natstest.Start(b, b.TempDir(), natstest.Options{})
			s, err := Open(b.Context(), Options{URL: srv.ClientURL()})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			calls := make([][]storage.Append, goroutines)
			for g := range calls {
				calls[g] = benchBatch(records, size, min(shards, records), fmt.Sprint(g))
			}
			b.SetBytes(int64(records * size))
			b.ReportAllocs()
			b.ResetTimer()
			var next atomic.Int64
			var wg sync.WaitGroup
			var slowest atomic.Int64
			for g := range goroutines {
				wg.Go(func() {
					apps := calls[g]
					for next.Add(1) <= int64(b.N) {
						start := time.Now()
						if err := s.Append(b.Context(), apps); err != nil {
							b.Error(err)
							return
						}
						if d := int64(time.Since(start)); d > slowest.Load() {
							slowest.Store(d)
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(b.N*records)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(slowest.Load())/1e6, "max-ms")
		})
	}
}
