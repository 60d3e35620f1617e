// Package queue_test kills the kinesisd binary with SIGKILL while queue consumers acknowledge records, restarts it, and checks that no acknowledged record is delivered again and every other one is.
package queue_test

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/kinesistest"
	"kinesisd/internal/kinesistest/proc"
)

// bin is the kinesisd binary the tests run, set by TestMain before any test starts.
var bin string

func TestMain(m *testing.M) { os.Exit(proc.Main(m, &bin)) }

const (
	records    = 3000
	consumers  = 4
	visibility = 2 // seconds: what was in flight at the kill comes back this long after its receive
)

// ledger is what the consumers learned: records whose acknowledgement was answered (durable), and
// records whose acknowledgement got no answer (the kill came first: durable or not).
type ledger struct {
	mu        sync.Mutex
	acked     map[string]int // RecordId → acknowledgements answered as successful
	uncertain map[string]bool
	received  map[string]int
}

func newLedger() *ledger {
	return &ledger{acked: map[string]int{}, uncertain: map[string]bool{}, received: map[string]int{}}
}

// consume receives and acknowledges until stop is closed or ctx ends; it leaves every skip-th
// record of a receive unacknowledged (so that some are in flight at the kill), and calls seen for
// each record received.
func consume(ctx context.Context, c *kinesis.Client, queueARN *string, l *ledger, skip int, seen func(id string)) {
	n := 0
	for ctx.Err() == nil {
		out, err := c.ReceiveQueueRecords(ctx, &kinesis.ReceiveQueueRecordsInput{QueueARN: queueARN, WaitTimeSeconds: aws.Int32(1)})
		if err != nil {
			return // the server is gone (killed) or the test ends
		}
		var entries []types.AcknowledgeQueueRecordsRequestEntry
		ids := map[string]string{}
		for _, r := range out.QueueRecords {
			if seen != nil {
				seen(*r.RecordId)
			}
			l.mu.Lock()
			l.received[*r.RecordId]++
			l.mu.Unlock()
			if n++; skip > 0 && n%skip == 0 {
				continue
			}
			entries = append(entries, types.AcknowledgeQueueRecordsRequestEntry{ReceiptHandle: r.ReceiptHandle})
			ids[*r.ReceiptHandle] = *r.RecordId
		}
		if len(entries) == 0 {
			continue
		}
		res, err := c.AcknowledgeQueueRecords(ctx, &kinesis.AcknowledgeQueueRecordsInput{QueueARN: queueARN, Entries: entries})
		l.mu.Lock()
		if err != nil {
			for _, id := range ids {
				l.uncertain[id] = true
			}
		} else {
			for _, s := range res.Successful {
				l.acked[ids[*s.ReceiptHandle]]++
			}
		}
		l.mu.Unlock()
		if err != nil {
			return
		}
	}
}

func TestQueueKillDuringAcknowledgements(t *testing.T) {
	dir := t.TempDir()
	p := proc.Start(t, bin, dir, "-throughput-limits=false")
	c := proc.NewClient(p.Endpoint, 30*time.Second)
	ctx := t.Context()
	if _, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("durable"),
		StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand}}); err != nil {
		t.Fatal(err)
	}
	created, err := c.CreateQueue(ctx, &kinesis.CreateQueueInput{QueueName: aws.String("durable"),
		StreamConfigurationList: []types.QueueStreamConfiguration{{StreamARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/durable"),
			StartingPosition: &types.QueueStartingPosition{Type: types.QueueStartingPositionTypeTrimHorizon}}},
		QueueAttributes: &types.QueueAttributes{VisibilityTimeoutSeconds: aws.Int32(visibility)}})
	if err != nil {
		t.Fatal(err)
	}
	queueARN := created.QueueDescription.QueueARN // the same after the restart
	seqs := kinesistest.PutN(t, c, "durable", "k", records)

	// Before: consumers acknowledge most of what they receive; the kill comes a third of the way.
	before := newLedger()
	var got atomic.Int64
	killAt := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	for range consumers {
		wg.Go(func() {
			consume(ctx, c, queueARN, before, 7, func(string) {
				if got.Add(1) >= records/3 {
					once.Do(func() { close(killAt) })
				}
			})
		})
	}
	select {
	case <-killAt:
	case <-time.After(time.Minute):
		t.Fatal("the consumers did not get a third of the way in a minute")
	}
	p.Kill()
	wg.Wait()
	before.mu.Lock()
	inFlight := 0
	for id := range before.received {
		if before.acked[id] == 0 && !before.uncertain[id] {
			inFlight++
		}
	}
	t.Logf("at the kill: %d received, %d acknowledged, %d acknowledgements unanswered, %d unacknowledged",
		len(before.received), len(before.acked), len(before.uncertain), inFlight)
	before.mu.Unlock()
	if len(before.acked) == 0 || inFlight == 0 {
		t.Fatal("the kill came before anything was acknowledged, or with nothing left unacknowledged")
	}

	// After: everything left is delivered, the records in flight at the kill once their visibility
	// timeout passes, and nothing acknowledged before is delivered again.
	p = proc.Start(t, bin, dir, "-throughput-limits=false")
	c = proc.NewClient(p.Endpoint, 30*time.Second)
	after := newLedger()
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var redelivered atomic.Int64
	done := func() bool {
		after.mu.Lock()
		defer after.mu.Unlock()
		for _, seq := range seqs {
			if before.acked[seq] == 0 && after.acked[seq] == 0 && !before.uncertain[seq] {
				return false
			}
		}
		return true
	}
	for range consumers {
		wg.Go(func() {
			consume(cctx, c, queueARN, after, 0, func(id string) {
				if before.acked[id] > 0 { // read-only since the first phase ended
					redelivered.Add(1)
					t.Errorf("record %s acknowledged before the kill, delivered again after it", id)
				}
			})
		})
	}
	wg.Go(func() {
		for cctx.Err() == nil && !done() {
			time.Sleep(50 * time.Millisecond) // polling the ledger, not waiting for the server
		}
		cancel()
	})
	wg.Wait()
	if !done() {
		t.Fatal("not every record was acknowledged within two minutes of the restart")
	}
	returned := 0
	for id := range before.received {
		if before.acked[id] == 0 && !before.uncertain[id] && after.received[id] > 0 {
			returned++
		}
	}
	t.Logf("after the restart: %d received (%d of the unacknowledged ones again), %d redelivered acknowledged records",
		len(after.received), returned, redelivered.Load())
	if returned != inFlight {
		t.Errorf("%d of %d records unacknowledged at the kill came back", returned, inFlight)
	}
}
