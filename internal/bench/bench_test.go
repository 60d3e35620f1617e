package bench

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

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
	code, res, _ := benchStderr(t, args...)
	return code, res
}

// benchStderr is bench that also returns what the run wrote to stderr.
func benchStderr(t *testing.T, args ...string) (int, result, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), args, noEnv, &stdout, &stderr)
	t.Logf("kinesisd bench %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, &stdout, &stderr)
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var res result
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("last line of stdout is not the JSON result: %v", err)
	}
	return code, res, stderr.String()
}

// checkPassed fails the test unless res holds a passed read-back of every acknowledged record.
func checkPassed(t *testing.T, res result) {
	t.Helper()
	if res.Read == nil {
		t.Fatal("no read-back in the result")
	}
	c := res.Read.Check
	if !c.Passed || c.Acked < res.Records || c.Matched != c.Acked || c.Read != c.Acked || c.Extra != 0 {
		t.Errorf("read-back check %+v, want every one of at least %d acknowledged records read once", c, res.Records)
	}
	if res.Read.Records != c.Read || res.Read.RecordsPerSec <= 0 {
		t.Errorf("read-back %+v", res.Read)
	}
}

// countRecords counts the records in every shard of stream through the SDK, from TRIM_HORIZON to the tail.
func countRecords(t *testing.T, c *kinesis.Client, stream string) int {
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

	code, res := bench(t, "-endpoint", s.Endpoint, "-stream", "bench", "-keep", "-pid", strconv.Itoa(os.Getpid()),
		"-duration", "1s", "-warmup", "200ms", "-workers", "2", "-records", "50", "-size", "100")
	if code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
	checkPassed(t, res)
	if res.Read.Bytes != res.Read.Records*(100+keyLen) {
		t.Errorf("read %d bytes, want %d records × %d", res.Read.Bytes, res.Read.Records, 100+keyLen)
	}
	for _, op := range []string{"PutRecords", "GetRecords"} {
		if got := servedOver(t, s.Endpoint, op); got != "HTTP/1.1" {
			t.Errorf("%s over %q, want HTTP/1.1 alone", op, got)
		}
	}
	// The server runs in this process, so -pid follows the process that runs the bench.
	if sv := res.Server; sv == nil || sv.PID != os.Getpid() || sv.CPUPct <= 0 || sv.RSSIdleMiB <= 0 || sv.RSSPeakMiB < sv.RSSIdleMiB {
		t.Errorf("server %+v, want this process's CPU and RSS", sv)
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
	if got := countRecords(t, s.Client, "bench"); got < int(res.Records) {
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
	if got := countRecords(t, s.Client, res.Stream); got != 4000 {
		t.Errorf("kept stream %q holds %d records, want 4,000", res.Stream, got)
	}
	checkPassed(t, res)
	if !res.Read.Check.StrictExtra {
		t.Error("the run created the stream and every call was answered, yet extra records would not fail the check")
	}
}

func TestBenchReadsBackThroughThrottling(t *testing.T) {
	// Throughput limits on: GetRecords may be called 5 times a second per shard, and the read-back makes
	// 100-record calls. The fake clock moves a second every 50 ms, so throttled calls succeed on retry.
	s := kinesistest.Start(t, kinesistest.Engines[1], kinesistest.Options{})
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				s.Clock.Advance(time.Second)
			}
		}
	}()
	code, res := bench(t, "-endpoint", s.Endpoint, "-shards", "1", "-duration", "300ms", "-warmup", "0s",
		"-workers", "1", "-records", "100", "-size", "100", "-read-limit", "100", "-h2c")
	if code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
	checkPassed(t, res)
	if res.Read.Throttles == 0 || len(res.Read.Failures) != 0 {
		t.Errorf("%d throttled read calls, failures %v; want some throttles and no failures", res.Read.Throttles, res.Read.Failures)
	}
	if res.Protocol != "HTTP/2" {
		t.Errorf("protocol %q", res.Protocol)
	}
	for _, op := range []string{"PutRecords", "GetRecords"} {
		if got := servedOver(t, s.Endpoint, op); got != "HTTP/2.0" {
			t.Errorf("%s over %q, want HTTP/2.0 alone", op, got)
		}
	}
}

