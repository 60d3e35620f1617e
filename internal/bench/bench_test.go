package bench

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/config"
	"kinesisd/internal/kinesistest"
)

// noEnv is an environment without AWS credentials, so runs sign with the test credentials.
func noEnv(string) string { return "" }

// bench runs `kinesisd bench` with args and returns its exit code and parsed JSON line.
func bench(t *testing.T, args ...string) (int, result) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), args, noEnv, &stdout, &stderr)
	t.Logf("kinesisd bench %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, &stdout, &stderr)
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var res result
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("last line of stdout is not the JSON result: %v", err)
	}
	return code, res
}

// readBack counts the records in every shard of stream, from TRIM_HORIZON to the tail.
func readBack(t *testing.T, c *kinesis.Client, stream string) int {
	t.Helper()
	ctx := t.Context()
	shards, err := c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, sh := range shards.Shards {
		it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
			StreamName: aws.String(stream), ShardId: sh.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
		})
		if err != nil {
			t.Fatal(err)
		}
		iter := it.ShardIterator
		for iter != nil {
			out, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(10000)})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Records) == 0 {
				break
			}
			total += len(out.Records)
			iter = out.NextShardIterator
		}
	}
	return total
}

func makeStream(t *testing.T, c *kinesis.Client, name string, shards int32) {
	t.Helper()
	_, err := c.CreateStream(t.Context(), &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(shards)})
	if err != nil {
		t.Fatal(err)
	}
}

func TestBenchCountsWhatTheStreamHolds(t *testing.T) {
	s := kinesistest.Start(t, kinesistest.Engines[1], kinesistest.Options{
		Configure: func(c *config.Config) { c.ThroughputLimits = false },
	})
	makeStream(t, s.Client, "bench", 3)

	code, res := bench(t, "-endpoint", s.Endpoint, "-stream", "bench", "-keep",
		"-duration", "1s", "-warmup", "200ms", "-workers", "2", "-records", "50", "-size", "100")
	if code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
	if res.Records <= 0 || res.Records%50 != 0 {
		t.Errorf("records = %d, want a positive multiple of 50", res.Records)
	}
	if res.Bytes != res.Records*(100+keyLen) {
		t.Errorf("bytes = %d, want %d records × %d", res.Bytes, res.Records, 100+keyLen)
	}
	if len(res.FailedRecords) != 0 || len(res.FailedRequests) != 0 {
		t.Errorf("failed records %v, failed requests %v, want none", res.FailedRecords, res.FailedRequests)
	}
	if !(0 < res.P50ms && res.P50ms <= res.P90ms && res.P90ms <= res.P99ms && res.P99ms <= res.MaxMs) {
		t.Errorf("percentiles p50 %v, p90 %v, p99 %v, max %v are not positive and ordered", res.P50ms, res.P90ms, res.P99ms, res.MaxMs)
	}
	if res.Stream != "bench" || res.Shards != 3 || res.Workers != 2 || res.RecordsPerRequest != 50 || res.RecordSize != 100 {
		t.Errorf("run description %+v does not match the flags", res)
	}
	if res.DurationS != 1 || res.RecordsPerSec != float64(res.Records) {
		t.Errorf("duration %v s, %v records/s for %d records, want 1 s", res.DurationS, res.RecordsPerSec, res.Records)
	}
	// Warm-up records are in the stream but not counted, so the stream holds at least the count.
	if got := readBack(t, s.Client, "bench"); got < int(res.Records) {
		t.Errorf("the stream holds %d records, fewer than the %d acknowledged", got, res.Records)
	}
}

func TestBenchCountsThrottledRecords(t *testing.T) {
	// Throughput limits are on by default. The server's fake clock never moves, so each shard admits its
	// first second's 1,000 records (116,000 bytes, under 1 MiB) and refuses every later one.
	s := kinesistest.Start(t, kinesistest.Engines[1], kinesistest.Options{})
	code, res := bench(t, "-endpoint", s.Endpoint, "-keep", "-shards", "4",
		"-duration", "2s", "-warmup", "0s", "-workers", "4", "-records", "500", "-size", "100")
	if code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
	if res.Records != 4*1000 {
		t.Errorf("records = %d, want 4,000: 1,000 on each of 4 shards", res.Records)
	}
	if res.FailedRecords["ProvisionedThroughputExceededException"] == 0 || len(res.FailedRecords) != 1 {
		t.Errorf("failed records = %v, want only ProvisionedThroughputExceededException", res.FailedRecords)
	}
	if total := res.Requests * 500; res.Records+res.FailedRecords["ProvisionedThroughputExceededException"] != total {
		t.Errorf("%d acknowledged + %v failed records, want the %d records of %d requests", res.Records, res.FailedRecords, total, res.Requests)
	}
	if got := readBack(t, s.Client, res.Stream); got != 4000 {
		t.Errorf("kept stream %q holds %d records, want 4,000", res.Stream, got)
	}
}

func TestBenchDeletesTheStreamItCreated(t *testing.T) {
	s := kinesistest.Start(t, kinesistest.Engines[1], kinesistest.Options{
		Configure: func(c *config.Config) { c.ThroughputLimits = false },
	})
	code, res := bench(t, "-endpoint", s.Endpoint, "-json-only", "-duration", "200ms", "-warmup", "0s", "-workers", "1", "-records", "10")
	if code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
	if !strings.HasPrefix(res.Stream, "kinesisd-bench-") {
		t.Errorf("created stream %q, want kinesisd-bench-<random>", res.Stream)
	}
	_, err := s.Client.DescribeStreamSummary(t.Context(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(res.Stream)})
	if !errors.As(err, new(*types.ResourceNotFoundException)) {
		t.Errorf("describe %s after the run: %v, want ResourceNotFoundException", res.Stream, err)
	}
}

func TestBenchFailsWhenNothingIsAcknowledged(t *testing.T) {
	s := kinesistest.Start(t, kinesistest.Engines[1], kinesistest.Options{})
	makeStream(t, s.Client, "full", 1)
	// Use up the shard's 1,000 records of this second; the fake clock never moves on, so every record
	// the run sends is refused.
	entries := make([]types.PutRecordsRequestEntry, 500)
	for i := range entries {
		entries[i] = types.PutRecordsRequestEntry{Data: []byte{1}, PartitionKey: aws.String("k")}
	}
	for range 2 {
		out, err := s.Client.PutRecords(t.Context(), &kinesis.PutRecordsInput{StreamName: aws.String("full"), Records: entries})
		if err != nil || aws.ToInt32(out.FailedRecordCount) != 0 {
			t.Fatalf("fill the shard: %v, %v", out, err)
		}
	}
	code, res := bench(t, "-endpoint", s.Endpoint, "-stream", "full", "-json-only", "-duration", "200ms", "-warmup", "0s", "-workers", "1", "-records", "10")
	if code != 1 || res.Records != 0 || res.FailedRecords["ProvisionedThroughputExceededException"] == 0 {
		t.Errorf("exit %d, %d records, failed %v; want exit 1, 0 records, throttled failures", code, res.Records, res.FailedRecords)
	}
}
