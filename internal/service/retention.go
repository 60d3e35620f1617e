package service

import (
	"context"
	"strings"
	"time"
)

// Records older than their stream's retention period are never returned, and a background loop
// deletes them from storage.

// cutoff is the arrival time before which a stream's records have expired at now.
func (st *stream) cutoff(now time.Time) time.Time {
	return timeMilli(st.doc.cutoffMilli(now.UnixMilli()))
}

// cutoffMilli is cutoff in milliseconds: now less the retention period, or the floor an increase of
// the period left (ExpiredBeforeMilli) if that is later.
func (d *streamDoc) cutoffMilli(now int64) int64 {
	return max(now-int64(d.RetentionHours)*time.Hour.Milliseconds(), d.ExpiredBeforeMilli)
}

// horizon is the first offset of shard index that is within retention at now: where TRIM_HORIZON
// starts, and where a reader behind it is moved to.
func (s *Service) horizon(ctx context.Context, st *stream, sh *shardDoc, now time.Time) (uint64, error) {
	off, err := s.store.OffsetAtTime(ctx, st.ref(sh.Index), st.cutoff(now))
	if err != nil {
		return 0, err
	}
	return max(off, sh.StartOffset), nil
}

// RunRetention deletes expired records every interval until ctx ends. Deleting a stream whose
// DELETING delay has passed happens here too, so space comes back without any request.
func (s *Service) RunRetention(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.TrimExpired(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("retention", "err", err)
			}
		}
	}
}

// TrimExpired deletes from storage every record that has passed its stream's retention period.
func (s *Service) TrimExpired(ctx context.Context) error {
	prefix := s.streamKey("")
	entries, err := s.store.ListMeta(ctx, prefix)
	if err != nil {
		return err
	}
	now := s.now()
	for _, e := range entries {
		st, err := s.loadStream(ctx, strings.TrimPrefix(e.Key, prefix))
		if err != nil {
			return err
		}
		if st == nil {
			continue
		}
		for i := range st.doc.Shards {
			sh := &st.doc.Shards[i]
			off, err := s.horizon(ctx, st, sh, now)
			if err != nil {
				return err
			}
			if err := s.store.Trim(ctx, st.ref(sh.Index), off); err != nil {
				return err
			}
		}
	}
	return nil
}
