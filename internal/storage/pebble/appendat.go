package pebble

import (
	"context"
	"fmt"

	"kinesisd/internal/storage"
)

var _ storage.OffsetAppender = (*Store)(nil)

// checkpoint is a time-index entry to write: every offset below at arrived at or before maxArr.
type checkpoint struct {
	at     uint64
	maxArr int64
}

// AppendAt implements storage.OffsetAppender. It claims the span [NextOffset, end) as one Append would
// claim len(recs) offsets, so visibility, Wait wake-ups and concurrent Appends (which get offsets
// from end on) work as for Append. Time-index checkpoints are written inside the span at the usual
// interval, and one at end, which is also what keeps the end of the log across a restart when end is
// past the last record (loadLocked takes the last checkpoint as a lower bound of the next offset).
func (s *Store) AppendAt(ctx context.Context, ref storage.ShardRef, recs []storage.Record, end uint64) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.leave()
	for i := range recs {
		if i > 0 && recs[i].Offset <= recs[i-1].Offset {
			return fmt.Errorf("append at: offset %d after %d: %w", recs[i].Offset, recs[i-1].Offset, storage.ErrConflict)
		}
	}
	if n := len(recs); n > 0 && recs[n-1].Offset >= end {
		return fmt.Errorf("append at: offset %d not below end %d: %w", recs[n-1].Offset, end, storage.ErrConflict)
	}

	if err := s.space.admit(entryLen(recs)); err != nil {
		return fmt.Errorf("append at: %w", err)
	}
	sh, err := s.lockShard(ref)
	if err != nil {
		return fmt.Errorf("append at: %w", err)
	}
	start := sh.next
	switch {
	case sh.sealed:
		sh.mu.Unlock()
		return &storage.SealedError{Shards: []storage.ShardRef{ref}}
	case end < start:
		sh.mu.Unlock()
		return fmt.Errorf("append at: end %d below the end of the log %d: %w", end, start, storage.ErrConflict)
	case len(recs) > 0 && recs[0].Offset < start:
		sh.mu.Unlock()
		return fmt.Errorf("append at: offset %d below the end of the log %d: %w", recs[0].Offset, start, storage.ErrConflict)
	case end == start:
		sh.mu.Unlock()
		return nil // nothing to write, nothing to move
	}
	// Claim the span and decide the checkpoints under mu, as claimLocked does.
	sh.next = end
	sh.pending = append(sh.pending, span{start: start, end: end})
	var ckps []checkpoint
	for i := range recs {
		r := &recs[i]
		if r.Offset-sh.lastCkp >= s.indexEvery {
			sh.lastCkp = r.Offset
			ckps = append(ckps, checkpoint{at: r.Offset, maxArr: sh.maxArr})
		}
		sh.maxArr = max(sh.maxArr, r.ArrivalMilli)
	}
	if end > sh.lastCkp {
		sh.lastCkp = end
		ckps = append(ckps, checkpoint{at: end, maxArr: sh.maxArr})
	}
	sh.mu.Unlock()

	err = s.commitAt(sh, recs, ckps)
	sh.finish(start, nil) // sparse offsets: the tail cache starts again after end
	if err != nil {
		return fmt.Errorf("append at: %w", err)
	}
	return nil
}

// commitAt writes records at their offsets (one span of the record log) and the given checkpoints in
// one synced batch.
func (s *Store) commitAt(sh *shard, recs []storage.Record, ckps []checkpoint) error {
	b := s.db.NewBatchWithSize(12 + len(ckps)*(2+offsetKeyLen+1+9) + 2*(2+offsetKeyLen) + spanValueLen + 2 + 1 + 17 + 16)
	defer b.Close()
	for _, c := range ckps {
		if err := putCheckpoint(b, sh.ref, c.at, c.maxArr); err != nil {
			return err
		}
	}
	if len(recs) > 0 {
		buf := appendEntry(make([]byte, 0, entryLen(recs)), sh.ref, recs)
		return s.commitSpans(b, buf, []claim{{sh: sh, start: recs[0].Offset, size: len(buf), last: recs[len(recs)-1].Offset}})
	}
	if err := s.vouch(b); err != nil {
		return err
	}
	if err := s.commit(b); err != nil {
		return err
	}
	s.acknowledged(b)
	return nil
}
