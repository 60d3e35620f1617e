package channel_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/kinesistest/proc"
)

// TestChannelBench measures a channel under the headline PutRecords load, never in the test command:
//
//	KINESISD_CHANNEL_BENCH=1 go test -count=1 -run TestChannelBench -v ./test/channel/
//
// For each case (no channel, then a BYTE_ARRAY channel to the embedded buckets with a freshness of
// KINESISD_CHANNEL_BENCH_FRESHNESS seconds, default 10) it starts the binary fresh
// (-throughput-limits=false), creates an ON_DEMAND stream, runs `kinesisd bench` on it for
// KINESISD_CHANNEL_BENCH_DURATION (15s; 8 workers, 500 records of 1 KiB per PutRecords, no
// read-back) while sampling /metrics every second, and reports the bench's records/s, what the
// channel delivered during the load (records/s, MB/s written), its lag, and how long it took to
// deliver the rest once the load stopped. It fails if the lag exceeded the freshness.
func TestChannelBench(t *testing.T) {
	if os.Getenv("KINESISD_CHANNEL_BENCH") == "" {
		t.Skip("KINESISD_CHANNEL_BENCH=1 runs it")
	}
	duration := os.Getenv("KINESISD_CHANNEL_BENCH_DURATION")
	if duration == "" {
		duration = "15s"
	}
	fresh := int32(envInt(t, "KINESISD_CHANNEL_BENCH_FRESHNESS", 10))
	for _, withChannel := range []bool{false, true} {
		dir := t.TempDir()
		flags := []string{"-throughput-limits=false"}
		if addr := os.Getenv("KINESISD_CHANNEL_BENCH_PPROF"); addr != "" && withChannel {
			flags = append(flags, "-pprof-listen", addr) // the server's profile while it delivers
		}
		p := proc.Start(t, bin, dir, flags...)
		c := proc.NewClient(p.Endpoint, time.Minute)
		arn := onDemand(t, c, "bench")
		if withChannel {
			createChannel(t, c, arn, "bench", channelSpec{name: "bench", format: "BYTE_ARRAY", compression: "NONE", freshness: fresh})
		}
		var (
			mu      sync.Mutex
			samples []sample
			stop    = make(chan struct{})
			wg      sync.WaitGroup
		)
		wg.Go(func() {
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				sm := sample{at: time.Now(),
					records: metric(t, p.Endpoint, "kinesisd_channel_records_delivered_total", `channel="bench"`),
					bytes:   metric(t, p.Endpoint, "kinesisd_channel_bytes_delivered_total", `channel="bench"`),
					lag:     metric(t, p.Endpoint, "kinesisd_channel_lag_seconds", `channel="bench"`)}
				mu.Lock()
				samples = append(samples, sm)
				mu.Unlock()
			}
		})
		start := time.Now()
		out, err := exec.Command(bin, "bench", "-endpoint", p.Endpoint, "-stream", "bench", "-keep", "-read=false",
			"-workers", "8", "-records", "500", "-size", "1024", "-duration", duration, "-pid", itoa(p.Pid())).Output()
		if err != nil {
			t.Fatalf("kinesisd bench: %v\n%s", err, out)
		}
		end := time.Now()
		lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
		var res struct {
			RecordsPerSec float64 `json:"records_per_sec"`
			MBPerSec      float64 `json:"mb_per_sec"`
			P99ms         float64 `json:"p99_ms"`
			Records       int64   `json:"records"`
		}
		if err := json.Unmarshal(lines[len(lines)-1], &res); err != nil {
			t.Fatalf("bench summary %q: %v", lines[len(lines)-1], err)
		}
		if !withChannel {
			close(stop)
			wg.Wait()
			t.Logf("no channel:   bench %.0f records/s, %.1f MB/s, p99 %.1f ms", res.RecordsPerSec, res.MBPerSec, res.P99ms)
			_ = p.Stop(30 * time.Second)
			continue
		}
		// Drained: the delivered count has not moved for two freshness intervals.
		last, lastChange := -1.0, time.Now()
		for time.Since(lastChange) < 2*time.Duration(fresh)*time.Second+2*time.Second {
			if n := metric(t, p.Endpoint, "kinesisd_channel_records_delivered_total", `channel="bench"`); n != last {
				last, lastChange = n, time.Now()
			}
			time.Sleep(100 * time.Millisecond)
		}
		total := int64(last)
		drained := lastChange.Sub(end)
		close(stop)
		wg.Wait()
		var during, atEnd sample
		maxLag := 0.0
		for _, sm := range samples {
			if !sm.at.After(end) {
				atEnd = sm
			}
			if sm.at.After(start) && during.at.IsZero() {
				during = sm
			}
			maxLag = max(maxLag, sm.lag)
		}
		secs := atEnd.at.Sub(start).Seconds()
		t.Logf("with channel: bench %.0f records/s, %.1f MB/s, p99 %.1f ms; channel during the load %.0f records/s, %.1f MB/s written; "+
			"max lag %.1f s (freshness %d s); the %d records of the stream all delivered %.1f s after the load ended",
			res.RecordsPerSec, res.MBPerSec, res.P99ms, atEnd.records/secs, atEnd.bytes/secs/1e6, maxLag, fresh, total, drained.Seconds())
		if maxLag > float64(fresh) {
			t.Errorf("the channel lagged %.1f s behind the stream, more than its freshness of %d s", maxLag, fresh)
		}
		_ = p.Stop(30 * time.Second)
	}
}

