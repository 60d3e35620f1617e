package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// Backoff of the read-back after a throttle or a server error.
const (
	firstBackoff = 100 * time.Millisecond
	maxBackoff   = 2 * time.Second
	maxRetries   = 5 // per call, for server and network errors; throttles are retried for ever
)

// readResult is what the read-back saw, and the check's verdict.
type readResult struct {
	Records       int64            `json:"records"`
	Bytes         int64            `json:"bytes"` // data + partition key
	Seconds       float64          `json:"seconds"`
	RecordsPerSec float64          `json:"records_per_sec"`
	MBPerSec      float64          `json:"mb_per_sec"`
	Shards        int              `json:"shards"`
	Calls         int64            `json:"calls"`     // GetRecords calls, throttled ones included
	Throttles     int64            `json:"throttles"` // GetShardIterator and GetRecords calls throttled
	Failures      map[string]int64 `json:"failures"`  // other failed calls, by error code
	Check         checkCounts      `json:"check"`
	Interrupted   bool             `json:"interrupted,omitempty"` // cancelled before the end: no verdict

	unread   []string          // shards not read to their tip, with why
	examples map[string]string // first message per failure code
}

// readBack reads every shard of the stream from TRIM_HORIZON to its tip, one goroutine and connection
// per shard, and checks what it reads against what was acknowledged (which it takes over). Records
// that were never acknowledged fail the check only if the run created the stream and every PutRecords
// call got an answer. It calls started when the reading starts, after the checks are ready.
func readBack(ctx context.Context, opts options, sdk *kinesis.Client, creds aws.Credentials, stream string,
	shards []string, acks *acked, seed maphash.Seed, created bool, started func()) *readResult {
	acked := acks.byShard
	// The checks sort each shard's acknowledgments (600,000 of them after the headline load, over a
	// second of CPU for the four shards): done before the clock starts, side by side, so that the
	// read-back times reading alone.
	readers := make([]*shardReader, len(shards))
	var wg sync.WaitGroup
	for i, id := range shards {
		list := acked[id]
		delete(acked, id)
		wg.Go(func() {
			w := newWire(opts, creds)
			w.resp = make([]byte, 0, replyBuffer)
			readers[i] = &shardReader{wire: w, sdk: sdk, stream: stream, shard: id, limit: opts.readLimit,
				seed: seed, check: newShardCheck(list), failures: map[string]int64{}, examples: map[string]string{}}
		})
	}
	wg.Wait()
	started()
	start := time.Now()
	for _, r := range readers {
		wg.Go(func() { r.read(ctx) })
	}
	wg.Wait()
	elapsed := time.Since(start)

	res := &readResult{Shards: len(shards), Failures: map[string]int64{}, examples: map[string]string{}}
	for _, r := range readers {
		res.Records += r.check.c.Read
		res.Bytes += r.bytes
		res.Calls += r.calls
		res.Throttles += r.throttles
		for code, n := range r.failures {
			res.Failures[code] += n
			if _, ok := res.examples[code]; !ok {
				res.examples[code] = r.examples[code]
			}
		}
		if r.err != nil {
			res.unread = append(res.unread, fmt.Sprintf("%s: %v", r.shard, r.err))
		}
		res.Check.add(r.check.finish())
	}
	for _, list := range acked { // acknowledged in shards ListShards did not name
		res.Check.Acked += int64(len(list))
		res.Check.Missing += int64(len(list))
	}
	res.Check.Acked += acks.badSeqs
	res.Check.BadSeqs += acks.badSeqs
	res.Check.judge(created && acks.failures == 0)
	res.Interrupted = ctx.Err() != nil
	res.Seconds = round(elapsed.Seconds(), 3)
	if s := elapsed.Seconds(); s > 0 {
		res.RecordsPerSec = round(float64(res.Records)/s, 1)
		res.MBPerSec = round(float64(res.Bytes)/1e6/s, 3)
	}
	return res
}

// replyBuffer is the room a shard reader's wire starts with for GetRecords replies: a full one (10
// MiB of data, 10,000 records) is about 15.5 MB of JSON. Grown from nothing, 1.25 times a step, the
// first replies were copied over and over into fresh pages (0.4 s of the client's CPU in a read-back
// of four shards).
const replyBuffer = 16 << 20

// shardReader reads one shard.
type shardReader struct {
	wire          *wire
	sdk           *kinesis.Client
	stream, shard string
	limit         int
	seed          maphash.Seed
	check         *shardCheck

	bytes, calls, throttles int64
	failures                map[string]int64
	examples                map[string]string
	err                     error // why the shard was not read to its tip
}

