package api_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/config"
	"kinesisd/internal/kinesistest"
	"kinesisd/internal/service/seqnum"
)

// SubscribeToShard through the SDK's own event-stream reader, over HTTP/1.1 (the Go SDK's transport
// for http:// endpoints). Durations are shrunk with the flags a user would set; the 5-second
// re-subscribe window is measured on the server's fake clock (against the binary, on the real clock,
// shrunk with -subscribe-takeover).

const (
	shard0    = "shardId-000000000000"
	eventWait = 10 * time.Second
)

// takeover is the re-subscribe window: AWS's 5 s in process, kept since the fake clock moves past it;
// 2 s of the real clock against the binary.
var takeover = func() time.Duration {
	if onBinary() {
		return 2 * time.Second
	}
	return 5 * time.Second
}()

// withSubscribe shrinks the subscription lifetime and heartbeat for tests (and, against the binary,
// the re-subscribe window to takeover).
func withSubscribe(lifetime, heartbeat time.Duration) func(*config.Config) {
	return func(c *config.Config) {
		c.SubscribeLifetime, c.SubscribeHeartbeat = lifetime, heartbeat
		if onBinary() {
			c.SubscribeTakeover = takeover
		}
	}
}

// startSubscribe starts an in-memory server with the subscription durations given.
func startSubscribe(t *testing.T, lifetime, heartbeat time.Duration) *kinesistest.Server {
	t.Helper()
	return kinesistest.Start(t, kinesistest.Engines[1], kinesistest.Options{Configure: withSubscribe(lifetime, heartbeat)})
}