type sample struct {
	at                  time.Time
	records, bytes, lag float64
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestChannelBenchIceberg measures a channel to an S3 Tables table (the embedded catalog, ZSTD
// Parquet, hour partitions) under a PutRecords load of JSON records (the bench's random bytes are not
// JSON): 8 writers of the Go SDK, 500 records of about 1 KiB per call, for
// KINESISD_CHANNEL_BENCH_DURATION; it reports the load's records/s, what the channel delivered
// during it and how long the rest took. KINESISD_CHANNEL_BENCH=1 runs it.
func TestChannelBenchIceberg(t *testing.T) {
	if os.Getenv("KINESISD_CHANNEL_BENCH") == "" {
		t.Skip("KINESISD_CHANNEL_BENCH=1 runs it")
	}
	duration := 15 * time.Second
	if v := os.Getenv("KINESISD_CHANNEL_BENCH_DURATION"); v != "" {
		var err error
		if duration, err = time.ParseDuration(v); err != nil {
			t.Fatal(err)
		}
	}
	fresh := int32(envInt(t, "KINESISD_CHANNEL_BENCH_FRESHNESS", 10))
	flags := []string{"-throughput-limits=false"}
	if addr := os.Getenv("KINESISD_CHANNEL_BENCH_PPROF"); addr != "" {
		flags = append(flags, "-pprof-listen", addr)
	}
	p := proc.Start(t, bin, t.TempDir(), flags...)
	c := proc.NewClient(p.Endpoint, time.Minute)
	arn := onDemand(t, c, "bench")
	_, err := c.CreateChannel(t.Context(), &kinesis.CreateChannelInput{
		ChannelName: aws.String("bench"), ServiceExecutionRoleARN: aws.String(roleARN),
		StreamConfigurationList: []types.ChannelStreamConfiguration{{StreamARN: aws.String(arn),
			RecordConfiguration: &types.RecordConfiguration{RecordFormatType: types.RecordFormatTypeJson,
				GSRSchemaARN: aws.String("arn:aws:glue:us-east-1:000000000000:schema/registry/bench")}}},
		S3TablesDestinationConfiguration: &types.S3TablesDestinationConfiguration{
			DataFreshnessInSeconds: aws.Int32(fresh),
			DeadLetterQueueS3Configuration: &types.DeadLetterQueueS3Configuration{BucketARN: aws.String("arn:aws:s3:::dead"),
				ExpectedBucketOwner: aws.String("000000000000")},
			S3TablesConfigurationList: []types.S3TablesConfiguration{{CompressionType: types.S3TablesCompressionTypeZstd,
				Namespace: aws.String("bench"), TableBucketARN: aws.String("arn:aws:s3tables:us-east-1:000000000000:bucket/bench"), TableName: aws.String("events"),
				PartitionSpec: &types.PartitionSpec{PartitionFields: []types.PartitionField{{SourceName: aws.String("ts"), Transform: types.PartitionTransformTimeHour}}}}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var acked atomic.Int64
	start := time.Now()
	end := start.Add(duration)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			entries := make([]types.PutRecordsRequestEntry, 500)
			for i := 0; time.Now().Before(end); i++ {
				for j := range entries {
					data := fmt.Sprintf(`{"worker":%d,"n":%d,"ts":%q,"pad":"%s"}`, w, i*500+j, time.Now().UTC().Format(time.RFC3339Nano), strings.Repeat("x", 950))
					entries[j] = types.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprint(w, "-", j)), Data: []byte(data)}
				}
				out, err := c.PutRecords(t.Context(), &kinesis.PutRecordsInput{StreamName: aws.String("bench"), Records: entries})
				if err != nil {
					t.Error(err)
					return
				}
				acked.Add(int64(len(entries)) - int64(aws.ToInt32(out.FailedRecordCount)))
			}
		})
	}
	var atEnd, maxLag float64
	for time.Now().Before(end) {
		time.Sleep(time.Second)
		maxLag = max(maxLag, metric(t, p.Endpoint, "kinesisd_channel_lag_seconds", `channel="bench"`))
		atEnd = metric(t, p.Endpoint, "kinesisd_channel_records_delivered_total", `channel="bench"`)
	}
	wg.Wait()
	loadEnd := time.Now()
	for metric(t, p.Endpoint, "kinesisd_channel_records_delivered_total", `channel="bench"`) < float64(acked.Load()) {
		if time.Since(loadEnd) > 5*time.Minute {
			t.Fatal("the channel did not catch up")
		}
		maxLag = max(maxLag, metric(t, p.Endpoint, "kinesisd_channel_lag_seconds", `channel="bench"`))
		time.Sleep(100 * time.Millisecond)
	}
	secs := loadEnd.Sub(start).Seconds()
	bytesDelivered := metric(t, p.Endpoint, "kinesisd_channel_bytes_delivered_total", `channel="bench"`)
	t.Logf("iceberg: load %.0f records/s (Go SDK, 8 writers); channel during the load %.0f records/s; all %d records in the table %.1f s after the load "+
		"(%.0f records/s, %.1f MB/s of record data overall); max lag %.1f s (freshness %d s)",
		float64(acked.Load())/secs, atEnd/secs, acked.Load(), time.Since(loadEnd).Seconds(),
		float64(acked.Load())/time.Since(start).Seconds(), bytesDelivered/time.Since(start).Seconds()/1e6, maxLag, fresh)
	if maxLag > float64(fresh) {
		t.Errorf("the channel lagged %.1f s behind the stream, more than its freshness of %d s", maxLag, fresh)
	}
	_ = p.Stop(30 * time.Second)
}
