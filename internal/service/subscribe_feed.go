package service

import (
	"context"
	"math"
	"sync"

	"kinesisd/internal/service/stream"
	"kinesisd/internal/storage"
)

// Fan-out: many subscriptions on one shard share what they deliver. Each shard with subscriptions has
// a feed that keeps the batches of records recently read for them, each under the position it starts
// at. A subscription at a position takes the batch that starts there, or reads one from the store and
// leaves it there for the others; a new read stops at the nearest place where a kept batch starts or
// ends, so that every subscription on the shard walks the same chain of batches and each batch is read
// once and encoded once per wire format (the edge keeps its encodings with the batch: Edge), however
// many subscriptions deliver it.
// Records are immutable once visible, so a kept batch never goes stale; one that has fallen behind the
// trim horizon is noticed by the subscription as a direct read would be (step). PutRecords never
// touches a feed.

const (
	// feedBatches and feedBytes bound what a feed keeps: the newest batches, up to this many and this
	// many record bytes (their encodings come on top: about as much again per wire format in use).
	// Subscriptions that follow the shard's end use a batch within moments of its read; the rest is
	// for subscriptions a little behind (two events' worth when the batches are full).
	feedBatches = 32
	feedBytes   = 4 * mib
)

// feeds are the feeds of the shards that have subscriptions. The zero value is ready to use.
type feeds struct {
	mu sync.Mutex // guards m and every feed's refs; never held with a feed's mu
	m  map[storage.ShardRef]*feed
}

// feed is one shard's shared batches.
type feed struct {
	refs int // subscriptions using the feed (feeds.mu)

	mu      sync.Mutex
	batches []*RecordBatch        // oldest first
	bytes   int                   // record bytes of batches
	loading map[uint64]*batchLoad // reads in flight, by the position they start at
	woke    <-chan struct{}       // the append notification stream was loaded after (streamFor)
	stream  *stream.Stream
}

// batchLoad is one read in flight: waiters for the same position share it.
type batchLoad struct {
	done  chan struct{} // closed when batch and err are set
	batch *RecordBatch  // nil: nothing there
	err   error
}

// acquire returns the feed of ref for one more subscription; release gives it back, and the last
// release drops the feed and what it keeps.
func (f *feeds) acquire(ref storage.ShardRef) *feed {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = make(map[storage.ShardRef]*feed)
	}
	fd := f.m[ref]
	if fd == nil {
		fd = &feed{loading: make(map[uint64]*batchLoad)}
		f.m[ref] = fd
	}
	fd.refs++
	return fd
}

func (f *feeds) release(ref storage.ShardRef, fd *feed) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fd.refs--; fd.refs == 0 && f.m[ref] == fd {
		delete(f.m, ref)
	}
}

// batchReader reads the records at from onwards, none at before or after, as a batch (nil when there
// are none).
type batchReader func(ctx context.Context, from, before uint64) (*RecordBatch, error)

// get returns the batch that starts at from: a kept one, the one being read by another subscription,
// or one it reads with read and keeps. A nil batch means nothing is there yet.
func (fd *feed) get(ctx context.Context, from uint64, read batchReader) (*RecordBatch, error) {
	for {
		fd.mu.Lock()
		if b := fd.findLocked(from); b != nil {
			fd.mu.Unlock()
			return b, nil
		}
		if l := fd.loading[from]; l != nil {
			fd.mu.Unlock()
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-l.done:
			}
			if l.err == nil {
				return l.batch, nil
			}
			continue // the other subscription's read failed (its ctx ended, perhaps): try ourselves
		}
		before := fd.boundaryLocked(from)
		l := &batchLoad{done: make(chan struct{})}
		fd.loading[from] = l
		fd.mu.Unlock()

		l.batch, l.err = read(ctx, from, before)
		fd.mu.Lock()
		delete(fd.loading, from)
		if l.err == nil && l.batch != nil {
			fd.keepLocked(l.batch)
		}
		fd.mu.Unlock()
		close(l.done)
		return l.batch, l.err
	}
}

