package kinesistest

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// Subscription is an open SubscribeToShard event stream, read through the Go SDK's own event-stream
// reader.
type Subscription struct {
	Stream *kinesis.SubscribeToShardEventStream
	// Check, if set, is run on every SubscribeToShardEvent Next returns.
	Check func(t testing.TB, ev *types.SubscribeToShardEvent)
}

// Subscribe subscribes to shard through c, which must be used for nothing else: the SDK keeps one
// event-stream decoder, payload buffer included, per client, so two subscriptions read concurrently
// through one client race on it. NewClient(endpoint) gives one. The stream is closed at the test's end.
func Subscribe(t testing.TB, c *kinesis.Client, arn, shard string, pos types.StartingPosition) (*Subscription, error) {
	t.Helper()
	out, err := c.SubscribeToShard(t.Context(), &kinesis.SubscribeToShardInput{
		ConsumerARN: aws.String(arn), ShardId: aws.String(shard), StartingPosition: &pos,
	})
	if err != nil {
		return nil, err
	}
	sub := &Subscription{Stream: out.GetStream()}
	t.Cleanup(func() { sub.Stream.Close() })
	return sub, nil
}

// Next returns the next SubscribeToShardEvent, or nil when the stream has ended (Stream.Err tells how).
// It fails t after wait without an event, or on an event of another kind.
func (s *Subscription) Next(t testing.TB, wait time.Duration) *types.SubscribeToShardEvent {
	t.Helper()
	select {
	case ev, ok := <-s.Stream.Events():
		if !ok {
			return nil
		}
		e, isEvent := ev.(*types.SubscribeToShardEventStreamMemberSubscribeToShardEvent)
		if !isEvent {
			t.Fatalf("unexpected event %T", ev)
		}
		if s.Check != nil {
			s.Check(t, &e.Value)
		}
		return &e.Value
	case <-time.After(wait):
		t.Fatalf("no event within %s", wait)
		return nil
	}
}

// Collect reads events until n records have come, each within wait of the one before, and returns the
// records and the last event. It fails t on an end of the stream first, or on more records than n in
// the event that completes them.
func (s *Subscription) Collect(t testing.TB, n int, wait time.Duration) ([]types.Record, *types.SubscribeToShardEvent) {
	t.Helper()
	var recs []types.Record
	var last *types.SubscribeToShardEvent
	for len(recs) < n {
		if last = s.Next(t, wait); last == nil {
			t.Fatalf("stream ended after %d of %d records: %v", len(recs), n, s.Stream.Err())
		}
		recs = append(recs, last.Records...)
	}
	if len(recs) > n {
		t.Fatalf("got %d records, want %d", len(recs), n)
	}
	return recs, last
}

// Ended reads events until the stream ends, failing t after within, and returns the error it ended
// with (nil: a clean end).
func (s *Subscription) Ended(t testing.TB, within time.Duration) error {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case _, ok := <-s.Stream.Events():
			if !ok {
				return s.Stream.Err()
			}
		case <-deadline:
			t.Fatalf("stream still open after %s", within)
			return nil
		}
	}
}
