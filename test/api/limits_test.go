package api_test

import (
	crand "crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/config"
	"kinesisd/internal/kinesistest"
)

func entries(n, size int, key string) []types.PutRecordsRequestEntry {
	out := make([]types.PutRecordsRequestEntry, n)
	for i := range out {
		out[i] = types.PutRecordsRequestEntry{Data: make([]byte, size), PartitionKey: aws.String(key)}
	}
	return out
}

func TestThroughputLimits(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createStream(t, c, "busy", 2)
		put := func(recs []types.PutRecordsRequestEntry) *kinesis.PutRecordsOutput {
			t.Helper()
			out, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("busy"), Records: recs})
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		// 1,000 records per shard per second: the 1,001st in the same second fails, the rest of its
		// request (on the other shard) succeeds.
		freshSecond(t, s)
		for range 2 {
			if out := put(entries(500, 1, "a")); *out.FailedRecordCount != 0 {
				t.Fatalf("%d failed within the limit", *out.FailedRecordCount)
			}
		}
		mixed := append(entries(1, 1, "a"), entries(1, 1, "b")...)
		out := put(mixed)
		if *out.FailedRecordCount != 1 || out.Records[0].ErrorCode == nil || out.Records[1].ErrorCode != nil {
			t.Fatalf("over the record limit: %+v", out.Records)
		}
		wantMsg := fmt.Sprintf("Rate exceeded for shard %s in stream busy under account 000000000000.", shardFor("a", nil, 2))
		if *out.Records[0].ErrorCode != "ProvisionedThroughputExceededException" || *out.Records[0].ErrorMessage != wantMsg {
			t.Errorf("error %q %q, want %q", *out.Records[0].ErrorCode, *out.Records[0].ErrorMessage, wantMsg)
		}
		_, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("busy"), PartitionKey: aws.String("a"), Data: []byte("x")})
		wantAPIError(t, err, "ProvisionedThroughputExceededException", 400, wantMsg)

		// A new second, a new allowance; 1 MiB per shard per second.
		elapse(t, s, time.Second)
		big := entries(3, 400<<10, "a")
		out = put(big)
		if *out.FailedRecordCount != 1 || out.Records[2].ErrorCode == nil {
			t.Fatalf("over the byte limit: %d failed", *out.FailedRecordCount)
		}
		elapse(t, s, time.Second)
		if out := put(entries(1, 400<<10, "a")); *out.FailedRecordCount != 0 {
			t.Fatal("limit did not reset after a second")
		}
		// Only acknowledged records were stored.
		if n := len(readShard(t, s, "busy", shardFor("a", nil, 2))); n != 1000+2+1 {
			t.Errorf("%d records stored on the busy shard, want 1003", n)
		}
	})
}

func TestThroughputLimitsOff(t *testing.T) {
	s := kinesistest.Start(t, kinesistest.Engines[1], kinesistest.Options{Configure: func(c *config.Config) { c.ThroughputLimits = false }})
	createStream(t, s.Client, "free", 1)
	for range 3 {
		out, err := s.Client.PutRecords(t.Context(), &kinesis.PutRecordsInput{StreamName: aws.String("free"), Records: entries(500, 1024, "k")})
		if err != nil || *out.FailedRecordCount != 0 {
			t.Fatalf("limits off: %v %v", err, out)
		}
	}
}

func TestShardLimit(t *testing.T) {
	s := kinesistest.Start(t, kinesistest.Engines[1], kinesistest.Options{Configure: func(c *config.Config) { c.ShardLimit = 10 }})
	c, ctx := s.Client, t.Context()
	createStream(t, c, "six", 6)
	_, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("five"), ShardCount: aws.Int32(5)})
	wantAPIError(t, err, "LimitExceededException", 400, "This request would exceed the shard limit for the account 000000000000 in us-east-1. "+
		"Current shard count for the account: 6. Limit: 10. Number of additional shards that would have resulted from this request: 5. "+
		"Refer to the AWS Service Limits page (https://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current limits and how to request higher limits.")
	if _, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("five")}); err == nil {
		t.Error("the refused stream exists")
	}
	createStream(t, c, "four", 4)
}

