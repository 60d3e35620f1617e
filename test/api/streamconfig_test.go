package api_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/config"
	"kinesisd/internal/kinesistest"
)

func TestRetentionPeriodChanges(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createStream(t, c, "ret", 1)
		name := aws.String("ret")
		increase := func(h int32) error {
			_, err := c.IncreaseStreamRetentionPeriod(ctx, &kinesis.IncreaseStreamRetentionPeriodInput{StreamName: name, RetentionPeriodHours: aws.Int32(h)})
			return err
		}
		decrease := func(h int32) error {
			_, err := c.DecreaseStreamRetentionPeriod(ctx, &kinesis.DecreaseStreamRetentionPeriodInput{StreamName: name, RetentionPeriodHours: aws.Int32(h)})
			return err
		}
		if err := increase(48); err != nil {
			t.Fatal(err)
		}
		if h := *summary(t, c, "ret").RetentionPeriodHours; h != 48 {
			t.Fatalf("after increase: %d hours", h)
		}
		wantAPIError(t, increase(24), "InvalidArgumentException", 400,
			"Requested retention period (24 hours) for stream ret can not be shorter than existing retention period (48 hours). Use DecreaseRetentionPeriod API.")
		wantAPIError(t, decrease(72), "InvalidArgumentException", 400,
			"Requested retention period (72 hours) for stream ret can not be longer than existing retention period (48 hours). Use IncreaseRetentionPeriod API.")
		wantAPIError(t, increase(23), "InvalidArgumentException", 400,
			"Minimum allowed retention period is 24 hours. Requested retention period (23 hours) is too short.")
		wantAPIError(t, decrease(-1), "InvalidArgumentException", 400,
			"Minimum allowed retention period is 24 hours. Requested retention period (-1 hours) is too short.")
		wantAPIError(t, increase(8761), "InvalidArgumentException", 400,
			"Maximum allowed retention period is 8760 hours. Requested retention period (8761 hours) is too long.")
		_, err := c.IncreaseStreamRetentionPeriod(ctx, &kinesis.IncreaseStreamRetentionPeriodInput{StreamName: aws.String("gone"), RetentionPeriodHours: aws.Int32(23)})
		wantAPIError(t, err, "ResourceNotFoundException", 400, "Stream gone under account 000000000000 not found.")
		if h := *summary(t, c, "ret").RetentionPeriodHours; h != 48 {
			t.Fatalf("refused changes changed the period to %d hours", h)
		}

		// A record 30 hours old is within 48 hours; decreasing to 24 hides it at once, from TRIM_HORIZON
		// and from AT_TIMESTAMP alike.
		inProcessPart(t, s, "records hours old need the fake clock", func() {
			start := s.Clock.Now()
			for _, d := range []string{"old", "new"} {
				if _, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: name, PartitionKey: aws.String("k"), Data: []byte(d)}); err != nil {
					t.Fatal(err)
				}
				s.Clock.Advance(30 * time.Hour)
			}
			s.Clock.Advance(-29 * time.Hour) // "old" is 31 hours old, "new" 1 hour
			if recs := readShard(t, s, "ret", "shardId-000000000000"); len(recs) != 2 {
				t.Fatalf("at 48 hours: %d records", len(recs))
			}
			if err := decrease(24); err != nil {
				t.Fatal(err)
			}
			if recs := readShard(t, s, "ret", "shardId-000000000000"); len(recs) != 1 || string(recs[0].Data) != "new" {
				t.Fatalf("TRIM_HORIZON at 24 hours: %d records", len(recs))
			}
			it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: name, ShardId: aws.String("shardId-000000000000"),
				ShardIteratorType: types.ShardIteratorTypeAtTimestamp, Timestamp: aws.Time(start)})
			if err != nil {
				t.Fatal(err)
			}
			if recs := readAll(t, s, *it.ShardIterator); len(recs) != 1 || string(recs[0].Data) != "new" {
				t.Fatalf("AT_TIMESTAMP at 24 hours: %d records", len(recs))
			}
		})
	})
}

