package pebble

import (
	"math/rand/v2"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"kinesisd/internal/storage"
	"kinesisd/internal/storage/storagetest"
)

// TestCrash appends from several goroutines on a crashable in-memory file system, takes a crash clone
// while the appends go on (the clone keeps what was synced and drops, or keeps only some of, the rest),
// reopens on the clone, and counts the acknowledged records that are not there exactly once, as
// acknowledged. The synced engine must lose none; the same test with NoSync must lose some, which
// shows that the test can see a missing fsync.
func TestCrash(t *testing.T) {
	tests := []struct {
		name     string
		noSync   bool
		limit    int // records the load stops after (0: it runs on through the crash)
		crashAt  int // records acknowledged when the crash clone is taken
		unsynced int // percentage of unsynced data the clone keeps
		wantLoss bool
	}{
		// The clone is taken while the appends go on, after several memtable rotations.
		{"Synced", false, 0, 3000, 0, false},
		{"SyncedTornTail", false, 0, 3000, 50, false},
		// The load stops well inside the first memtable (whose rotation would sync the WAL), so that
		// every record acknowledged without fsync is still unsynced at the crash.
		{"NoSync", true, 300, 300, 0, true},
	}
	shards := []storage.ShardRef{{StreamID: 7, Shard: 0}, {StreamID: 7, Shard: 1}, {StreamID: 8, Shard: 0}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := vfs.NewCrashableMem()
			s := mustOpen(t, Options{Dir: "db", FS: fs, NoSync: tt.noSync})
			load := storagetest.StartLoad(t, s, shards, 8, tt.limit)
			if err := load.WaitAcked(tt.crashAt); err != nil {
				t.Fatalf("load: %v", err)
			}
			acked := load.Acked() // every one of these returned before the crash below began
			crashed := fs.CrashClone(vfs.CrashCloneCfg{
				UnsyncedDataPercent: tt.unsynced,
				RNG:                 rand.New(rand.NewPCG(uint64(len(acked)), 1)),
			})
			if err := load.Stop(); err != nil {
				t.Fatalf("load: %v", err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}

			s = mustOpen(t, Options{Dir: "db", FS: crashed})
			lost, err := storagetest.Lost(t.Context(), s, acked)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d acknowledged records, %d lost", len(acked), len(lost))
			if tt.wantLoss {
				if len(lost) == 0 {
					t.Fatal("the engine that skips fsync lost nothing: the crash test cannot tell a missing fsync")
				}
				return
			}
			for i, l := range lost {
				if i == 5 {
					t.Errorf("… and %d more", len(lost)-5)
					break
				}
				t.Errorf("lost: shard %v offset %d %q", l.Shard, l.Record.Offset, l.Record.Data[:20])
			}

			// Offsets keep increasing past everything acknowledged before the crash.
			top := map[storage.ShardRef]uint64{}
			for _, a := range acked {
				top[a.Shard] = max(top[a.Shard], a.Record.Offset)
			}
			for ref, last := range top {
				rs := []storage.Record{{ArrivalMilli: 1, PartitionKey: "k", Data: []byte("after the crash")}}
				if err := s.Append(t.Context(), []storage.Append{{Shard: ref, Records: rs}}); err != nil {
					t.Fatal(err)
				}
				if rs[0].Offset <= last {
					t.Errorf("shard %v: offset after the crash %d, acknowledged before it up to %d", ref, rs[0].Offset, last)
				}
			}
		})
	}
}
