package service

import (
	"context"
	"errors"
	"time"

	"kinesisd/internal/service/hashkey"
	"kinesisd/internal/service/stream"
	"kinesisd/internal/storage"
)

// ON_DEMAND scaling: the service tells package autoscale of every append to an ON_DEMAND stream; a
// shard it finds hot is split at the midpoint of its hash-key range, within the account's shard limit,
// when the UPDATING the split starts ends (the shard takes writes until then, and a second split
// waits). The split runs on its own goroutine, after the write that triggered it has returned, so
// writes never wait for it.

var (
	errNoSplit   = errors.New("no split")
	errShardGone = errors.New("shard closed or gone")
)

// noteWrites is told of every append, for the ON_DEMAND scaling of streams.
func (s *Service) noteWrites(st *stream.Stream, appends []storage.Append, sealed *storage.SealedError) {
	if st.Doc.Mode != stream.ModeOnDemand {
		return
	}
	now := s.now()
	for _, ap := range appends {
		if sealed != nil && sealed.Sealed(ap.Shard) {
			continue // not written
		}
		var bytes int64
		for i := range ap.Records {
			bytes += int64(ap.Records[i].Size())
		}
		if s.scaler.Note(ap.Shard, int64(len(ap.Records)), bytes, now) {
			name, ref := st.Doc.Name, ap.Shard
			s.splits.Go(func() { s.autoSplit(name, ref) })
		}
	}
}

// autoSplit splits a hot ON_DEMAND shard at its midpoint.
func (s *Service) autoSplit(name string, ref storage.ShardRef) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	now := s.now().UnixMilli()
	_, err := s.streams.Reshard(ctx, name, func(doc *stream.Doc) error {
		i := doc.ShardAt(ref.Shard)
		if doc.ID != ref.StreamID || i < 0 || doc.Shards[i].Closed {
			return errShardGone
		}
		if doc.Mode != stream.ModeOnDemand || doc.Status != stream.StatusActive {
			return errNoSplit
		}
		start, end := hashkey.MustParse(doc.Shards[i].StartHash), hashkey.MustParse(doc.Shards[i].EndHash)
		if start == end {
			return errNoSplit
		}
		if s.checkShardLimit(ctx, 1) != nil {
			return errNoSplit
		}
		doc.Schedule(stream.Change{Kind: stream.ChangeSplit, Shard: ref.Shard, HashKey: hashkey.Midpoint(start, end).String()}, now)
		return nil
	})
	closed := err == nil || errors.Is(err, errShardGone) || isStreamNotFound(err)
	if !closed && !errors.Is(err, errNoSplit) {
		s.log.Error("on-demand split", "stream", name, "shard", stream.ShardID(ref.Shard), "err", err)
	}
	s.scaler.Done(ref, closed, s.now())
}

// WaitScaling waits for the ON_DEMAND splits under way; the server calls it before closing the store.
func (s *Service) WaitScaling() { s.splits.Wait() }