func TestMaxRecordSize(t *testing.T) {
	eachEngineWith(t, func(c *config.Config) { c.ThroughputLimits = false }, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createStream(t, c, "big", 1)
		createStream(t, c, "small", 1)
		bigARN := aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/big")
		if _, err := c.UpdateMaxRecordSize(ctx, &kinesis.UpdateMaxRecordSizeInput{StreamARN: bigARN, MaxRecordSizeInKiB: aws.Int32(10240)}); err != nil {
			t.Fatal(err)
		}
		if kib := aws.ToInt32(summary(t, c, "big").MaxRecordSizeInKiB); kib != 10240 {
			t.Fatalf("MaxRecordSizeInKiB %d", kib)
		}
		twoMiB := make([]byte, 2<<20)
		if _, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("big"), PartitionKey: aws.String("k"), Data: twoMiB}); err != nil {
			t.Fatalf("2 MiB record on the raised stream: %v", err)
		}
		_, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("small"), PartitionKey: aws.String("k"), Data: twoMiB})
		wantAPIError(t, err, "ValidationException", 400, "1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 lim=2097152 cap=2097152]' "+
			"at 'data' failed to satisfy constraint: Member must have length less than or equal to 1048576")
		nine := entries(9, 1<<20-100, "k") // about 9 MiB, each record under 1 MiB
		out, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("big"), Records: nine})
		if err != nil || aws.ToInt32(out.FailedRecordCount) != 0 {
			t.Fatalf("9 MiB PutRecords on the raised stream: %v", err)
		}
		_, err = c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("small"), Records: nine})
		wantAPIError(t, err, "InvalidArgumentException", 400, "Records size exceeds 5 MB limit")
		recs := readShard(t, s, "big", "shardId-000000000000")
		if len(recs) != 10 || len(recs[0].Data) != 2<<20 || len(recs[9].Data) != 1<<20-100 {
			t.Fatalf("read back %d records", len(recs))
		}

		_, err = c.UpdateMaxRecordSize(ctx, &kinesis.UpdateMaxRecordSizeInput{StreamARN: bigARN, MaxRecordSizeInKiB: aws.Int32(1023)})
		wantAPIError(t, err, "ValidationException", 400, "1 validation error detected: Value '1023' at 'maxRecordSizeInKiB' "+
			"failed to satisfy constraint: Member must have value greater than or equal to 1024")
		_, err = c.UpdateMaxRecordSize(ctx, &kinesis.UpdateMaxRecordSizeInput{StreamARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/none"), MaxRecordSizeInKiB: aws.Int32(10241)})
		wantAPIError(t, err, "ValidationException", 400, "1 validation error detected: Value '10241' at 'maxRecordSizeInKiB' "+
			"failed to satisfy constraint: Member must have value less than or equal to 10240")
		_, err = c.UpdateMaxRecordSize(ctx, &kinesis.UpdateMaxRecordSizeInput{StreamARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/none"), MaxRecordSizeInKiB: aws.Int32(2048)})
		wantAPIError(t, err, "ResourceNotFoundException", 400, "Stream none under account 000000000000 not found.")
		// Back to 1 MiB: the stream refuses 2 MiB again.
		if _, err := c.UpdateMaxRecordSize(ctx, &kinesis.UpdateMaxRecordSizeInput{StreamARN: bigARN, MaxRecordSizeInKiB: aws.Int32(1024)}); err != nil {
			t.Fatal(err)
		}
		_, err = c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("big"), PartitionKey: aws.String("k"), Data: twoMiB})
		wantAPIError(t, err, "ValidationException", 400, "")
	})
}

