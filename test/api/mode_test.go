package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/config"
	"kinesisd/internal/kinesistest"
)

// arnOf is streamARN as the SDK's inputs take it.
func arnOf(name string) *string { return aws.String(streamARN(name)) }

func createOnDemand(t *testing.T, c *kinesis.Client, name string) {
	t.Helper()
	if _, err := c.CreateStream(t.Context(), &kinesis.CreateStreamInput{StreamName: aws.String(name),
		StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand}}); err != nil {
		t.Fatalf("CreateStream %s: %v", name, err)
	}
}

func TestUpdateStreamMode(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createStream(t, c, "modal", 2)
		setMode := func(mode types.StreamMode) error {
			_, err := c.UpdateStreamMode(ctx, &kinesis.UpdateStreamModeInput{StreamARN: arnOf("modal"), StreamModeDetails: &types.StreamModeDetails{StreamMode: mode}})
			return err
		}
		if err := setMode(types.StreamModeOnDemand); err != nil {
			t.Fatal(err)
		}
		sum := summary(t, c, "modal")
		if sum.StreamModeDetails.StreamMode != types.StreamModeOnDemand || *sum.OpenShardCount != 2 {
			t.Errorf("after ON_DEMAND: %s with %d shards", sum.StreamModeDetails.StreamMode, *sum.OpenShardCount)
		}
		d, err := c.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String("modal")})
		if err != nil || d.StreamDescription.StreamModeDetails.StreamMode != types.StreamModeOnDemand {
			t.Errorf("DescribeStream mode: %v %v", err, d)
		}
		l, err := c.ListStreams(ctx, &kinesis.ListStreamsInput{})
		if err != nil || l.StreamSummaries[0].StreamModeDetails.StreamMode != types.StreamModeOnDemand {
			t.Errorf("ListStreams mode: %v %v", err, l)
		}
		_, err = c.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String("modal"), ShardToSplit: aws.String("shardId-000000000000"), NewStartingHashKey: aws.String("100")})
		wantAPIError(t, err, "ValidationException", 400, "SplitShard is not supported for ON_DEMAND streams.")
		_, err = c.MergeShards(ctx, &kinesis.MergeShardsInput{StreamName: aws.String("modal"), ShardToMerge: aws.String("shardId-000000000000"), AdjacentShardToMerge: aws.String("shardId-000000000001")})
		wantAPIError(t, err, "ValidationException", 400, "MergeShards is not supported for ON_DEMAND streams.")
		_, err = c.UpdateShardCount(ctx, &kinesis.UpdateShardCountInput{StreamName: aws.String("modal"), TargetShardCount: aws.Int32(3), ScalingType: types.ScalingTypeUniformScaling})
		wantAPIError(t, err, "ValidationException", 400, "UpdateShardCount is not supported for ON_DEMAND streams.")
		wantAPIError(t, setMode(types.StreamModeOnDemand), "InvalidArgumentException", 400, "Stream modal under account "+acct+" is already in ON_DEMAND mode.")
		if err := setMode(types.StreamModeProvisioned); err != nil {
			t.Fatal(err)
		}
		if m := summary(t, c, "modal").StreamModeDetails.StreamMode; m != types.StreamModeProvisioned {
			t.Errorf("mode %s", m)
		}
		_, err = c.UpdateStreamMode(ctx, &kinesis.UpdateStreamModeInput{StreamARN: arnOf("nope"), StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand}})
		wantAPIError(t, err, "ResourceNotFoundException", 400, "Stream nope under account "+acct+" not found.")
		_, err = c.UpdateStreamMode(ctx, &kinesis.UpdateStreamModeInput{StreamARN: arnOf("modal"), StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeProvisioned},
			WarmThroughputMiBps: aws.Int32(4)})
		wantAPIError(t, err, "InvalidArgumentException", 400, "WarmThroughputMiBps is only supported when updating the stream mode to ON_DEMAND.")
		status, _, body := rawCall(t, s.Endpoint, "UpdateStreamMode", "application/x-amz-json-1.1", `{"StreamModeDetails":{"StreamMode":"FAST"}}`)
		if want := "2 validation errors detected: Value null at 'streamARN' failed to satisfy constraint: Member must not be null; " +
			"Value 'FAST' at 'streamModeDetails.streamMode' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONED, ON_DEMAND]"; status != 400 || !strings.Contains(body, want) {
			t.Errorf("UpdateStreamMode validation: %d %s", status, body)
		}
	})
}