func TestStreamStateDelays(t *testing.T) {
	createDelay := 500 * time.Millisecond
	if onBinary() { // the checks made right after CreateStream then have seconds of the real clock
		createDelay = 2 * time.Second
	}
	s := kinesistest.Start(t, kinesistest.Engines[1], kinesistest.Options{Configure: func(c *config.Config) {
		c.CreateStreamDelay = createDelay
		c.DeleteStreamDelay = time.Second
	}})
	c, ctx := s.Client, t.Context()
	createStream(t, c, "slow", 1)
	status := func() (types.StreamStatus, error) {
		out, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("slow")})
		if err != nil {
			return "", err
		}
		return out.StreamDescriptionSummary.StreamStatus, nil
	}
	if st, err := status(); err != nil || st != types.StreamStatusCreating {
		t.Fatalf("just created: %s %v", st, err)
	}
	_, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("slow"), PartitionKey: aws.String("k"), Data: []byte("x")})
	wantAPIError(t, err, "ResourceNotFoundException", 400, "Stream slow under account 000000000000 not found.")
	// A CREATING stream shows no shards yet (kinesalite's recordings of AWS).
	desc, err := c.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String("slow")})
	if err != nil || desc.StreamDescription.StreamStatus != types.StreamStatusCreating || desc.StreamDescription.Shards == nil || len(desc.StreamDescription.Shards) != 0 {
		t.Fatalf("DescribeStream while CREATING: %+v, %v; want Shards: []", desc, err)
	}
	elapseChecking(t, s, createDelay, time.Millisecond, func() {
		if st, _ := status(); st != types.StreamStatusCreating {
			t.Fatalf("1ms before the delay: %s", st)
		}
	})
	if st, _ := status(); st != types.StreamStatusActive {
		t.Fatalf("after the delay: %s", st)
	}
	if _, err := c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("slow")}); err != nil {
		t.Fatal(err)
	}
	if st, _ := status(); st != types.StreamStatusDeleting {
		t.Fatalf("just deleted: %s", st)
	}
	list, err := c.ListStreams(ctx, &kinesis.ListStreamsInput{})
	if err != nil || len(list.StreamSummaries) != 1 || list.StreamSummaries[0].StreamStatus != types.StreamStatusDeleting {
		t.Fatalf("ListStreams while deleting: %+v %v", list, err)
	}
	elapse(t, s, time.Second)
	_, err = status()
	wantAPIError(t, err, "ResourceNotFoundException", 400, "Stream slow under account 000000000000 not found.")
	createStream(t, c, "slow", 1) // the name is free again
}

// TestStreamsChangingLimit: at most 5 of an account's streams may be CREATING or DELETING at once; a
// sixth CreateStream is refused until one of them settles (the service clock).
func TestStreamsChangingLimit(t *testing.T) {
	eachEngineWith(t, func(c *config.Config) {
		c.CreateStreamDelay = time.Second
		c.DeleteStreamDelay = 2 * time.Second
	}, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		limited := "This request would have exceed the limit on the number  of streams that can " +
			"simultaneously be in CREATING or DELETING for the account " + acct + ". Limit: 5."
		create := func(name string) error {
			_, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(1)})
			return err
		}
		for _, name := range []string{"a", "b"} {
			if err := create(name); err != nil {
				t.Fatal(err)
			}
		}
		elapse(t, s, time.Second) // a and b are ACTIVE
		for _, name := range []string{"c", "d", "e"} {
			if err := create(name); err != nil {
				t.Fatal(err)
			}
		}
		for _, name := range []string{"a", "b"} {
			if _, err := c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String(name)}); err != nil {
				t.Fatal(err)
			}
		}
		// Three CREATING and two DELETING: no sixth, neither ON_DEMAND nor with another name.
		wantAPIError(t, create("f"), "LimitExceededException", 400, limited)
		_, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("g"),
			StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand}})
		wantAPIError(t, err, "LimitExceededException", 400, limited)
		if _, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("f")}); err == nil {
			t.Error("the refused stream exists")
		}
		// c, d and e become ACTIVE; a and b are still DELETING.
		elapse(t, s, time.Second)
		for _, name := range []string{"f", "g", "h"} {
			if err := create(name); err != nil {
				t.Fatalf("with two DELETING and %s: %v", name, err)
			}
		}
		wantAPIError(t, create("i"), "LimitExceededException", 400, limited)
		// a and b are gone, f, g and h ACTIVE: five more may be CREATING.
		elapse(t, s, time.Second)
		for _, name := range []string{"i", "j", "k", "l", "m"} {
			if err := create(name); err != nil {
				t.Fatalf("after the deletions, %s: %v", name, err)
			}
		}
		wantAPIError(t, create("n"), "LimitExceededException", 400, limited)
	})
}