func TestRecordDistribution(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		_, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("auto"),
			StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand}})
		if err != nil {
			t.Fatal(err)
		}
		createStream(t, c, "prov", 2)
		arn := aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/auto")
		setStrategy := func(arn *string, st types.RecordDistributionStrategy) error {
			_, err := c.UpdateStreamRecordDistributionStrategy(ctx, &kinesis.UpdateStreamRecordDistributionStrategyInput{StreamARN: arn, RecordDistributionStrategy: st})
			return err
		}
		spread := func() map[string]int {
			t.Helper()
			out, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamARN: arn, Records: entries(400, 10, "same-key")})
			if err != nil || aws.ToInt32(out.FailedRecordCount) != 0 {
				t.Fatalf("PutRecords: %v", err)
			}
			n := map[string]int{}
			for _, r := range out.Records {
				n[*r.ShardId]++
			}
			return n
		}
		if n := spread(); len(n) != 1 {
			t.Fatalf("one key went to %d shards by default", len(n))
		}
		if err := setStrategy(arn, types.RecordDistributionStrategyAuto); err != nil {
			t.Fatal(err)
		}
		n := spread()
		if len(n) != 4 {
			t.Fatalf("AUTO used %d shards: %v", len(n), n)
		}
		for id, k := range n {
			if k != 100 {
				t.Errorf("AUTO put %d of 400 records on %s, want 100", k, id)
			}
		}
		if err := setStrategy(arn, types.RecordDistributionStrategyUserPartitionKey); err != nil {
			t.Fatal(err)
		}
		if n := spread(); len(n) != 1 {
			t.Fatalf("USER_PARTITION_KEY spread one key over %d shards", len(n))
		}
		wantAPIError(t, setStrategy(aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/prov"), types.RecordDistributionStrategyAuto),
			"InvalidArgumentException", 400, "RecordDistributionStrategy=AUTO is only supported for on-demand streams. Stream prov is using PROVISIONED mode.")
		if err := setStrategy(aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/prov"), types.RecordDistributionStrategyUserPartitionKey); err != nil {
			t.Fatalf("USER_PARTITION_KEY on a provisioned stream: %v", err)
		}
		wantAPIError(t, setStrategy(arn, "RANDOM"), "ValidationException", 400, "1 validation error detected: Value 'RANDOM' at 'recordDistributionStrategy' "+
			"failed to satisfy constraint: Member must satisfy enum value set: [AUTO, USER_PARTITION_KEY]")
		wantAPIError(t, setStrategy(aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/x"), types.RecordDistributionStrategyAuto),
			"ResourceNotFoundException", 400, "Stream x under account 000000000000 not found.")
	})
}

