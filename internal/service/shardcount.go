package service

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"kinesisd/internal/kerr"
	"kinesisd/internal/service/stream"
)

const (
	scalingUniform = "UNIFORM_SCALING"
	// shardCountWindow and shardCountUpdatesMax are AWS's limit of UpdateShardCount calls per stream:
	// 10 per rolling 24 hours.
	shardCountWindow     = 24 * time.Hour
	shardCountUpdatesMax = 10
	// streamShardMax is AWS's default limit of shards in one stream.
	streamShardMax = 10000
)

// UpdateShardCountInput is the input of UpdateShardCount.
type UpdateShardCountInput struct {
	StreamRef
	TargetShardCount *int64  `json:"TargetShardCount,omitempty"`
	ScalingType      *string `json:"ScalingType,omitempty"`
}

// UpdateShardCountOutput is the output of UpdateShardCount.
type UpdateShardCountOutput struct {
	StreamName        string `json:"StreamName"`
	StreamARN         string `json:"StreamARN"`
	CurrentShardCount int    `json:"CurrentShardCount"`
	TargetShardCount  int    `json:"TargetShardCount"`
}

// UpdateShardCount rescales a provisioned stream to TargetShardCount open shards of equal size, through
// splits and merges whose parents close and whose lineage ListShards and GetRecords show, when the
// UPDATING it starts ends.
func (s *Service) UpdateShardCount(ctx context.Context, in *UpdateShardCountInput) (*UpdateShardCountOutput, error) {
	var c checker
	c.enum("scalingType", in.ScalingType, true, scalingUniform)
	c.streamRef(in.StreamRef)
	c.integer("targetShardCount", in.TargetShardCount, true, 1, math.MaxInt32)
	if err := c.err(); err != nil {
		return nil, err
	}
	name, err := s.streamName(in.StreamRef)
	if err != nil {
		return nil, err
	}
	if err := s.checkRate("UpdateShardCount", name); err != nil {
		return nil, err
	}
	target := int(*in.TargetShardCount)
	now := s.now()
	var current int
	_, err = s.streams.Reshard(ctx, name, func(doc *stream.Doc) error {
		if err := s.provisionedOnly("UpdateShardCount", doc); err != nil {
			return err
		}
		if err := s.requireActive(doc); err != nil {
			return err
		}
		current = doc.OpenCount()
		counts := fmt.Sprintf("Current open shard count: %d, Target shard count: %d", current, target)
		since := now.Add(-shardCountWindow).UnixMilli()
		doc.ShardCountUpdates = slices.DeleteFunc(doc.ShardCountUpdates, func(ms int64) bool { return ms <= since })
		switch {
		case len(doc.ShardCountUpdates) >= shardCountUpdatesMax:
			return kerr.NewLimitExceeded(fmt.Sprintf("UpdateShardCount failed for stream %s under account %s. "+
				"The stream has been rescaled %d times in the last 24 hours, the most allowed.", name, s.cfg.Account, shardCountUpdatesMax))
		case target > streamShardMax:
			return kerr.NewLimitExceeded(fmt.Sprintf("Target shard count or number of open shards cannot be greater than %d. %s", streamShardMax, counts))
		case target > 2*current:
			return kerr.NewLimitExceeded("UpdateShardCount cannot scale up over double your current open shard count. " + counts)
		case 2*target < current:
			return kerr.NewLimitExceeded("UpdateShardCount cannot scale down below half your current open shard count. " + counts)
		}
		if target > current {
			if err := s.checkShardLimit(ctx, target-current); err != nil {
				return err
			}
		}
		doc.ShardCountUpdates = append(doc.ShardCountUpdates, now.UnixMilli())
		doc.Schedule(stream.Change{Kind: stream.ChangeRescale, Count: target}, now.UnixMilli())
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &UpdateShardCountOutput{StreamName: name, StreamARN: s.arn(name), CurrentShardCount: current, TargetShardCount: target}, nil
}
