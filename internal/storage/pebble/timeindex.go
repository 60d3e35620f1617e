package pebble

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"kinesisd/internal/storage"
)

// The time index. Arrival times are usually but not necessarily monotonic within a shard, so binary
// search over records is not valid. What is monotonic is the running maximum M(x) of ArrivalMilli over
// every offset below x, and the first record with arrival >= t is also the first offset at which the
// running maximum reaches t. So every indexEvery offsets (at the end of the span that crosses the
// interval) Append writes, in the same batch, a checkpoint key (shard, c) → M(c): "every record below c
// arrived at or before M(c)". M covers every offset assigned below c, committed or not, so it is an
// upper bound even if some of those appends failed or are trimmed, and upper bounds are all the search
// needs. OffsetAtTime binary-searches the checkpoints (about 64 seeks at most) for the last c with
// M(c) < t, then scans records from c: at most about indexEvery records plus one Append's worth.

// OffsetAtTime implements storage.Store.
func (s *Store) OffsetAtTime(ctx context.Context, ref storage.ShardRef, t time.Time) (uint64, error) {
	if err := s.enter(ctx); err != nil {
		return 0, err
	}
	defer s.leave()
	off, err := s.offsetAtTime(ctx, ref, t.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("offset at time: %w", err)
	}
	return off, nil
}

func (s *Store) offsetAtTime(ctx context.Context, ref storage.ShardRef, ms int64) (uint64, error) {
	vis, legacyEnd, floor, err := s.readBounds(ref)
	if err != nil {
		return 0, err
	}
	start, err := s.scanStart(ctx, ref, ms, vis)
	if err != nil {
		return 0, err
	}
	if start = max(start, floor); start >= vis {
		return vis, nil
	}
	found := vis
	if start < legacyEnd {
		found, err = s.recordKeyAtTime(ctx, ref, ms, start, min(vis, legacyEnd))
		if err != nil || found < min(vis, legacyEnd) {
			return found, err
		}
		found, start = vis, legacyEnd
	}
	err = s.scanSpans(ctx, ref, start, vis, nil, func(off uint64, arr int64, _, _ []byte) bool {
		if arr >= ms {
			found = off
			return false
		}
		return true
	})
	if err != nil {
		return 0, err
	}
	return found, nil
}

// readBounds returns ref's visibility watermark, the end of its record keys of format version 1 and
// its trim floor, for a reader.
func (s *Store) readBounds(ref storage.ShardRef) (vis, legacyEnd, floor uint64, err error) {
	sh, err := s.lockShard(ref)
	if err != nil {
		return 0, 0, 0, err
	}
	defer sh.mu.Unlock()
	sh.noteRead()
	return sh.visibleLocked(), sh.legacyEnd, sh.floor, nil
}

// recordKeyAtTime returns the offset of the first record key of ref in [start, end) that arrived at
// or after ms, end if none.
func (s *Store) recordKeyAtTime(ctx context.Context, ref storage.ShardRef, ms int64, start, end uint64) (uint64, error) {
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{
		LowerBound: recordKey(ref, start),
		UpperBound: recordKey(ref, end),
	})
	if err != nil {
		return 0, err
	}
	found := end
	for ok := it.First(); ok; ok = it.Next() {
		var v []byte
		var arr int64
		if v, err = it.ValueAndErr(); err != nil {
			break
		}
		if arr, err = decodeArrival(v); err != nil {
			break
		}
		if arr >= ms {
			found, err = keyOffset(it.Key())
			break
		}
	}
	if err = errors.Join(err, it.Close()); err != nil {
		return 0, err
	}
	return found, nil
}

// scanStart returns the greatest checkpoint c <= vis with M(c) < ms (0 if none): no record below c can
// be the answer.
func (s *Store) scanStart(ctx context.Context, ref storage.ShardRef, ms int64, vis uint64) (uint64, error) {
	klo, khi := kindBounds(ref, kindIndex)
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: klo, UpperBound: khi})
	if err != nil {
		return 0, err
	}
	// Invariant: best is the greatest checkpoint below lo with M < ms (M is monotonic, so every
	// checkpoint below best has M < ms too), and every checkpoint at or above hi has M >= ms or is
	// beyond vis.
	var best uint64
	key := make([]byte, offsetKeyLen)
	for lo, hi := uint64(0), vis+1; lo < hi && err == nil; {
		mid := lo + (hi-lo)/2
		putOffsetKey(key, ref, kindIndex, mid)
		if !it.SeekGE(key) {
			hi = mid
			continue
		}
		var c, m uint64
		if c, err = keyOffset(it.Key()); err != nil {
			break
		}
		if c >= hi {
			hi = mid
			continue
		}
		var v []byte
		if v, err = it.ValueAndErr(); err != nil {
			break
		}
		if m, err = decodeU64(v); err != nil {
			break
		}
		if int64(m) < ms {
			best, lo = c, c+1
		} else {
			hi = mid
		}
	}
	if err = errors.Join(err, it.Close()); err != nil {
		return 0, err
	}
	return best, nil
}
