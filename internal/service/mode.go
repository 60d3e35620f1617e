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
	// warmThroughputMax is the most warm throughput AWS takes, in MiB/s (10 GiB/s).
	warmThroughputMax = 10240
	// onDemandShards is the shards of a new ON_DEMAND stream: AWS gives it 4 MB/s of writes, 1 MiB/s a
	// shard.
	onDemandShards = 4
	// modeSwitchWindow and modeSwitchesMax are AWS's limit on capacity-mode switches: "For each data
	// stream in your AWS account, you can switch between the on-demand and provisioned capacity modes
	// twice within 24 hours" (Kinesis Data Streams Developer Guide, Quotas and limits: the
	// UpdateStreamMode row, and "Switching between capacity modes").
	modeSwitchWindow = 24 * time.Hour
	modeSwitchesMax  = 2
)

// UpdateStreamModeInput is the input of UpdateStreamMode.
type UpdateStreamModeInput struct {
	StreamARN           *string            `json:"StreamARN,omitempty"`
	StreamId            *string            `json:"StreamId,omitempty"` // accepted and ignored, as in StreamRef
	StreamModeDetails   *StreamModeDetails `json:"StreamModeDetails,omitempty"`
	WarmThroughputMiBps *int64             `json:"WarmThroughputMiBps,omitempty"`
}

// UpdateStreamWarmThroughputInput is the input of UpdateStreamWarmThroughput.
type UpdateStreamWarmThroughputInput struct {
	StreamRef
	WarmThroughputMiBps *int64 `json:"WarmThroughputMiBps,omitempty"`
}

// UpdateStreamWarmThroughputOutput is the output of UpdateStreamWarmThroughput.
type UpdateStreamWarmThroughputOutput struct {
	StreamARN      string           `json:"StreamARN"`
	StreamName     string           `json:"StreamName"`
	WarmThroughput WarmThroughputMB `json:"WarmThroughput"`
}

// warmThroughput is what DescribeStreamSummary shows of a stream's warm throughput: nothing for a
// provisioned stream or one without a target; otherwise the target and what its open shards carry
// (1 MiB/s each).
func warmThroughput(st *stream.Stream) *WarmThroughputMB {
	if st.Doc.Mode != stream.ModeOnDemand || st.Doc.WarmThroughputMiBps == 0 {
		return nil
	}
	return &WarmThroughputMB{TargetMiBps: st.Doc.WarmThroughputMiBps, CurrentMiBps: len(st.OpenShards())}
}

// UpdateStreamMode switches a stream between PROVISIONED and ON_DEMAND. Its shards stay as they are;
// an ON_DEMAND stream then scales with its writes, and a WarmThroughputMiBps pre-splits it. The stream
// must be ACTIVE, and may switch twice in a rolling 24 hours.
func (s *Service) UpdateStreamMode(ctx context.Context, in *UpdateStreamModeInput) error {
	var c checker
	c.str("streamARN", in.StreamARN, true, 1, 2048, streamARNPattern, streamARNPatternText)
	c.streamID(in.StreamId)
	if in.StreamModeDetails == nil {
		c.v.Add(kerr.Null, "streamModeDetails", "Member must not be null")
	} else {
		c.enum("streamModeDetails.streamMode", in.StreamModeDetails.StreamMode, true, stream.ModeProvisioned, stream.ModeOnDemand)
	}
	c.integer("warmThroughputMiBps", in.WarmThroughputMiBps, false, 0, math.MaxInt32)
	if err := c.err(); err != nil {
		return err
	}
	name, err := s.streamName(StreamRef{StreamARN: in.StreamARN})
	if err != nil {
		return err
	}
	mode := *in.StreamModeDetails.StreamMode
	if in.WarmThroughputMiBps != nil && mode != stream.ModeOnDemand {
		return kerr.NewInvalidArgument("WarmThroughputMiBps is only supported when updating the stream mode to ON_DEMAND.")
	}
	if err := s.checkWarm(in.WarmThroughputMiBps); err != nil {
		return err
	}
	if err := s.checkRate("UpdateStreamMode", name); err != nil {
		return err
	}
	if mode == stream.ModeOnDemand {
		if st, err := s.streams.Peek(ctx, name); err == nil && st != nil && st.Doc.Mode != stream.ModeOnDemand {
			if err := s.checkOnDemandLimit(ctx); err != nil {
				return err
			}
		}
	}
	now := s.now().UnixMilli()
	_, err = s.streams.Reshard(ctx, name, func(doc *stream.Doc) error {
		if err := s.requireActive(doc); err != nil {
			return err
		}
		if doc.Mode == mode && in.WarmThroughputMiBps == nil {
			return kerr.NewInvalidArgument(fmt.Sprintf("Stream %s under account %s is already in %s mode.", name, s.cfg.Account, mode))
		}
		if mode == stream.ModeProvisioned && len(s.queuesOn(doc)) > 0 {
			// The model: "You can't switch a data stream from on-demand to provisioned capacity mode while
			// the stream has one or more queues." Its wording of the refusal is not recorded: ours.
			return kerr.NewResourceInUse(fmt.Sprintf("Stream %s under account %s has %d queues: delete them with DeleteQueue before you switch it to %s mode.",
				name, s.cfg.Account, len(s.queuesOn(doc)), mode))
		}
		if doc.Mode != mode {
			since := now - modeSwitchWindow.Milliseconds()
			doc.ModeSwitches = slices.DeleteFunc(doc.ModeSwitches, func(ms int64) bool { return ms <= since })
			if len(doc.ModeSwitches) >= modeSwitchesMax {
				// AWS's wording for this refusal is not recorded anywhere we could find: invented, in the
				// words of the other rolling-24-hour limits here.
				return kerr.NewLimitExceeded(fmt.Sprintf("UpdateStreamMode failed for stream %s under account %s. "+
					"The stream's capacity mode has been switched %d times in the last 24 hours, the most allowed.", name, s.cfg.Account, modeSwitchesMax))
			}
			doc.ModeSwitches = append(doc.ModeSwitches, now)
		}
		doc.Mode = mode
		if mode == stream.ModeProvisioned {
			doc.WarmThroughputMiBps = 0
			doc.RecordDistribution = "" // AUTO is for ON_DEMAND streams only
		}
		doc.Status, doc.StatusMilli = stream.StatusUpdating, now
		if in.WarmThroughputMiBps != nil {
			doc.WarmThroughputMiBps = int(*in.WarmThroughputMiBps)
			return s.scheduleWarm(ctx, doc, doc.WarmThroughputMiBps, now)
		}
		return nil
	})
	return err
}