// read follows the shard from TRIM_HORIZON until a GetRecords call returns no record at the tip
// (MillisBehindLatest 0, or not sent), or the shard ends.
func (r *shardReader) read(ctx context.Context) {
	defer r.wire.close()
	iter, err := r.iterator(ctx)
	if err != nil {
		r.err = err
		return
	}
	var (
		body    []byte
		res     getResult
		backoff = firstBackoff
		retries = 0
	)
	for {
		quoted, _ := json.Marshal(iter) // a string always encodes
		body = append(body[:0], `{"ShardIterator":`...)
		body = append(body, quoted...)
		body = append(body, `,"Limit":`...)
		body = strconv.AppendInt(body, int64(r.limit), 10)
		body = append(body, '}')
		resp, err := r.wire.post(ctx, "GetRecords", body)
		r.calls++
		if err == nil {
			err = parseGetRecords(resp, &res)
		}
		if err != nil {
			if !r.retry(ctx, err, &backoff, &retries) {
				r.err = fmt.Errorf("GetRecords: %w", err)
				return
			}
			continue
		}
		backoff, retries = firstBackoff, 0
		r.checkRecords(res.records)
		if len(res.records) == 0 && (!res.hasBehind || res.behind == 0) {
			return
		}
		if res.next == nil {
			return // a closed shard, read to its end
		}
		iter = string(res.next) // res points into the response buffer the next call overwrites
	}
}

// checkRecords checks the records of one GetRecords response, in the order read, and counts their bytes.
func (r *shardReader) checkRecords(recs []getRecord) {
	for _, rec := range recs {
		seq, ok := parseSeq(rec.seq)
		if !ok {
			r.check.badSeq()
			continue
		}
		// Hash the data text as read (see hashData): what was acknowledged is canonical base64, which
		// has no escapes, so a text that matches needs nothing more. Any other is decoded first.
		text, h := rec.data, hashData(r.seed, rec.data)
		if want, acked := r.check.want(seq); !acked {
			text = dataText(rec.data) // for the count; a record not acknowledged is not compared
		} else if h != want {
			text, h = r.rehash(rec.data, want)
		}
		r.check.see(seq, h)
		r.bytes += int64(decodedLen(text) + len(rec.key))
	}
}

// rehash is for a record's data text as read (raw) that does not hash to the one acknowledged
// (want): it returns the text with its JSON escapes decoded, and the hash to check, of that text, or
// of its canonical base64 if the text itself does not match either.
func (r *shardReader) rehash(raw []byte, want uint64) ([]byte, uint64) {
	text := dataText(raw)
	h := hashData(r.seed, text)
	if h != want {
		if c, ok := canonical(text); ok {
			h = hashData(r.seed, c)
		}
	}
	return text, h
}

// iterator gets a TRIM_HORIZON iterator through the SDK, retrying throttles.
func (r *shardReader) iterator(ctx context.Context) (string, error) {
	backoff, retries := firstBackoff, 0
	for {
		out, err := r.sdk.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
			StreamName: aws.String(r.stream), ShardId: aws.String(r.shard), ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
		})
		if err == nil {
			return aws.ToString(out.ShardIterator), nil
		}
		if !r.retry(ctx, err, &backoff, &retries) {
			return "", fmt.Errorf("GetShardIterator: %w", err)
		}
	}
}

// retry counts a failed call and, if it is worth retrying (a throttle, a server or network error not
// yet retried maxRetries times), waits out the backoff and reports true.
func (r *shardReader) retry(ctx context.Context, err error, backoff *time.Duration, retries *int) bool {
	if ctx.Err() != nil {
		return false
	}
	if throttled(err) {
		r.throttles++
	} else {
		code, msg := classify(err)
		r.failures[code]++
		if _, ok := r.examples[code]; !ok {
			r.examples[code] = msg
		}
		var answered interface{ HTTPStatusCode() int } // an *apiError or the SDK's response error
		if *retries >= maxRetries || (errors.As(err, &answered) && answered.HTTPStatusCode() < 500) || code == "DeserializationError" {
			return false
		}
		*retries++
	}
	timer := time.NewTimer(*backoff)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
	}
	*backoff = min(2**backoff, maxBackoff)
	return true
}

// decodedLen is the length of the bytes base64 text b64 encodes, without decoding it.
func decodedLen(b64 []byte) int {
	n := len(b64) * 3 / 4
	for i := len(b64) - 1; i >= 0 && i >= len(b64)-2 && b64[i] == '='; i-- {
		n--
	}
	return n
}
