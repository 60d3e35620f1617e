package api_test

import (
	"context"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/kinesistest"
)

// Queues under load (issue 19): many consumers, every record acknowledged exactly once, also across a
// resharding.

// queueLoadRecords is how many records TestQueueManyConsumers puts: KINESISD_QUEUE_RECORDS (make
// queuetest sets 100,000), else a few thousand so that the default suite stays fast.
func queueLoadRecords(t *testing.T) int {
	if v := os.Getenv("KINESISD_QUEUE_RECORDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("KINESISD_QUEUE_RECORDS=%q", v)
		}
		return n
	}
	return 5000
}

// drainQueue runs consumers that receive and acknowledge until want records have been acknowledged (or
// the time runs out), and returns how many times each RecordId was received and acknowledged. With
// visibility timeouts longer than the run no record may be received twice.
func drainQueue(t *testing.T, c *kinesis.Client, queue string, consumers, want int, during func(acked int64)) (received, acked map[string]int) {
	t.Helper()
	// A few hundred records a second is slow enough: JetStream under the race detector on a loaded
	// machine (100,000 records took more than 5 minutes there).
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute+time.Duration(want)*5*time.Millisecond)
	defer cancel()
	var mu sync.Mutex
	received, acked = map[string]int{}, map[string]int{}
	var total atomic.Int64
	var wg sync.WaitGroup
	arn := queueARNOf(t, c, queue)
	for range consumers {
		wg.Go(func() {
			for ctx.Err() == nil && total.Load() < int64(want) {
				out, err := c.ReceiveQueueRecords(ctx, &kinesis.ReceiveQueueRecordsInput{QueueARN: arn,
					VisibilityTimeoutSeconds: aws.Int32(3600), WaitTimeSeconds: aws.Int32(1)})
				if err != nil {
					if ctx.Err() == nil {
						t.Errorf("receive: %v", err)
					}
					return
				}
				if len(out.QueueRecords) == 0 {
					continue
				}
				ids := map[string]string{}
				entries := make([]types.AcknowledgeQueueRecordsRequestEntry, len(out.QueueRecords))
				mu.Lock()
				for i, r := range out.QueueRecords {
					received[*r.RecordId]++
					ids[*r.ReceiptHandle] = *r.RecordId
					entries[i].ReceiptHandle = r.ReceiptHandle
				}
				mu.Unlock()
				res, err := c.AcknowledgeQueueRecords(ctx, &kinesis.AcknowledgeQueueRecordsInput{QueueARN: arn, Entries: entries})
				if err != nil {
					t.Errorf("acknowledge: %v", err)
					return
				}
				for _, f := range res.Failed {
					t.Errorf("acknowledge %s: %s %s", ids[*f.ReceiptHandle], *f.ErrorCode, aws.ToString(f.ErrorMessage))
				}
				mu.Lock()
				for _, s := range res.Successful {
					acked[ids[*s.ReceiptHandle]]++
				}
				mu.Unlock()
				n := total.Add(int64(len(res.Successful)))
				if during != nil {
					during(n)
				}
			}
		})
	}
	wg.Wait()
	return received, acked
}

// checkOnce checks every sequence number was received and acknowledged exactly once.
func checkOnce(t *testing.T, seqs []string, received, acked map[string]int) {
	t.Helper()
	if len(received) != len(seqs) || len(acked) != len(seqs) {
		t.Errorf("%d records put, %d received, %d acknowledged", len(seqs), len(received), len(acked))
	}
	bad := 0
	for _, seq := range seqs {
		if received[seq] != 1 || acked[seq] != 1 {
			if bad++; bad <= 5 {
				t.Errorf("record %s received %d times, acknowledged %d times", seq, received[seq], acked[seq])
			}
		}
	}
}

func TestQueueManyConsumers(t *testing.T) {
	n := queueLoadRecords(t)
	eachQueueEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c := s.Client
		createOnDemand(t, c, "load")
		createQueue(t, c, "work", "load", trimHorizonQueue, nil)
		seqs := kinesistest.PutN(t, c, "load", "k", n)
		start := time.Now()
		received, acked := drainQueue(t, c, "work", 16, n, nil)
		t.Logf("%d records received and acknowledged by 16 consumers in %v", n, time.Since(start))
		checkOnce(t, seqs, received, acked)
		if n := len(receive(t, c, "work", 10, nil)); n != 0 {
			t.Errorf("%d records left after all were acknowledged", n)
		}
	})
}

func TestQueueReshardDuringConsumption(t *testing.T) {
	eachQueueEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createOnDemand(t, c, "grow")
		createQueue(t, c, "gq", "grow", trimHorizonQueue, nil)
		seqs := kinesistest.PutN(t, c, "grow", "a", 400)
		var once sync.Once
		resharded := make(chan error, 1)
		more := make(chan []string, 1)
		// Halfway through the first records the stream splits to 10 shards, and more records go to
		// the children while the parents are still being consumed.
		received, acked := drainQueue(t, c, "gq", 6, 800, func(acked int64) {
			if acked < 200 {
				return
			}
			once.Do(func() {
				_, err := c.UpdateStreamWarmThroughput(ctx, &kinesis.UpdateStreamWarmThroughputInput{StreamName: aws.String("grow"), WarmThroughputMiBps: aws.Int32(10)})
				resharded <- err
				more <- kinesistest.PutN(t, c, "grow", "b", 400)
			})
		})
		if err := <-resharded; err != nil {
			t.Fatalf("reshard: %v", err)
		}
		seqs = append(seqs, <-more...)
		if open := *summary(t, c, "grow").OpenShardCount; open != 10 {
			t.Errorf("%d open shards after the reshard", open)
		}
		checkOnce(t, seqs, received, acked)
	})
}