func TestUpdateStreamWarmThroughput(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createOnDemand(t, c, "warm")
		if sum := summary(t, c, "warm"); sum.WarmThroughput != nil {
			t.Errorf("WarmThroughput %+v before any was set", sum.WarmThroughput)
		}
		out, err := c.UpdateStreamWarmThroughput(ctx, &kinesis.UpdateStreamWarmThroughputInput{StreamName: aws.String("warm"), WarmThroughputMiBps: aws.Int32(10)})
		if err != nil {
			t.Fatal(err)
		}
		if *out.StreamName != "warm" || *out.StreamARN != *arnOf("warm") || *out.WarmThroughput.TargetMiBps != 10 || *out.WarmThroughput.CurrentMiBps != 10 {
			t.Errorf("output %+v %+v", out, out.WarmThroughput)
		}
		sum := summary(t, c, "warm")
		if *sum.OpenShardCount != 10 || sum.WarmThroughput == nil || *sum.WarmThroughput.TargetMiBps != 10 {
			t.Errorf("summary: %d open, warm %+v", *sum.OpenShardCount, sum.WarmThroughput)
		}
		shards := describeShards(t, c, "warm")
		var open []types.Shard
		for _, sh := range shards {
			if sh.SequenceNumberRange.EndingSequenceNumber == nil {
				open = append(open, sh)
			}
		}
		if len(open) != 10 {
			t.Fatalf("%d open shards", len(open))
		}
		// Lower warm throughput never merges.
		if _, err := c.UpdateStreamWarmThroughput(ctx, &kinesis.UpdateStreamWarmThroughputInput{StreamName: aws.String("warm"), WarmThroughputMiBps: aws.Int32(2)}); err != nil {
			t.Fatal(err)
		}
		if n := *summary(t, c, "warm").OpenShardCount; n != 10 {
			t.Errorf("%d open shards after lowering", n)
		}
		createStream(t, c, "cold", 1)
		_, err = c.UpdateStreamWarmThroughput(ctx, &kinesis.UpdateStreamWarmThroughputInput{StreamName: aws.String("cold"), WarmThroughputMiBps: aws.Int32(2)})
		wantAPIError(t, err, "InvalidArgumentException", 400, "Warm throughput is only supported for ON_DEMAND streams. Stream cold under account "+acct+" is in PROVISIONED mode.")
		_, err = c.UpdateStreamWarmThroughput(ctx, &kinesis.UpdateStreamWarmThroughputInput{StreamName: aws.String("warm"), WarmThroughputMiBps: aws.Int32(-1)})
		wantAPIError(t, err, "ValidationException", 400, "1 validation error detected: Value '-1' at 'warmThroughputMiBps' failed to satisfy constraint: Member must have value greater than or equal to 0")
		// Switching a stream to ON_DEMAND with a warm throughput pre-splits it too.
		if _, err := c.UpdateStreamMode(ctx, &kinesis.UpdateStreamModeInput{StreamARN: arnOf("cold"),
			StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand}, WarmThroughputMiBps: aws.Int32(3)}); err != nil {
			t.Fatal(err)
		}
		if sum := summary(t, c, "cold"); *sum.OpenShardCount != 3 || *sum.WarmThroughput.TargetMiBps != 3 {
			t.Errorf("cold after UpdateStreamMode: %d open, warm %+v", *sum.OpenShardCount, sum.WarmThroughput)
		}
	})
}