// TestCreateStreamDistributionAndWarm: CreateStream's RecordDistributionStrategy and
// WarmThroughputMiBps are the stream's from the start, as the Update operations would set them; both
// are for ON_DEMAND streams (AUTO only: USER_PARTITION_KEY is every stream's default).
func TestCreateStreamDistributionAndWarm(t *testing.T) {
	eachEngineWith(t, func(c *config.Config) { c.ShardLimit = 40 }, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		onDemand := &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand}
		create := func(in *kinesis.CreateStreamInput) error {
			_, err := c.CreateStream(ctx, in)
			return err
		}
		if err := create(&kinesis.CreateStreamInput{StreamName: aws.String("auto"), StreamModeDetails: onDemand,
			RecordDistributionStrategy: types.RecordDistributionStrategyAuto}); err != nil {
			t.Fatal(err)
		}
		if sum := summary(t, c, "auto"); sum.RecordDistributionStrategy != types.RecordDistributionStrategyAuto || sum.WarmThroughput != nil || *sum.OpenShardCount != 4 {
			t.Errorf("auto: strategy %q, warm %+v, %d open", sum.RecordDistributionStrategy, sum.WarmThroughput, *sum.OpenShardCount)
		}
		// AUTO from the start: one key goes round the shards.
		out, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("auto"), Records: entries(8, 10, "same-key")})
		if err != nil || aws.ToInt32(out.FailedRecordCount) != 0 {
			t.Fatalf("PutRecords: %v", err)
		}
		used := map[string]int{}
		for _, r := range out.Records {
			used[*r.ShardId]++
		}
		if len(used) != 4 {
			t.Errorf("AUTO stream put one key on %d shards: %v", len(used), used)
		}
		// An ON_DEMAND stream shows its strategy, USER_PARTITION_KEY unless set; a PROVISIONED one none.
		createOnDemand(t, c, "keyed")
		if got := summary(t, c, "keyed").RecordDistributionStrategy; got != types.RecordDistributionStrategyUserPartitionKey {
			t.Errorf("default ON_DEMAND strategy %q", got)
		}
		if err := create(&kinesis.CreateStreamInput{StreamName: aws.String("prov"), ShardCount: aws.Int32(1),
			RecordDistributionStrategy: types.RecordDistributionStrategyUserPartitionKey}); err != nil {
			t.Fatalf("USER_PARTITION_KEY for a PROVISIONED stream: %v", err)
		}
		if got := summary(t, c, "prov").RecordDistributionStrategy; got != "" {
			t.Errorf("PROVISIONED stream shows strategy %q", got)
		}
		err = create(&kinesis.CreateStreamInput{StreamName: aws.String("prov-auto"), ShardCount: aws.Int32(1),
			RecordDistributionStrategy: types.RecordDistributionStrategyAuto})
		wantAPIError(t, err, "InvalidArgumentException", 400, "RecordDistributionStrategy=AUTO is only supported for on-demand streams. Stream prov-auto is using PROVISIONED mode.")

		// Warm throughput: the target, and the shards that carry it (1 MiB/s each) from the start.
		if err := create(&kinesis.CreateStreamInput{StreamName: aws.String("warm"), StreamModeDetails: onDemand,
			WarmThroughputMiBps: aws.Int32(10)}); err != nil {
			t.Fatal(err)
		}
		sum := summary(t, c, "warm")
		if *sum.OpenShardCount != 10 || sum.WarmThroughput == nil || *sum.WarmThroughput.TargetMiBps != 10 || *sum.WarmThroughput.CurrentMiBps != 10 {
			t.Errorf("warm: %d open, warm %+v", *sum.OpenShardCount, sum.WarmThroughput)
		}
		shards := describeShards(t, c, "warm")
		if len(shards) != 10 {
			t.Fatalf("warm: %d shards", len(shards))
		}
		for i, sh := range shards {
			start, end := hashRange(i, 10)
			if *sh.HashKeyRange.StartingHashKey != start.String() || *sh.HashKeyRange.EndingHashKey != end.String() || sh.ParentShardId != nil {
				t.Errorf("warm shard %d: %s..%s parent %v, want %s..%s", i, *sh.HashKeyRange.StartingHashKey, *sh.HashKeyRange.EndingHashKey,
					aws.ToString(sh.ParentShardId), start, end)
			}
		}
		// Below the 4 shards of a new ON_DEMAND stream the target is kept and the shards stay 4.
		if err := create(&kinesis.CreateStreamInput{StreamName: aws.String("tepid"), StreamModeDetails: onDemand,
			WarmThroughputMiBps: aws.Int32(2)}); err != nil {
			t.Fatal(err)
		}
		if sum := summary(t, c, "tepid"); *sum.OpenShardCount != 4 || *sum.WarmThroughput.TargetMiBps != 2 || *sum.WarmThroughput.CurrentMiBps != 4 {
			t.Errorf("tepid: %d open, warm %+v", *sum.OpenShardCount, sum.WarmThroughput)
		}
		err = create(&kinesis.CreateStreamInput{StreamName: aws.String("prov-warm"), ShardCount: aws.Int32(1), WarmThroughputMiBps: aws.Int32(2)})
		wantAPIError(t, err, "InvalidArgumentException", 400, "Warm throughput is only supported for ON_DEMAND streams. Stream prov-warm under account "+acct+" is in PROVISIONED mode.")
		err = create(&kinesis.CreateStreamInput{StreamName: aws.String("hot"), StreamModeDetails: onDemand, WarmThroughputMiBps: aws.Int32(10241)})
		wantAPIError(t, err, "InvalidArgumentException", 400, "WarmThroughputMiBps 10241 exceeds the maximum of 10240 MiBps.")
		// The shards count against the account's limit: 1+4+4+10+4 are open, 40 allowed.
		err = create(&kinesis.CreateStreamInput{StreamName: aws.String("too-warm"), StreamModeDetails: onDemand, WarmThroughputMiBps: aws.Int32(18)})
		wantPrefix(t, err, "LimitExceededException", "This request would exceed the shard limit for the account "+acct+" in us-east-1. "+
			"Current shard count for the account: 23. Limit: 40. Number of additional shards that would have resulted from this request: 18.")
		for _, name := range []string{"prov-auto", "prov-warm", "hot", "too-warm"} {
			if _, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)}); err == nil {
				t.Errorf("the refused stream %s exists", name)
			}
		}
		// Switching to PROVISIONED drops both; the warm target no longer shows.
		if _, err := c.UpdateStreamMode(ctx, &kinesis.UpdateStreamModeInput{StreamARN: arnOf("auto"),
			StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeProvisioned}}); err != nil {
			t.Fatal(err)
		}
		if sum := summary(t, c, "auto"); sum.RecordDistributionStrategy != "" || sum.WarmThroughput != nil {
			t.Errorf("auto after PROVISIONED: strategy %q warm %+v", sum.RecordDistributionStrategy, sum.WarmThroughput)
		}
	})
}

