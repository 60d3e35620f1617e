package pebble

import (
	"errors"
	"testing"

	"kinesisd/internal/storage"
	"kinesisd/internal/storage/storagetest"
)

// TestOffsetAppender runs the storage.OffsetAppender contract in memory, with a time-index interval
// small enough that AppendAt writes checkpoints inside its spans, and across restarts on disk.
func TestOffsetAppender(t *testing.T) {
	for _, every := range []uint64{0, 3} {
		t.Run(map[uint64]string{0: "DefaultIndex", 3: "SmallIndex"}[every], func(t *testing.T) {
			storagetest.RunOffsetAppender(t,
				func(t *testing.T) storage.Store { return mustOpen(t, Options{InMemory: true, indexEvery: every}) },
				func(t *testing.T, dir string) storage.Store {
					s, err := Open(Options{Dir: dir, Logger: testLogger(t), indexEvery: every})
					if err != nil {
						t.Fatal(err)
					}
					return s
				})
		})
	}
}

// TestOpenLocked: a second Open of a directory in use fails with ErrLocked, which names the cause.
func TestOpenLocked(t *testing.T) {
	dir := t.TempDir()
	mustOpen(t, Options{Dir: dir})
	_, err := Open(Options{Dir: dir})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open = %v, want ErrLocked", err)
	}
}