// TestStreamsChangingLimitNoDelays: without delays no stream stays CREATING or DELETING: no limit to meet.
func TestStreamsChangingLimitNoDelays(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		for i := range 8 {
			createStream(t, s.Client, fmt.Sprintf("quick-%d", i), 1)
			if _, err := s.Client.DeleteStream(t.Context(), &kinesis.DeleteStreamInput{StreamName: aws.String(fmt.Sprintf("quick-%d", i))}); err != nil {
				t.Fatal(err)
			}
		}
		createStream(t, s.Client, "last", 1)
	})
}

func TestAPIRateLimits(t *testing.T) {
	s := kinesistest.Start(t, kinesistest.Engines[1], kinesistest.Options{Configure: func(c *config.Config) { c.APIRateLimits = true }})
	c, ctx := s.Client, t.Context()
	createStream(t, c, "rated", 1)
	createStream(t, c, "also-rated", 1)
	// "DescribeStreamSummary has a limit of 20 transactions per second per account."
	freshSecond(t, s)
	for i := range 20 {
		name := []string{"rated", "also-rated"}[i%2]
		if _, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)}); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	_, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("rated")})
	wantAPIError(t, err, "LimitExceededException", 400, "Rate exceeded for account 000000000000.")
	// ListShards counts per stream: 1,000 a second each.
	inProcessPart(t, s, "1,001 ListShards calls within one second of the real clock are more than this machine makes", func() {
		for i := range 1000 {
			if _, err := c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("rated")}); err != nil {
				t.Fatalf("ListShards call %d: %v", i, err)
			}
		}
		_, err = c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("rated")})
		wantAPIError(t, err, "LimitExceededException", 400, "Rate exceeded for stream rated under account 000000000000.")
		if _, err := c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("also-rated")}); err != nil {
			t.Fatalf("ListShards on another stream: %v", err)
		}
	})
	elapse(t, s, time.Second)
	if _, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("rated")}); err != nil {
		t.Fatalf("next second: %v", err)
	}
	// Off by default.
	d := kinesistest.Start(t, kinesistest.Engines[1], kinesistest.Options{})
	createStream(t, d.Client, "free", 1)
	for i := range 50 {
		if _, err := d.Client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("free")}); err != nil {
			t.Fatalf("default, call %d: %v", i, err)
		}
	}
}

// tableBytes is the size of the store's record log segments, table and blob files: where records live.
// (Pebble keeps a few write-ahead log files for reuse whatever they held; they do not grow with the
// backlog.)
func tableBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && (filepath.Ext(p) == ".seg" || filepath.Ext(p) == ".sst" || filepath.Ext(p) == ".blob") {
			n += info.Size()
		}
		return nil
	})
	return n
}