func TestOnDemandScaling(t *testing.T) {
	skipOnBinary(t, "the load's place in the 10 s scaling window is set by moving the fake clock between writes")
	for _, e := range kinesistest.Engines {
		t.Run(e.Name, func(t *testing.T) {
			configure := func(c *config.Config) {
				c.OnDemandWindow = 10 * time.Second
				c.ShardLimit = 5
				c.ThroughputLimits = false
			}
			s := kinesistest.Start(t, e, kinesistest.Options{Configure: configure})
			c, ctx := s.Client, t.Context()
			createOnDemand(t, c, "auto")
			put := func(hashKey string, n int) {
				t.Helper()
				recs := make([]types.PutRecordsRequestEntry, n)
				for i := range recs {
					recs[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String("k"), ExplicitHashKey: aws.String(hashKey), Data: []byte("x")}
				}
				out, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("auto"), Records: recs})
				if err != nil || *out.FailedRecordCount != 0 {
					t.Fatalf("PutRecords: %v", err)
				}
			}
			// 10 s window: the threshold is 80% of 1,000 records/s, more than 8,000 records. Shard 1 gets
			// 7,500 over 20 s and never splits; shard 0 gets 8,500 within 2 s and splits once.
			start1, _ := hashRange(1, 4)
			for range 3 {
				put(start1.String(), 250)
			}
			for range 17 {
				put("0", 500)
				s.Clock.Advance(100 * time.Millisecond)
			}
			for range 27 {
				put(start1.String(), 250)
				s.Clock.Advance(700 * time.Millisecond)
			}
			waitOpen := func(n int32) []types.Shard {
				t.Helper()
				for range 500 {
					if *summary(t, c, "auto").OpenShardCount == n {
						return describeShards(t, c, "auto")
					}
					time.Sleep(10 * time.Millisecond) // the split runs on its own goroutine: wait for it
				}
				t.Fatalf("never %d open shards", n)
				return nil
			}
			shards := waitOpen(5)
			if len(shards) != 6 || shards[0].SequenceNumberRange.EndingSequenceNumber == nil || aws.ToString(shards[4].ParentShardId) != "shardId-000000000000" ||
				aws.ToString(shards[5].ParentShardId) != "shardId-000000000000" {
				t.Fatalf("after the split: %v", shardIDs(shards))
			}
			if mid, _ := hashRange(1, 8); *shards[5].HashKeyRange.StartingHashKey != mid.String() {
				t.Errorf("split at %s, want the midpoint %s", *shards[5].HashKeyRange.StartingHashKey, mid)
			}
			// At the shard limit (5) a hot shard stays as it is. Shard 4 (the lower child of shard 0)
			// passes the threshold at its 17th put, which starts a split attempt on its own goroutine
			// (one: a refused attempt waits a tenth of the window, and the clock stands still).
			for range 20 {
				put("0", 500)
			}
			recs, _ := drain(t, c, "auto", "shardId-000000000000")
			if len(recs) != 8500 {
				t.Errorf("parent holds %d records, want 8500", len(recs))
			}
			// Closing the server waits for that attempt to end (Server.Close → Service.WaitScaling) and
			// keeps what it did, so a server restarted on the same data shows its outcome: no sleep
			// that a slow attempt outlasts. The in-memory engine keeps nothing past Close, so the check
			// runs on the engines that keep data (the autoscaler above them is the same).
			if e.InMemory {
				return
			}
			if err := s.Close(ctx); err != nil {
				t.Fatal(err)
			}
			s = kinesistest.Start(t, e, kinesistest.Options{Dir: s.Config.DataDir, Clock: s.Clock, Configure: configure})
			if shards := describeShards(t, s.Client, "auto"); len(shards) != 6 {
				t.Errorf("past the limit: shards %v, want the 6 of before", shardIDs(shards))
			}
			if n := *summary(t, s.Client, "auto").OpenShardCount; n != 5 {
				t.Errorf("%d open shards past the limit", n)
			}
		})
	}
}

