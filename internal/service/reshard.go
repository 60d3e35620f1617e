package service

import (
	"context"
	"fmt"

	"kinesisd/internal/kerr"
	"kinesisd/internal/service/hashkey"
	"kinesisd/internal/service/stream"
)

// SplitShardInput is the input of SplitShard.
type SplitShardInput struct {
	StreamRef
	ShardToSplit       *string `json:"ShardToSplit,omitempty"`
	NewStartingHashKey *string `json:"NewStartingHashKey,omitempty"`
}

// MergeShardsInput is the input of MergeShards.
type MergeShardsInput struct {
	StreamRef
	ShardToMerge         *string `json:"ShardToMerge,omitempty"`
	AdjacentShardToMerge *string `json:"AdjacentShardToMerge,omitempty"`
}

// SplitShard closes an open shard and opens two children dividing its hash-key range at NewStartingHashKey,
// when the UPDATING it starts ends.
func (s *Service) SplitShard(ctx context.Context, in *SplitShardInput) error {
	var c checker
	c.str("newStartingHashKey", in.NewStartingHashKey, true, 0, 0, hashKeyPattern, hashKeyPatternText)
	c.streamRef(in.StreamRef)
	c.str("shardToSplit", in.ShardToSplit, true, 1, 128, namePattern, namePatternText)
	if err := c.err(); err != nil {
		return err
	}
	name, err := s.streamName(in.StreamRef)
	if err != nil {
		return err
	}
	index, ok := stream.ParseShardID(*in.ShardToSplit)
	if !ok {
		return s.shardNotFound(*in.ShardToSplit, name)
	}
	if err := s.checkRate("SplitShard", name); err != nil {
		return err
	}
	now := s.now().UnixMilli()
	_, err = s.streams.Reshard(ctx, name, func(doc *stream.Doc) error {
		if err := s.provisionedOnly("SplitShard", doc); err != nil {
			return err
		}
		i := doc.ShardAt(index)
		if i < 0 {
			return s.shardNotFound(stream.ShardID(index), name)
		}
		if err := s.checkShardLimit(ctx, 1); err != nil {
			return err
		}
		sh := doc.Shards[i]
		start, _ := hashkey.Parse(sh.StartHash)
		end, _ := hashkey.Parse(sh.EndHash)
		key, ok := hashkey.Parse(*in.NewStartingHashKey)
		if !ok || !start.Inc().Less(key) || !key.Less(end) {
			return kerr.NewInvalidArgument(fmt.Sprintf("NewStartingHashKey %s used in SplitShard() on shard %s in stream %s under account %s "+
				"is not both greater than one plus the shard's StartingHashKey %s and less than the shard's EndingHashKey %s.",
				*in.NewStartingHashKey, stream.ShardID(index), name, s.cfg.Account, sh.StartHash, sh.EndHash))
		}
		if sh.Closed {
			return s.alreadyClosed(index, name)
		}
		if err := s.requireActive(doc); err != nil {
			return err
		}
		doc.Schedule(stream.Change{Kind: stream.ChangeSplit, Shard: index, HashKey: key.String()}, now)
		return nil
	})
	return err
}

// MergeShards closes two adjacent open shards and opens one child covering both ranges, when the UPDATING
// it starts ends.
func (s *Service) MergeShards(ctx context.Context, in *MergeShardsInput) error {
	var c checker
	c.str("shardToMerge", in.ShardToMerge, true, 1, 128, namePattern, namePatternText)
	c.str("adjacentShardToMerge", in.AdjacentShardToMerge, true, 1, 128, namePattern, namePatternText)
	c.streamRef(in.StreamRef)
	if err := c.err(); err != nil {
		return err
	}
	name, err := s.streamName(in.StreamRef)
	if err != nil {
		return err
	}
	var ids [2]uint32
	for k, raw := range []string{*in.ShardToMerge, *in.AdjacentShardToMerge} {
		index, ok := stream.ParseShardID(raw)
		if !ok {
			return s.shardNotFound(raw, name)
		}
		ids[k] = index
	}
	if err := s.checkRate("MergeShards", name); err != nil {
		return err
	}
	now := s.now().UnixMilli()
	_, err = s.streams.Reshard(ctx, name, func(doc *stream.Doc) error {
		if err := s.provisionedOnly("MergeShards", doc); err != nil {
			return err
		}
		var at [2]int
		for k, index := range ids {
			if at[k] = doc.ShardAt(index); at[k] < 0 {
				return s.shardNotFound(stream.ShardID(index), name)
			}
		}
		for k, index := range ids {
			if doc.Shards[at[k]].Closed {
				return s.alreadyClosed(index, name)
			}
		}
		lo, hi := doc.Shards[at[0]], doc.Shards[at[1]]
		loEnd, _ := hashkey.Parse(lo.EndHash)
		hiStart, _ := hashkey.Parse(hi.StartHash)
		if ids[0] == ids[1] || loEnd == hashkey.Max || loEnd.Inc() != hiStart {
			return kerr.NewInvalidArgument(fmt.Sprintf("Shards %s and %s in stream %s under account %s are not an adjacent pair of shards eligible for merging",
				stream.ShardID(ids[0]), stream.ShardID(ids[1]), name, s.cfg.Account))
		}
		if err := s.requireActive(doc); err != nil {
			return err
		}
		doc.Schedule(stream.Change{Kind: stream.ChangeMerge, Shard: ids[0], Adjacent: ids[1]}, now)
		return nil
	})
	return err
}
