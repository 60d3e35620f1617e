package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

	"kinesisd/internal/kinesistest"
)

// A PutRecords load through several front-ends, keeping every acknowledged record and every failure.

const (
	loadBatch    = 100 // records per PutRecords call
	loadDataSize = 100 // bytes per record: its id, padded
)

// acked is where PutRecords said it stored a record.
type acked struct {
	shard string
	seq   string
	front int // the front-end that acknowledged it
}

// call is one successful PutRecords call: when it started, how long it took, through which front-end.
type call struct {
	start time.Time
	took  time.Duration
	front int
	n     int // records acknowledged
}

// load runs workers, each writing PutRecords calls of loadBatch records with ids unique to the call
// attempt (<name>-w<worker>-c<call>-r<i>), through a front-end that is up (a dead one is skipped, as a load
// balancer would), until stop.
type load struct {
	t       *testing.T
	name    string
	stream  string
	clients []*kinesis.Client
	down    []atomic.Bool // front-ends the test killed

	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	acked     map[string]acked
	calls     []call
	failures  map[string]int // by HTTP status and error code, or per-record ErrorCode
	bad       []string       // failures that are not retryable errors
	lastError string
}

func startLoad(t *testing.T, name, stream string, endpoints []string, workers int) *load {
	ctx, cancel := context.WithCancel(t.Context())
	l := &load{t: t, name: name, stream: stream, cancel: cancel, acked: map[string]acked{}, failures: map[string]int{},
		down: make([]atomic.Bool, len(endpoints))}
	for _, e := range endpoints {
		l.clients = append(l.clients, kinesistest.NewClient(e))
	}
	for w := range workers {
		l.wg.Go(func() { l.work(ctx, w) })
	}
	t.Cleanup(l.stop)
	return l
}

// stop stops the workers and waits for them.
func (l *load) stop() {
	l.cancel()
	l.wg.Wait()
}

// markDown tells the workers front-end i was killed: its connection errors are expected, and they
// move to another.
func (l *load) markDown(i int) { l.down[i].Store(true) }

func (l *load) work(ctx context.Context, w int) {
	pad := strings.Repeat(".", loadDataSize)
	for c := 0; ctx.Err() == nil; c++ {
		front := -1
		for k := range l.clients {
			if i := (w + k) % len(l.clients); !l.down[i].Load() {
				front = i
				break
			}
		}
		if front < 0 {
			return
		}
		entries := make([]types.PutRecordsRequestEntry, loadBatch)
		ids := make([]string, loadBatch)
		for i := range entries {
			ids[i] = fmt.Sprintf("%s-w%d-c%d-r%d", l.name, w, c, i)
			entries[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String(ids[i]), Data: []byte((ids[i] + " " + pad)[:loadDataSize])}
		}
		start := time.Now()
		out, err := l.clients[front].PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(l.stream), Records: entries})
		took := time.Since(start)
		if ctx.Err() != nil {
			return // stopped: whatever this call did is neither counted nor checked
		}
		l.mu.Lock()
		if err != nil {
			class, retryable := classify(err)
			l.failures[class]++
			l.lastError = err.Error()
			if !retryable && !l.down[front].Load() {
				l.bad = append(l.bad, fmt.Sprintf("front-end %d: %v", front, err))
			}
		} else {
			n := 0
			for i, r := range out.Records {
				if r.ErrorCode != nil {
					l.failures["record "+*r.ErrorCode]++
					if *r.ErrorCode != "InternalFailure" {
						l.bad = append(l.bad, fmt.Sprintf("record %s: %s %s", ids[i], *r.ErrorCode, aws.ToString(r.ErrorMessage)))
					}
					continue
				}
				l.acked[ids[i]] = acked{shard: *r.ShardId, seq: *r.SequenceNumber, front: front}
				n++
			}
			l.calls = append(l.calls, call{start: start, took: took, front: front, n: n})
		}
		l.mu.Unlock()
		if err != nil {
			time.Sleep(50 * time.Millisecond) // back off, as an SDK's retry would
		}
	}
}

// classify names a failed call and says whether it is an error the SDKs retry: HTTP 500 or 503.
func classify(err error) (string, bool) {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		code := "?"
		var ae smithy.APIError
		if errors.As(err, &ae) {
			code = ae.ErrorCode()
		}
		status := re.HTTPStatusCode()
		if status == 0 {
			return "no response", false
		}
		return fmt.Sprintf("HTTP %d %s", status, code), status == 500 || status == 503
	}
	return "no response", false
}

// ackedCount is the number of records acknowledged so far.
func (l *load) ackedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

// waitAcked waits until n more records than now are acknowledged (or fails after timeout).
func (l *load) waitMore(n int, timeout time.Duration) {
	l.t.Helper()
	want := l.ackedCount() + n
	deadline := time.Now().Add(timeout)
	for l.ackedCount() < want {
		if time.Now().After(deadline) {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.t.Fatalf("fewer than %d records acknowledged within %s (%d); failures %v; last error: %s",
				n, timeout, len(l.acked), l.failures, l.lastError)
		}
		time.Sleep(20 * time.Millisecond) // polling progress
	}
}

// firstSuccessAfter is the end of the first successful call that started at or after t.
func (l *load) firstSuccessAfter(t time.Time) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var first time.Time
	for _, c := range l.calls {
		if end := c.start.Add(c.took); !c.start.Before(t) && c.n > 0 && (first.IsZero() || end.Before(first)) {
			first = end
		}
	}
	return first, !first.IsZero()
}

