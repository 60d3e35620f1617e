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
	vis, err := s.visible(ref)
	if err != nil {
		return 0, err
	}
	start, err := s.scanStart(ctx, ref, ms, vis)
	if err != nil || start >= vis {
		return vis, err
	}
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{
		LowerBound: recordKey(ref, start),
		UpperBound: recordKey(ref, vis),
	})
	if err != nil {
		return 0, err
	}
	found := vis
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
