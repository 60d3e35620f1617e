package api_test

import (
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/kinesistest"
)

// Queues (issue 19): receiving, acknowledging, visibility and dead letters.

// receive is ReceiveQueueRecords without waiting.
func receive(t *testing.T, c *kinesis.Client, queue string, limit int32, vis *int32) []types.QueueRecord {
	t.Helper()
	out, err := c.ReceiveQueueRecords(t.Context(), &kinesis.ReceiveQueueRecordsInput{QueueARN: queueARNOf(t, c, queue),
		Limit: aws.Int32(limit), VisibilityTimeoutSeconds: vis, WaitTimeSeconds: aws.Int32(0)})
	if err != nil {
		t.Fatalf("ReceiveQueueRecords %s: %v", queue, err)
	}
	return out.QueueRecords
}

// receiveDead is ReceiveDeadLetterQueueRecords without waiting.
func receiveDead(t *testing.T, c *kinesis.Client, queue string, vis *int32) []types.QueueRecord {
	t.Helper()
	out, err := c.ReceiveDeadLetterQueueRecords(t.Context(), &kinesis.ReceiveDeadLetterQueueRecordsInput{QueueARN: queueARNOf(t, c, queue),
		VisibilityTimeoutSeconds: vis, WaitTimeSeconds: aws.Int32(0)})
	if err != nil {
		t.Fatalf("ReceiveDeadLetterQueueRecords %s: %v", queue, err)
	}
	return out.QueueRecords
}

// ack acknowledges records by their handles and returns the failures' codes.
func ack(t *testing.T, c *kinesis.Client, queue string, handles ...string) []string {
	t.Helper()
	entries := make([]types.AcknowledgeQueueRecordsRequestEntry, len(handles))
	for i, h := range handles {
		entries[i].ReceiptHandle = aws.String(h)
	}
	out, err := c.AcknowledgeQueueRecords(t.Context(), &kinesis.AcknowledgeQueueRecordsInput{QueueARN: queueARNOf(t, c, queue), Entries: entries})
	if err != nil {
		t.Fatalf("AcknowledgeQueueRecords: %v", err)
	}
	if len(out.Successful)+len(out.Failed) != len(handles) {
		t.Fatalf("%d successes and %d failures for %d entries", len(out.Successful), len(out.Failed), len(handles))
	}
	var codes []string
	for _, f := range out.Failed {
		codes = append(codes, *f.ErrorCode)
	}
	return codes
}

func handles(recs []types.QueueRecord) []string {
	var out []string
	for _, r := range recs {
		out = append(out, *r.ReceiptHandle)
	}
	return out
}

func TestQueueReceiveAcknowledge(t *testing.T) {
	eachQueueEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c := s.Client
		createOnDemand(t, c, "rs")
		kinesistest.PutN(t, c, "rs", "before", 5) // before a LATEST queue: never delivered by it
		createQueue(t, c, "th", "rs", trimHorizonQueue, nil)
		createQueue(t, c, "lt", "rs", nil, nil)
		seqs := kinesistest.PutN(t, c, "rs", "k", 25)

		seen := map[string]types.QueueRecord{}
		var all []types.QueueRecord
		for range 10 {
			recs := receive(t, c, "lt", 10, nil)
			if len(recs) == 0 {
				break
			}
			if len(recs) > 10 {
				t.Fatalf("%d records in one receive", len(recs))
			}
			for _, r := range recs {
				if _, dup := seen[*r.RecordId]; dup {
					t.Fatalf("record %s delivered twice while in flight", *r.RecordId)
				}
				seen[*r.RecordId] = r
				if *r.ReceiveCount != 1 || r.FirstReceiveTimestamp == nil || r.ApproximateArrivalTimestamp == nil || string(r.Data) != "data "+*r.PartitionKey {
					t.Errorf("record %+v", r)
				}
			}
			all = append(all, recs...)
		}
		if len(seen) != len(seqs) {
			t.Fatalf("LATEST queue delivered %d records, want %d", len(seen), len(seqs))
		}
		for _, seq := range seqs {
			if _, ok := seen[seq]; !ok {
				t.Errorf("record %s (RecordId is the sequence number) not delivered", seq)
			}
		}
		if n := len(receive(t, c, "th", 10, nil)); n != 10 {
			t.Errorf("TRIM_HORIZON queue: %d records in the first receive", n)
		}
		for chunk := range slices.Chunk(handles(all), 10) {
			if codes := ack(t, c, "lt", chunk...); len(codes) != 0 {
				t.Fatalf("acknowledgements failed: %v", codes)
			}
		}
		// Acknowledged twice, or with a handle the service did not seal.
		codes := ack(t, c, "lt", *all[0].ReceiptHandle, "not-a-handle", *all[1].ReceiptHandle)
		if !slices.Equal(codes, []string{"InvalidArgumentException", "ResourceNotFoundException", "ResourceNotFoundException"}) {
			t.Errorf("failures %v", codes)
		}
		// A handle of one queue is not one of another.
		if codes := ack(t, c, "th", *all[2].ReceiptHandle); !slices.Equal(codes, []string{"InvalidArgumentException"}) {
			t.Errorf("another queue's handle: %v", codes)
		}
		inProcessPart(t, s, "31 s of the fake clock", func() {
			s.Clock.Advance(31 * time.Second)
			if n := len(receive(t, c, "lt", 10, nil)); n != 0 {
				t.Errorf("%d acknowledged records delivered again", n)
			}
		})
	})
}

