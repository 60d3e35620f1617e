package pebble

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"kinesisd/internal/storage"
	"kinesisd/internal/storage/storagetest"
)

// hangTimeout bounds every call of the fault tests: a call still running then is a hang.
const hangTimeout = 20 * time.Second

// within runs f and fails the test if it has not returned within hangTimeout.
func within[T any](t *testing.T, what string, f func() T) T {
	t.Helper()
	ch := make(chan T, 1)
	go func() { ch <- f() }()
	select {
	case v := <-ch:
		return v
	case <-time.After(hangTimeout):
		t.Fatalf("%s still running after %s: it hangs", what, hangTimeout)
		panic("unreachable")
	}
}

// fatalRecorder is a Fatal hook that records its calls instead of exiting.
type fatalRecorder struct {
	mu   sync.Mutex
	errs []error
	ch   chan struct{}
}

func newFatalRecorder() *fatalRecorder { return &fatalRecorder{ch: make(chan struct{})} }

func (r *fatalRecorder) fatal(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, err)
	if len(r.errs) == 1 {
		close(r.ch)
	}
}

// TestFaults injects ENOSPC and EIO (Pebble's errorfs) into WAL writes, WAL syncs, the table and
// blob writes of memtable flushes, and the record log's segment writes and syncs while appends run: the Fatal hook is called, every call returns
// (none hangs), later writes fail, and after a restart on the file system as it was (a crash clone
// of what was synced) every append acknowledged before the fault is there.
func TestFaults(t *testing.T) {
	walFile := func(op errorfs.Op) bool { return strings.HasSuffix(op.Path, ".log") }
	segmentFile := func(op errorfs.Op) bool { return strings.HasSuffix(op.Path, segmentSuffix) }
	tableFile := func(op errorfs.Op) bool {
		return strings.HasSuffix(op.Path, ".sst") || strings.HasSuffix(op.Path, ".blob")
	}
	isWrite := func(op errorfs.Op) bool {
		return op.Kind == errorfs.OpFileWrite || op.Kind == errorfs.OpFileWriteAt || op.Kind == errorfs.OpFileFlush ||
			op.Kind == errorfs.OpCreate || op.Kind == errorfs.OpFilePreallocate
	}
	isSync := func(op errorfs.Op) bool {
		return op.Kind == errorfs.OpFileSync || op.Kind == errorfs.OpFileSyncData || op.Kind == errorfs.OpFileSyncTo
	}
	tests := []struct {
		name  string
		match func(op errorfs.Op) bool
		flush bool // the fault needs a flush to show
	}{
		{"WALWrite", func(op errorfs.Op) bool { return walFile(op) && isWrite(op) }, false},
		{"WALSync", func(op errorfs.Op) bool { return walFile(op) && isSync(op) }, false},
		{"TableWrite", func(op errorfs.Op) bool { return tableFile(op) && (isWrite(op) || isSync(op)) }, true},
		{"SegmentWrite", func(op errorfs.Op) bool { return segmentFile(op) && isWrite(op) }, false},
		{"SegmentSync", func(op errorfs.Op) bool { return segmentFile(op) && isSync(op) }, false},
	}
	for _, tt := range tests {
		for _, errno := range []syscall.Errno{syscall.ENOSPC, syscall.EIO} {
			t.Run(fmt.Sprintf("%s/%s", tt.name, errno), func(t *testing.T) {
				t.Parallel()
				var on atomic.Bool
				mem := vfs.NewCrashableMem()
				fs := errorfs.Wrap(mem, errorfs.InjectorFunc(func(op errorfs.Op) error {
					if on.Load() && tt.match(op) {
						return &os.PathError{Op: "injected", Path: op.Path, Err: errno}
					}
					return nil
				}))
				rec := newFatalRecorder()
				s, err := Open(Options{Dir: "db", FS: fs, Logger: testLogger(t), Fatal: rec.fatal, flushFailAfter: 300 * time.Millisecond})
				if err != nil {
					t.Fatal(err)
				}
				shards := []storage.ShardRef{{StreamID: 1, Shard: 0}, {StreamID: 1, Shard: 1}}
				// A bounded load (about 3,000 records): the fault comes after 500, with appends in flight.
				load := storagetest.StartLoad(t, s, shards, 4, 3000)
				if err := load.WaitAcked(500); err != nil {
					t.Fatal(err)
				}
				on.Store(true)
				if tt.flush {
					if _, err := s.db.AsyncFlush(); err != nil {
						t.Logf("AsyncFlush: %v", err)
					}
				}
				select {
				case <-rec.ch:
				case <-time.After(hangTimeout):
					t.Fatalf("no call of the Fatal hook %s after the fault", hangTimeout)
				}
				crashed := mem.CrashClone(vfs.CrashCloneCfg{}) // what survives the process's exit
				acked := load.Acked()
				within(t, "the load's appends", load.Stop) // each one returned, some with an error
				if err := within(t, "Append after the failure", func() error {
					return s.Append(t.Context(), []storage.Append{{Shard: shards[0], Records: []storage.Record{{PartitionKey: "k", Data: []byte("x")}}}})
				}); err == nil {
					t.Error("Append after the failure succeeded")
				}
				if err := within(t, "Health", func() error { return s.Health(t.Context()) }); err == nil {
					t.Error("Health after the failure: nil")
				}
				rec.mu.Lock()
				t.Logf("Fatal: %v (%d acknowledged before)", rec.errs[0], len(acked))
				rec.mu.Unlock()
				// Close may fail (the WAL writer holds the error); it must not hang.
				within(t, "Close", s.Close)

				s = mustOpen(t, Options{Dir: "db", FS: crashed})
				lost, err := storagetest.Lost(t.Context(), s, acked)
				if err != nil {
					t.Fatal(err)
				}
				if len(lost) > 0 {
					t.Errorf("%d of %d acknowledged records lost, first %v offset %d", len(lost), len(acked), lost[0].Shard, lost[0].Record.Offset)
				}
			})
		}
	}
}

// TestFatalDefaultPanics: without a Fatal hook a commit that hits a WAL write error panics, as
// Pebble's Fatalf did before the hook existed.
func TestFatalDefaultPanics(t *testing.T) {
	var on atomic.Bool
	fs := errorfs.Wrap(vfs.NewMem(), errorfs.InjectorFunc(func(op errorfs.Op) error {
		if on.Load() && strings.HasSuffix(op.Path, ".log") && op.Kind == errorfs.OpFileWrite {
			return syscall.EIO
		}
		return nil
	}))
	s, err := Open(Options{Dir: "db", FS: fs, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	on.Store(true)
	defer func() {
		if r := recover(); r == nil {
			t.Error("no panic")
		}
	}()
	err = s.Append(t.Context(), []storage.Append{{Shard: storage.ShardRef{StreamID: 1}, Records: []storage.Record{{PartitionKey: "k", Data: []byte("x")}}}})
	t.Errorf("Append returned %v", err)
}