// TestUpdateStreamModeSwitchLimit: a stream switches capacity mode at most twice in a rolling 24 hours
// (the service clock); calls that switch nothing (a warm throughput for an ON_DEMAND stream) do not
// count.
func TestUpdateStreamModeSwitchLimit(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createStream(t, c, "flip", 2)
		createStream(t, c, "other", 1)
		setMode := func(name string, mode types.StreamMode) error {
			_, err := c.UpdateStreamMode(ctx, &kinesis.UpdateStreamModeInput{StreamARN: arnOf(name), StreamModeDetails: &types.StreamModeDetails{StreamMode: mode}})
			return err
		}
		limited := "UpdateStreamMode failed for stream flip under account " + acct + ". " +
			"The stream's capacity mode has been switched 2 times in the last 24 hours, the most allowed."
		if err := setMode("flip", types.StreamModeOnDemand); err != nil {
			t.Fatal(err)
		}
		if s.Clock != nil { // the second switch an hour after the first (the windows below); against the binary, at once
			s.Clock.Advance(time.Hour)
		}
		if _, err := c.UpdateStreamMode(ctx, &kinesis.UpdateStreamModeInput{StreamARN: arnOf("flip"),
			StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand}, WarmThroughputMiBps: aws.Int32(3)}); err != nil {
			t.Fatalf("warm throughput on an ON_DEMAND stream: %v", err)
		}
		if err := setMode("flip", types.StreamModeProvisioned); err != nil {
			t.Fatal(err)
		}
		wantAPIError(t, setMode("flip", types.StreamModeOnDemand), "LimitExceededException", 400, limited)
		// The refusal changed nothing, and the limit is the stream's own.
		if m := summary(t, c, "flip").StreamModeDetails.StreamMode; m != types.StreamModeProvisioned {
			t.Errorf("mode after the refusal %s", m)
		}
		if err := setMode("other", types.StreamModeOnDemand); err != nil {
			t.Fatalf("another stream: %v", err)
		}
		// 24 hours after the first switch one is free again; the second's window runs an hour longer.
		inProcessPart(t, s, "the rolling window is 24 hours of the fake clock", func() {
			s.Clock.Advance(23*time.Hour - time.Millisecond)
			wantAPIError(t, setMode("flip", types.StreamModeOnDemand), "LimitExceededException", 400, limited)
			s.Clock.Advance(time.Millisecond)
			if err := setMode("flip", types.StreamModeOnDemand); err != nil {
				t.Fatalf("24 hours after the first switch: %v", err)
			}
			wantAPIError(t, setMode("flip", types.StreamModeProvisioned), "LimitExceededException", 400, limited)
			s.Clock.Advance(time.Hour)
			if err := setMode("flip", types.StreamModeProvisioned); err != nil {
				t.Fatalf("24 hours after the second switch: %v", err)
			}
		})
	})
}

// TestUpdateStreamModeNotActive: a stream that is CREATING, UPDATING or DELETING refuses a mode switch
// with ResourceInUseException, and counts no switch for it.
func TestUpdateStreamModeNotActive(t *testing.T) {
	eachEngineWith(t, func(c *config.Config) {
		c.CreateStreamDelay, c.UpdateStreamDelay, c.DeleteStreamDelay = time.Second, time.Second, time.Second
	}, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		setMode := func(mode types.StreamMode) error {
			_, err := c.UpdateStreamMode(ctx, &kinesis.UpdateStreamModeInput{StreamARN: arnOf("busy"), StreamModeDetails: &types.StreamModeDetails{StreamMode: mode}})
			return err
		}
		inState := func(state string) string {
			return "Stream busy under account " + acct + " not ACTIVE, instead in state " + state
		}
		createStream(t, c, "busy", 1)
		wantAPIError(t, setMode(types.StreamModeOnDemand), "ResourceInUseException", 400, inState("CREATING"))
		elapse(t, s, time.Second)
		if err := setMode(types.StreamModeOnDemand); err != nil {
			t.Fatal(err)
		}
		if st := summary(t, c, "busy").StreamStatus; st != types.StreamStatusUpdating {
			t.Fatalf("after the switch: %s", st)
		}
		wantAPIError(t, setMode(types.StreamModeProvisioned), "ResourceInUseException", 400, inState("UPDATING"))
		elapse(t, s, time.Second)
		if sum := summary(t, c, "busy"); sum.StreamStatus != types.StreamStatusActive || sum.StreamModeDetails.StreamMode != types.StreamModeOnDemand {
			t.Fatalf("after UPDATING: %s %s", sum.StreamStatus, sum.StreamModeDetails.StreamMode)
		}
		// The refusals were no switches: one of the two is left.
		if err := setMode(types.StreamModeProvisioned); err != nil {
			t.Fatalf("second switch: %v", err)
		}
		elapse(t, s, time.Second)
		if _, err := c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("busy")}); err != nil {
			t.Fatal(err)
		}
		wantAPIError(t, setMode(types.StreamModeOnDemand), "ResourceInUseException", 400, inState("DELETING"))
	})
}