func TestQueueVisibility(t *testing.T) {
	eachQueueEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createOnDemand(t, c, "vs")
		createQueue(t, c, "vq", "vs", nil, nil)
		kinesistest.PutN(t, c, "vs", "k", 1)
		first := receive(t, c, "vq", 10, aws.Int32(1))
		if len(first) != 1 {
			t.Fatalf("%d records", len(first))
		}
		if n := len(receive(t, c, "vq", 10, nil)); n != 0 {
			t.Fatalf("in flight, yet received again (%d)", n)
		}
		elapse(t, s, 1100*time.Millisecond)
		second := receive(t, c, "vq", 10, nil)
		if len(second) != 1 || *second[0].RecordId != *first[0].RecordId || *second[0].ReceiveCount != 2 ||
			*second[0].ReceiptHandle == *first[0].ReceiptHandle || !second[0].FirstReceiveTimestamp.Equal(*first[0].FirstReceiveTimestamp) {
			t.Fatalf("redelivery %+v after %+v", second, first)
		}
		// The first receive's handle no longer names the record.
		if codes := ack(t, c, "vq", *first[0].ReceiptHandle); !slices.Equal(codes, []string{"ResourceNotFoundException"}) {
			t.Errorf("stale handle: %v", codes)
		}
		// Visibility 0: visible again at once.
		vis := func(h string, secs int32) []types.UpdateQueueRecordsVisibilityErrorEntry {
			out, err := c.UpdateQueueRecordsVisibility(ctx, &kinesis.UpdateQueueRecordsVisibilityInput{QueueARN: queueARNOf(t, c, "vq"),
				Entries: []types.UpdateQueueRecordsVisibilityRequestEntry{{ReceiptHandle: aws.String(h), VisibilityTimeoutSeconds: aws.Int32(secs)}}})
			if err != nil {
				t.Fatal(err)
			}
			return out.Failed
		}
		if f := vis(*second[0].ReceiptHandle, 0); len(f) != 0 {
			t.Fatalf("visibility 0: %+v", f)
		}
		third := receive(t, c, "vq", 10, aws.Int32(1))
		if len(third) != 1 || *third[0].ReceiveCount != 3 {
			t.Fatalf("after visibility 0: %+v", third)
		}
		// Longer: still in flight after its first timeout would have ended.
		if f := vis(*third[0].ReceiptHandle, 600); len(f) != 0 {
			t.Fatalf("visibility 600: %+v", f)
		}
		elapse(t, s, 1500*time.Millisecond)
		if n := len(receive(t, c, "vq", 10, nil)); n != 0 {
			t.Errorf("visibility extended, yet received again (%d)", n)
		}
		if f := vis(*second[0].ReceiptHandle, 5); len(f) != 1 || *f[0].ErrorCode != "ResourceNotFoundException" {
			t.Errorf("visibility with a stale handle: %+v", f)
		}
		if codes := ack(t, c, "vq", *third[0].ReceiptHandle); len(codes) != 0 {
			t.Errorf("ack: %v", codes)
		}
	})
}

