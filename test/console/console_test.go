package console_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/chromedp/chromedp"

	"kinesisd/internal/kinesistest"
	"kinesisd/internal/kinesistest/proc"
)

// openConsole opens endpoint's console in the tab and waits for the page to list the streams.
func openConsole(t *testing.T, ctx context.Context, endpoint string) {
	t.Helper()
	do(t, ctx, 30*time.Second, chromedp.Navigate(endpoint+"/console/"))
}

// TestConsole drives the console as a user would, against the binary with its default read limits
// (5 GetRecords calls a second per shard): create a stream from the page, encrypt it with KMS, tail it
// while records come through the Go SDK (text, JSON, a KPL aggregate built with aws-kinesis-agg:
// shown decrypted and decoded), check that a consumer
// reading at its limit is never throttled by the tail, split a shard from the page and see the lineage
// and the tail following the children; then measure the time from PutRecord's acknowledgment to the
// row on the page, and keep a screenshot.
func TestConsole(t *testing.T) {
	skipUnlessEnabled(t)
	p := proc.Start(t, bin, t.TempDir(), "-in-memory")
	client := kinesistest.NewClient(p.Endpoint)
	ctx := newBrowser(t)
	openConsole(t, ctx, p.Endpoint)
	waitFor(t, ctx, "the streams view", `!document.getElementById('app').hidden`, 10*time.Second)

	// Create a stream from the page.
	setValue(t, ctx, "create-name", "orders")
	setValue(t, ctx, "create-shards", "2")
	click(t, ctx, "create-btn")
	waitFor(t, ctx, "orders listed ACTIVE",
		`(document.querySelector('tr[data-stream="orders"] td.status')||{}).textContent === 'ACTIVE'`, 20*time.Second)
	open := eval[string](t, ctx, `document.querySelector('tr[data-stream="orders"] td.open').textContent`)
	if open != "2" {
		t.Errorf("open shards shown: %q, want 2", open)
	}

	// Records encrypted at rest come out of the tail decrypted, as GetRecords returns them.
	if _, err := client.StartStreamEncryption(t.Context(), &kinesis.StartStreamEncryptionInput{StreamName: aws.String("orders"),
		EncryptionType: types.EncryptionTypeKms, KeyId: aws.String("alias/aws/kinesis")}); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, 30*time.Second, chromedp.Reload())
	waitFor(t, ctx, "orders listed encrypted and ACTIVE",
		`(document.querySelector('tr[data-stream="orders"] td.encryption')||{}).textContent === 'KMS alias/aws/kinesis' && document.querySelector('tr[data-stream="orders"] td.status').textContent === 'ACTIVE'`, 20*time.Second)

	// The live tail from LATEST: started once the page says which shards it reads.
	eval[string](t, ctx, `location.hash = '#tail'`)
	setValue(t, ctx, "tail-stream", "orders")
	setValue(t, ctx, "tail-from", "LATEST")
	click(t, ctx, "tail-start")
	waitFor(t, ctx, "the tail reading both shards",
		`document.getElementById('tail-shards').textContent.includes('shardId-000000000001')`, 10*time.Second)

	aggKey, agg := kplAggregate(t, [][2]string{{"user-a", "first user record"}, {"user-b", `{"n":2}`}, {"user-a", "third"}})
	_, err := client.PutRecords(t.Context(), &kinesis.PutRecordsInput{StreamName: aws.String("orders"), Records: []types.PutRecordsRequestEntry{
		{PartitionKey: aws.String("text-key"), Data: []byte("hello, console ✓")},
		{PartitionKey: aws.String("json-key"), Data: []byte(`{"order":42,"items":["a","b"]}`)},
		{PartitionKey: aws.String(aggKey), Data: agg},
		{PartitionKey: aws.String("bin-key"), Data: []byte{0xff, 0x00, 0xfe}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	dataOf := func(sel string) string {
		t.Helper()
		waitFor(t, ctx, sel, fmt.Sprintf(`!!document.querySelector(%q)`, sel), 10*time.Second)
		return eval[string](t, ctx, fmt.Sprintf(`document.querySelector(%q).querySelector('td.data').textContent`, sel))
	}
	if got := dataOf(`#tail-rows tr[data-pk="text-key"]`); got != "hello, console ✓" {
		t.Errorf("text record shown as %q", got)
	}
	if got, want := dataOf(`#tail-rows tr[data-pk="json-key"]`), "{\n  \"order\": 42,\n  \"items\": [\n    \"a\",\n    \"b\"\n  ]\n}"; got != want {
		t.Errorf("JSON record shown as %q, want %q", got, want)
	}
	if got := dataOf(`#tail-rows tr[data-pk="bin-key"]`); !strings.HasPrefix(got, "ff 00 fe") {
		t.Errorf("binary record shown as %q, want hex", got)
	}
	users := eval[[]string](t, ctx, `[...document.querySelectorAll('#tail-rows tr.user')].map(r => r.dataset.pk + '=' + r.querySelector('td.data').textContent)`)
	wantUsers := []string{"user-a=first user record", "user-b={\n  \"n\": 2\n}", "user-a=third"}
	if !slices.Equal(users, wantUsers) {
		t.Errorf("KPL user records shown: %q, want %q", users, wantUsers)
	}
	if got := dataOf(`#tail-rows tr[data-pk="` + aggKey + `"]`); !strings.Contains(got, "3 user records") {
		t.Errorf("aggregate row: %q", got)
	}

	screenshot(t, ctx, "console-tail.png")
	filtersAndPause(t, ctx, client)

	consumerUntouched(t, client)
	splitFromPage(t, ctx, client)
	mergeAndScale(t, ctx)
	consumersAndPut(t, ctx, client)
	latency(t, ctx, client, 1000)
	eval[string](t, ctx, `location.hash = '#streams'`)
	setValue(t, ctx, "create-name", "orders")
	click(t, ctx, "create-btn") // orders exists: the page says so
	waitFor(t, ctx, "the page reporting the refusal", `document.getElementById('status').textContent.includes('ResourceInUseException')`, 10*time.Second)
	screenshot(t, ctx, "console-streams.png")

	// The tail stops when the page goes: no console tail left open on the server.
	do(t, ctx, 10*time.Second, chromedp.Navigate("about:blank"))
}

// consumerUntouched runs a real consumer at its read limit (5 GetRecords calls on each shard in each
// second) for 3 seconds while records flow and the page tails them: the tail reads each shard many
// times a second, and none of the consumer's calls may be refused.
func consumerUntouched(t *testing.T, client *kinesis.Client) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	var writers sync.WaitGroup
	writers.Go(func() {
		for i := 0; ctx.Err() == nil; i++ {
			entries := make([]types.PutRecordsRequestEntry, 20)
			for j := range entries {
				entries[j] = types.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprint("flow-", i, "-", j)), Data: []byte("flowing")}
			}
			client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("orders"), Records: entries})
			time.Sleep(20 * time.Millisecond)
		}
	})
	defer func() {
		cancel()
		writers.Wait()
	}()
	iters := map[string]*string{}
	for _, shard := range []string{"shardId-000000000000", "shardId-000000000001"} {
		out, err := client.GetShardIterator(t.Context(), &kinesis.GetShardIteratorInput{StreamName: aws.String("orders"),
			ShardId: aws.String(shard), ShardIteratorType: types.ShardIteratorTypeLatest})
		if err != nil {
			t.Fatal(err)
		}
		iters[shard] = out.ShardIterator
	}
	calls, records := 0, 0
	for range 3 {
		// The limit is counted in whole seconds of the server's clock: 5 calls early in each second.
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 100*time.Millisecond)))
		for shard := range iters {
			for range 5 {
				out, err := client.GetRecords(t.Context(), &kinesis.GetRecordsInput{ShardIterator: iters[shard]})
				var pte *types.ProvisionedThroughputExceededException
				if errors.As(err, &pte) {
					t.Fatalf("a consumer at its limit was throttled while the console tails the stream: %v", err)
				}
				if err != nil {
					t.Fatal(err)
				}
				calls, records = calls+1, records+len(out.Records)
				iters[shard] = out.NextShardIterator
			}
		}
	}
	if records == 0 {
		t.Error("the consumer read nothing: the check proves nothing")
	}
	t.Logf("consumer at its limit beside the tail: %d GetRecords calls, %d records, none throttled", calls, records)
}

