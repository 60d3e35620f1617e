package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/protocol/eventstream"
)

// -subscribers N: N consumers registered on the stream, each with a SubscribeToShard open on every
// shard (with -subscribe-shards K, on each of the first K) for the whole load (enhanced fan-out), so that the PutRecords numbers can be compared with and
// without readers being pushed every record. The subscriptions start at LATEST before the load, are
// resumed from their continuation number when they end (AWS ends them after 5 minutes), and count
// what they receive; after the load they are given time to catch up, so that what they received can
// be set against what was acknowledged.

const (
	// subscribeDrain is how long the subscriptions may go without receiving a record after the load
	// before they are stopped short of what was acknowledged.
	subscribeDrain = 5 * time.Second
	// subscribeReady bounds the wait for every subscription's first event before the load starts.
	subscribeReady = time.Minute
)

// subscribeResult is what the subscriptions received. The lag is, for a sample of the records received
// in the measured window (one in ackSample), the time from the PutRecords response that acknowledged
// the record (parsed by its worker) to its event (read by a subscription), both on this machine's
// clock; an event that came before the acknowledgment counts as 0.
type subscribeResult struct {
	Consumers     int              `json:"consumers"`
	Subscriptions int              `json:"subscriptions"` // consumers × shards subscribed to
	Events        int64            `json:"events"`
	Records       int64            `json:"records"`        // received over every subscription, warm-up included
	Bytes         int64            `json:"bytes"`          // data + partition key
	Expected      int64            `json:"expected"`       // acknowledged on the shards subscribed to × consumers
	WindowRecords int64            `json:"window_records"` // received inside the measured window
	RecordsPerSec float64          `json:"records_per_sec"`
	MaxBehindMs   int64            `json:"max_millis_behind_latest"`
	LagP50Ms      float64          `json:"lag_p50_ms"`
	LagP99Ms      float64          `json:"lag_p99_ms"`
	LagMaxMs      float64          `json:"lag_max_ms"`
	LagSamples    int              `json:"lag_samples"`
	LagBeforeAck  int              `json:"lag_before_ack"` // samples whose event came before their acknowledgment
	Resubscribes  int64            `json:"resubscribes"`
	OutOfOrder    int64            `json:"out_of_order"` // records not after the one the consumer received before on the shard
	Failures      map[string]int64 `json:"failures"`
	Interrupted   bool             `json:"interrupted,omitempty"`

	examples map[string]string
}

// fanOut is the -subscribers machinery of one run: its consumers and the counters every
// subscription goroutine adds to.
type fanOut struct {
	opts      options
	sdk       *kinesis.Client
	creds     aws.Credentials
	client    *http.Client
	url       string
	consumers []string // ARNs
	shards    []string

	events, records, bytes, window, resubscribes, maxBehind, outOfOrder atomic.Int64
	measuring                                                           atomic.Bool

	acks *ackTimes // the workers' acknowledgment times of sampled records

	mu       sync.Mutex
	failures map[string]int64
	examples map[string]string
	lags     []time.Duration // every subscription's, added at its end
	early    int             // samples whose event came before their acknowledgment

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// registerConsumers registers n consumers on the stream (kinesisd-bench-0, …) and waits until they are
// ACTIVE. The consumers it registered are returned even when it fails, for deregistration.
func registerConsumers(ctx context.Context, c *kinesis.Client, stream string, n int) ([]string, error) {
	sum, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
	if err != nil {
		return nil, fmt.Errorf("describe stream %s: %w", stream, err)
	}
	streamARN := sum.StreamDescriptionSummary.StreamARN
	ctx, cancel := context.WithTimeout(ctx, activeTimeout)
	defer cancel()
	var arns []string
	for i := range n {
		name := fmt.Sprintf("kinesisd-bench-%d", i)
		for wait := firstBackoff; ; wait = min(2*wait, maxBackoff) {
			out, err := c.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: streamARN, ConsumerName: aws.String(name)})
			if err == nil {
				arns = append(arns, aws.ToString(out.Consumer.ConsumerARN))
				break
			}
			if !registerLater(err) || !sleep(ctx, wait) {
				return arns, fmt.Errorf("register consumer %s: %w", name, err)
			}
		}
	}
	for _, arn := range arns {
		for wait := 50 * time.Millisecond; ; wait = min(2*wait, 2*time.Second) {
			out, err := c.DescribeStreamConsumer(ctx, &kinesis.DescribeStreamConsumerInput{ConsumerARN: aws.String(arn)})
			if err != nil && !throttled(err) {
				return arns, fmt.Errorf("describe consumer %s: %w", arn, err)
			}
			if err == nil && out.ConsumerDescription.ConsumerStatus == types.ConsumerStatusActive {
				break
			}
			if !sleep(ctx, wait) {
				return arns, fmt.Errorf("consumer %s is not ACTIVE: %w", arn, ctx.Err())
			}
		}
	}
	return arns, nil
}