func TestQueueDeadLetters(t *testing.T) {
	eachQueueEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createOnDemand(t, c, "ds")
		createQueue(t, c, "dq", "ds", nil, &types.QueueAttributes{VisibilityTimeoutSeconds: aws.Int32(1),
			DeadLetterConfiguration: &types.DeadLetterConfiguration{TargetType: types.TargetTypeBuiltIn, MaxReceiveCount: aws.Int32(2)}})
		kinesistest.PutN(t, c, "ds", "k", 2)
		for round := range 2 {
			recs := receive(t, c, "dq", 10, nil)
			if len(recs) != 2 {
				t.Fatalf("round %d: %d records", round, len(recs))
			}
			if round == 0 {
				if n := len(receiveDead(t, c, "dq", nil)); n != 0 {
					t.Fatalf("%d dead letters before any", n)
				}
			}
			elapse(t, s, 1100*time.Millisecond)
		}
		if n := len(receive(t, c, "dq", 10, nil)); n != 0 {
			t.Fatalf("received %d records past MaxReceiveCount", n)
		}
		dead := receiveDead(t, c, "dq", aws.Int32(60))
		if len(dead) != 2 {
			t.Fatalf("%d dead letters, want 2", len(dead))
		}
		if n := len(receiveDead(t, c, "dq", nil)); n != 0 {
			t.Fatalf("dead letters in flight received again (%d)", n)
		}
		// An ordinary operation refuses a dead-letter handle.
		if codes := ack(t, c, "dq", *dead[0].ReceiptHandle); !slices.Equal(codes, []string{"InvalidArgumentException"}) {
			t.Errorf("AcknowledgeQueueRecords with a dead-letter handle: %v", codes)
		}
		// Visibility 0 makes a dead letter visible to the dead-letter receive again.
		uv, err := c.UpdateDeadLetterQueueRecordsVisibility(ctx, &kinesis.UpdateDeadLetterQueueRecordsVisibilityInput{QueueARN: queueARNOf(t, c, "dq"),
			Entries: []types.UpdateDeadLetterQueueRecordsVisibilityRequestEntry{{ReceiptHandle: dead[0].ReceiptHandle, VisibilityTimeoutSeconds: aws.Int32(0)}}})
		if err != nil || len(uv.Successful) != 1 {
			t.Fatalf("UpdateDeadLetterQueueRecordsVisibility: %+v %v", uv, err)
		}
		again := receiveDead(t, c, "dq", aws.Int32(60))
		if len(again) != 1 || *again[0].RecordId != *dead[0].RecordId {
			t.Fatalf("dead letter after visibility 0: %+v", again)
		}
		// Restore one: the ordinary receive has it again, from a receive count of 0.
		rs, err := c.RestoreDeadLetterQueueRecords(ctx, &kinesis.RestoreDeadLetterQueueRecordsInput{QueueARN: queueARNOf(t, c, "dq"),
			Entries: []types.RestoreDeadLetterQueueRecordsRequestEntry{{ReceiptHandle: again[0].ReceiptHandle}, {ReceiptHandle: dead[0].ReceiptHandle}}})
		if err != nil || len(rs.Successful) != 1 || len(rs.Failed) != 1 || *rs.Failed[0].ErrorCode != "ResourceNotFoundException" {
			t.Fatalf("RestoreDeadLetterQueueRecords: %+v %v", rs, err)
		}
		restored := receive(t, c, "dq", 10, nil)
		if len(restored) != 1 || *restored[0].RecordId != *dead[0].RecordId || *restored[0].ReceiveCount != 1 {
			t.Fatalf("restored: %+v", restored)
		}
		if codes := ack(t, c, "dq", *restored[0].ReceiptHandle); len(codes) != 0 {
			t.Fatalf("ack restored: %v", codes)
		}
		// The other dead letter is discarded.
		ad, err := c.AcknowledgeDeadLetterQueueRecords(ctx, &kinesis.AcknowledgeDeadLetterQueueRecordsInput{QueueARN: queueARNOf(t, c, "dq"),
			Entries: []types.AcknowledgeDeadLetterQueueRecordsRequestEntry{{ReceiptHandle: dead[1].ReceiptHandle}}})
		if err != nil || len(ad.Successful) != 1 {
			t.Fatalf("AcknowledgeDeadLetterQueueRecords: %+v %v", ad, err)
		}
		elapse(t, s, 2*time.Second)
		if n, d := len(receive(t, c, "dq", 10, nil)), len(receiveDead(t, c, "dq", nil)); n+d != 0 {
			t.Errorf("after both settled: %d records, %d dead letters", n, d)
		}
	})
}

func TestQueueLongPoll(t *testing.T) {
	eachQueueEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createOnDemand(t, c, "ls")
		createQueue(t, c, "lq", "ls", nil, nil)
		// Nothing comes: the call waits its whole WaitTimeSeconds and answers an empty list.
		start := time.Now()
		out, err := c.ReceiveQueueRecords(ctx, &kinesis.ReceiveQueueRecordsInput{QueueARN: queueARNOf(t, c, "lq"), WaitTimeSeconds: aws.Int32(1)})
		if err != nil || len(out.QueueRecords) != 0 {
			t.Fatalf("empty long poll: %+v %v", out, err)
		}
		if d := time.Since(start); d < time.Second || d > 3*time.Second {
			t.Errorf("empty long poll took %v, want its 1 s", d)
		}
		// A put answers a waiting receive at once.
		type result struct {
			recs []types.QueueRecord
			at   time.Time
			err  error
		}
		done := make(chan result, 1)
		lqARN := queueARNOf(t, c, "lq")
		go func() {
			out, err := c.ReceiveQueueRecords(ctx, &kinesis.ReceiveQueueRecordsInput{QueueARN: lqARN, WaitTimeSeconds: aws.Int32(10)})
			var recs []types.QueueRecord
			if out != nil {
				recs = out.QueueRecords
			}
			done <- result{recs, time.Now(), err}
		}()
		time.Sleep(300 * time.Millisecond) // let the receive start waiting (if it has not, it finds the record at once)
		put := time.Now()
		kinesistest.PutN(t, c, "ls", "k", 1)
		r := <-done
		if r.err != nil || len(r.recs) != 1 {
			t.Fatalf("long poll: %+v %v", r.recs, r.err)
		}
		if lag := r.at.Sub(put); lag > 500*time.Millisecond {
			t.Errorf("long poll answered %v after the put", lag)
		}
		t.Logf("long poll answered %v after the put", r.at.Sub(put))
	})
}