func TestRetention(t *testing.T) {
	skipOnBinary(t, "records expire after 24 hours of the fake clock")
	dir := t.TempDir()
	s := kinesistest.Start(t, kinesistest.Engines[0], kinesistest.Options{Dir: dir, Configure: func(c *config.Config) {
		c.ThroughputLimits = false
		c.RetentionInterval = 20 * time.Millisecond
	}})
	c, ctx := s.Client, t.Context()
	createStream(t, c, "old", 1)
	start := s.Clock.Now()
	for range 40 {
		recs := entries(500, 1024, "k")
		for _, r := range recs {
			crand.Read(r.Data) // incompressible, so the tables hold all of it
		}
		if _, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("old"), Records: recs}); err != nil {
			t.Fatal(err)
		}
	}
	s.Clock.Advance(time.Hour)
	// After a restart the store writes a new segment of its record log: the young record goes there,
	// so that the segment of the old records holds nothing else (a segment goes once every record in
	// it has expired).
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	s = kinesistest.Start(t, kinesistest.Engines[0], kinesistest.Options{Dir: dir, Clock: s.Clock, Configure: func(c *config.Config) {
		c.ThroughputLimits = false
		c.RetentionInterval = 20 * time.Millisecond
	}})
	c = s.Client
	if _, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("old"), PartitionKey: aws.String("k"), Data: []byte("young")}); err != nil {
		t.Fatal(err)
	}
	if n := tableBytes(t, dir); n < 15<<20 {
		t.Fatalf("the store holds %d bytes before retention, want the 20 MB of records", n)
	}
	s.Clock.Advance(23 * time.Hour) // the first records are exactly 24 hours old: still there
	if n := len(readShard(t, s, "old", "shardId-000000000000")); n != 20001 {
		t.Fatalf("at 24 hours: %d records, want 20001", n)
	}
	s.Clock.Advance(time.Millisecond)
	recs := readShard(t, s, "old", "shardId-000000000000")
	if len(recs) != 1 || string(recs[0].Data) != "young" {
		t.Fatalf("past 24 hours TRIM_HORIZON read %d records", len(recs))
	}
	it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("old"), ShardId: aws.String("shardId-000000000000"),
		ShardIteratorType: types.ShardIteratorTypeAtTimestamp, Timestamp: aws.Time(start)})
	if err != nil {
		t.Fatal(err)
	}
	if recs := readAll(t, s, *it.ShardIterator); len(recs) != 1 || string(recs[0].Data) != "young" {
		t.Fatalf("AT_TIMESTAMP before the horizon read %d records", len(recs))
	}
	// The background loop deletes the expired records and the space comes back: the 20 MB of records
	// leave at most a few KiB of segments and tables behind.
	deadline := time.Now().Add(30 * time.Second)
	for tableBytes(t, dir) > 64<<10 {
		if time.Now().After(deadline) {
			t.Fatalf("the store still holds %d bytes after retention", tableBytes(t, dir))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if recs := readShard(t, s, "old", "shardId-000000000000"); len(recs) != 1 {
		t.Fatalf("after trimming: %d records", len(recs))
	}
}

func TestReadLimits(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createStream(t, c, "reads", 1)
		const shard = "shardId-000000000000"
		wantMsg := "Rate exceeded for shard shardId-000000000000 in stream reads under account 000000000000."
		iterIn := &kinesis.GetShardIteratorInput{StreamName: aws.String("reads"), ShardId: aws.String(shard), ShardIteratorType: types.ShardIteratorTypeTrimHorizon}
		var iters []string
		freshSecond(t, s)
		for i := range 5 {
			out, err := c.GetShardIterator(ctx, iterIn)
			if err != nil {
				t.Fatalf("GetShardIterator %d: %v", i, err)
			}
			iters = append(iters, *out.ShardIterator)
		}
		_, err := c.GetShardIterator(ctx, iterIn)
		wantAPIError(t, err, "ProvisionedThroughputExceededException", 400, wantMsg)

		freshSecond(t, s)
		for i := range 5 {
			if _, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String(iters[i])}); err != nil {
				t.Fatalf("GetRecords %d: %v", i, err)
			}
		}
		_, err = c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String(iters[0])})
		wantAPIError(t, err, "ProvisionedThroughputExceededException", 400, wantMsg)

		// A new second: new allowances. Then 3 MiB written (1 MiB per second, the write limit) and read
		// in one response: the shard's reads are refused for the 1.5 s that 2 MiB/s takes to return it.
		for range 3 {
			elapse(t, s, time.Second)
			if _, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("reads"), Records: entries(4, 256<<10-1, "k")}); err != nil {
				t.Fatal(err)
			}
		}
		elapse(t, s, time.Second)
		it := getIterator(t, s, iterIn)
		readAt := time.Now()
		res, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String(it)})
		if err != nil || len(res.Records) != 12 {
			t.Fatalf("large read: %v, %d records", err, len(res.Records))
		}
		_, err = c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: res.NextShardIterator})
		// Against the binary the client (under the race detector) may take a good part of the 1.5 s
		// decoding the 3 MiB: the refusal is certain only for a call that ended within them.
		if late := time.Since(readAt); s.Clock == nil && late >= 1499*time.Millisecond {
			t.Logf("the read after the large one ended %s after it: no refusal to expect", late)
		} else {
			wantAPIError(t, err, "ProvisionedThroughputExceededException", 400, wantMsg)
		}
		elapseChecking(t, s, 1500*time.Millisecond, 100*time.Millisecond, func() {
			_, err = c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: res.NextShardIterator})
			wantAPIError(t, err, "ProvisionedThroughputExceededException", 400, wantMsg)
		})
		if _, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: res.NextShardIterator}); err != nil {
			t.Fatalf("after 1.5 s: %v", err)
		}
	})
	// Off with -throughput-limits=false.
	s := kinesistest.Start(t, kinesistest.Engines[1], kinesistest.Options{Configure: func(c *config.Config) { c.ThroughputLimits = false }})
	createStream(t, s.Client, "free", 1)
	for i := range 20 {
		it, err := s.Client.GetShardIterator(t.Context(), &kinesis.GetShardIteratorInput{StreamName: aws.String("free"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeLatest})
		if err != nil {
			t.Fatalf("limits off, GetShardIterator %d: %v", i, err)
		}
		if _, err := s.Client.GetRecords(t.Context(), &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator}); err != nil {
			t.Fatalf("limits off, GetRecords %d: %v", i, err)
		}
	}
}