// registerLater reports whether a refused RegisterStreamConsumer may succeed later: a throttle, the
// rate of the call (AWS: 5 per second) or too many consumers CREATING at once (AWS: 5), but not the
// limit of consumers per stream.
func registerLater(err error) bool {
	code, msg := classify(err)
	return throttled(err) && (code != "LimitExceededException" || strings.Contains(msg, "Rate exceeded") || strings.Contains(msg, "CREATING"))
}

// deregisterConsumers deregisters the consumers, reporting the first failure.
func deregisterConsumers(ctx context.Context, c *kinesis.Client, arns []string) error {
	var first error
	for _, arn := range arns {
		_, err := c.DeregisterStreamConsumer(ctx, &kinesis.DeregisterStreamConsumerInput{ConsumerARN: aws.String(arn)})
		if err != nil && !errors.As(err, new(*types.ResourceNotFoundException)) && first == nil {
			first = fmt.Errorf("deregister consumer %s: %w", arn, err)
		}
	}
	return first
}

// sleep waits d, or less if ctx ends first (then it reports false).
func sleep(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// startFanOut opens a subscription for every consumer on every shard and returns once each has
// received its first event (or ctx ended, or subscribeReady passed: then an error).
func startFanOut(ctx context.Context, opts options, sdk *kinesis.Client, creds aws.Credentials, consumers, shards []string) (*fanOut, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DisableCompression = true
	tr.MaxIdleConnsPerHost = len(consumers) * len(shards)
	tr.ResponseHeaderTimeout = 30 * time.Second
	var p http.Protocols
	if opts.h2c {
		p.SetUnencryptedHTTP2(true)
		p.SetHTTP2(true)
	} else {
		p.SetHTTP1(true)
	}
	tr.Protocols = &p
	f := &fanOut{opts: opts, sdk: sdk, creds: creds, client: &http.Client{Transport: tr}, url: baseURL(opts),
		consumers: consumers, shards: shards, acks: &ackTimes{seed: maphash.MakeSeed()},
		failures: map[string]int64{}, examples: map[string]string{}}
	subCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	f.cancel = cancel
	ready := make(chan struct{}, len(consumers)*len(shards))
	for _, arn := range consumers {
		for _, shard := range shards {
			f.wg.Go(func() { f.follow(subCtx, arn, shard, ready) })
		}
	}
	timeout := time.NewTimer(subscribeReady)
	defer timeout.Stop()
	for range len(consumers) * len(shards) {
		select {
		case <-ready:
		case <-ctx.Done():
			f.stop()
			return nil, ctx.Err()
		case <-timeout.C:
			f.stop()
			return nil, fmt.Errorf("the subscriptions did not all start within %s: %v", subscribeReady, f.failures)
		}
	}
	return f, nil
}

// mark opens the measured window at its first call and closes it at its second (runLoad's marks).
func (f *fanOut) mark() { f.measuring.Store(!f.measuring.Load()) }

// drain waits until the subscriptions have received expected records, or received none for
// subscribeDrain, or ctx ends; then it stops them.
func (f *fanOut) drain(ctx context.Context, expected int64) {
	last, since := f.records.Load(), time.Now()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for f.records.Load() < expected && time.Since(since) < subscribeDrain {
		select {
		case <-ctx.Done():
			f.stop()
			return
		case <-tick.C:
		}
		if n := f.records.Load(); n != last {
			last, since = n, time.Now()
		}
	}
	f.stop()
}

// stop ends every subscription and waits for their goroutines.
func (f *fanOut) stop() {
	f.cancel()
	f.wg.Wait()
	f.client.CloseIdleConnections()
}

// result is the subscriptions' counts, against expected records and a measured window of length window.
func (f *fanOut) result(expected int64, window time.Duration, interrupted bool) *subscribeResult {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := &subscribeResult{Consumers: len(f.consumers), Subscriptions: len(f.consumers) * len(f.shards),
		Events: f.events.Load(), Records: f.records.Load(), Bytes: f.bytes.Load(), Expected: expected,
		WindowRecords: f.window.Load(), MaxBehindMs: f.maxBehind.Load(), Resubscribes: f.resubscribes.Load(), OutOfOrder: f.outOfOrder.Load(),
		Failures: f.failures, examples: f.examples, Interrupted: interrupted}
	if s := window.Seconds(); s > 0 {
		r.RecordsPerSec = round(float64(r.WindowRecords)/s, 1)
	}
	slices.Sort(f.lags)
	r.LagSamples, r.LagBeforeAck = len(f.lags), f.early
	r.LagP50Ms, r.LagP99Ms = ms(percentile(f.lags, 50)), ms(percentile(f.lags, 99))
	if len(f.lags) > 0 {
		r.LagMaxMs = ms(f.lags[len(f.lags)-1])
	}
	return r
}

func (f *fanOut) fail(err error) {
	code, msg := classify(err)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures[code]++
	if _, ok := f.examples[code]; !ok {
		f.examples[code] = msg
	}
}

// startingPosition is SubscribeToShard's StartingPosition.
type startingPosition struct {
	Type           string `json:"Type"`
	SequenceNumber string `json:"SequenceNumber,omitempty"`
}

// follow keeps one consumer subscribed to one shard until ctx ends or the shard ends: from LATEST,
// then from each subscription's last continuation number. It signals ready once, at the first event
// or the first failure.
func (f *fanOut) follow(ctx context.Context, consumer, shard string, ready chan<- struct{}) {
	var once sync.Once
	signal := func() { once.Do(func() { ready <- struct{}{} }) }
	defer signal()
	pos := startingPosition{Type: "LATEST"}
	var last []byte // sequence number of the last record received, over every subscription
	backoff := firstBackoff
	for n := 0; ctx.Err() == nil; n++ {
		if n > 0 {
			f.resubscribes.Add(1)
		}
		cont, end, err := f.subscribe(ctx, consumer, shard, pos, &last, signal)
		if cont != "" {
			pos = startingPosition{Type: "AFTER_SEQUENCE_NUMBER", SequenceNumber: cont}
		}
		if end || ctx.Err() != nil {
			return
		}
		if err == nil { // the subscription's lifetime ended: resubscribe at once
			backoff = firstBackoff
			continue
		}
		f.fail(err)
		signal()
		if !sleep(ctx, backoff) {
			return
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// subscribe runs one SubscribeToShard call to its end and returns the last continuation number, and
// whether the shard ended (an event with ChildShards). A nil error is a clean end of the stream. last
// is the sequence number of the last record the consumer received on the shard (nil: none yet): each
// record must come after it.
func (f *fanOut) subscribe(ctx context.Context, consumer, shard string, pos startingPosition, last *[]byte, onEvent func()) (cont string, end bool, err error) {
	body, err := json.Marshal(struct {
		ConsumerARN      string           `json:"ConsumerARN"`
		ShardId          string           `json:"ShardId"`
		StartingPosition startingPosition `json:"StartingPosition"`
	}{consumer, shard, pos})
	if err != nil {
		return "", false, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url, bytes.NewReader(body))
	if err != nil {
		return "", false, err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "Kinesis_20131202.SubscribeToShard")
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, f.creds, req, hex.EncodeToString(sum[:]), "kinesis", f.opts.region, time.Now()); err != nil {
		return "", false, err
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return "", false, &sendError{err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		code, msg := parseError(resp.Header.Get("X-Amzn-ErrorType"), b)
		if code == "" {
			code, msg = fmt.Sprintf("HTTP%d", resp.StatusCode), string(b[:min(len(b), 200)])
		}
		return "", false, &apiError{status: resp.StatusCode, code: code, msg: msg}
	}
	r := eventstream.NewDirectReader(resp.Body)
	r.ReusePayload = true
	var ev subscribeEvent
	var lags lagSamples
	defer f.addLags(&lags)
	for {
		m, err := r.Next()
		if err == io.EOF {
			return cont, false, nil
		}
		if err != nil {
			return cont, false, &sendError{err}
		}
		switch {
		case m.MessageType == eventstream.EventMessageType && m.Type == "SubscribeToShardEvent":
			if err := parseSubscribeEvent(m.Payload, &ev); err != nil {
				return cont, false, err
			}
			onEvent()
			f.count(&ev, &lags, last)
			if len(ev.cont) > 0 {
				cont = string(ev.cont)
			}
			if ev.children {
				return cont, true, nil
			}
		case m.MessageType == eventstream.EventMessageType: // initial-response
		case m.MessageType == eventstream.ExceptionMessageType:
			_, msg := parseError("", m.Payload)
			return cont, false, &apiError{status: http.StatusOK, code: m.Type, msg: msg}
		default:
			return cont, false, &apiError{status: http.StatusOK, code: m.Type, msg: m.ErrorMessage}
		}
	}
}

// count adds an event to the counters, and when measuring the lags of its sampled records to lags. last
// is the sequence number of the last record received before the event, which it moves on; a record
// that does not come after the one before it is counted out of order.
func (f *fanOut) count(ev *subscribeEvent, lags *lagSamples, last *[]byte) {
	f.events.Add(1)
	n := int64(len(ev.records))
	f.records.Add(n)
	var b, disorder int64
	prev := *last
	for _, r := range ev.records {
		b += int64(decodedLen(dataText(r.data)) + len(r.key))
		if prev != nil && !seqAfter(r.seq, prev) {
			disorder++
		}
		prev = r.seq
	}
	f.bytes.Add(b)
	if disorder > 0 {
		f.outOfOrder.Add(disorder)
	}
	if n > 0 {
		*last = append((*last)[:0], prev...) // prev points into the payload, which the next event reuses
	}
	if f.measuring.Load() {
		f.window.Add(n)
		var now time.Time
		for _, r := range ev.records {
			if h, ok := f.acks.sampled(r.seq); ok {
				if now.IsZero() {
					now = time.Now()
				}
				lags.add(f.acks.lag(h, now))
			}
		}
	}
	behind := int64(ev.behind)
	for old := f.maxBehind.Load(); behind > old && !f.maxBehind.CompareAndSwap(old, behind); old = f.maxBehind.Load() {
	}
}

// addLags adds one subscription's lag samples to the run's.
func (f *fanOut) addLags(l *lagSamples) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lags = append(f.lags, l.lags...)
	f.early += l.early
}

// ackSample is the share of records whose lag is measured: those whose sequence number hashes to 0
// modulo ackSample, so that the workers keep few acknowledgment times and the subscriptions look few
// up.
const ackSample = 64

// ackTimes are the acknowledgment times of the sampled records, by the hash of their sequence number.
type ackTimes struct {
	seed maphash.Seed
	m    sync.Map // uint64 → time.Time
}

// sampled returns the hash of sequence number seq and whether its record is in the sample.
func (a *ackTimes) sampled(seq []byte) (uint64, bool) {
	h := maphash.Bytes(a.seed, seq)
	return h, h%ackSample == 0
}

// ack notes that the record with sequence number seq was acknowledged at at, if it is sampled.
func (a *ackTimes) ack(seq []byte, at time.Time) {
	if h, ok := a.sampled(seq); ok {
		a.m.Store(h, at)
	}
}

// lag is how long after its acknowledgment the record hashed h was received at now; ok is false when
// it has not been acknowledged yet (the event came first).
func (a *ackTimes) lag(h uint64, now time.Time) (time.Duration, bool) {
	at, ok := a.m.Load(h)
	if !ok {
		return 0, false
	}
	return max(0, now.Sub(at.(time.Time))), true
}

// lagSamples are one subscription's lags.
type lagSamples struct {
	lags  []time.Duration
	early int
}

func (l *lagSamples) add(d time.Duration, acked bool) {
	if !acked {
		l.early++
	}
	l.lags = append(l.lags, d)
}

// seqAfter reports whether sequence number a comes after b: both are decimal numbers without leading
// zeros, so the longer is the greater, and of two as long the one that sorts after.
func seqAfter(a, b []byte) bool {
	if len(a) != len(b) {
		return len(a) > len(b)
	}
	return bytes.Compare(a, b) > 0
}

// subscribeEvent is a SubscribeToShardEvent's payload; its slices point into the payload.
type subscribeEvent struct {
	records  []getRecord
	cont     []byte
	behind   float64
	children bool // ChildShards: the shard's last event
}

// parseSubscribeEvent reads a JSON SubscribeToShardEvent payload into ev, reusing its records.
func parseSubscribeEvent(body []byte, ev *subscribeEvent) error {
	s := &scanner{b: body}
	*ev = subscribeEvent{records: ev.records[:0]}
	s.object(func(key []byte) {
		switch string(key) {
		case "Records":
			ev.records = s.records(ev.records)
		case "ContinuationSequenceNumber":
			ev.cont = s.strOrNull()
		case "MillisBehindLatest":
			if s.peek() == 'n' {
				s.skip()
				return
			}
			ev.behind = s.number()
		case "ChildShards":
			if s.peek() == 'n' {
				s.skip()
				return
			}
			s.array(func() {
				ev.children = true
				s.skip()
			})
		default:
			s.skip()
		}
	})
	if s.err == nil && s.peek() != 0 {
		s.fail()
	}
	return s.err
}
