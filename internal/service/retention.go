package service

import (
	"context"
	"kinesisd/internal/service/stream"
	"time"
)

// Records older than their stream's retention period are never returned, and a background loop
// deletes them from storage.

// horizon is the first offset of shard index that is within retention at now: where TRIM_HORIZON
// starts, and where a reader behind it is moved to.
func (s *Service) horizon(ctx context.Context, st *stream.Stream, sh *stream.Shard, now time.Time) (uint64, error) {
	off, err := s.store.OffsetAtTime(ctx, st.Ref(sh.Index), st.Cutoff(now))
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
	now := s.now()
	return s.streams.Each(ctx, func(st *stream.Stream) error {
		for i := range st.Doc.Shards {
			sh := &st.Doc.Shards[i]
			off, err := s.horizon(ctx, st, sh, now)
			if err != nil {
				return err
			}
			if err := s.store.Trim(ctx, st.Ref(sh.Index), off); err != nil {
				return err
			}
		}
		return nil
	})
}
