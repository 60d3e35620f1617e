package service

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"kinesisd/internal/kerr"
	"kinesisd/internal/storage"
)

const shardIDPrefix = "shardId-"

func shardID(index uint32) string {
	return fmt.Sprintf("%s%012d", shardIDPrefix, index)
}

// parseShardID returns the index a shard id names. Like AWS it reads the digits after the last '-'
// (or the whole id): shardId-000000000005, shardId-5 and 5 all name shard 5, up to 2147483647.
func parseShardID(id string) (uint32, bool) {
	digits := id[strings.LastIndexByte(id, '-')+1:]
	if digits == "" {
		return 0, false
	}
	n, err := strconv.ParseUint(digits, 10, 31)
	if err != nil {
		return 0, false
	}
	return uint32(n), true
}

// streamWithoutShard is the error for a request naming shard id of a stream that does not exist: AWS
// names the shard, as it does for a shard the stream lacks (kinesalite's recordings).
func (s *Service) streamWithoutShard(ref StreamRef, id string, err error) error {
	var nf *kerr.ResourceNotFound
	name, nameErr := s.streamName(ref)
	if !errors.As(err, &nf) || nameErr != nil {
		return err
	}
	if index, ok := parseShardID(id); ok {
		return kerr.NewResourceNotFound(fmt.Sprintf("Shard %s in stream %s under account %s does not exist", shardID(index), name, s.cfg.Account))
	}
	return kerr.NewResourceNotFound(fmt.Sprintf("Could not find shard %s in stream %s under account %s.", id, name, s.cfg.Account))
}

func sortOpen(open []openShard) {
	slices.SortFunc(open, func(a, b openShard) int {
		switch {
		case a.start.less(b.start):
			return -1
		case b.start.less(a.start):
			return 1
		}
		return 0
	})
}

// streamName resolves the StreamName / StreamARN pair (already checked against the model) to a name
// in this service's account.
func (s *Service) streamName(ref StreamRef) (string, error) {
	switch {
	case ref.StreamName == nil && ref.StreamARN == nil:
		return "", kerr.NewInvalidArgument("Either StreamName or StreamARN should be provided.")
	case ref.StreamARN == nil:
		return *ref.StreamName, nil
	}
	arn := *ref.StreamARN
	a, ok := parseResourceARN(arn)
	if !ok || a.Consumer != "" {
		return "", kerr.NewInvalidArgument(fmt.Sprintf("StreamARN %s is invalid.", arn))
	}
	if ref.StreamName != nil && *ref.StreamName != a.Stream {
		return "", kerr.NewInvalidArgument(fmt.Sprintf("StreamName %s and StreamARN %s do not name the same stream.", *ref.StreamName, arn))
	}
	if !s.isLocal(a) {
		return "", kerr.StreamNotFound(a.Stream, a.Account)
	}
	return a.Stream, nil
}

// findStream resolves ref and returns the stream, or ResourceNotFoundException.
func (s *Service) findStream(ctx context.Context, ref StreamRef) (*stream, error) {
	name, err := s.streamName(ref)
	if err != nil {
		return nil, err
	}
	st, err := s.loadStream(ctx, name)
	if err != nil {
		return nil, internal("find stream", err)
	}
	if st == nil {
		return nil, kerr.StreamNotFound(name, s.cfg.Account)
	}
	return st, nil
}

// dataStream is findStream for the data plane: records go to and come from ACTIVE and UPDATING
// streams only; for others the stream is not found.
func (s *Service) dataStream(ctx context.Context, ref StreamRef) (*stream, error) {
	st, err := s.findStream(ctx, ref)
	if err != nil {
		return nil, err
	}
	if st.doc.Status != statusActive && st.doc.Status != statusUpdating {
		return nil, kerr.StreamNotFound(st.doc.Name, s.cfg.Account)
	}
	return st, nil
}

