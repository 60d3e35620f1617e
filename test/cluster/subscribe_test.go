package cluster_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/kinesistest"
)

// subscribeTakeover is the front-ends' takeover window (AWS's 5 s: frontEnds keeps the default), on
// their shared fake clock.
const subscribeTakeover = 5 * time.Second

// TestClusterSubscribeOnTwoFrontEnds: one subscription per consumer and shard holds across front-ends.
// A consumer subscribes to a shard through B, then again through A at once: AWS refuses the second
// with ResourceInUseException (within 5 s of the first). Past the window, subscribing through A takes
// over: B's subscription, which only its lease tells of it, ends with a ResourceInUseException event
// within a couple of seconds, and the new subscription on A receives what is written through A.
func TestClusterSubscribeOnTwoFrontEnds(t *testing.T) {
	a, b := frontEnds(t)
	ctx := t.Context()
	if _, err := a.Client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("lease"), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	waitActive(t, b.Client, "lease")
	reg, err := a.Client.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{
		StreamARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/lease"), ConsumerName: aws.String("one")})
	if err != nil {
		t.Fatal(err)
	}
	arn, shard := *reg.Consumer.ConsumerARN, "shardId-000000000000"
	pos := types.StartingPosition{Type: types.ShardIteratorTypeLatest}
	onB := subscribe(t, b.Endpoint, arn, shard, pos)
	_, err = kinesistest.NewClient(a.Endpoint).SubscribeToShard(ctx, &kinesis.SubscribeToShardInput{
		ConsumerARN: aws.String(arn), ShardId: aws.String(shard), StartingPosition: &pos})
	var inUse *types.ResourceInUseException
	if !errors.As(err, &inUse) {
		t.Fatalf("a second subscription through another front-end at once: %v; want ResourceInUseException", err)
	}

	a.Clock.Advance(subscribeTakeover) // both front-ends' clock
	onA := subscribe(t, a.Endpoint, arn, shard, pos)
	start := time.Now()
	if err := onB.Ended(t, 2*time.Second); !errors.As(err, &inUse) {
		t.Fatalf("subscription on B after A took over ended with %v; want ResourceInUseException", err)
	}
	t.Logf("B's subscription ended %s after A's took over", time.Since(start).Round(time.Millisecond))

	seqs := kinesistest.PutN(t, a.Client, "lease", "k", 20)
	recs, _ := onA.Collect(t, len(seqs), eventWait)
	if got := seqsOf(recs); !slices.Equal(got, seqs) {
		t.Fatalf("subscription on A received %v, want %v", got, seqs)
	}
}