// UpdateStreamWarmThroughput sets the warm throughput of an ON_DEMAND stream and splits it to the shard
// count that carries it (1 MiB/s a shard) when the UPDATING it starts ends.
func (s *Service) UpdateStreamWarmThroughput(ctx context.Context, in *UpdateStreamWarmThroughputInput) (*UpdateStreamWarmThroughputOutput, error) {
	var c checker
	c.streamRef(in.StreamRef)
	c.integer("warmThroughputMiBps", in.WarmThroughputMiBps, true, 0, math.MaxInt32)
	if err := c.err(); err != nil {
		return nil, err
	}
	name, err := s.streamName(in.StreamRef)
	if err != nil {
		return nil, err
	}
	if err := s.checkWarm(in.WarmThroughputMiBps); err != nil {
		return nil, err
	}
	if err := s.checkRate("UpdateStreamWarmThroughput", name); err != nil {
		return nil, err
	}
	target := int(*in.WarmThroughputMiBps)
	now := s.now().UnixMilli()
	st, err := s.streams.Reshard(ctx, name, func(doc *stream.Doc) error {
		if doc.Mode != stream.ModeOnDemand {
			return s.warmOnProvisioned(name)
		}
		if err := s.requireActive(doc); err != nil {
			return err
		}
		doc.WarmThroughputMiBps = target
		doc.Status, doc.StatusMilli = stream.StatusUpdating, now
		return s.scheduleWarm(ctx, doc, target, now)
	})
	if err != nil {
		return nil, err
	}
	return &UpdateStreamWarmThroughputOutput{StreamARN: s.arn(name), StreamName: name,
		WarmThroughput: WarmThroughputMB{TargetMiBps: target, CurrentMiBps: len(st.OpenShards())}}, nil
}

// warmOnProvisioned refuses a warm throughput for a PROVISIONED stream (UpdateStreamWarmThroughput,
// CreateStream). The wording is ours: AWS documents the refusal but not its message.
func (s *Service) warmOnProvisioned(name string) error {
	return kerr.NewInvalidArgument(fmt.Sprintf("Warm throughput is only supported for ON_DEMAND streams. Stream %s under account %s is in PROVISIONED mode.",
		name, s.cfg.Account))
}

// autoOnProvisioned refuses the AUTO record distribution strategy for a PROVISIONED stream
// (UpdateStreamRecordDistributionStrategy, CreateStream), with the message the Developer Guide gives
// ("Configure service-managed record distribution", Error handling: "a message similar to the
// following").
func autoOnProvisioned(name string) error {
	return kerr.NewInvalidArgument(fmt.Sprintf("RecordDistributionStrategy=AUTO is only supported for on-demand streams. Stream %s is using PROVISIONED mode.", name))
}

func (s *Service) checkWarm(mibps *int64) error {
	if mibps != nil && *mibps > warmThroughputMax {
		return kerr.NewInvalidArgument(fmt.Sprintf("WarmThroughputMiBps %d exceeds the maximum of %d MiBps.", *mibps, warmThroughputMax))
	}
	return nil
}

// scheduleWarm checks that mibps open shards (1 MiB/s each) fit the account's shard limit and schedules
// the splits that reach them. It never merges: warm throughput is a floor.
func (s *Service) scheduleWarm(ctx context.Context, doc *stream.Doc, mibps int, now int64) error {
	adding := mibps - doc.OpenCount()
	if adding <= 0 {
		return nil
	}
	if err := s.checkShardLimit(ctx, adding); err != nil {
		return err
	}
	doc.Schedule(stream.Change{Kind: stream.ChangeWarm, Count: mibps}, now)
	return nil
}
