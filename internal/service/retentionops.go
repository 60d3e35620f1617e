package service

import (
	"context"
	"fmt"
	"time"

	"kinesisd/internal/kerr"
	"kinesisd/internal/service/stream"
	"kinesisd/internal/storage"
)

// IncreaseStreamRetentionPeriod and DecreaseStreamRetentionPeriod. A change takes effect at once:
// reads filter by the stream's current period (retention.go), and the background loop deletes what
// a decrease has expired. An increase does not bring back what had expired before it (AWS documents
// this): the cutoff keeps a floor at the old period's cutoff, which the longer period overtakes.

const (
	minRetentionHours = 24
	maxRetentionHours = 8760
)

// StreamRetentionPeriodInput is the input of IncreaseStreamRetentionPeriod and DecreaseStreamRetentionPeriod.
type StreamRetentionPeriodInput struct {
	StreamRef
	RetentionPeriodHours *int64 `json:"RetentionPeriodHours,omitempty"`
}

// IncreaseStreamRetentionPeriod lengthens how long a stream keeps its records.
func (s *Service) IncreaseStreamRetentionPeriod(ctx context.Context, in *StreamRetentionPeriodInput) error {
	return s.changeRetention(ctx, "IncreaseStreamRetentionPeriod", in, true)
}

// DecreaseStreamRetentionPeriod shortens how long a stream keeps its records; older ones go at once.
func (s *Service) DecreaseStreamRetentionPeriod(ctx context.Context, in *StreamRetentionPeriodInput) error {
	return s.changeRetention(ctx, "DecreaseStreamRetentionPeriod", in, false)
}

func (s *Service) changeRetention(ctx context.Context, op string, in *StreamRetentionPeriodInput, increase bool) error {
	var c checker
	if in.RetentionPeriodHours == nil {
		c.v.Add(kerr.Null, "retentionPeriodHours", "Member must not be null")
	}
	c.streamRef(in.StreamRef)
	if err := c.err(); err != nil {
		return err
	}
	if err := s.checkRate(op, ""); err != nil {
		return err
	}
	name, err := s.streamName(in.StreamRef)
	if err != nil {
		return err
	}
	hours := *in.RetentionPeriodHours
	st, err := s.streams.Mutate(ctx, name, func(doc *stream.Doc) error {
		if err := s.requireActive(doc); err != nil {
			return err
		}
		current := int64(doc.RetentionHours)
		switch {
		case hours < minRetentionHours:
			return kerr.NewInvalidArgument(fmt.Sprintf("Minimum allowed retention period is %d hours. "+
				"Requested retention period (%d hours) is too short.", minRetentionHours, hours))
		case hours > maxRetentionHours:
			return kerr.NewInvalidArgument(fmt.Sprintf("Maximum allowed retention period is %d hours. "+
				"Requested retention period (%d hours) is too long.", maxRetentionHours, hours))
		case increase && hours < current:
			return kerr.NewInvalidArgument(fmt.Sprintf("Requested retention period (%d hours) for stream %s "+
				"can not be shorter than existing retention period (%d hours). Use DecreaseRetentionPeriod API.", hours, doc.Name, current))
		case !increase && hours > current:
			return kerr.NewInvalidArgument(fmt.Sprintf("Requested retention period (%d hours) for stream %s "+
				"can not be longer than existing retention period (%d hours). Use IncreaseRetentionPeriod API.", hours, doc.Name, current))
		}
		if increase {
			// What has expired stays expired: the longer period counts from the change on.
			doc.ExpiredBeforeMilli = doc.CutoffMilli(s.now().UnixMilli())
		}
		doc.RetentionHours = int(hours)
		return nil
	})
	if err == nil && st != nil {
		s.keepFor(ctx, st.Doc.ID, st.Doc.RetentionHours)
	}
	return err
}

// keepFor tells the store, when it can drop old records by itself (storage.Retainer, the JetStream
// engine's MaxAge), the stream's retention period. That is a backstop to the service's own trimming,
// so a failure is logged rather than answered.
func (s *Service) keepFor(ctx context.Context, id uint64, hours int) {
	r, ok := s.store.(storage.Retainer)
	if !ok {
		return
	}
	if err := r.SetRetention(ctx, id, time.Duration(hours)*time.Hour); err != nil {
		s.log.Warn("set the store's retention backstop", "stream", id, "hours", hours, "err", err)
	}
}