func TestDescribeLimits(t *testing.T) {
	eachEngineWith(t, func(c *config.Config) { c.ShardLimit = 20 }, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		check := func(open, onDemand int32) {
			t.Helper()
			out, err := c.DescribeLimits(ctx, &kinesis.DescribeLimitsInput{})
			if err != nil {
				t.Fatal(err)
			}
			if *out.ShardLimit != 20 || *out.OpenShardCount != open || *out.OnDemandStreamCount != onDemand || *out.OnDemandStreamCountLimit != 50 ||
				aws.ToInt32(out.ChannelCount) != 0 || out.ChannelCountLimit == nil {
				t.Fatalf("DescribeLimits: limit %d open %d on-demand %d/%d channels %v/%v, want open %d on-demand %d", *out.ShardLimit, *out.OpenShardCount,
					*out.OnDemandStreamCount, *out.OnDemandStreamCountLimit, aws.ToInt32(out.ChannelCount), out.ChannelCountLimit, open, onDemand)
			}
		}
		check(0, 0)
		createStream(t, c, "p", 3)
		if _, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("od"),
			StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand}}); err != nil {
			t.Fatal(err)
		}
		check(7, 1)
		if _, err := c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("od")}); err != nil {
			t.Fatal(err)
		}
		check(3, 0)
	})
}

func TestAccountSettings(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		type want struct {
			status                   types.MinimumThroughputBillingCommitmentOutputStatus
			started, earliest, ended time.Time
		}
		check := func(step string, got *types.MinimumThroughputBillingCommitmentOutput, w want) {
			t.Helper()
			same := func(p *time.Time, w time.Time) bool { return (p == nil && w.IsZero()) || (p != nil && p.Equal(w)) }
			if got == nil || got.Status != w.status || !same(got.StartedAt, w.started) || !same(got.EarliestAllowedEndAt, w.earliest) || !same(got.EndedAt, w.ended) {
				t.Fatalf("%s: got %+v, want %+v", step, got, w)
			}
		}
		describe := func() *types.MinimumThroughputBillingCommitmentOutput {
			t.Helper()
			out, err := c.DescribeAccountSettings(ctx, &kinesis.DescribeAccountSettingsInput{})
			if err != nil {
				t.Fatal(err)
			}
			return out.MinimumThroughputBillingCommitment
		}
		update := func(st types.MinimumThroughputBillingCommitmentInputStatus) *types.MinimumThroughputBillingCommitmentOutput {
			t.Helper()
			out, err := c.UpdateAccountSettings(ctx, &kinesis.UpdateAccountSettingsInput{
				MinimumThroughputBillingCommitment: &types.MinimumThroughputBillingCommitmentInput{Status: st}})
			if err != nil {
				t.Fatal(err)
			}
			return out.MinimumThroughputBillingCommitment
		}
		check("never enabled", describe(), want{status: "DISABLED"})
		check("disable while disabled", update("DISABLED"), want{status: "DISABLED"})
		t0 := serverNow(s)
		got := update("ENABLED")
		if s.Clock == nil && got != nil && got.StartedAt != nil && sameServerTime(s, *got.StartedAt, t0) {
			t0 = *got.StartedAt // the binary's own reading of the real clock
		}
		enabled := want{status: "ENABLED", started: t0, earliest: t0.Add(24 * time.Hour)}
		check("enable", got, enabled)
		if s.Clock != nil { // an hour on in process; against the binary, at once
			s.Clock.Advance(time.Hour)
		}
		check("enable again", update("ENABLED"), enabled)
		pending := want{status: "ENABLED_UNTIL_EARLIEST_ALLOWED_END", started: t0, earliest: t0.Add(24 * time.Hour)}
		check("disable within 24 hours", update("DISABLED"), pending)
		check("describe pending", describe(), pending)
		check("enable cancels the pending end", update("ENABLED"), enabled)
		check("disable again", update("DISABLED"), pending)
		inProcessPart(t, s, "the earliest end is 24 hours of the fake clock", func() {
			s.Clock.Advance(23*time.Hour - time.Millisecond)
			check("just before the earliest end", describe(), pending)
			s.Clock.Advance(time.Millisecond)
			ended := want{status: "DISABLED", started: t0, ended: t0.Add(24 * time.Hour)}
			check("at the earliest end", describe(), ended)

			t1 := s.Clock.Now()
			check("enable anew", update("ENABLED"), want{status: "ENABLED", started: t1, earliest: t1.Add(24 * time.Hour)})
			s.Clock.Advance(25 * time.Hour)
			check("disable after 25 hours", update("DISABLED"), want{status: "DISABLED", started: t1, ended: t1.Add(25 * time.Hour)})
		})

		_, err := c.UpdateAccountSettings(ctx, &kinesis.UpdateAccountSettingsInput{
			MinimumThroughputBillingCommitment: &types.MinimumThroughputBillingCommitmentInput{Status: "PAUSED"}})
		wantAPIError(t, err, "ValidationException", 400, "1 validation error detected: Value 'PAUSED' at 'minimumThroughputBillingCommitment.status' "+
			"failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED]")
	})
}