// servedOver returns the HTTP protocols the server's metrics count requests for operation op over.
func servedOver(t *testing.T, endpoint, op string) string {
	t.Helper()
	resp, err := http.Get(endpoint + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	metrics, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var protos []string
	prefix := fmt.Sprintf(`kinesisd_http_requests_total{operation=%q,proto="`, op)
	for line := range strings.Lines(string(metrics)) {
		if rest, ok := strings.CutPrefix(line, prefix); ok {
			proto, _, _ := strings.Cut(rest, `"`)
			protos = append(protos, proto)
		}
	}
	return strings.Join(protos, ",")
}

// tamperingProxy forwards to endpoint and changes the first GetRecords response that holds records.
func tamperingProxy(t *testing.T, endpoint string, tamper func(records []any) []any) string {
	t.Helper()
	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(resp *http.Response) error {
		if !strings.HasSuffix(resp.Request.Header.Get("X-Amz-Target"), ".GetRecords") || resp.StatusCode != http.StatusOK {
			return nil
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			return err
		}
		if records, _ := m["Records"].([]any); len(records) > 0 {
			once.Do(func() { m["Records"] = tamper(records) })
		}
		if body, err = json.Marshal(m); err != nil {
			return err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return nil
	}
	ps := httptest.NewServer(proxy)
	t.Cleanup(ps.Close)
	return ps.URL
}

func TestBenchReadBackCheck(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(records []any) []any
		want   func(c checkCounts) bool
		pass   bool
	}{
		{"the same bytes in other base64", func(r []any) []any {
			rec := r[0].(map[string]any)
			rec["Data"] = rec["Data"].(string)[:4] + "\r\n" + rec["Data"].(string)[4:] // decoders skip line breaks
			return r
		}, func(c checkCounts) bool { return c.Matched == c.Acked && c.Read == c.Acked }, true},
		{"a record missing", func(r []any) []any { return r[1:] },
			func(c checkCounts) bool { return c.Missing == 1 && c.Read == c.Acked-1 }, false},
		{"a record with other bytes", func(r []any) []any {
			r[0].(map[string]any)["Data"] = "b3RoZXI="
			return r
		}, func(c checkCounts) bool { return c.Mismatched == 1 && c.Matched == c.Acked-1 }, false},
		{"a record read twice", func(r []any) []any { return append(r[:1], r...) },
			func(c checkCounts) bool { return c.Duplicates == 1 && c.Read == c.Acked+1 }, false},
		{"a record never sent", func(r []any) []any {
			extra := maps.Clone(r[0].(map[string]any))
			extra["SequenceNumber"] = "1"
			return append([]any{extra}, r...)
		}, func(c checkCounts) bool { return c.Extra == 1 && c.Matched == c.Acked }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := kinesistest.Start(t, kinesistest.Engines[1], kinesistest.Options{
				Configure: func(c *config.Config) { c.ThroughputLimits = false },
			})
			endpoint := tamperingProxy(t, s.Endpoint, tt.tamper)
			code, res, stderr := benchStderr(t, "-endpoint", endpoint, "-json-only", "-shards", "2",
				"-duration", "200ms", "-warmup", "0s", "-workers", "2", "-records", "20", "-size", "50")
			if res.Read == nil {
				t.Fatalf("exit code %d, no read-back", code)
			}
			if tt.pass {
				if code != 0 || !res.Read.Check.Passed || !tt.want(res.Read.Check) {
					t.Errorf("exit code %d, check %+v; want 0 and a passed check", code, res.Read.Check)
				}
				return
			}
			if code != 3 {
				t.Errorf("exit code %d, want 3", code)
			}
			if !strings.Contains(stderr, "READ-BACK CHECK FAILED: ") {
				t.Errorf("stderr does not say READ-BACK CHECK FAILED:\n%s", stderr)
			}
			if res.Read.Check.Passed || !tt.want(res.Read.Check) {
				t.Errorf("check %+v", res.Read.Check)
			}
		})
	}
}

func TestBenchWithoutReadBack(t *testing.T) {
	s := kinesistest.Start(t, kinesistest.Engines[1], kinesistest.Options{
		Configure: func(c *config.Config) { c.ThroughputLimits = false },
	})
	code, res := bench(t, "-endpoint", s.Endpoint, "-read=false", "-json-only", "-duration", "100ms", "-warmup", "0s", "-workers", "1", "-records", "10")
	if code != 0 || res.Read != nil || res.Records == 0 {
		t.Errorf("exit %d, %d records, read-back %+v; want exit 0, records, no read-back", code, res.Records, res.Read)
	}
}

// TestBenchRate: with -rate the workers offer that many records a second between them, however fast
// the server answers: 2 workers × 10 records at 200/s is one call per worker every 100 ms, about 10
// calls per worker in the second measured (a call that starts in the window may end after it).
func TestBenchRate(t *testing.T) {
	s := kinesistest.Start(t, kinesistest.Engines[1], kinesistest.Options{
		Configure: func(c *config.Config) { c.ThroughputLimits = false },
	})
	code, res := bench(t, "-endpoint", s.Endpoint, "-read=false", "-json-only", "-duration", "1s", "-warmup", "200ms",
		"-workers", "2", "-records", "10", "-rate", "200")
	if code != 0 || res.Records < 160 || res.Records > 220 {
		t.Errorf("exit %d, %d records in 1 s; want exit 0 and about 200", code, res.Records)
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
