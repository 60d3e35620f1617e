// Package autoscale measures the write load of ON_DEMAND shards and says when one is hot enough to
// split.
//
// Every append to an ON_DEMAND stream is counted per shard over a sliding window of the service clock.
// A shard whose average over the window passes 80% of a shard's write capacity (RecordsPerSecond
// records or BytesPerSecond bytes a second) is hot: Note says so once, and the caller attempts a
// split; until Done no second attempt starts, and after a failed one the next waits a tenth of the
// window.
package autoscale

import (
	"sync"
	"time"

	"kinesisd/internal/storage"
)

// Threshold is the share of a shard's write capacity above which it is split.
const Threshold = 0.8

// Config is a shard's write capacity and the window its load is averaged over.
type Config struct {
	Window                           time.Duration
	RecordsPerSecond, BytesPerSecond int
}

// Loads holds the write load of ON_DEMAND shards. It is safe for concurrent use.
type Loads struct {
	cfg   Config
	mu    sync.Mutex
	loads map[storage.ShardRef]*shardLoad
}

// shardLoad is one shard's writes in the window, in buckets of a sixtieth of the window.
type shardLoad struct {
	buckets        []bucket // oldest first
	records, bytes int64    // totals over buckets
	splitting      bool     // a split attempt is under way
	retryAfter     int64    // ms: no attempt before this after a failed one
}

type bucket struct {
	slot           int64 // time / bucket width
	records, bytes int64
}

// New returns empty Loads.
func New(cfg Config) *Loads {
	return &Loads{cfg: cfg, loads: make(map[storage.ShardRef]*shardLoad)}
}

// Note counts records and bytes written to shard at now. It reports whether a split attempt of the
// shard should start: it is hot, no attempt is under way, and no failed one is too recent. Then the
// shard counts as splitting until Done.
func (a *Loads) Note(shard storage.ShardRef, records, bytes int64, now time.Time) bool {
	window := a.cfg.Window
	width := max(window.Milliseconds()/60, 1)
	ms := now.UnixMilli()
	slot := ms / width
	oldest := (ms - window.Milliseconds()) / width
	secs := window.Seconds()
	maxRecords := Threshold * float64(a.cfg.RecordsPerSecond) * secs
	maxBytes := Threshold * float64(a.cfg.BytesPerSecond) * secs

	a.mu.Lock()
	defer a.mu.Unlock()
	l := a.loads[shard]
	if l == nil {
		l = &shardLoad{}
		a.loads[shard] = l
	}
	if k := len(l.buckets); k > 0 && l.buckets[k-1].slot == slot {
		l.buckets[k-1].records += records
		l.buckets[k-1].bytes += bytes
	} else {
		l.buckets = append(l.buckets, bucket{slot, records, bytes})
	}
	l.records += records
	l.bytes += bytes
	for len(l.buckets) > 0 && l.buckets[0].slot <= oldest {
		l.records -= l.buckets[0].records
		l.bytes -= l.buckets[0].bytes
		l.buckets = l.buckets[1:]
	}
	hot := float64(l.records) > maxRecords || float64(l.bytes) > maxBytes
	if !hot || l.splitting || ms < l.retryAfter {
		return false
	}
	l.splitting = true
	return true
}

// Done ends a split attempt of shard that Note started. closed: the shard is closed or closing (or
// gone), and its count is dropped; a write to it while the split waits starts a new count, whose
// attempt finds the stream UPDATING or the shard closed. Otherwise the attempt failed, and the next
// waits a tenth of the window from now.
func (a *Loads) Done(shard storage.ShardRef, closed bool, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if closed {
		delete(a.loads, shard)
		return
	}
	if l := a.loads[shard]; l != nil {
		l.splitting = false
		l.retryAfter = now.UnixMilli() + max(a.cfg.Window.Milliseconds()/10, 1)
	}
}
