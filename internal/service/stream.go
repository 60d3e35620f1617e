package service

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"

	"kinesisd/internal/kerr"
	"kinesisd/internal/service/hashkey"
	"kinesisd/internal/service/stream"
	"kinesisd/internal/storage"
)

// CreateStream creates a stream with ShardCount shards splitting the hash-key space evenly.
func (s *Service) CreateStream(ctx context.Context, in *CreateStreamInput) error {
	var c checker
	c.integer("shardCount", in.ShardCount, false, 1, math.MaxInt64) // the model has no maximum: the shard limit decides
	c.str("streamName", in.StreamName, true, 1, 128, namePattern, namePatternText)
	if in.StreamModeDetails != nil {
		c.enum("streamModeDetails.streamMode", in.StreamModeDetails.StreamMode, true, stream.ModeProvisioned, stream.ModeOnDemand)
	}
	c.tagMap("tags", in.Tags, false)
	c.integer("warmThroughputMiBps", in.WarmThroughputMiBps, false, 0, math.MaxInt32)
	c.integer("maxRecordSizeInKiB", in.MaxRecordSizeInKiB, false, 1024, 10240)
	c.enum("recordDistributionStrategy", in.RecordDistributionStrategy, false, stream.DistributionAuto, stream.DistributionUserKey)
	if err := c.err(); err != nil {
		return err
	}
	if err := s.checkCreateTags(*in.StreamName, in.Tags); err != nil {
		return err
	}
	if err := s.checkRate("CreateStream", ""); err != nil {
		return err
	}
	mode := stream.ModeProvisioned
	if in.StreamModeDetails != nil {
		mode = *in.StreamModeDetails.StreamMode
	}
	name := *in.StreamName
	shards := 0
	switch {
	case mode == stream.ModeOnDemand && in.ShardCount != nil:
		return kerr.NewValidation("ShardCount is not supported for ON_DEMAND streams.")
	case mode == stream.ModeOnDemand:
		shards = onDemandShards
	case in.ShardCount == nil:
		return kerr.NewInvalidArgument("ShardCount is required for PROVISIONED streams.")
	default:
		shards = int(*in.ShardCount)
	}
	distribution := ""
	if in.RecordDistributionStrategy != nil {
		if *in.RecordDistributionStrategy == stream.DistributionAuto && mode != stream.ModeOnDemand {
			return autoOnProvisioned(name)
		}
		if mode == stream.ModeOnDemand {
			distribution = *in.RecordDistributionStrategy
		}
	}
	warm := 0
	if in.WarmThroughputMiBps != nil {
		if mode != stream.ModeOnDemand {
			return s.warmOnProvisioned(name)
		}
		if err := s.checkWarm(in.WarmThroughputMiBps); err != nil {
			return err
		}
		// A new ON_DEMAND stream is created with the shards its warm throughput needs (1 MiB/s each),
		// evenly, as CreateStream divides the hash-key space: a stream that never held a record has no
		// reason for split lineage (inferred; AWS does not document its on-demand shards).
		warm = int(*in.WarmThroughputMiBps)
		shards = max(shards, warm)
	}
	if err := s.checkStreamsChanging(ctx); err != nil {
		return err
	}
	if mode == stream.ModeOnDemand {
		if err := s.checkOnDemandLimit(ctx); err != nil {
			return err
		}
	}
	if err := s.checkShardLimit(ctx, shards); err != nil {
		return err
	}
	maxKiB := defaultMaxRecordSizeKiB
	if in.MaxRecordSizeInKiB != nil {
		maxKiB = int(*in.MaxRecordSizeInKiB)
	}

	now := s.now().UnixMilli()
	doc := stream.Doc{
		Name:                name,
		ID:                  stream.NewID(),
		CreatedMilli:        now,
		Status:              stream.StatusCreating,
		StatusMilli:         now,
		Mode:                mode,
		RetentionHours:      defaultRetentionHours,
		MaxRecordKiB:        maxKiB,
		Encryption:          stream.EncryptionNone,
		NextShard:           uint32(shards),
		WarmThroughputMiBps: warm,
		RecordDistribution:  distribution,
	}
	for i, r := range hashkey.SplitEvenly(shards) {
		doc.Shards = append(doc.Shards, stream.Shard{Index: uint32(i), StartHash: r[0].String(), EndHash: r[1].String(), SeqCreated: now / 1000})
	}
	for k, v := range in.Tags {
		doc.Tags = append(doc.Tags, stream.Tag{Key: k, Value: v})
	}
	err := s.streams.Create(ctx, &doc)
	if errors.Is(err, storage.ErrConflict) {
		return kerr.NewResourceInUse(fmt.Sprintf("Stream %s under account %s already exists.", name, s.cfg.Account))
	}
	if err != nil {
		return internal("create stream", err)
	}
	s.keepFor(ctx, doc.ID, doc.RetentionHours)
	return nil
}