// splitFromPage splits shard 0 of orders at its middle from the shard map, checks the lineage the page
// shows, and that a record written to a child appears in the running tail.
func splitFromPage(t *testing.T, ctx context.Context, client *kinesis.Client) {
	t.Helper()
	eval[string](t, ctx, `location.hash = '#shards'`)
	setValue(t, ctx, "shards-stream", "orders")
	waitFor(t, ctx, "the hash-key bar", `document.querySelectorAll('#hashbar div').length === 2`, 10*time.Second)
	setValue(t, ctx, "split-shard", "shardId-000000000000")
	key := eval[string](t, ctx, `document.getElementById('split-key').value`)
	if key != "85070591730234615865843651857942052864" { // the middle of shard 0's range [0, 2^127-1]
		t.Errorf("split key offered: %s", key)
	}
	click(t, ctx, "split-btn")
	waitFor(t, ctx, "three open shards in the bar", `document.querySelectorAll('#hashbar div').length === 3`, 20*time.Second)
	lineage := eval[[]string](t, ctx, `[...document.querySelectorAll('#lineage li')].map(li => li.textContent)`)
	want := []string{
		"shardId-000000000000 closed → shardId-000000000002, shardId-000000000003",
		"shardId-000000000001 open",
		"shardId-000000000002 open ← shardId-000000000000",
		"shardId-000000000003 open ← shardId-000000000000",
	}
	if !slices.Equal(lineage, want) {
		t.Errorf("lineage:\n%s\nwant\n%s", strings.Join(lineage, "\n"), strings.Join(want, "\n"))
	}
	screenshot(t, ctx, "console-shards.png")
	out, err := client.PutRecord(t.Context(), &kinesis.PutRecordInput{StreamName: aws.String("orders"), PartitionKey: aws.String("after-split"),
		ExplicitHashKey: aws.String("1"), Data: []byte("in a child")})
	if err != nil {
		t.Fatal(err)
	}
	if *out.ShardId != "shardId-000000000002" {
		t.Errorf("the record went to %s", *out.ShardId)
	}
	eval[string](t, ctx, `location.hash = '#tail'`)
	waitFor(t, ctx, "the child's record in the tail",
		`(document.querySelector('#tail-rows tr[data-pk="after-split"]')||{dataset:{}}).dataset.shard === 'shardId-000000000002'`, 10*time.Second)
}

