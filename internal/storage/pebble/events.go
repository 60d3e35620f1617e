package pebble

import (
	"log/slog"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// eventListener reports what Pebble does in the background that a writer can feel: write stalls
// (every commit waits until they end: the first place to look when PutRecords' tail latency grows),
// slow disk writes and background errors at info level and above; flushes and compactions at debug.
//
// Background errors and failed flushes also go to f: flushes that keep failing end in Fatal
// (flushFailFatalAfter). A failed compaction is only logged: Pebble retries it, nothing waits on it
// but space, and the disk reserve keeps room for it.
//
// diskChanged is called after Pebble made or removed a file of its own (a new WAL file, preallocated
// whole at once; a flush's or compaction's output): the disk reserve reads the free space again then
// rather than at its next tick (space.go).
func eventListener(log *slog.Logger, f *faults, diskChanged func()) *pebble.EventListener {
	var mu sync.Mutex
	var stallStart time.Time
	var stallReason string
	var bgLogged time.Time
	return &pebble.EventListener{
		BackgroundError: func(err error) {
			// Pebble retries a failed flush or compaction at once: one line a second at most.
			mu.Lock()
			now := time.Now()
			logIt := now.Sub(bgLogged) >= time.Second
			if logIt {
				bgLogged = now
			}
			mu.Unlock()
			if logIt {
				log.Error("background error", "err", err)
			}
		},
		// Pebble's default for a checksum mismatch in a table or blob file is Fatalf; the read or
		// compaction that found it fails with the error instead, Read wraps it in storage.ErrCorrupt,
		// and the server goes on serving what is intact.
		DataCorruption: func(info pebble.DataCorruptionInfo) {
			log.Error("corrupt data on disk", "file", info.Path, "err", info.Details)
		},
		DiskSlow: func(info pebble.DiskSlowInfo) {
			log.Warn("disk slow", "path", info.Path, "op", info.OpType.String(), "duration", info.Duration)
		},
		WriteStallBegin: func(info pebble.WriteStallBeginInfo) {
			mu.Lock()
			stallStart, stallReason = time.Now(), info.Reason
			mu.Unlock()
		},
		WriteStallEnd: func() {
			mu.Lock()
			d, reason := time.Since(stallStart), stallReason
			mu.Unlock()
			log.Info("write stall", "reason", reason, "duration", d.Round(time.Microsecond))
		},
		WALCreated: func(pebble.WALCreateInfo) { diskChanged() },
		FlushEnd: func(info pebble.FlushInfo) {
			diskChanged()
			if logIt := f.flushEnded(info.Err); info.Err != nil {
				if logIt {
					log.Warn("flush failed", "err", info.Err)
				}
				return
			}
			var out uint64
			for _, t := range info.Output {
				out += t.Size
			}
			log.Debug("flush", "memtables", info.Input, "input_bytes", info.InputBytes, "table_bytes", out,
				"duration", info.Duration.Round(time.Microsecond), "total", info.TotalDuration.Round(time.Microsecond))
		},
		CompactionEnd: func(info pebble.CompactionInfo) {
			diskChanged()
			if info.Err != nil {
				log.Debug("compaction ended", "reason", info.Reason, "err", info.Err)
				return
			}
			log.Debug("compaction", "reason", info.Reason, "inputs", len(info.Input), "output_level", info.Output.Level,
				"duration", info.Duration.Round(time.Microsecond), "total", info.TotalDuration.Round(time.Microsecond))
		},
	}
}