// streamFor returns the stream's document for a subscription that the append notification woke woke up
// (nil: something else did), loading it with load unless another subscription woken by the same
// notification already has, after it: one append wakes every subscription on the shard, and one read
// of the document serves them all. Each sees the document as it was after its wake-up, as if it had
// been a little quicker to read it; a subscription woken otherwise (heartbeat, catching up, pacing)
// reads its own.
func (fd *feed) streamFor(woke <-chan struct{}, load func() (*stream.Stream, error)) (*stream.Stream, error) {
	if woke != nil {
		fd.mu.Lock()
		st := fd.stream
		if fd.woke != woke {
			st = nil
		}
		fd.mu.Unlock()
		if st != nil {
			return st, nil
		}
	}
	st, err := load()
	if err == nil && st != nil && woke != nil {
		fd.mu.Lock()
		fd.woke, fd.stream = woke, st
		fd.mu.Unlock()
	}
	return st, err
}

// kept returns the kept batch that starts at from, if any, without reading.
func (fd *feed) kept(from uint64) *RecordBatch {
	fd.mu.Lock()
	defer fd.mu.Unlock()
	return fd.findLocked(from)
}

func (fd *feed) findLocked(from uint64) *RecordBatch {
	for i := len(fd.batches) - 1; i >= 0; i-- {
		if b := fd.batches[i]; b.from == from {
			return b
		}
	}
	return nil
}

// boundaryLocked is the first position after from at which a kept batch or a read in flight starts or a
// kept batch ends: where a new read from from stops, so that it joins the chain the others walk.
func (fd *feed) boundaryLocked(from uint64) uint64 {
	before := uint64(math.MaxUint64)
	for _, b := range fd.batches {
		for _, at := range [2]uint64{b.from, b.next} {
			if at > from && at < before {
				before = at
			}
		}
	}
	for at := range fd.loading {
		if at > from && at < before {
			before = at
		}
	}
	return before
}

// keepLocked adds b, dropping the oldest batches beyond the feed's bounds.
func (fd *feed) keepLocked(b *RecordBatch) {
	fd.batches = append(fd.batches, b)
	fd.bytes += b.bytes
	n := 0
	for len(fd.batches)-n > 1 && (len(fd.batches)-n > feedBatches || fd.bytes > feedBytes) {
		fd.bytes -= fd.batches[n].bytes
		fd.batches[n] = nil
		n++
	}
	if n > 0 {
		fd.batches = append(fd.batches[:0], fd.batches[n:]...)
	}
}

// RecordBatch is records of one shard, read once for every subscription that delivers them: from the
// position from up to (not including) next, in order. Its records are shared between subscriptions
// and goroutines: read them, never change them.
type RecordBatch struct {
	from, next   uint64
	recs         []Record
	bytes        int   // data and partition key bytes of recs
	firstArrival int64 // ArrivalMilli of the first record
	lastArrival  int64 // and of the last

	edgeOnce sync.Once
	edge     any // the edge's value (Edge)
}

// NewRecordBatch returns a batch of recs, which it keeps: for the edge's tests and benchmarks (the
// service reads its own batches from the store).
func NewRecordBatch(recs []Record) *RecordBatch {
	b := &RecordBatch{recs: recs, next: uint64(len(recs))}
	for i := range recs {
		b.bytes += len(recs[i].Data) + len(recs[i].PartitionKey)
	}
	return b
}

// Records are the batch's records. They are shared: never change them.
func (b *RecordBatch) Records() []Record { return b.recs }

// Edge returns the value the edge keeps with the batch for as long as the batch lives, made by
// newValue on the first call; later calls get the same value and their newValue is not called. The
// edge keeps the batch's encodings there, so that a batch is encoded once per wire format for every
// subscription that delivers it. The service never looks at the value, and the edge is its only user.
func (b *RecordBatch) Edge(newValue func() any) any {
	b.edgeOnce.Do(func() { b.edge = newValue() })
	return b.edge
}
