package cluster_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/kinesistest"
)

// TestClusterQueueTwoFrontEnds shares one queue between two front-ends of a 3-node cluster: consumers
// on both receive and acknowledge at once, and no record is ever in flight to two of them (each is
// received exactly once while visibility timeouts outlast the run); a handle from one front-end
// acknowledges on the other; a visibility set to 0 through one makes the record receivable through
// the other at once.
func TestClusterQueueTwoFrontEnds(t *testing.T) {
	a, b := frontEnds(t)
	ctx := t.Context()
	if _, err := a.Client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("shared"),
		StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand}}); err != nil {
		t.Fatal(err)
	}
	waitActive(t, b.Client, "shared")
	created, err := b.Client.CreateQueue(ctx, &kinesis.CreateQueueInput{QueueName: aws.String("shared"),
		StreamConfigurationList: []types.QueueStreamConfiguration{{StreamARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/shared"),
			StartingPosition: &types.QueueStartingPosition{Type: types.QueueStartingPositionTypeTrimHorizon}}},
		QueueAttributes: &types.QueueAttributes{VisibilityTimeoutSeconds: aws.Int32(3600)}})
	if err != nil {
		t.Fatal(err)
	}
	queueARN := created.QueueDescription.QueueARN

	// A handle from A works on B; visibility 0 through B shows the record through A.
	kinesistest.PutN(t, a.Client, "shared", "first", 1)
	got, err := a.Client.ReceiveQueueRecords(ctx, &kinesis.ReceiveQueueRecordsInput{QueueARN: queueARN, WaitTimeSeconds: aws.Int32(5)})
	if err != nil || len(got.QueueRecords) != 1 {
		t.Fatalf("receive through A: %+v %v", got, err)
	}
	vis, err := b.Client.UpdateQueueRecordsVisibility(ctx, &kinesis.UpdateQueueRecordsVisibilityInput{QueueARN: queueARN,
		Entries: []types.UpdateQueueRecordsVisibilityRequestEntry{{ReceiptHandle: got.QueueRecords[0].ReceiptHandle, VisibilityTimeoutSeconds: aws.Int32(0)}}})
	if err != nil || len(vis.Successful) != 1 {
		t.Fatalf("visibility 0 through B: %+v %v", vis, err)
	}
	again, err := a.Client.ReceiveQueueRecords(ctx, &kinesis.ReceiveQueueRecordsInput{QueueARN: queueARN, WaitTimeSeconds: aws.Int32(0)})
	if err != nil || len(again.QueueRecords) != 1 || *again.QueueRecords[0].ReceiveCount != 2 {
		t.Fatalf("receive through A after B's visibility 0: %+v %v", again, err)
	}
	ack, err := b.Client.AcknowledgeQueueRecords(ctx, &kinesis.AcknowledgeQueueRecordsInput{QueueARN: queueARN,
		Entries: []types.AcknowledgeQueueRecordsRequestEntry{{ReceiptHandle: again.QueueRecords[0].ReceiptHandle}}})
	if err != nil || len(ack.Successful) != 1 {
		t.Fatalf("acknowledge through B: %+v %v", ack, err)
	}

	// Consumers on both front-ends at once.
	const n = 2000
	seqs := kinesistest.PutN(t, a.Client, "shared", "k", n)
	var mu sync.Mutex
	received, acked := map[string]int{}, map[string]int{}
	var total atomic.Int64
	cctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for i := range 8 {
		c := a.Client
		if i%2 == 1 {
			c = b.Client
		}
		wg.Go(func() {
			for cctx.Err() == nil && total.Load() < n {
				out, err := c.ReceiveQueueRecords(cctx, &kinesis.ReceiveQueueRecordsInput{QueueARN: queueARN, WaitTimeSeconds: aws.Int32(1)})
				if err != nil {
					if cctx.Err() == nil {
						t.Errorf("receive: %v", err)
					}
					return
				}
				if len(out.QueueRecords) == 0 {
					continue
				}
				ids := map[string]string{}
				var entries []types.AcknowledgeQueueRecordsRequestEntry
				mu.Lock()
				for _, r := range out.QueueRecords {
					received[*r.RecordId]++
					ids[*r.ReceiptHandle] = *r.RecordId
					entries = append(entries, types.AcknowledgeQueueRecordsRequestEntry{ReceiptHandle: r.ReceiptHandle})
				}
				mu.Unlock()
				// Acknowledge through the other front-end half of the time.
				ackWith := c
				if len(entries)%2 == 0 {
					ackWith = map[*kinesis.Client]*kinesis.Client{a.Client: b.Client, b.Client: a.Client}[c]
				}
				res, err := ackWith.AcknowledgeQueueRecords(cctx, &kinesis.AcknowledgeQueueRecordsInput{QueueARN: queueARN, Entries: entries})
				if err != nil {
					t.Errorf("acknowledge: %v", err)
					return
				}
				for _, f := range res.Failed {
					t.Errorf("acknowledge %s: %s", ids[*f.ReceiptHandle], *f.ErrorCode)
				}
				mu.Lock()
				for _, s := range res.Successful {
					acked[ids[*s.ReceiptHandle]]++
				}
				mu.Unlock()
				total.Add(int64(len(res.Successful)))
			}
		})
	}
	wg.Wait()
	for _, seq := range seqs {
		if received[seq] != 1 || acked[seq] != 1 {
			t.Errorf("record %s received %d times, acknowledged %d times", seq, received[seq], acked[seq])
		}
	}
}
