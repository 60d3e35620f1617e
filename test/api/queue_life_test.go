package api_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/kinesistest"
)

// Queues (issue 19): records leaving with retention, and long polls ending with the server.

func TestQueueRetention(t *testing.T) {
	skipOnBinary(t, "a day of the fake clock")
	eachQueueEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c := s.Client
		createOnDemand(t, c, "old")
		createQueue(t, c, "oq", "old", trimHorizonQueue, &types.QueueAttributes{
			DeadLetterConfiguration: &types.DeadLetterConfiguration{TargetType: types.TargetTypeNone}})
		kinesistest.PutN(t, c, "old", "a", 20)
		inFlight := receive(t, c, "oq", 10, aws.Int32(3600))
		if len(inFlight) != 10 {
			t.Fatalf("%d records", len(inFlight))
		}
		s.Clock.Advance(23 * time.Hour)
		kinesistest.PutN(t, c, "old", "b", 3)
		s.Clock.Advance(90 * time.Minute) // the first 20 are past the 24 hours of retention; the last 3 are not
		var got []string
		for range 5 {
			for _, r := range receive(t, c, "oq", 10, nil) {
				got = append(got, *r.PartitionKey)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, []string{"b-0", "b-1", "b-2"}) {
			t.Errorf("after retention: received %v, want the 3 records within it", got)
		}
		if codes := ack(t, c, "oq", *inFlight[0].ReceiptHandle); !slices.Equal(codes, []string{"ResourceNotFoundException"}) {
			t.Errorf("acknowledging a record gone with retention: %v", codes)
		}
	})
}

func TestQueueLongPollEnds(t *testing.T) {
	eachQueueEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c := s.Client
		createOnDemand(t, c, "end")
		createQueue(t, c, "eq", "end", nil, nil)
		// The client goes: the call ends with it.
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		start := time.Now()
		_, err := c.ReceiveQueueRecords(ctx, &kinesis.ReceiveQueueRecordsInput{QueueARN: queueARNOf(t, c, "eq"), WaitTimeSeconds: aws.Int32(20)})
		cancel()
		if err == nil || time.Since(start) > 5*time.Second {
			t.Errorf("a cancelled long poll: %v after %v", err, time.Since(start))
		}
		// The server shuts down: a waiting call is answered at once, and shutting down does not wait
		// for its 20 seconds.
		done := make(chan time.Duration, 1)
		eqARN := queueARNOf(t, c, "eq")
		go func() {
			start := time.Now()
			c.ReceiveQueueRecords(t.Context(), &kinesis.ReceiveQueueRecordsInput{QueueARN: eqARN, WaitTimeSeconds: aws.Int32(20)})
			done <- time.Since(start)
		}()
		time.Sleep(300 * time.Millisecond) // let the call start waiting
		closed := time.Now()
		if err := s.Close(t.Context()); err != nil {
			t.Fatalf("close: %v", err)
		}
		if d := time.Since(closed); d > 10*time.Second {
			t.Errorf("shutting down took %v with a long poll waiting", d)
		}
		if d := <-done; d > 10*time.Second {
			t.Errorf("the long poll ended %v after it started, the server having shut down after 300 ms", d)
		}
	})
}
