package storagetest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kinesisd/internal/storage"
)

// testConcurrentAppends: writers append to the same shards at once while a follower per shard reads
// the log as it grows. Every record must be stored exactly once at the offset Append gave it, offsets
// strictly increase, and the followers must never have skipped a record: once a follower has read up to
// offset X, no record below X may show up later (a gap being filled after the fact).
func testConcurrentAppends(t *testing.T, s storage.Store) {
	const writers, calls = 8, 40
	refs := []storage.ShardRef{shardRef(1, 0), shardRef(1, 1), shardRef(1, 2)}
	ctx := t.Context()

	var writing sync.WaitGroup
	var done atomic.Bool
	acked := make([][]storage.Append, writers)
	for w := range writers {
		writing.Go(func() {
			for c := range calls {
				var apps []storage.Append
				for i, ref := range refs {
					if (w+c+i)%4 == 3 { // not every call touches every shard
						continue
					}
					rs := make([]storage.Record, 1+(w+c+i)%4)
					for j := range rs {
						rs[j] = rec(fmt.Sprintf("w%d-c%d-s%d-r%d|", w, c, i, j), 24, int64(c))
					}
					apps = append(apps, storage.Append{Shard: ref, Records: rs})
				}
				if err := s.Append(ctx, apps); err != nil {
					t.Errorf("writer %d: Append: %v", w, err)
					return
				}
				acked[w] = append(acked[w], apps...)
			}
		})
	}

	type follower struct {
		seen   map[uint64]string // offset → data
		cursor uint64            // everything below was read
	}
	followers := make([]follower, len(refs))
	var reading sync.WaitGroup
	for i, ref := range refs {
		f := &followers[i]
		f.seen = map[uint64]string{}
		reading.Go(func() {
			for {
				wake := s.Wait(ref)
				last := done.Load() // read once more after the writers are done
				got, err := s.Read(ctx, ref, f.cursor, 7, 1<<20)
				if err != nil {
					t.Errorf("follower %d: Read: %v", i, err)
					return
				}
				for _, r := range got {
					if r.Offset < f.cursor {
						t.Errorf("follower %d: Read(from %d) returned offset %d", i, f.cursor, r.Offset)
						return
					}
					f.seen[r.Offset] = string(r.Data)
					f.cursor = r.Offset + 1
				}
				switch {
				case len(got) > 0:
				case last:
					return
				default:
					select {
					case <-wake:
					case <-time.After(50 * time.Millisecond): // a missed wake-up is the Wait test's business
					}
				}
			}
		})
	}
	writing.Wait()
	done.Store(true)
	reading.Wait()
	if t.Failed() {
		return
	}

	want := map[storage.ShardRef][]storage.Record{}
	for _, apps := range acked {
		for _, a := range apps {
			want[a.Shard] = append(want[a.Shard], a.Records...)
		}
	}
	for i, ref := range refs {
		all := readAll(t, s, ref, 0)
		checkIncreasing(t, fmt.Sprintf("shard %d", i), all, 0)
		byOffset := map[uint64]storage.Record{}
		for _, r := range all {
			byOffset[r.Offset] = r
		}
		if len(all) != len(want[ref]) {
			t.Errorf("shard %d holds %d records, %d were appended", i, len(all), len(want[ref]))
		}
		for _, w := range want[ref] {
			if got, ok := byOffset[w.Offset]; !ok || !sameRecord(got, w) {
				t.Errorf("shard %d: record %q (offset %d) missing or different", i, w.Data[:10], w.Offset)
				break
			}
		}
		if n := mustNext(t, s, ref); len(all) > 0 && n <= all[len(all)-1].Offset {
			t.Errorf("shard %d: NextOffset %d not above the last offset %d", i, n, all[len(all)-1].Offset)
		}
		f := followers[i]
		for _, r := range all {
			if r.Offset >= f.cursor {
				break
			}
			if _, ok := f.seen[r.Offset]; !ok {
				t.Errorf("shard %d: offset %d appeared below offset %d, which the follower had already read past",
					i, r.Offset, f.cursor)
				break
			}
		}
		if len(f.seen) != len(all) {
			t.Errorf("shard %d: follower saw %d records, the log holds %d", i, len(f.seen), len(all))
		}
	}
}

// testWait: a channel from Wait closes at the next append to that shard, and the record is then
// readable; an append to another shard leaves it open.
func testWait(t *testing.T, s storage.Store) {
	ref := shardRef(1, 0)
	for i := range 3 {
		from := mustNext(t, s, ref)
		ch := s.Wait(ref)
		select {
		case <-ch:
			t.Fatalf("round %d: channel closed before any append", i)
		default:
		}
		mustAppend(t, s, shardRef(1, 1), rec("other", 5, int64(i)))
		select {
		case <-ch:
			t.Fatalf("round %d: channel closed by an append to another shard", i)
		default:
		}
		rs := mustAppend(t, s, ref, rec("n", 5, int64(i)))
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: channel not closed 10s after an append", i)
		}
		got, err := s.Read(t.Context(), ref, from, 10, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		checkRecords(t, "after wake-up", got, rs)
	}
}

// testClose: after Close every method answers ErrClosed, Close included.
func testClose(t *testing.T, s storage.Store) {
	ctx := t.Context()
	ref := shardRef(1, 0)
	mustAppend(t, s, ref, rec("c", 3, 1))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	calls := []struct {
		name string
		call func() error
	}{
		{"GetMeta", func() error { _, _, err := s.GetMeta(ctx, "k"); return err }},
		{"PutMeta", func() error { _, err := s.PutMeta(ctx, "k", nil, 0); return err }},
		{"DeleteMeta", func() error { return s.DeleteMeta(ctx, "k", 1) }},
		{"ListMeta", func() error { _, err := s.ListMeta(ctx, ""); return err }},
		{"Append", func() error { return s.Append(ctx, []storage.Append{{Shard: ref, Records: recs("x", 1, 1)}}) }},
		{"Read", func() error { _, err := s.Read(ctx, ref, 0, 10, 100); return err }},
		{"NextOffset", func() error { _, err := s.NextOffset(ctx, ref); return err }},
		{"OffsetAtTime", func() error { _, err := s.OffsetAtTime(ctx, ref, time.UnixMilli(0)); return err }},
		{"Trim", func() error { return s.Trim(ctx, ref, 1) }},
		{"DropStream", func() error { return s.DropStream(ctx, ref.StreamID) }},
		{"Close", s.Close},
	}
	for _, c := range calls {
		if err := c.call(); !errors.Is(err, storage.ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", c.name, err)
		}
	}
}