// TestOnDemandStreamLimit: an account holds at most 50 ON_DEMAND streams (the OnDemandStreamCountLimit
// of DescribeLimits); the 51st, by CreateStream or by UpdateStreamMode, is refused and changes nothing.
func TestOnDemandStreamLimit(t *testing.T) {
	eachEngineWith(t, func(c *config.Config) { c.ShardLimit = 1000 }, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		onDemand := &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand}
		for i := range 50 {
			if _, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(fmt.Sprintf("od-%02d", i)),
				StreamModeDetails: onDemand}); err != nil {
				t.Fatal(err)
			}
		}
		limited := "This request would exceed the limit on the number of On-Demand streams for the account " + acct +
			". Current On-Demand streams count: 50. Limit: 50."
		_, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("od-50"), StreamModeDetails: onDemand})
		wantAPIError(t, err, "LimitExceededException", 400, limited)
		if _, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("od-50")}); err == nil {
			t.Error("the refused stream exists")
		}
		createStream(t, c, "prov", 1) // PROVISIONED streams are not counted
		arn := streamARN("prov")
		_, err = c.UpdateStreamMode(ctx, &kinesis.UpdateStreamModeInput{StreamARN: aws.String(arn), StreamModeDetails: onDemand})
		wantAPIError(t, err, "LimitExceededException", 400, limited)
		sum, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("prov")})
		if err != nil || sum.StreamDescriptionSummary.StreamModeDetails.StreamMode != types.StreamModeProvisioned ||
			sum.StreamDescriptionSummary.StreamStatus != types.StreamStatusActive {
			t.Fatalf("refused switch changed the stream: %+v %v", sum, err)
		}
		// One ON_DEMAND stream fewer, and the switch goes through.
		if _, err := c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("od-00")}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.UpdateStreamMode(ctx, &kinesis.UpdateStreamModeInput{StreamARN: aws.String(arn), StreamModeDetails: onDemand}); err != nil {
			t.Fatalf("switch under the limit: %v", err)
		}
	})
}
