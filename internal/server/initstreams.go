package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"kinesisd/internal/config"
	"kinesisd/internal/kerr"
	"kinesisd/internal/service"
)

// createInitStreams creates the streams of -init-streams that do not exist yet and waits until each is
// ACTIVE, so that the port opens on streams a client can use at once. A stream that exists is left
// alone; one whose shard count, mode or retention differs from its item is reported at WARN.
func createInitStreams(ctx context.Context, svc *service.Service, streams []config.InitStream, wait time.Duration, log *slog.Logger) error {
	deadline := time.Now().Add(wait + 30*time.Second) // -create-stream-delay, and time to spare
	for _, is := range streams {
		if err := createInitStream(ctx, svc, is, deadline, log); err != nil {
			return fmt.Errorf("-init-streams %s: %w", is, err)
		}
	}
	for _, is := range streams {
		if err := waitActive(ctx, svc, is.Name, deadline); err != nil {
			return fmt.Errorf("-init-streams %s: %w", is, err)
		}
	}
	return nil
}

func createInitStream(ctx context.Context, svc *service.Service, is config.InitStream, deadline time.Time, log *slog.Logger) error {
	sum, err := describe(ctx, svc, is.Name)
	var notFound *kerr.ResourceNotFound
	switch {
	case err == nil:
		if diff := initStreamDiff(is, sum); diff != "" {
			log.Warn("init stream exists with another definition; left as it is", "stream", is.Name, "want", is.String(), "differs", diff)
		} else {
			log.Info("init stream exists", "stream", is.Name)
		}
		return nil
	case !errors.As(err, &notFound):
		return err
	}
	in := &service.CreateStreamInput{StreamName: &is.Name}
	if is.OnDemand {
		mode := "ON_DEMAND"
		in.StreamModeDetails = &service.StreamModeDetails{StreamMode: &mode}
	} else {
		n := int64(is.Shards)
		in.ShardCount = &n
	}
	if err := svc.CreateStream(ctx, in); err != nil {
		return err
	}
	if is.RetentionHours > 24 {
		// The stream is CREATING until -create-stream-delay passes; retention changes need it ACTIVE.
		if err := waitActive(ctx, svc, is.Name, deadline); err != nil {
			return err
		}
		hours := int64(is.RetentionHours)
		if err := svc.IncreaseStreamRetentionPeriod(ctx, &service.StreamRetentionPeriodInput{StreamRef: service.StreamRef{StreamName: &is.Name}, RetentionPeriodHours: &hours}); err != nil {
			return err
		}
	}
	log.Info("init stream created", "stream", is.Name, "definition", is.String())
	return nil
}

func describe(ctx context.Context, svc *service.Service, name string) (*service.StreamDescriptionSummary, error) {
	out, err := svc.DescribeStreamSummary(ctx, &service.DescribeStreamSummaryInput{StreamRef: service.StreamRef{StreamName: &name}})
	if err != nil {
		return nil, err
	}
	return &out.StreamDescriptionSummary, nil
}

// waitActive waits until stream name is ACTIVE, polling, until deadline.
func waitActive(ctx context.Context, svc *service.Service, name string, deadline time.Time) error {
	for {
		sum, err := describe(ctx, svc, name)
		switch {
		case err != nil:
			return err
		case sum.StreamStatus == "ACTIVE":
			return nil
		case time.Now().After(deadline):
			return fmt.Errorf("still %s", sum.StreamStatus)
		}
		if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
}

// initStreamDiff says how an existing stream differs from its -init-streams item, or "".
func initStreamDiff(is config.InitStream, sum *service.StreamDescriptionSummary) string {
	var diff string
	add := func(format string, args ...any) {
		if diff != "" {
			diff += "; "
		}
		diff += fmt.Sprintf(format, args...)
	}
	mode := sum.StreamModeDetails.StreamMode
	switch {
	case is.OnDemand && mode != "ON_DEMAND":
		add("mode %s, not ON_DEMAND", mode)
	case !is.OnDemand && mode == "ON_DEMAND":
		add("mode ON_DEMAND, not %d shards", is.Shards)
	case !is.OnDemand && sum.OpenShardCount != is.Shards:
		add("%d open shards, not %d", sum.OpenShardCount, is.Shards)
	}
	want := is.RetentionHours
	if want == 0 {
		want = 24
	}
	if sum.RetentionPeriodHours != want {
		add("retention %dh, not %dh", sum.RetentionPeriodHours, want)
	}
	return diff
}
