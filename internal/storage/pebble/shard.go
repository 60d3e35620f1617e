package pebble

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"kinesisd/internal/storage"
)

// shard is the in-memory state of one shard's log: offset assignment, the visibility watermark, the
// trim floor, the running maximum of arrival times behind the time index, and the Wait channel.
//
// Offsets are assigned in spans (one per shard per Append call) under mu, in order; the batch that
// writes a span commits outside mu, concurrently with others. visible is the first offset of the oldest
// span still committing (or next when none is): Read and NextOffset show only offsets below it, so a
// reader never sees a span before every lower one has committed or failed. A failed span's offsets are
// never written: a gap.
type shard struct {
	ref storage.ShardRef

	mu     sync.Mutex
	loaded bool   // the fields below were read from disk
	next   uint64 // next offset to assign
	floor  uint64 // trim floor: every offset below it was trimmed
	// legacyEnd is the offset after the shard's last record key of format version 1 (0: none): the
	// records below it are record keys, those at or above it spans.
	legacyEnd uint64
	pending   []span        // spans assigned and not yet finished, in offset order
	maxArr    int64         // running maximum of ArrivalMilli over every offset assigned so far
	lastCkp   uint64        // offset of the last time-index checkpoint
	sealed    bool          // Seal closed the log at end: no more offsets are assigned
	end       uint64        // the sealed log's end
	synced    bool          // the seal is on disk
	wake      chan struct{} // closed when visible advances; nil when nobody waits
	tail      *tailRing     // the records of the latest spans (tail.go); nil when the cache is off

	readAt atomic.Int64 // when the shard was last read (Read, NextOffset, Wait), Unix nanoseconds
}

// noteRead records that a reader is at the shard.
func (sh *shard) noteRead() { sh.readAt.Store(time.Now().UnixNano()) }

// tailWanted reports whether Append should keep the shard's new records in the tail cache: only
// while it has readers, so that a shard nobody reads costs the cache neither a copy nor memory.
func (sh *shard) tailWanted() bool {
	return sh.tail != nil && time.Now().UnixNano()-sh.readAt.Load() < int64(tailIdle)
}

// span is the offsets [start, end) assigned to one shard by one Append call.
type span struct {
	start, end uint64
	done       bool
	chunk      *tailChunk // its records once committed, for the tail cache; nil when it failed
}

// visibleLocked returns the visibility watermark. mu must be held.
func (sh *shard) visibleLocked() uint64 {
	if len(sh.pending) > 0 {
		return sh.pending[0].start
	}
	return sh.next
}

// claimLocked assigns n offsets whose records' greatest arrival time is maxArr. It returns the span's first
// offset and, when the span completes a time-index interval of every offsets, the checkpoint to write
// with the span (ckp > 0). mu must be held.
func (sh *shard) claimLocked(n int, maxArr int64, every uint64) (start, ckp uint64, ckpMax int64) {
	start = sh.next
	sh.next += uint64(n)
	sh.pending = append(sh.pending, span{start: start, end: sh.next})
	sh.maxArr = max(sh.maxArr, maxArr)
	if sh.next-sh.lastCkp >= every {
		sh.lastCkp = sh.next
		return start, sh.next, sh.maxArr
	}
	return start, 0, 0
}

// finish marks the span starting at start as finished, advances the watermark past every finished
// span at the head, and wakes waiters if it moved. chunk is the span's records when it committed and
// they may be cached; nil when it failed (or is not cacheable), which empties the tail cache up to
// the span's end.
func (sh *shard) finish(start uint64, chunk *tailChunk) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for i := range sh.pending {
		if sh.pending[i].start == start {
			sh.pending[i].done = true
			sh.pending[i].chunk = chunk
			break
		}
	}
	n := 0
	for n < len(sh.pending) && sh.pending[n].done {
		if sh.tail != nil {
			if c := sh.pending[n].chunk; c != nil {
				sh.tail.push(c)
			} else {
				sh.tail.reset(sh.pending[n].end)
			}
		}
		n++
	}
	if n == 0 {
		return
	}
	m := copy(sh.pending, sh.pending[n:])
	clear(sh.pending[m:]) // drop the chunks' references
	sh.pending = sh.pending[:m]
	if sh.wake != nil {
		close(sh.wake)
		sh.wake = nil
	}
}

// waitChan returns the channel closed at the next advance of the watermark.
func (sh *shard) waitChan() <-chan struct{} {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.wake == nil {
		sh.wake = make(chan struct{})
	}
	return sh.wake
}

// dropTail gives the tail cache's memory back (DropStream).
func (sh *shard) dropTail() {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.tail != nil {
		sh.tail.reset(sh.tail.end())
	}
}

// wakeAll closes the Wait channel, if any (on Close and DropStream).
func (sh *shard) wakeAll() {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.wake != nil {
		close(sh.wake)
		sh.wake = nil
	}
}

