package service

import (
	"context"
	"kinesisd/internal/service/stream"
)

// UpdateMaxRecordSize and UpdateStreamRecordDistributionStrategy: per-stream settings that PutRecord
// and PutRecords read from the stream's document (records.go: sizeLimits, routeRecord).

// UpdateMaxRecordSizeInput is the input of UpdateMaxRecordSize.
type UpdateMaxRecordSizeInput struct {
	StreamARN          *string `json:"StreamARN,omitempty"`
	StreamId           *string `json:"StreamId,omitempty"`
	MaxRecordSizeInKiB *int64  `json:"MaxRecordSizeInKiB,omitempty"`
}

// UpdateStreamRecordDistributionStrategyInput is the input of UpdateStreamRecordDistributionStrategy.
type UpdateStreamRecordDistributionStrategyInput struct {
	StreamARN                  *string `json:"StreamARN,omitempty"`
	StreamId                   *string `json:"StreamId,omitempty"`
	RecordDistributionStrategy *string `json:"RecordDistributionStrategy,omitempty"`
}

// UpdateMaxRecordSize sets the largest record a stream takes, 1024..10240 KiB.
func (s *Service) UpdateMaxRecordSize(ctx context.Context, in *UpdateMaxRecordSizeInput) error {
	var c checker
	c.str("streamARN", in.StreamARN, false, 1, 2048, streamARNPattern, streamARNPatternText)
	c.streamID(in.StreamId)
	c.integer("maxRecordSizeInKiB", in.MaxRecordSizeInKiB, true, 1024, 10240)
	if err := c.err(); err != nil {
		return err
	}
	if err := s.checkRate("UpdateMaxRecordSize", ""); err != nil {
		return err
	}
	name, err := s.streamName(StreamRef{StreamARN: in.StreamARN})
	if err != nil {
		return err
	}
	_, err = s.streams.Mutate(ctx, name, func(doc *stream.Doc) error {
		if err := s.requireActive(doc); err != nil {
			return err
		}
		doc.MaxRecordKiB = int(*in.MaxRecordSizeInKiB)
		return nil
	})
	return err
}

// UpdateStreamRecordDistributionStrategy chooses how records are spread over shards: by partition
// key (USER_PARTITION_KEY), or evenly, ignoring the key (AUTO, on-demand streams only).
func (s *Service) UpdateStreamRecordDistributionStrategy(ctx context.Context, in *UpdateStreamRecordDistributionStrategyInput) error {
	var c checker
	c.str("streamARN", in.StreamARN, true, 1, 2048, streamARNPattern, streamARNPatternText)
	c.streamID(in.StreamId)
	c.enum("recordDistributionStrategy", in.RecordDistributionStrategy, true, stream.DistributionAuto, stream.DistributionUserKey)
	if err := c.err(); err != nil {
		return err
	}
	if err := s.checkRate("UpdateStreamRecordDistributionStrategy", ""); err != nil {
		return err
	}
	name, err := s.streamName(StreamRef{StreamARN: in.StreamARN})
	if err != nil {
		return err
	}
	_, err = s.streams.Mutate(ctx, name, func(doc *stream.Doc) error {
		if err := s.requireActive(doc); err != nil {
			return err
		}
		if *in.RecordDistributionStrategy == stream.DistributionAuto && doc.Mode != stream.ModeOnDemand {
			return autoOnProvisioned(name)
		}
		doc.RecordDistribution = *in.RecordDistributionStrategy
		return nil
	})
	return err
}
