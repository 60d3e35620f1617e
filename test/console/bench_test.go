package console_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/performance"
	"github.com/chromedp/chromedp"

	"kinesisd/internal/kinesistest"
	"kinesisd/internal/kinesistest/proc"
)

// benchEnv is how long TestConsoleBench runs (a Go duration: `make consolebench` gives 10m); unset,
// the test skips.
const benchEnv = "KINESISD_CONSOLE_BENCH"

// TestConsoleBench tails a stream written at 5,000 records/s (500-record PutRecords every 100 ms, 200
// bytes of JSON each) for $KINESISD_CONSOLE_BENCH, and logs every 10 s the page's JS heap, its DOM
// nodes, the records/s it shows, how far its count is behind the records written, and how long the
// page takes to answer: the page must keep up without freezing while it drops old rows from view.
func TestConsoleBench(t *testing.T) {
	skipUnlessEnabled(t)
	d, err := time.ParseDuration(os.Getenv(benchEnv))
	if err != nil {
		t.Skipf("set %s to a duration (make consolebench: 10m) to run the page's long run", benchEnv)
	}
	p := proc.Start(t, bin, t.TempDir(), "-in-memory", "-throughput-limits=false")
	client := kinesistest.NewClient(p.Endpoint)
	shards := int32(8)
	if _, err := client.CreateStream(t.Context(), &kinesis.CreateStreamInput{StreamName: aws.String("bench"), ShardCount: &shards}); err != nil {
		t.Fatal(err)
	}
	ctx := newBrowser(t)
	openConsole(t, ctx, p.Endpoint)
	waitFor(t, ctx, "bench listed", `!!document.querySelector('tr[data-stream="bench"]')`, 20*time.Second)
	eval[string](t, ctx, `location.hash = '#tail'`)
	setValue(t, ctx, "tail-stream", "bench")
	click(t, ctx, "tail-start")
	waitFor(t, ctx, "the tail", `document.getElementById('tail-shards').textContent.includes('shardId-000000000007')`, 10*time.Second)
	if _, err := chromedp.Call(ctx, performance.Enable, performance.EnableParams{}); err != nil {
		t.Fatal(err)
	}

	wctx, stop := context.WithCancel(t.Context())
	var written atomic.Int64
	var writers sync.WaitGroup
	writers.Go(func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		entries := make([]types.PutRecordsRequestEntry, 500)
		for i := 0; ; i++ {
			for j := range entries {
				k := fmt.Sprint("b-", i, "-", j)
				entries[j] = types.PutRecordsRequestEntry{PartitionKey: aws.String(k),
					Data: fmt.Appendf(nil, `{"key":%q,"n":%d,"padding":"%0150d"}`, k, i*500+j, 0)}
			}
			out, err := client.PutRecords(wctx, &kinesis.PutRecordsInput{StreamName: aws.String("bench"), Records: entries})
			if err == nil {
				written.Add(int64(len(entries)) - int64(aws.ToInt32(out.FailedRecordCount)))
			}
			select {
			case <-wctx.Done():
				return
			case <-tick.C:
			}
		}
	})
	start := time.Now()
	sample := func() {
		res, err := chromedp.Call(ctx, performance.GetMetrics, cdp.Empty{})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]float64{}
		for _, x := range res.Metrics {
			m[x.Name] = x.Value
		}
		t0 := time.Now()
		state := eval[[]string](t, ctx, `[document.getElementById('tail-rate').textContent, document.getElementById('tail-count').textContent, String(document.getElementById('tail-rows').rows.length)]`)
		answer := time.Since(t0)
		shown, _ := strconv.ParseInt(state[1], 10, 64)
		line := fmt.Sprintf("t=%3.0fs written=%d shown=%d behind=%d rate=%s/s rows=%s heap=%.1f MiB (total %.1f MiB) nodes=%.0f answer=%s",
			time.Since(start).Seconds(), written.Load(), shown, written.Load()-shown, state[0], state[2],
			m["JSHeapUsedSize"]/(1<<20), m["JSHeapTotalSize"]/(1<<20), m["Nodes"], answer.Round(time.Millisecond))
		t.Log(line)
		if path := os.Getenv("KINESISD_CONSOLE_NUMBERS"); path != "" {
			f, _ := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
			fmt.Fprintln(f, "bench", line)
			f.Close()
		}
	}
	for time.Since(start) < d {
		time.Sleep(min(10*time.Second, d-time.Since(start)))
		sample()
	}
	stop()
	writers.Wait()
	time.Sleep(2 * time.Second)
	sample()
	screenshot(t, ctx, "console-bench.png")
}