// consumerOn creates stream (one shard) unless it exists and registers an ACTIVE consumer on it.
func consumerOn(t *testing.T, s *kinesistest.Server, stream, name string) string {
	t.Helper()
	_, err := s.Client.DescribeStreamSummary(t.Context(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		createStream(t, s.Client, stream, 1)
	} else if err != nil {
		t.Fatal(err)
	}
	return *register(t, s.Client, stream, name).ConsumerARN
}

// subscription is an open SubscribeToShard stream of a test, read with the timeout eventWait and every
// event's continuation checked.
type subscription struct {
	*kinesistest.Subscription
	t *testing.T
}

// subscribe subscribes to shard 0 with a client of its own (kinesistest.Subscribe says why).
func subscribe(t *testing.T, s *kinesistest.Server, arn string, pos types.StartingPosition) (*subscription, error) {
	t.Helper()
	return subscribeWith(t, kinesistest.NewClient(s.Endpoint), arn, shard0, pos)
}

// subscribeWith subscribes to shard through c, a client used for nothing else.
func subscribeWith(t *testing.T, c *kinesis.Client, arn, shard string, pos types.StartingPosition) (*subscription, error) {
	t.Helper()
	sub, err := kinesistest.Subscribe(t, c, arn, shard, pos)
	if err != nil {
		return nil, err
	}
	sub.Check = checkContinuation
	return &subscription{Subscription: sub, t: t}, nil
}

func mustSubscribe(t *testing.T, s *kinesistest.Server, arn string, pos types.StartingPosition) *subscription {
	t.Helper()
	sub, err := subscribe(t, s, arn, pos)
	if err != nil {
		t.Fatalf("SubscribeToShard %s: %v", pos.Type, err)
	}
	return sub
}

// next returns the next event, or nil when the stream has ended (then Stream.Err tells how).
func (s *subscription) next() *types.SubscribeToShardEvent {
	s.t.Helper()
	return s.Next(s.t, eventWait)
}

// checkContinuation: every event but a shard's last carries a real sequence number to continue from.
func checkContinuation(t testing.TB, ev *types.SubscribeToShardEvent) {
	t.Helper()
	if len(ev.ChildShards) > 0 {
		return
	}
	if c := aws.ToString(ev.ContinuationSequenceNumber); len(c) != 56 || c == "0" {
		t.Fatalf("ContinuationSequenceNumber %q is not a sequence number", c)
	}
	if ev.MillisBehindLatest == nil || *ev.MillisBehindLatest < 0 {
		t.Fatalf("MillisBehindLatest %v", ev.MillisBehindLatest)
	}
}

// collect reads events until n records have come (kinesistest.Subscription.Collect).
func (s *subscription) collect(n int) ([]types.Record, *types.SubscribeToShardEvent) {
	s.t.Helper()
	return s.Collect(s.t, n, eventWait)
}

// ended waits for the end of the stream and returns its error (nil: a clean end).
func (s *subscription) ended() error {
	s.t.Helper()
	return s.Ended(s.t, eventWait)
}

// wantSeqs checks records are exactly the sequence numbers want, in order.
func wantSeqs(t *testing.T, recs []types.Record, want []string) {
	t.Helper()
	got := make([]string, len(recs))
	for i, r := range recs {
		got[i] = *r.SequenceNumber
	}
	if !slices.Equal(got, want) {
		t.Fatalf("records out of order, missing or repeated:\n got %d: %v\nwant %d: %v", len(got), got, len(want), want)
	}
}

var latestPos = types.StartingPosition{Type: types.ShardIteratorTypeLatest}

func afterPos(seq string) types.StartingPosition {
	return types.StartingPosition{Type: types.ShardIteratorTypeAfterSequenceNumber, SequenceNumber: aws.String(seq)}
}

// TestSubscribeDeliversAndResumes: records written during a subscription arrive in order exactly
// once, also while the writer runs concurrently; a new subscription AFTER the last continuation
// number gets exactly what was written in between.
func TestSubscribeDeliversAndResumes(t *testing.T) {
	eachEngineWith(t, withSubscribe(time.Minute, 100*time.Millisecond), func(t *testing.T, s *kinesistest.Server) {
		arn := consumerOn(t, s, "fan", "c1")
		sub := mustSubscribe(t, s, arn, latestPos)
		if first := sub.next(); len(first.Records) != 0 {
			t.Fatalf("LATEST on an empty shard delivered %d records", len(first.Records))
		}
		written := make(chan []string, 1)
		go func() {
			var seqs []string
			for i := range 5 {
				seqs = append(seqs, kinesistest.PutN(t, s.Client, "fan", fmt.Sprintf("b%d", i), 60)...)
			}
			written <- seqs
		}()
		recs, last := sub.collect(300)
		want := <-written
		wantSeqs(t, recs, want)
		for i, r := range recs {
			if *r.PartitionKey != fmt.Sprintf("b%d-%d", i/60, i%60) || string(r.Data) != "data "+*r.PartitionKey {
				t.Fatalf("record %d: key %q data %q", i, *r.PartitionKey, r.Data)
			}
		}
		if *last.ContinuationSequenceNumber != want[len(want)-1] {
			t.Errorf("ContinuationSequenceNumber %s, want the last record's %s", *last.ContinuationSequenceNumber, want[len(want)-1])
		}
		sub.Stream.Close()

		more := kinesistest.PutN(t, s.Client, "fan", "gap", 40)
		elapse(t, s, takeover) // the old subscription may not have noticed its client left yet
		sub2 := mustSubscribe(t, s, arn, afterPos(*last.ContinuationSequenceNumber))
		recs2, _ := sub2.collect(40)
		wantSeqs(t, recs2, more)
		live := kinesistest.PutN(t, s.Client, "fan", "live", 5)
		recs3, _ := sub2.collect(5)
		wantSeqs(t, recs3, live)
	})
}

// TestSubscribeStartingPositions: every StartingPosition type starts where GetShardIterator's would,
// and the bad ones are refused before any streaming, as ordinary errors.
func TestSubscribeStartingPositions(t *testing.T) {
	s := startSubscribe(t, time.Minute, 100*time.Millisecond)
	createStream(t, s.Client, "pos", 1)
	early := kinesistest.PutN(t, s.Client, "pos", "early", 5)
	elapse(t, s, time.Second)
	mid := serverNow(s).Truncate(time.Millisecond) // arrival times are whole milliseconds
	late := kinesistest.PutN(t, s.Client, "pos", "late", 5)
	all := append(slices.Clone(early), late...)
	shards, err := s.Client.ListShards(t.Context(), &kinesis.ListShardsInput{StreamName: aws.String("pos")})
	if err != nil {
		t.Fatal(err)
	}
	startSeq := *shards.Shards[0].SequenceNumberRange.StartingSequenceNumber

	tests := []struct {
		name string
		pos  types.StartingPosition
		want []string
	}{
		{"TRIM_HORIZON", types.StartingPosition{Type: types.ShardIteratorTypeTrimHorizon}, all},
		{"LATEST", latestPos, nil},
		{"AT_SEQUENCE_NUMBER", types.StartingPosition{Type: types.ShardIteratorTypeAtSequenceNumber, SequenceNumber: aws.String(all[3])}, all[3:]},
		{"AFTER_SEQUENCE_NUMBER", afterPos(all[3]), all[4:]},
		{"AFTER_SEQUENCE_NUMBER last", afterPos(all[9]), nil},
		{"AFTER_SEQUENCE_NUMBER shard start", afterPos(startSeq), all},
		{"AT_SEQUENCE_NUMBER shard start", types.StartingPosition{Type: types.ShardIteratorTypeAtSequenceNumber, SequenceNumber: aws.String(startSeq)}, all},
		{"AT_TIMESTAMP", types.StartingPosition{Type: types.ShardIteratorTypeAtTimestamp, Timestamp: aws.Time(mid)}, late},
		{"AT_TIMESTAMP before all", types.StartingPosition{Type: types.ShardIteratorTypeAtTimestamp, Timestamp: aws.Time(mid.Add(-time.Hour))}, all},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub := mustSubscribe(t, s, consumerOn(t, s, "pos", fmt.Sprintf("c%d", i)), tt.pos)
			if len(tt.want) == 0 {
				if ev := sub.next(); len(ev.Records) != 0 {
					t.Fatalf("got %d records, want none", len(ev.Records))
				}
				return
			}
			recs, _ := sub.collect(len(tt.want))
			wantSeqs(t, recs, tt.want)
		})
	}

	arn := consumerOn(t, s, "pos", "bad")
	refused := []struct {
		name, code string
		in         kinesis.SubscribeToShardInput
	}{
		{"AT_SEQUENCE_NUMBER without number", "InvalidArgumentException", kinesis.SubscribeToShardInput{ConsumerARN: &arn, ShardId: aws.String(shard0),
			StartingPosition: &types.StartingPosition{Type: types.ShardIteratorTypeAtSequenceNumber}}},
		{"LATEST with number", "InvalidArgumentException", kinesis.SubscribeToShardInput{ConsumerARN: &arn, ShardId: aws.String(shard0),
			StartingPosition: &types.StartingPosition{Type: types.ShardIteratorTypeLatest, SequenceNumber: aws.String(all[0])}}},
		{"AT_TIMESTAMP without time", "InvalidArgumentException", kinesis.SubscribeToShardInput{ConsumerARN: &arn, ShardId: aws.String(shard0),
			StartingPosition: &types.StartingPosition{Type: types.ShardIteratorTypeAtTimestamp}}},
		{"AT_TIMESTAMP in the future", "InvalidArgumentException", kinesis.SubscribeToShardInput{ConsumerARN: &arn, ShardId: aws.String(shard0),
			StartingPosition: &types.StartingPosition{Type: types.ShardIteratorTypeAtTimestamp, Timestamp: aws.Time(serverNow(s).Add(time.Hour))}}},
		{"sequence number of another shard", "InvalidArgumentException", kinesis.SubscribeToShardInput{ConsumerARN: &arn, ShardId: aws.String(shard0),
			StartingPosition: &types.StartingPosition{Type: types.ShardIteratorTypeAtSequenceNumber,
				SequenceNumber: aws.String(seqnum.Format(1, 1))}}},
		{"unknown shard", "ResourceNotFoundException", kinesis.SubscribeToShardInput{ConsumerARN: &arn, ShardId: aws.String("shardId-000000000007"),
			StartingPosition: &latestPos}},
		{"unknown consumer", "ResourceNotFoundException", kinesis.SubscribeToShardInput{ConsumerARN: aws.String(streamARN("pos") + "/consumer/nobody:1700000000"),
			ShardId: aws.String(shard0), StartingPosition: &latestPos}},
		{"malformed consumer ARN", "ValidationException", kinesis.SubscribeToShardInput{ConsumerARN: aws.String("arn:nope"),
			ShardId: aws.String(shard0), StartingPosition: &latestPos}},
		{"dry run", "DryRunOperationException", kinesis.SubscribeToShardInput{ConsumerARN: &arn, ShardId: aws.String(shard0),
			StartingPosition: &latestPos, DryRun: aws.Bool(true)}},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Client.SubscribeToShard(t.Context(), &tt.in)
			wantAPIError(t, err, tt.code, 400, "")
		})
	}
}

// TestSubscribeRetention: records past the stream's retention are never delivered.
func TestSubscribeRetention(t *testing.T) {
	skipOnBinary(t, "records expire after 24 hours of the fake clock")
	s := startSubscribe(t, time.Minute, 100*time.Millisecond)
	arn := consumerOn(t, s, "old", "c")
	old := kinesistest.PutN(t, s.Client, "old", "old", 3)
	s.Clock.Advance(25 * time.Hour)
	fresh := kinesistest.PutN(t, s.Client, "old", "new", 2)
	sub := mustSubscribe(t, s, arn, types.StartingPosition{Type: types.ShardIteratorTypeAtSequenceNumber, SequenceNumber: aws.String(old[0])})
	recs, _ := sub.collect(2)
	wantSeqs(t, recs, fresh)
}