// rate is the load's throughput and latency over the successful calls that started in [from, to).
type rate struct {
	calls          int
	recordsPerSec  float64
	p50, p99, maxd time.Duration
	perFront       []int           // records per front-end
	frontP99       []time.Duration // p99 latency per front-end
}

func (l *load) rate(from, to time.Time) rate {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := rate{perFront: make([]int, len(l.clients))}
	var lat []time.Duration
	frontLat := make([][]time.Duration, len(l.clients))
	records := 0
	for _, c := range l.calls {
		if c.start.Before(from) || !c.start.Before(to) {
			continue
		}
		lat = append(lat, c.took)
		frontLat[c.front] = append(frontLat[c.front], c.took)
		records += c.n
		r.perFront[c.front] += c.n
	}
	for _, fl := range frontLat {
		r.frontP99 = append(r.frontP99, p99(fl).Round(time.Millisecond))
	}
	r.calls = len(lat)
	if len(lat) == 0 {
		return r
	}
	slices.Sort(lat)
	r.recordsPerSec = float64(records) / to.Sub(from).Seconds()
	r.p50, r.p99, r.maxd = lat[len(lat)/2], p99(lat), lat[len(lat)-1]
	return r
}

// p99 is the 99th percentile of lat (sorted here), 0 for none.
func p99(lat []time.Duration) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	slices.Sort(lat)
	return lat[min(len(lat)-1, len(lat)*99/100)]
}

func (r rate) String() string {
	return fmt.Sprintf("%.0f records/s (records per front-end %v), %d calls of %d records, latency p50 %s p99 %s (per front-end %v) max %s",
		r.recordsPerSec, r.perFront, r.calls, loadBatch, r.p50.Round(time.Millisecond), r.p99.Round(time.Millisecond), r.frontP99, r.maxd.Round(time.Millisecond))
}

// check reads every shard of the stream through c and checks that every acknowledged record is
// there exactly once, at the shard and sequence number it was acknowledged with, and that sequence
// numbers increase along each shard. Records that were never acknowledged may be there (their call
// failed after JetStream stored them), once each. It returns the number of records read.
func (l *load) check(c *kinesis.Client) int {
	l.t.Helper()
	t := l.t
	l.mu.Lock()
	ackedCopy := make(map[string]acked, len(l.acked))
	for k, v := range l.acked {
		ackedCopy[k] = v
	}
	l.mu.Unlock()
	shards := listShards(t, c, l.stream)
	seen := map[string]acked{}
	read := 0
	for _, sh := range shards {
		recs := readShardRetrying(t, c, l.stream, *sh.ShardId)
		prev := new(big.Int)
		for _, r := range recs {
			s := seq(r)
			if s.Cmp(prev) <= 0 {
				t.Fatalf("%s: sequence number %s after %s", *sh.ShardId, s, prev)
			}
			prev = s
			id, _, _ := strings.Cut(string(r.Data), " ")
			if _, dup := seen[id]; dup {
				t.Fatalf("record %s is there twice", id)
			}
			seen[id] = acked{shard: *sh.ShardId, seq: *r.SequenceNumber}
		}
		read += len(recs)
	}
	lost := 0
	for id, a := range ackedCopy {
		if got, ok := seen[id]; !ok || got.shard != a.shard || got.seq != a.seq {
			if lost < 5 {
				t.Errorf("acknowledged record %s (%s %s, front-end %d): read %+v, %v", id, a.shard, a.seq, a.front, got, ok)
			}
			lost++
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged records lost, moved or changed", lost, len(ackedCopy))
	}
	return read
}

// listShards lists the stream's shards, retrying retryable errors for up to 30 s.
func listShards(t *testing.T, c *kinesis.Client, stream string) []types.Shard {
	t.Helper()
	out := retrying(t, func() (*kinesis.ListShardsOutput, error) {
		return c.ListShards(t.Context(), &kinesis.ListShardsInput{StreamName: aws.String(stream)})
	})
	return out.Shards
}

// readShardRetrying reads a shard from TRIM_HORIZON to its end (an empty page, MillisBehindLatest 0,
// or a closed shard's end), retrying retryable errors.
func readShardRetrying(t *testing.T, c *kinesis.Client, stream, shard string) []types.Record {
	t.Helper()
	it := retrying(t, func() (*kinesis.GetShardIteratorOutput, error) {
		return c.GetShardIterator(t.Context(), &kinesis.GetShardIteratorInput{StreamName: aws.String(stream), ShardId: aws.String(shard),
			ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	})
	iter := it.ShardIterator
	var out []types.Record
	for iter != nil {
		page := retrying(t, func() (*kinesis.GetRecordsOutput, error) {
			return c.GetRecords(t.Context(), &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(10000)})
		})
		out = append(out, page.Records...)
		if len(page.Records) == 0 {
			break
		}
		iter = page.NextShardIterator
	}
	return out
}

// retrying calls f until it succeeds or fails with an error that is not retryable, for up to 30 s.
func retrying[T any](t *testing.T, f func() (T, error)) T {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := f()
		if err == nil {
			return out
		}
		if _, ok := classify(err); !ok || time.Now().After(deadline) {
			t.Fatalf("%v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
