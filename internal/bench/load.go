package bench

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	randv2 "math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// worker sends one pre-built PutRecords request over and over.
type worker struct {
	client *kinesis.Client
	input  *kinesis.PutRecordsInput
	sizes  []int // bytes of each record: data + partition key
}

// newWorker builds worker n's request once: random data and distinct partition keys, spread evenly
// over the shards whose hash ranges are given (workers start at different shards), or random keys
// when ranges is empty.
func newWorker(c *kinesis.Client, stream string, n int, opts options, ranges []hashRange) *worker {
	data := make([]byte, opts.records*opts.size)
	rand.Read(data)
	keys := partitionKeys(ranges, n*opts.records, opts.records)
	w := &worker{client: c, sizes: make([]int, opts.records), input: &kinesis.PutRecordsInput{
		StreamName: aws.String(stream),
		Records:    make([]types.PutRecordsRequestEntry, opts.records),
	}}
	for i := range opts.records {
		w.input.Records[i] = types.PutRecordsRequestEntry{
			Data:         data[i*opts.size : (i+1)*opts.size : (i+1)*opts.size],
			PartitionKey: aws.String(keys[i]),
		}
		w.sizes[i] = opts.size + len(keys[i])
	}
	return w
}

// partitionKeys returns n distinct random keys of keyLen hex digits; key i hashes (MD5, as Kinesis
// does) into ranges[(first+i) % len(ranges)]. A key for a range too narrow to hit by chance is left
// to fall where it may.
func partitionKeys(ranges []hashRange, first, n int) []string {
	keys := make([]string, n)
	seen := make(map[string]bool, n)
	for i := range keys {
		for try := 0; ; try++ {
			k := fmt.Sprintf("%0*x", keyLen, randv2.Uint64())
			if seen[k] {
				continue
			}
			if len(ranges) > 0 && try < 100*len(ranges)+1000 {
				sum := md5.Sum([]byte(k))
				if !ranges[(first+i)%len(ranges)].holds(new(big.Int).SetBytes(sum[:])) {
					continue
				}
			}
			keys[i], seen[k] = k, true
			break
		}
	}
	return keys
}

// tally is what one worker saw in the measured window.
type tally struct {
	latencies      []time.Duration // of PutRecords calls that got a PutRecords response; 8 bytes each
	requests       int64           // calls completed in the window, failed ones included
	records        int64           // records acknowledged
	bytes          int64           // data + partition key of the records acknowledged
	failedRecords  map[string]int64
	failedRequests map[string]int64
	examples       map[string]string // the first message seen for each error code
}

func newTally() *tally {
	return &tally{latencies: make([]time.Duration, 0, 1024), failedRecords: map[string]int64{},
		failedRequests: map[string]int64{}, examples: map[string]string{}}
}

func (t *tally) example(code, msg string) {
	if _, ok := t.examples[code]; !ok {
		t.examples[code] = msg
	}
}

// runLoad runs the workers for warmup and then duration, and returns what each saw in the measured
// window and the window's length. A call counts if it completes inside the window; no worker starts a
// call after it. Cancelling ctx ends the window early.
func runLoad(ctx context.Context, workers []*worker, warmup, duration time.Duration) ([]*tally, time.Duration) {
	start := time.Now()
	from, until := start.Add(warmup), start.Add(warmup+duration)
	tallies := make([]*tally, len(workers))
	var wg sync.WaitGroup
	for i, w := range workers {
		tallies[i] = newTally()
		wg.Go(func() { w.run(ctx, from, until, tallies[i]) })
	}
	wg.Wait()
	end := until
	if now := time.Now(); ctx.Err() != nil && now.Before(until) {
		end = now
	}
	return tallies, max(0, end.Sub(from))
}

// run loops PutRecords until the window closes or ctx is cancelled.
func (w *worker) run(ctx context.Context, from, until time.Time, t *tally) {
	for ctx.Err() == nil {
		begin := time.Now()
		if !begin.Before(until) {
			return
		}
		out, err := w.client.PutRecords(ctx, w.input)
		done := time.Now()
		if ctx.Err() != nil {
			return // interrupted: the call says nothing about the server
		}
		if done.Before(from) || done.After(until) {
			continue
		}
		t.requests++
		if err != nil {
			code, msg := classify(err)
			t.failedRequests[code]++
			t.example(code, msg)
			continue
		}
		t.latencies = append(t.latencies, done.Sub(begin))
		if len(out.Records) != len(w.input.Records) {
			const code = "WrongResultCount"
			t.failedRequests[code]++
			t.example(code, fmt.Sprintf("%d results for %d records", len(out.Records), len(w.input.Records)))
			continue
		}
		for i, r := range out.Records {
			if code := aws.ToString(r.ErrorCode); code != "" {
				t.failedRecords[code]++
				t.example(code, aws.ToString(r.ErrorMessage))
				continue
			}
			t.records++
			t.bytes += int64(w.sizes[i])
		}
	}
}

// classify names a failed call: the AWS error code when the server answered with one, else Timeout,
// RequestSendError (the request did not reach the server, or no response came back),
// DeserializationError (a response the SDK could not read) or ClientError.
func classify(err error) (code, msg string) {
	var apiErr smithy.APIError
	var netErr net.Error
	switch {
	case errors.As(err, &apiErr):
		return apiErr.ErrorCode(), apiErr.ErrorMessage()
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "Timeout", err.Error()
	case errors.As(err, new(*smithyhttp.RequestSendError)):
		return "RequestSendError", err.Error()
	case errors.As(err, new(*smithy.DeserializationError)):
		return "DeserializationError", err.Error()
	default:
		return "ClientError", err.Error()
	}
}