// getShard returns the state of ref, creating it (not loaded) on first use.
func (s *Store) getShard(ref storage.ShardRef) *shard {
	s.shardsMu.RLock()
	sh := s.shards[ref]
	s.shardsMu.RUnlock()
	if sh != nil {
		return sh
	}
	s.shardsMu.Lock()
	defer s.shardsMu.Unlock()
	if sh = s.shards[ref]; sh == nil {
		sh = &shard{ref: ref, maxArr: noArrival}
		s.shards[ref] = sh
	}
	return sh
}

// lockShard returns the loaded state of ref with its mu held. On error mu is not held.
func (s *Store) lockShard(ref storage.ShardRef) (*shard, error) {
	sh := s.getShard(ref)
	sh.mu.Lock()
	if sh.loaded {
		return sh, nil
	}
	if err := s.loadLocked(sh); err != nil {
		sh.mu.Unlock()
		return nil, fmt.Errorf("load shard %d/%d: %w", ref.StreamID, ref.Shard, err)
	}
	sh.loaded = true
	if s.tailBudget != nil {
		sh.tail = &tailRing{budget: s.tailBudget, lo: sh.next}
	}
	return sh, nil
}

// loadLocked reads a shard's state from disk: next = max(last record + 1, trim floor, last checkpoint),
// and the running arrival maximum from the last time-index checkpoint plus the records after it.
func (s *Store) loadLocked(sh *shard) error {
	ref := sh.ref
	v, closer, err := s.db.Get(floorKey(ref))
	switch {
	case errors.Is(err, pebble.ErrNotFound):
	case err != nil:
		return err
	default:
		sh.floor, err = decodeU64(v)
		closer.Close()
		if err != nil {
			return err
		}
	}
	sh.next = sh.floor
	v, closer, err = s.db.Get(sealKey(ref))
	switch {
	case errors.Is(err, pebble.ErrNotFound):
	case err != nil:
		return err
	default:
		sh.end, err = decodeU64(v)
		closer.Close()
		if err != nil {
			return err
		}
		sh.sealed, sh.synced = true, true
	}

	lo, hi := kindBounds(ref, kindIndex)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return err
	}
	if it.Last() {
		var v []byte
		if sh.lastCkp, err = keyOffset(it.Key()); err == nil {
			v, err = it.ValueAndErr()
		}
		if err == nil {
			var m uint64
			m, err = decodeU64(v)
			sh.maxArr = int64(m)
		}
	}
	if err = errors.Join(err, it.Close()); err != nil {
		return err
	}
	sh.next = max(sh.next, sh.lastCkp)

	lo, hi = kindBounds(ref, kindRecord)
	it, err = s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return err
	}
	if it.Last() {
		var off uint64
		if off, err = keyOffset(it.Key()); err != nil {
			return errors.Join(err, it.Close())
		}
		sh.legacyEnd = off + 1
	}
	for ok := it.SeekGE(recordKey(ref, sh.lastCkp)); ok && err == nil; ok = it.Next() {
		var off uint64
		if off, err = keyOffset(it.Key()); err != nil {
			break
		}
		sh.next = max(sh.next, off+1)
		var v []byte
		if v, err = it.ValueAndErr(); err != nil {
			break
		}
		var arr int64
		arr, err = decodeArrival(v)
		sh.maxArr = max(sh.maxArr, arr)
	}
	if err = errors.Join(err, it.Close()); err != nil {
		return err
	}
	return s.loadSpans(sh)
}

// loadSpans is loadLocked's look at the shard's spans: the next offset after the last one, and the
// arrival times of the records at or after the last time-index checkpoint (at most about
// indexEvery records and one span).
func (s *Store) loadSpans(sh *shard) error {
	ref := sh.ref
	lo, hi := kindBounds(ref, kindSpan)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return err
	}
	ok := it.SeekLT(spanKey(ref, sh.lastCkp+1))
	if !ok {
		ok = it.First()
	}
	for ; ok && err == nil; ok = it.Next() {
		var v, entry []byte
		var sp spanRef
		if v, err = it.ValueAndErr(); err != nil {
			break
		}
		if sp, err = decodeSpanValue(v); err != nil {
			break
		}
		sh.next = max(sh.next, sp.last+1)
		if sp.last < sh.lastCkp {
			continue
		}
		entry = make([]byte, sp.n)
		if err = s.records.readAt(sp.seg, sp.pos, entry); err != nil {
			err = fmt.Errorf("%w: %w", errCorrupt, err)
			break
		}
		err = eachEntryRecord(entry, ref, func(off uint64, arr int64, _, _ []byte) bool {
			if off >= sh.lastCkp {
				sh.maxArr = max(sh.maxArr, arr)
			}
			return true
		})
	}
	return errors.Join(err, it.Close())
}
