package jetstream

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"kinesisd/internal/storage"
	"kinesisd/internal/storage/jetstream/natstest"
)

// TestSealAcrossFrontEnds: front-end a appends to a shard while front-end b, another process's store
// on the same server, seals it. Every record a had acknowledged lies below the end b got; a learns of
// the seal by itself (a *SealedError), and sealing through a returns the same end.
func TestSealAcrossFrontEnds(t *testing.T) {
	srv := natstest.Start(t, t.TempDir(), natstest.Options{})
	prefix := newPrefix()
	a := mustOpen(t, Options{URL: srv.ClientURL(), Prefix: prefix})
	b := mustOpen(t, Options{URL: srv.ClientURL(), Prefix: prefix})
	ctx := t.Context()
	ref := storage.ShardRef{StreamID: 9, Shard: 2}

	var mu sync.Mutex
	var acked []storage.Record
	refused := 0
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for c := 0; ; c++ {
				rs := []storage.Record{rec(fmt.Sprintf("w%d-%d", w, c), 8, 1), rec(fmt.Sprintf("x%d-%d", w, c), 8, 1)}
				err := a.Append(ctx, []storage.Append{{Shard: ref, Records: rs}})
				mu.Lock()
				if err == nil {
					acked = append(acked, rs...)
				} else {
					refused++
				}
				mu.Unlock()
				if err != nil {
					if !errors.Is(err, storage.ErrSealed) {
						t.Errorf("Append: %v", err)
					}
					return
				}
			}
		})
	}
	time.Sleep(200 * time.Millisecond)
	end, err := b.Seal(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if again, err := a.Seal(ctx, ref); err != nil || again != end {
		t.Errorf("Seal through the other front-end = %d, %v; want %d", again, err, end)
	}
	if len(acked) == 0 || refused != 4 {
		t.Fatalf("%d records acknowledged, %d appends refused; want some and 4", len(acked), refused)
	}
	for _, r := range acked {
		if r.Offset >= end {
			t.Fatalf("acknowledged record at %d, at or past the end %d", r.Offset, end)
		}
	}
	visible := 0
	for _, r := range readAll(t, b, ref) {
		if r.Offset < end {
			visible++
		}
	}
	if visible != len(acked) {
		t.Errorf("%d records below the end, %d acknowledged", visible, len(acked))
	}
}

// TestSetRetention: the JetStream stream's MaxAge follows the retention period, a margin longer, from
// creation on and after a change, also when the stream already exists.
func TestSetRetention(t *testing.T) {
	srv := natstest.Start(t, t.TempDir(), natstest.Options{})
	s := mustOpen(t, Options{URL: srv.ClientURL(), Prefix: newPrefix()})
	ctx := t.Context()
	js := natstest.JetStream(t, srv.ClientURL())
	maxAge := func(id uint64) time.Duration {
		t.Helper()
		st, err := js.Stream(ctx, s.streamName(id))
		if err != nil {
			t.Fatal(err)
		}
		return st.CachedInfo().Config.MaxAge
	}
	if err := s.SetRetention(ctx, 1, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := maxAge(1); got != 25*time.Hour {
		t.Errorf("MaxAge after creation with 24 h = %v, want 25h", got)
	}
	if err := s.Append(ctx, []storage.Append{{Shard: storage.ShardRef{StreamID: 1}, Records: []storage.Record{rec("a", 4, 1)}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRetention(ctx, 1, 168*time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := maxAge(1); got != 169*time.Hour {
		t.Errorf("MaxAge after raising to 168 h = %v, want 169h", got)
	}
	// A stream first created by an Append, before any retention was set, gets it afterwards.
	if err := s.Append(ctx, []storage.Append{{Shard: storage.ShardRef{StreamID: 2}, Records: []storage.Record{rec("b", 4, 1)}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRetention(ctx, 2, 48*time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := maxAge(2); got != 49*time.Hour {
		t.Errorf("MaxAge of a stream created by an Append = %v, want 49h", got)
	}
}
