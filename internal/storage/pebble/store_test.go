package pebble

import (
	"errors"
	"log/slog"
	"testing"

	"kinesisd/internal/storage"
	"kinesisd/internal/storage/storagetest"
)

// testLogger logs warnings and errors into the test's output.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func mustOpen(t *testing.T, opts Options) *Store {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	s, err := Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, storage.ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// TestConformance runs the storage contract on disk, in memory, and with a time-index interval small
// enough that OffsetAtTime crosses many checkpoints.
func TestConformance(t *testing.T) {
	tests := []struct {
		name string
		opts func(t *testing.T) Options
	}{
		{"Disk", func(t *testing.T) Options { return Options{Dir: t.TempDir()} }},
		{"InMemory", func(t *testing.T) Options { return Options{InMemory: true} }},
		{"InMemorySmallIndex", func(t *testing.T) Options { return Options{InMemory: true, indexEvery: 3} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storagetest.Run(t, func(t *testing.T) storage.Store { return mustOpen(t, tt.opts(t)) })
		})
	}
}

// TestReopen runs the restart part of the contract on disk, with the default and a small time index.
func TestReopen(t *testing.T) {
	for _, every := range []uint64{0, 2} {
		t.Run(map[uint64]string{0: "DefaultIndex", 2: "SmallIndex"}[every], func(t *testing.T) {
			storagetest.RunReopen(t, func(t *testing.T, dir string) storage.Store {
				return mustOpen(t, Options{Dir: dir, indexEvery: every})
			})
		})
	}
}

func TestOpenNeedsDir(t *testing.T) {
	if _, err := Open(Options{}); err == nil {
		t.Fatal("Open without Dir, InMemory or FS succeeded")
	}
}

// TestMetaVersionsNeverReused: after delete and re-create, a version of the old document conflicts.
func TestMetaVersionsNeverReused(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s := mustOpen(t, Options{Dir: dir})
	v1, err := s.PutMeta(ctx, "k", []byte("old"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMeta(ctx, "k", v1); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, Options{Dir: dir})
	v2, err := s.PutMeta(ctx, "k", []byte("new"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if v2 <= v1 {
		t.Errorf("version after delete, reopen and re-create = %d, not above %d", v2, v1)
	}
	if _, err := s.PutMeta(ctx, "k", []byte("stale writer"), v1); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("PutMeta with the deleted document's version = %v, want ErrConflict", err)
	}
}

// TestVisibility drives the per-shard watermark directly: spans finishing out of order become visible
// only once every lower span has finished, failed spans included.
func TestVisibility(t *testing.T) {
	type step struct {
		finish      int    // index of the span to finish
		wantVisible uint64 // watermark after it
		wantWake    bool   // whether a waiter is woken
	}
	tests := []struct {
		name  string
		spans []int // sizes, claimed in order
		steps []step
	}{
		{"in order", []int{2, 3, 1}, []step{{0, 2, true}, {1, 5, true}, {2, 6, true}}},
		{"reverse", []int{2, 3, 1}, []step{{2, 0, false}, {1, 0, false}, {0, 6, true}}},
		{"middle first", []int{1, 1, 1, 1}, []step{{1, 0, false}, {0, 2, true}, {3, 2, false}, {2, 4, true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sh := &shard{loaded: true, maxArr: noArrival}
			var starts []uint64
			sh.mu.Lock()
			for _, n := range tt.spans {
				start, _, _ := sh.claimLocked(n, 0, 1<<20)
				starts = append(starts, start)
			}
			if v := sh.visibleLocked(); v != 0 {
				t.Fatalf("watermark %d with every span pending", v)
			}
			sh.mu.Unlock()
			for _, st := range tt.steps {
				ch := sh.waitChan()
				sh.finish(starts[st.finish], nil)
				sh.mu.Lock()
				v := sh.visibleLocked()
				sh.mu.Unlock()
				if v != st.wantVisible {
					t.Errorf("after finishing span %d: watermark %d, want %d", st.finish, v, st.wantVisible)
				}
				select {
				case <-ch:
					if !st.wantWake {
						t.Errorf("after finishing span %d: waiter woken, watermark did not move", st.finish)
					}
				default:
					if st.wantWake {
						t.Errorf("after finishing span %d: waiter not woken", st.finish)
					}
				}
			}
		})
	}
}