// CreateStream creates a stream with ShardCount shards splitting the hash-key space evenly.
func (s *Service) CreateStream(ctx context.Context, in *CreateStreamInput) error {
	var c checker
	c.integer("shardCount", in.ShardCount, false, 1, math.MaxInt64) // the model has no maximum: the shard limit decides
	c.str("streamName", in.StreamName, true, 1, 128, namePattern, namePatternText)
	if in.StreamModeDetails != nil {
		c.enum("streamModeDetails.streamMode", in.StreamModeDetails.StreamMode, true, streamModeProvisioned, streamModeOnDemand)
	}
	c.tagMap("tags", in.Tags, false)
	c.integer("warmThroughputMiBps", in.WarmThroughputMiBps, false, 0, math.MaxInt32)
	c.integer("maxRecordSizeInKiB", in.MaxRecordSizeInKiB, false, 1024, 10240)
	c.enum("recordDistributionStrategy", in.RecordDistributionStrategy, false, distributionAuto, distributionUserKey)
	if err := c.err(); err != nil {
		return err
	}
	if err := s.checkCreateTags(*in.StreamName, in.Tags); err != nil {
		return err
	}
	if err := s.checkRate("CreateStream", ""); err != nil {
		return err
	}
	mode := streamModeProvisioned
	if in.StreamModeDetails != nil {
		mode = *in.StreamModeDetails.StreamMode
	}
	name := *in.StreamName
	shards := 0
	switch {
	case mode == streamModeOnDemand && in.ShardCount != nil:
		return kerr.NewValidation("ShardCount is not supported for ON_DEMAND streams.")
	case mode == streamModeOnDemand:
		shards = onDemandShards
	case in.ShardCount == nil:
		return kerr.NewInvalidArgument("ShardCount is required for PROVISIONED streams.")
	default:
		shards = int(*in.ShardCount)
	}
	distribution := ""
	if in.RecordDistributionStrategy != nil {
		if *in.RecordDistributionStrategy == distributionAuto && mode != streamModeOnDemand {
			return autoOnProvisioned(name)
		}
		if mode == streamModeOnDemand {
			distribution = *in.RecordDistributionStrategy
		}
	}
	warm := 0
	if in.WarmThroughputMiBps != nil {
		if mode != streamModeOnDemand {
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
	if mode == streamModeOnDemand {
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
	doc := streamDoc{
		Name:                name,
		ID:                  newRandomID(),
		CreatedMilli:        now,
		Status:              statusCreating,
		StatusMilli:         now,
		Mode:                mode,
		RetentionHours:      defaultRetentionHours,
		MaxRecordKiB:        maxKiB,
		Encryption:          encryptionNone,
		NextShard:           uint32(shards),
		WarmThroughputMiBps: warm,
		RecordDistribution:  distribution,
	}
	for i, r := range splitEvenly(shards) {
		doc.Shards = append(doc.Shards, shardDoc{Index: uint32(i), StartHash: r[0].String(), EndHash: r[1].String()})
	}
	for k, v := range in.Tags {
		doc.Tags = append(doc.Tags, tag{Key: k, Value: v})
	}
	err := s.saveStream(ctx, &doc, 0)
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
	_, err = s.mutateStream(ctx, st.doc.Name, func(doc *streamDoc) error {
		switch doc.Status {
		case statusCreating:
			return s.notActive(doc)
		case statusDeleting:
			return errAlreadyDeleting
		}
		consumers := s.liveConsumers(doc)
		if len(consumers) > 0 && (in.EnforceConsumerDeletion == nil || !*in.EnforceConsumerDeletion) {
			return kerr.NewResourceInUse(fmt.Sprintf("DeleteStream can’t delete %s:%s because there are consumers associated with this data stream. "+
				"To delete %s anyway, set the EnforceConsumerDeletion parameter to true to force the deletion of all the consumers that are associated with it.",
				s.cfg.Account, doc.Name, doc.Name))
		}
		doc.Status, doc.StatusMilli = statusDeleting, s.now().UnixMilli()
		doc.Consumers = consumers // they go with the stream
		for i := range doc.Consumers {
			doc.Consumers[i].Status, doc.Consumers[i].StatusMilli = statusDeleting, doc.StatusMilli
		}
		return nil
	})
	// With no delay the stream is purged by the reload in mutateStream, which then finds nothing.
	if errors.Is(err, errAlreadyDeleting) || isStreamNotFound(err) {
		return nil
	}
	return err
}

// errAlreadyDeleting stops a DeleteStream of a stream already DELETING: nothing to change.
var errAlreadyDeleting = errors.New("already deleting")

func isStreamNotFound(err error) bool {
	var rnf *kerr.ResourceNotFound
	return errors.As(err, &rnf)
}

// notActive is the error for an operation that needs an ACTIVE stream.
func (s *Service) notActive(doc *streamDoc) error {
	return kerr.NewResourceInUse(fmt.Sprintf("Stream %s under account %s not ACTIVE, instead in state %s",
		doc.Name, s.cfg.Account, doc.Status))
}

// requireActive refuses a change to a stream that is not ACTIVE.
func (s *Service) requireActive(doc *streamDoc) error {
	if doc.Status != statusActive {
		return s.notActive(doc)
	}
	return nil
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
	if err := s.checkRate("DescribeStreamSummary", st.doc.Name); err != nil {
		return nil, err
	}
	d := &st.doc
	out := &DescribeStreamSummaryOutput{StreamDescriptionSummary: StreamDescriptionSummary{
		StreamName:              d.Name,
		StreamARN:               s.arn(d.Name),
		StreamStatus:            d.Status,
		StreamModeDetails:       StreamModeDetailsOut{StreamMode: d.Mode},
		RetentionPeriodHours:    d.RetentionHours,
		StreamCreationTimestamp: Timestamp{timeMilli(d.CreatedMilli)},
		EnhancedMonitoring:      st.enhancedMonitoring(),
		EncryptionType:          d.Encryption,
		OpenShardCount:          len(st.open),
		ConsumerCount:           len(s.liveConsumers(d)),
		MaxRecordSizeInKiB:      d.MaxRecordKiB,
		WarmThroughput:          st.warmThroughput(),
	}}
	if d.Mode == streamModeOnDemand {
		// "This field is only present for streams that use the on-demand capacity mode" (the SDK's
		// StreamDescriptionSummary); there it is what the stream uses, USER_PARTITION_KEY by default.
		out.StreamDescriptionSummary.RecordDistributionStrategy = cmp.Or(d.RecordDistribution, distributionUserKey)
	}
	if d.KeyID != "" {
		out.StreamDescriptionSummary.KeyId = &d.KeyID
	}
	return out, nil
}