// latency puts n records one PutRecord at a time and measures, for each, the time from the call's
// acknowledgment to its row being added to the page (the page's probe: performance.timeOrigin +
// performance.now() after the frame that added the row; same machine, same clock).
func latency(t *testing.T, ctx context.Context, client *kinesis.Client, n int) {
	t.Helper()
	eval[bool](t, ctx, `location.hash = '#tail'; window.__probe = []; true`)
	acked := make(map[string]float64, n)
	for i := range n {
		pk := fmt.Sprint("lat-", i)
		if _, err := client.PutRecord(t.Context(), &kinesis.PutRecordInput{StreamName: aws.String("orders"), PartitionKey: aws.String(pk), Data: []byte("latency probe")}); err != nil {
			t.Fatal(err)
		}
		acked[pk] = float64(time.Now().UnixNano()) / 1e6
		time.Sleep(2 * time.Millisecond) // about 300 records/s: every record can reach the view
	}
	waitFor(t, ctx, "every probe record on the page", fmt.Sprintf(`window.__probe.filter(p => p[0].startsWith('lat-')).length >= %d`, n), 30*time.Second)
	probe := eval[[][2]any](t, ctx, `window.__probe`)
	var ms []float64
	for _, p := range probe {
		pk, _ := p[0].(string)
		at, _ := p[1].(float64)
		if ack, ok := acked[pk]; ok {
			ms = append(ms, at-ack)
		}
	}
	slices.Sort(ms)
	if len(ms) != n {
		t.Fatalf("%d probe rows, want %d", len(ms), n)
	}
	pct := func(p float64) float64 { return ms[min(len(ms)-1, int(p*float64(len(ms))))] }
	t.Logf("PutRecord acknowledgment → row on the page, %d records: p50 %.1f ms, p99 %.1f ms, max %.1f ms", n, pct(0.50), pct(0.99), ms[len(ms)-1])
	if path := os.Getenv("KINESISD_CONSOLE_NUMBERS"); path != "" {
		f, _ := os.OpenFile(filepath.Clean(path), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		fmt.Fprintf(f, "latency n=%d p50=%.1fms p99=%.1fms max=%.1fms\n", n, pct(0.50), pct(0.99), ms[len(ms)-1])
		f.Close()
	}
}

// mergeAndScale merges the split's two children back from the page, then doubles the open shards with
// UpdateShardCount, checking the bar and the lineage after each.
func mergeAndScale(t *testing.T, ctx context.Context) {
	t.Helper()
	eval[string](t, ctx, `location.hash = '#shards'`)
	setValue(t, ctx, "merge-shard", "shardId-000000000002")
	click(t, ctx, "merge-btn")
	waitFor(t, ctx, "two open shards after the merge", `document.querySelectorAll('#hashbar div').length === 2`, 20*time.Second)
	merged := eval[string](t, ctx, `(document.querySelector('#lineage li[data-shard="shardId-000000000004"]')||{}).textContent||''`)
	if merged != "shardId-000000000004 open ← shardId-000000000002 + shardId-000000000003" {
		t.Errorf("merged shard in the lineage: %q", merged)
	}
	setValue(t, ctx, "count-target", "4")
	click(t, ctx, "count-btn")
	waitFor(t, ctx, "four open shards after UpdateShardCount", `document.querySelectorAll('#hashbar div').length === 4`, 20*time.Second)
}

// consumersAndPut registers a consumer from the page, shows a real SubscribeToShard on it as its live
// subscription, deregisters it, and puts a test record from the page, which the running tail shows.
func consumersAndPut(t *testing.T, ctx context.Context, client *kinesis.Client) {
	t.Helper()
	eval[string](t, ctx, `location.hash = '#streams'`)
	setValue(t, ctx, "consumers-stream", "orders")
	setValue(t, ctx, "consumer-name", "page-consumer")
	click(t, ctx, "consumer-btn")
	waitFor(t, ctx, "the consumer listed", `!!document.querySelector('#consumers li[data-consumer="page-consumer"]')`, 10*time.Second)

	// A real SubscribeToShard on the consumer shows as its live subscription.
	desc, err := client.DescribeStreamConsumer(t.Context(), &kinesis.DescribeStreamConsumerInput{
		StreamARN: aws.String(streamARN(t, client)), ConsumerName: aws.String("page-consumer")})
	if err != nil {
		t.Fatal(err)
	}
	open, err := client.ListShards(t.Context(), &kinesis.ListShardsInput{StreamName: aws.String("orders"),
		ShardFilter: &types.ShardFilter{Type: types.ShardFilterTypeAtLatest}})
	if err != nil {
		t.Fatal(err)
	}
	shard := *open.Shards[0].ShardId
	subCtx, endSub := context.WithCancel(t.Context())
	sub, err := client.SubscribeToShard(subCtx, &kinesis.SubscribeToShardInput{ConsumerARN: desc.ConsumerDescription.ConsumerARN,
		ShardId: &shard, StartingPosition: &types.StartingPosition{Type: types.ShardIteratorTypeLatest}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the live subscription on the page",
		`(document.querySelector('#consumers li[data-consumer="page-consumer"]')||{textContent:''}).textContent.includes('subscribed to `+shard+`')`, 10*time.Second)
	sub.GetStream().Close()
	endSub()
	do(t, ctx, 10*time.Second, chromedp.Click(chromedp.CSS(`#consumers li[data-consumer="page-consumer"] button`)))
	waitFor(t, ctx, "the consumer gone or deleting", `!document.querySelector('#consumers li[data-consumer="page-consumer"]') || document.querySelector('#consumers li[data-consumer="page-consumer"]').textContent.includes('DELETING')`, 10*time.Second)

	setValue(t, ctx, "put-stream", "orders")
	setValue(t, ctx, "put-key", "from-page")
	setValue(t, ctx, "put-data", `{"sent":"from the console"}`)
	click(t, ctx, "put-btn")
	waitFor(t, ctx, "the page's record in the tail", `!!document.querySelector('#tail-rows tr[data-pk="from-page"]')`, 10*time.Second)
	if got := eval[string](t, ctx, `document.querySelector('#tail-rows tr[data-pk="from-page"] td.data').textContent`); got != "{\n  \"sent\": \"from the console\"\n}" {
		t.Errorf("the page's record shown as %q", got)
	}
}

// streamARN is the ARN of orders.
func streamARN(t *testing.T, client *kinesis.Client) string {
	t.Helper()
	out, err := client.DescribeStreamSummary(t.Context(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("orders")})
	if err != nil {
		t.Fatal(err)
	}
	return *out.StreamDescriptionSummary.StreamARN
}

// filtersAndPause filters the rows by partition key and by text, then pauses the view: records that
// arrive meanwhile are counted but shown only on resume.
func filtersAndPause(t *testing.T, ctx context.Context, client *kinesis.Client) {
	t.Helper()
	visible := func() []string {
		return eval[[]string](t, ctx, `[...document.querySelectorAll('#tail-rows tr:not(.user)')].filter(r => !r.hidden).map(r => r.dataset.pk)`)
	}
	filter := func(id, v string) {
		eval[bool](t, ctx, fmt.Sprintf(`(() => { const e = document.getElementById(%q); e.value = %q; e.dispatchEvent(new Event('input')); return true; })()`, id, v))
	}
	filter("tail-filter-key", "json")
	if got := visible(); !slices.Equal(got, []string{"json-key"}) {
		t.Errorf("filtered by partition key: %q", got)
	}
	filter("tail-filter-key", "")
	filter("tail-filter-text", "console ✓")
	if got := visible(); !slices.Equal(got, []string{"text-key"}) {
		t.Errorf("filtered by text: %q", got)
	}
	filter("tail-filter-text", "")
	if got := visible(); len(got) != 4 {
		t.Errorf("unfiltered: %q", got)
	}

	click(t, ctx, "tail-pause")
	count := eval[string](t, ctx, `document.getElementById('tail-count').textContent`)
	if _, err := client.PutRecord(t.Context(), &kinesis.PutRecordInput{StreamName: aws.String("orders"), PartitionKey: aws.String("while-paused"), Data: []byte("later")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the record counted while paused", fmt.Sprintf(`document.getElementById('tail-count').textContent !== %q`, count), 10*time.Second)
	if eval[bool](t, ctx, `!!document.querySelector('#tail-rows tr[data-pk="while-paused"]')`) {
		t.Error("a record was shown while the view was paused")
	}
	click(t, ctx, "tail-pause") // resume
	waitFor(t, ctx, "the record shown on resume", `!!document.querySelector('#tail-rows tr[data-pk="while-paused"]')`, 10*time.Second)
}
