package service

import (
	"context"
	"kinesisd/internal/service/stream"
	"slices"
)

// Enhanced (shard-level) monitoring: EnableEnhancedMonitoring and DisableEnhancedMonitoring keep the
// set of enabled metrics in the stream's document; DescribeStream and DescribeStreamSummary show it.

const metricsAll = "ALL"

// shardMetrics are the shard-level metrics in the model's order; ALL stands for all of them.
var shardMetrics = []string{
	"IncomingBytes", "IncomingRecords", "OutgoingBytes", "OutgoingRecords",
	"WriteProvisionedThroughputExceeded", "ReadProvisionedThroughputExceeded", "IteratorAgeMilliseconds",
}

// metricNames are the values a MetricsNameList member takes.
var metricNames = append(slices.Clone(shardMetrics), metricsAll)

// EnhancedMonitoringInput is the input of EnableEnhancedMonitoring and DisableEnhancedMonitoring.
type EnhancedMonitoringInput struct {
	StreamRef
	ShardLevelMetrics []string `json:"ShardLevelMetrics,omitempty"`
}

// EnhancedMonitoringOutput is the output of EnableEnhancedMonitoring and DisableEnhancedMonitoring:
// the metrics enabled before the call and after it.
type EnhancedMonitoringOutput struct {
	StreamName               string   `json:"StreamName"`
	CurrentShardLevelMetrics []string `json:"CurrentShardLevelMetrics"`
	DesiredShardLevelMetrics []string `json:"DesiredShardLevelMetrics"`
	StreamARN                string   `json:"StreamARN"`
}

// enhancedMonitoring is the EnhancedMonitoring member of DescribeStream and DescribeStreamSummary.
func enhancedMonitoring(st *stream.Stream) []EnhancedMetrics {
	metrics := slices.Clone(st.Doc.ShardLevelMetrics)
	if metrics == nil {
		metrics = []string{}
	}
	return []EnhancedMetrics{{ShardLevelMetrics: metrics}}
}

// expandMetrics turns a request's metric list into the metrics it names, ALL standing for every one.
func expandMetrics(names []string) []string {
	if slices.Contains(names, metricsAll) {
		return slices.Clone(shardMetrics)
	}
	return names
}

// metricSet returns the metrics of shardMetrics for which keep is true, in the model's order.
func metricSet(keep func(string) bool) []string {
	out := []string{}
	for _, m := range shardMetrics {
		if keep(m) {
			out = append(out, m)
		}
	}
	return out
}

// EnableEnhancedMonitoring enables shard-level metrics on a stream.
func (s *Service) EnableEnhancedMonitoring(ctx context.Context, in *EnhancedMonitoringInput) (*EnhancedMonitoringOutput, error) {
	return s.changeMonitoring(ctx, "EnableEnhancedMonitoring", in, true)
}

// DisableEnhancedMonitoring disables shard-level metrics on a stream.
func (s *Service) DisableEnhancedMonitoring(ctx context.Context, in *EnhancedMonitoringInput) (*EnhancedMonitoringOutput, error) {
	return s.changeMonitoring(ctx, "DisableEnhancedMonitoring", in, false)
}

func (s *Service) changeMonitoring(ctx context.Context, op string, in *EnhancedMonitoringInput, enable bool) (*EnhancedMonitoringOutput, error) {
	var c checker
	c.enumList("shardLevelMetrics", in.ShardLevelMetrics, true, 1, len(shardMetrics), metricNames...)
	c.streamRef(in.StreamRef)
	if err := c.err(); err != nil {
		return nil, err
	}
	if err := s.checkRate(op, ""); err != nil {
		return nil, err
	}
	name, err := s.streamName(in.StreamRef)
	if err != nil {
		return nil, err
	}
	named := expandMetrics(in.ShardLevelMetrics)
	var current []string
	st, err := s.streams.Mutate(ctx, name, func(doc *stream.Doc) error {
		if err := s.requireActive(doc); err != nil {
			return err
		}
		current = metricSet(func(m string) bool { return slices.Contains(doc.ShardLevelMetrics, m) })
		doc.ShardLevelMetrics = metricSet(func(m string) bool {
			if enable {
				return slices.Contains(current, m) || slices.Contains(named, m)
			}
			return slices.Contains(current, m) && !slices.Contains(named, m)
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &EnhancedMonitoringOutput{
		StreamName:               st.Doc.Name,
		CurrentShardLevelMetrics: current,
		DesiredShardLevelMetrics: enhancedMonitoring(st)[0].ShardLevelMetrics,
		StreamARN:                s.arn(st.Doc.Name),
	}, nil
}