// DeleteStream deletes a stream and all its records.
func (s *Service) DeleteStream(ctx context.Context, in *DeleteStreamInput) error {
	var c checker
	c.streamRef(in.StreamRef)
	if err := c.err(); err != nil {
		return err
	}
	if err := s.checkRate("DeleteStream", ""); err != nil {
		return err
	}
	st, err := s.findStream(ctx, in.StreamRef)
	if err != nil {
		return err
	}
	_, err = s.streams.Mutate(ctx, st.Doc.Name, func(doc *stream.Doc) error {
		if doc.Status == stream.StatusDeleting {
			return errAlreadyDeleting
		}
		// A CREATING stream may be deleted: AWS accepts it (kinesalite's recordings).
		if len(s.queuesOn(doc)) > 0 { // DELETING ones too; whatever EnforceConsumerDeletion says (the model's DeleteStream)
			return kerr.NewResourceInUse(fmt.Sprintf("DeleteStream can’t delete %s:%s because there are queues associated with this data stream. "+
				"Delete every queue on the stream with DeleteQueue first.", s.cfg.Account, doc.Name))
		}
		if len(doc.Channels) > 0 { // whatever EnforceConsumerDeletion says (the model's DeleteChannel)
			return kerr.NewResourceInUse(fmt.Sprintf("DeleteStream can’t delete %s:%s because there are channels associated with this data stream. "+
				"Delete every channel on the stream with DeleteChannel first.", s.cfg.Account, doc.Name))
		}
		consumers := s.streams.LiveConsumers(doc)
		if len(consumers) > 0 && (in.EnforceConsumerDeletion == nil || !*in.EnforceConsumerDeletion) {
			return kerr.NewResourceInUse(fmt.Sprintf("DeleteStream can’t delete %s:%s because there are consumers associated with this data stream. "+
				"To delete %s anyway, set the EnforceConsumerDeletion parameter to true to force the deletion of all the consumers that are associated with it.",
				s.cfg.Account, doc.Name, doc.Name))
		}
		doc.Status, doc.StatusMilli = stream.StatusDeleting, s.now().UnixMilli()
		doc.Consumers = consumers // they go with the stream
		for i := range doc.Consumers {
			doc.Consumers[i].Status, doc.Consumers[i].StatusMilli = stream.StatusDeleting, doc.StatusMilli
		}
		return nil
	})
	// With no delay the stream is purged by the reload in mutateStream, which then finds nothing.
	if errors.Is(err, errAlreadyDeleting) || isStreamNotFound(err) {
		return nil
	}
	return err
}

// DescribeStreamSummary describes a stream without listing its shards.
func (s *Service) DescribeStreamSummary(ctx context.Context, in *DescribeStreamSummaryInput) (*DescribeStreamSummaryOutput, error) {
	var c checker
	c.streamRef(in.StreamRef)
	if err := c.err(); err != nil {
		return nil, err
	}
	st, err := s.findStream(ctx, in.StreamRef)
	if err != nil {
		return nil, err
	}
	if err := s.checkRate("DescribeStreamSummary", st.Doc.Name); err != nil {
		return nil, err
	}
	d := &st.Doc
	out := &DescribeStreamSummaryOutput{StreamDescriptionSummary: StreamDescriptionSummary{
		StreamName:              d.Name,
		StreamARN:               s.arn(d.Name),
		StreamStatus:            d.Status,
		StreamModeDetails:       StreamModeDetailsOut{StreamMode: d.Mode},
		RetentionPeriodHours:    d.RetentionHours,
		StreamCreationTimestamp: Timestamp{stream.Milli(d.CreatedMilli)},
		EnhancedMonitoring:      enhancedMonitoring(st),
		EncryptionType:          d.Encryption,
		OpenShardCount:          len(st.OpenShards()),
		ConsumerCount:           len(s.streams.LiveConsumers(d)),
		MaxRecordSizeInKiB:      d.MaxRecordKiB,
		WarmThroughput:          warmThroughput(st),
	}}
	if d.Mode == stream.ModeOnDemand {
		// "This field is only present for streams that use the on-demand capacity mode" (the SDK's
		// StreamDescriptionSummary); there it is what the stream uses, USER_PARTITION_KEY by default.
		out.StreamDescriptionSummary.RecordDistributionStrategy = cmp.Or(d.RecordDistribution, stream.DistributionUserKey)
	}
	if d.KeyID != "" {
		out.StreamDescriptionSummary.KeyId = &d.KeyID
	}
	if n := len(d.Channels); n > 0 {
		out.StreamDescriptionSummary.ChannelCount = &n
	}
	if n := len(s.queuesOn(d)); n > 0 {
		out.StreamDescriptionSummary.QueueCount = &n
	}
	return out, nil
}