// TestRetentionIncreaseKeepsExpired: "it does not make previous, expired data (older than the stream's
// previous retention period) accessible after the operation has been called" (IncreaseStreamRetentionPeriod).
func TestRetentionIncreaseKeepsExpired(t *testing.T) {
	skipOnBinary(t, "records expire after 24 hours of the fake clock")
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createStream(t, c, "kept", 1)
		put := func(data string) {
			t.Helper()
			if _, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("kept"), PartitionKey: aws.String("k"), Data: []byte(data)}); err != nil {
				t.Fatal(err)
			}
		}
		start := s.Clock.Now()
		put("expired")
		s.Clock.Advance(25 * time.Hour) // past the 24-hour period
		put("live")
		if _, err := c.IncreaseStreamRetentionPeriod(ctx, &kinesis.IncreaseStreamRetentionPeriodInput{StreamName: aws.String("kept"),
			RetentionPeriodHours: aws.Int32(72)}); err != nil {
			t.Fatal(err)
		}
		if recs := readShard(t, s, "kept", "shardId-000000000000"); len(recs) != 1 || string(recs[0].Data) != "live" {
			t.Fatalf("TRIM_HORIZON after the increase: %d records", len(recs))
		}
		it := getIterator(t, s, &kinesis.GetShardIteratorInput{StreamName: aws.String("kept"), ShardId: aws.String("shardId-000000000000"),
			ShardIteratorType: types.ShardIteratorTypeAtTimestamp, Timestamp: aws.Time(start)})
		if recs := readAll(t, s, it); len(recs) != 1 || string(recs[0].Data) != "live" {
			t.Fatalf("AT_TIMESTAMP after the increase: %d records", len(recs))
		}
		// The longer period holds for what was live: "live" is kept past 24 hours, to 72.
		s.Clock.Advance(71 * time.Hour)
		if recs := readShard(t, s, "kept", "shardId-000000000000"); len(recs) != 1 {
			t.Fatalf("71 hours on: %d records", len(recs))
		}
		s.Clock.Advance(time.Hour + time.Millisecond)
		if recs := readShard(t, s, "kept", "shardId-000000000000"); len(recs) != 0 {
			t.Fatalf("72 hours on: %d records", len(recs))
		}
	})
}
