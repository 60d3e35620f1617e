package service

import (
	"context"

	"kinesisd/internal/storage"
)

// shardOrdinals is an engine whose offsets are sparse (Config.SparseOffsets: on JetStream the shards
// of a stream share one sequence) but that numbers each shard's records as they are appended, 1, 2,
// 3… along the shard's log, the records retention deleted since included: the records deleted
// between two records are the difference of their ordinals, less one. A channel uses it to count the
// records that expired before it read them; 0 is an unknown ordinal (a record stored before the
// engine kept them), and then nothing is counted.
type shardOrdinals interface {
	// ReadOrdinals is storage.Store's Read, with the ordinal of each record (ords[i] of recs[i]).
	ReadOrdinals(ctx context.Context, ref storage.ShardRef, from uint64, maxRecords, maxBytes int) (recs []storage.Record, ords []uint64, err error)
	// NextOrdinal returns the ordinal the next record appended to ref gets; ok is false when the
	// engine cannot tell.
	NextOrdinal(ctx context.Context, ref storage.ShardRef) (next uint64, ok bool, err error)
}

// ordinals returns the store's shardOrdinals, or nil when its offsets are dense or it has none.
func (s *Service) ordinals() shardOrdinals {
	if !s.cfg.SparseOffsets {
		return nil
	}
	o, _ := s.store.(shardOrdinals)
	return o
}

// readShard reads as storage.Store's Read, with the records' ordinals where the store has them (nil
// otherwise).
func (s *Service) readShard(ctx context.Context, ref storage.ShardRef, from uint64, maxRecords, maxBytes int) ([]storage.Record, []uint64, error) {
	if o := s.ordinals(); o != nil {
		return o.ReadOrdinals(ctx, ref, from, maxRecords, maxBytes)
	}
	recs, err := s.store.Read(ctx, ref, from, maxRecords, maxBytes)
	return recs, nil, err
}

// shardOrdinalStarts returns the next ordinal of every shard of starts (CreateChannel's ShardStarts),
// where the store has them, or nil.
func (s *Service) shardOrdinalStarts(ctx context.Context, refs map[uint32]storage.ShardRef) (map[uint32]uint64, error) {
	o := s.ordinals()
	if o == nil {
		return nil, nil
	}
	out := make(map[uint32]uint64, len(refs))
	for i, ref := range refs {
		next, ok, err := o.NextOrdinal(ctx, ref)
		if err != nil {
			return nil, err
		}
		if ok {
			out[i] = next
		}
	}
	return out, nil
}
