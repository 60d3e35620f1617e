package jetstream

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"kinesisd/internal/storage"
	"kinesisd/internal/storage/jetstream/natstest"
	"kinesisd/internal/storage/storagetest"
)

// TestClusterConformance runs the storage contract on a 3-node cluster with replicas 3, each store
// under its own prefix, connected to every node (the client picks one).
func TestClusterConformance(t *testing.T) {
	natstest.SkipUnlessCluster(t)
	c := natstest.StartCluster(t, t.TempDir(), 3, natstest.Options{})
	storagetest.Run(t, func(t *testing.T) storage.Store {
		s := mustOpen(t, Options{URL: c.URL(), Prefix: newPrefix(), AckTimeout: 30 * time.Second})
		if s.replicas != 3 {
			t.Fatalf("store on a cluster chose %d replicas, want 3", s.replicas)
		}
		return s
	})
}

// TestClusterReadsSeeAcknowledged: with a load keeping the replicas busy, a record one store had
// acknowledged is at once readable through every store, each connected to another node (Read,
// OffsetAtTime, and the time index's last record), however far behind the replica answering its direct
// gets is.
func TestClusterReadsSeeAcknowledged(t *testing.T) {
	natstest.SkipUnlessCluster(t)
	c := natstest.StartCluster(t, t.TempDir(), 3, natstest.Options{})
	prefix := newPrefix()
	var stores []*Store
	for _, srv := range c.Servers {
		stores = append(stores, mustOpen(t, Options{URL: srv.ClientURL(), Prefix: prefix, AckTimeout: 30 * time.Second}))
	}
	ref := storage.ShardRef{StreamID: 7, Shard: 0}
	load := storagetest.StartLoad(t, stores[1], []storage.ShardRef{{StreamID: 7, Shard: 1}, {StreamID: 7, Shard: 2}}, 4, 0)
	defer load.Stop()
	if err := load.WaitAcked(100); err != nil {
		t.Fatal(err)
	}
	for i := range 120 {
		rs := []storage.Record{rec("x", 10, int64(1000+i))}
		if err := stores[i%3].Append(t.Context(), []storage.Append{{Shard: ref, Records: rs}}); err != nil {
			t.Fatal(err)
		}
		for j, r := range stores {
			got, err := r.Read(t.Context(), ref, rs[0].Offset, 10, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Offset != rs[0].Offset {
				t.Fatalf("append %d through store %d: store %d reads offsets %v from %d", i, i%3, j, offsets(got), rs[0].Offset)
			}
			if off, err := r.OffsetAtTime(t.Context(), ref, time.UnixMilli(int64(1000+i))); err != nil || off != rs[0].Offset {
				t.Fatalf("append %d: store %d: OffsetAtTime = %d, %v; want %d", i, j, off, err, rs[0].Offset)
			}
		}
	}
	if err := load.Stop(); err != nil {
		t.Fatal(err)
	}
}

// TestClusterListSeesAcknowledged: documents one store put are at once listed by stores connected to
// other nodes, on buckets created a moment before (whose replicas lag the most), however far behind
// the replica serving the listing's watch is.
func TestClusterListSeesAcknowledged(t *testing.T) {
	natstest.SkipUnlessCluster(t)
	c := natstest.StartCluster(t, t.TempDir(), 3, natstest.Options{})
	ctx := t.Context()
	for round := range 10 {
		prefix := newPrefix()
		var stores []*Store
		for _, srv := range c.Servers {
			stores = append(stores, mustOpen(t, Options{URL: srv.ClientURL(), Prefix: prefix, AckTimeout: 30 * time.Second}))
		}
		var want []string
		for i := range 5 {
			key := fmt.Sprintf("stream/s%d", i)
			if _, err := stores[round%3].PutMeta(ctx, key, []byte("doc"), 0); err != nil {
				t.Fatal(err)
			}
			want = append(want, key)
		}
		if err := stores[round%3].DeleteMeta(ctx, "stream/s0", 1); err != nil {
			t.Fatal(err)
		}
		want = want[1:]
		for j, s := range stores {
			list, err := s.ListMeta(ctx, "stream/")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range list {
				got = append(got, e.Key)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("round %d: store %d lists %v right after store %d put %v", round, j, got, round%3, want)
			}
		}
	}
}
