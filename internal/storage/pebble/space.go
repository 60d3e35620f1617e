package pebble

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"kinesisd/internal/storage"
)

// defaultSpaceInterval is how often the free space of the data directory is read (one statfs). At
// the benchmark's write rate (about 64 MB/s into the WAL, as much again by flushes) a second of
// writes is well under the default reserve (256 MiB); Append also re-reads it early when its own
// bytes since the last reading could have used up the headroom, so that a burst does not run
// through the reserve between two ticks.
const defaultSpaceInterval = time.Second

// spaceWatcher is the disk reserve: it reads the free space of the data directory's file system
// (vfs.FS.GetDiskUsage, a statfs) every interval, and while it is below the reserve, Append and
// AppendAt refuse with storage.ErrNoSpace before writing anything, while reads, metadata writes, Trim
// and DropStream go on (the last two free space once compacted). Writes resume by themselves at the
// first reading above the reserve, within an interval of space coming back.
//
// Sizing the reserve. Appends are not the only writers of the disk: what the reserve must hold is
// what Pebble still writes after the last admitted Append, or the WAL write fails (Fatal):
//   - the WAL: Pebble preallocates each new WAL file (about a memtable's size plus the largest batch
//     in flight) and recycles up to memTableStopWrites+1 old ones, which keep their size; a recycled
//     file costs nothing new, a new one its preallocation;
//   - memtable flushes: each writes up to one memtable (32 MiB) of tables and blob files, and up to
//     memTableStopWrites (4) memtables may be waiting, 128 MiB in the worst case;
//   - compactions, which write their output before they delete their inputs (keys only here: values
//     stay in blob files, so they are small).
//
// So the reserve must cover at least one memtable flush plus a WAL file (about 64 MiB); the default,
// 256 MiB, covers the four memtables that may wait for a flush plus a WAL file and the free space
// other processes of the machine may take between two readings. The statfs figure is the space
// unprivileged writers may use (Bavail): on ext4, the 5% kept for root is not counted as free.
type spaceWatcher struct {
	s        *Store
	reserve  int64
	interval time.Duration

	free     atomic.Uint64 // bytes free at the last reading
	low      atomic.Bool   // the last reading was below the reserve
	headroom atomic.Int64  // free − reserve at the last reading
	since    atomic.Int64  // bytes Append admitted since the last reading
	refused  atomic.Uint64 // calls refused with ErrNoSpace

	unsupported atomic.Bool // the file system cannot tell its free space (an in-memory store)
	ready       atomic.Bool // init has run: poke may read
	mu          sync.Mutex  // serialises readings
}

func (w *spaceWatcher) init(s *Store, reserve int64, interval time.Duration) {
	w.s, w.reserve, w.interval = s, reserve, interval
	if w.interval <= 0 {
		w.interval = defaultSpaceInterval
	}
	w.read()
	w.ready.Store(true)
}

// poke reads the free space now: Pebble has just created a file (a new WAL file takes its whole
// preallocation, about 35 MiB, at once: at the start of a write burst, while memtables grow from
// 256 KiB to 32 MiB, it makes several within a second) or written a flush's output. Without it, a
// burst could run through a small reserve between two ticks (seen on a 384 MiB tmpfs with a 96 MiB
// reserve: 7 WAL files, 218 MiB, within the first second of load). Calls before init are ignored.
func (w *spaceWatcher) poke() {
	if w.ready.Load() && w.reserve > 0 {
		w.read()
	}
}

// loop reads the free space every interval until ctx ends.
func (w *spaceWatcher) loop(ctx context.Context, wg *sync.WaitGroup) {
	defer wg.Done()
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.read()
		}
	}
}

// read reads the free space now and updates the state; it logs when writes stop or resume.
func (w *spaceWatcher) read() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.unsupported.Load() {
		return
	}
	du, err := w.s.fs.GetDiskUsage(w.s.dir)
	if errors.Is(err, vfs.ErrUnsupported) {
		w.unsupported.Store(true)
		if w.reserve > 0 {
			w.s.log.Warn("the file system cannot tell its free space: no disk reserve", "dir", w.s.dir)
		}
		return
	}
	if err != nil {
		w.s.log.Warn("reading free disk space", "dir", w.s.dir, "err", err)
		return
	}
	w.free.Store(du.AvailBytes)
	w.since.Store(0)
	w.headroom.Store(int64(du.AvailBytes) - w.reserve)
	low := w.reserve > 0 && int64(du.AvailBytes) < w.reserve
	switch was := w.low.Swap(low); {
	case low && !was:
		w.s.log.Error("disk below reserve: refusing writes until space is freed", "dir", w.s.dir,
			"free_mib", du.AvailBytes>>20, "reserve_mib", w.reserve>>20)
	case !low && was:
		w.s.log.Info("disk space back above reserve: accepting writes", "dir", w.s.dir,
			"free_mib", du.AvailBytes>>20, "reserve_mib", w.reserve>>20)
	}
}

// admit decides whether a write of about n bytes may go ahead: storage.ErrNoSpace below the reserve.
// It costs a few atomic operations; the file system is asked again only when the bytes admitted since
// the last reading could have used up the headroom it showed.
func (w *spaceWatcher) admit(n int) error {
	if w.reserve <= 0 || w.unsupported.Load() {
		return nil
	}
	if !w.low.Load() && w.since.Add(int64(n)) > w.headroom.Load() {
		w.read()
	}
	if w.low.Load() {
		w.refused.Add(1)
		return fmt.Errorf("pebble: %d MiB free in %s, reserve %d MiB: %w", w.free.Load()>>20, w.s.dir, w.reserve>>20, storage.ErrNoSpace)
	}
	return nil
}

// health is the reserve's part of Store.Health.
func (w *spaceWatcher) health() error {
	if w.low.Load() {
		return fmt.Errorf("disk below reserve: %d MiB free (reserve %d MiB)", w.free.Load()>>20, w.reserve>>20)
	}
	return nil
}
