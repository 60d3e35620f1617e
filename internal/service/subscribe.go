package service

import (
	"context"
	"fmt"
	"iter"

	"kinesisd/internal/kerr"
	"kinesisd/internal/service/stream"
)

// SubscribeToShard (enhanced fan-out): a consumer's push subscription to one shard. The operation
// checks everything before it answers, so that every refusal is an ordinary error response, then
// hands the edge a sequence of events that it writes as they come: records as soon as they are
// appended (woken by storage.Store.Wait, no polling), an event at least every SubscribeHeartbeat while
// idle, ChildShards at the end of a closed shard, an in-stream error when the consumer or stream goes
// or another subscription takes over, and a clean end after SubscribeLifetime.

// SubscribeToShard checks a subscription and returns its initial response and its events. The events
// end at the subscription's end, after an in-stream error (a kerr error), when ctx ends, or when the
// caller stops ranging; every resource the subscription holds is released then.
func (s *Service) SubscribeToShard(ctx context.Context, in *SubscribeToShardInput) (*SubscribeToShardOutput, iter.Seq2[SubscribeToShardEvent, error], error) {
	var c checker
	c.str("consumerARN", in.ConsumerARN, true, 1, 2048, consumerARNRe, consumerARNReText)
	c.str("shardId", in.ShardId, true, 1, 128, namePattern, namePatternText)
	if in.StartingPosition == nil {
		c.v.Add(kerr.Null, "startingPosition", "Member must not be null")
	} else {
		p := in.StartingPosition
		c.enum("startingPosition.type", p.Type, true, afterSequenceNumber, latest, atTimestamp, atSequenceNumber, trimHorizon)
		c.str("startingPosition.sequenceNumber", p.SequenceNumber, false, 0, 0, seqNumPattern, seqNumPatternText)
	}
	c.streamID(in.StreamId)
	if err := c.err(); err != nil {
		return nil, nil, err
	}
	streamName, consumerName, err := s.ActiveConsumer(ctx, *in.ConsumerARN)
	if err != nil {
		return nil, nil, err
	}
	a, _ := parseResourceARN(*in.ConsumerARN) // parsed by ActiveConsumer already
	st, err := s.dataStream(ctx, StreamRef{StreamName: &streamName})
	if err != nil {
		return nil, nil, err
	}
	index, ok := stream.ParseShardID(*in.ShardId)
	var sh *stream.Shard
	if ok {
		sh = st.Shard(index)
	}
	if sh == nil {
		return nil, nil, kerr.NewResourceNotFound(fmt.Sprintf("Shard %s in stream %s under account %s does not exist",
			*in.ShardId, streamName, s.cfg.Account))
	}
	now := s.now()
	start, err := s.startPosition(ctx, st, sh, in.StartingPosition, now)
	if err != nil {
		return nil, nil, err
	}
	if isDryRun(in.DryRun) {
		return nil, nil, errDryRun()
	}
	sub := &subscriber{
		key: subKey{streamID: st.Doc.ID, consumer: consumerName, created: a.ConsumerSecs, shard: sh.Index},
		arn: *in.ConsumerARN, stream: streamName, streamID: st.Doc.ID, consumer: consumerName,
		created: a.ConsumerSecs, shard: sh.Index,
	}
	h, err := s.acquireLease(ctx, sub, now)
	if err != nil {
		return nil, nil, err
	}
	return &SubscribeToShardOutput{}, s.events(ctx, sub, h, start), nil
}
