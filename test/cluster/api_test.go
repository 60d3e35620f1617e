package cluster_test

import (
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/config"
	"kinesisd/internal/kinesistest"
	"kinesisd/internal/storage/jetstream/natstest"
)

// frontEnds starts two in-process kinesisd front-ends over one 3-node cluster (replicas 3), on one
// fake clock.
func frontEnds(t *testing.T) (a, b *kinesistest.Server) {
	t.Helper()
	natstest.SkipUnlessCluster(t)
	configure := func(c *config.Config) {
		c.ThroughputLimits = false
		c.SubscribeLifetime, c.SubscribeHeartbeat = time.Minute, 100*time.Millisecond
	}
	a = kinesistest.Start(t, kinesistest.JetStream3, kinesistest.Options{Configure: configure})
	b = kinesistest.Start(t, kinesistest.JetStream3, kinesistest.Options{Configure: configure, NATSURL: a.NATSURL(), Clock: a.Clock})
	return a, b
}

// TestClusterAPI is the smoke subset of the API suite on a 3-node cluster, through two front-ends at
// once: a stream created on one is served by the other; records written through A are readable
// through B at once, in order; iterators and sequence numbers from one front-end work on the other;
// AT_TIMESTAMP finds A's records on B; a split made through B routes A's next writes to the children
// and B reads the lineage; a consumer registered through A receives, on B, records written through A.
func TestClusterAPI(t *testing.T) {
	a, b := frontEnds(t)
	ctx := t.Context()
	if _, err := a.Client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("smoke"), ShardCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	waitActive(t, b.Client, "smoke")
	shard0 := aws.String("shardId-000000000000")

	// Written through A, read through B at once; every record on the shard PutRecords named.
	before := b.Clock.Now()
	seqs := kinesistest.PutN(t, a.Client, "smoke", "a", 200)
	byShard := map[string][]string{}
	shards, err := b.Client.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("smoke")})
	if err != nil || len(shards.Shards) != 2 {
		t.Fatalf("ListShards through B: %v, %v", shards, err)
	}
	total := 0
	for _, sh := range shards.Shards {
		recs, _ := drain(t, b.Client, iterator(t, b.Client, &kinesis.GetShardIteratorInput{
			StreamName: aws.String("smoke"), ShardId: sh.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon}))
		byShard[*sh.ShardId] = seqsOf(recs)
		if !slices.IsSortedFunc(recs, func(x, y types.Record) int { return seq(x).Cmp(seq(y)) }) {
			t.Errorf("%s: records out of order through B", *sh.ShardId)
		}
		total += len(recs)
	}
	if total != len(seqs) {
		t.Fatalf("B reads %d records right after A acknowledged %d", total, len(seqs))
	}
	for _, s := range seqs {
		if !slices.Contains(byShard["shardId-000000000000"], s) && !slices.Contains(byShard["shardId-000000000001"], s) {
			t.Fatalf("acknowledged %s not read through B", s)
		}
	}

	// An iterator issued by A reads on B, and B's NextShardIterator reads on A.
	itA := iterator(t, a.Client, &kinesis.GetShardIteratorInput{StreamName: aws.String("smoke"), ShardId: shard0,
		ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	res, err := b.Client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String(itA), Limit: aws.Int32(5)})
	if err != nil || len(res.Records) != 5 {
		t.Fatalf("A's iterator on B: %v records, %v", res, err)
	}
	rest, _ := drain(t, a.Client, *res.NextShardIterator)
	if got := append(seqsOf(res.Records), seqsOf(rest)...); !slices.Equal(got, byShard[*shard0]) {
		t.Errorf("A reading on from B's iterator: %d records, want %d", len(got), len(byShard[*shard0]))
	}
	// A sequence number A returned positions an iterator on B; AT_TIMESTAMP on B finds A's records.
	mid := byShard[*shard0][len(byShard[*shard0])/2]
	recs, _ := drain(t, b.Client, iterator(t, b.Client, &kinesis.GetShardIteratorInput{StreamName: aws.String("smoke"), ShardId: shard0,
		ShardIteratorType: types.ShardIteratorTypeAfterSequenceNumber, StartingSequenceNumber: aws.String(mid)}))
	if want := byShard[*shard0][len(byShard[*shard0])/2+1:]; !slices.Equal(seqsOf(recs), want) {
		t.Errorf("AFTER_SEQUENCE_NUMBER on B: %d records, want %d", len(recs), len(want))
	}
	recs, _ = drain(t, b.Client, iterator(t, b.Client, &kinesis.GetShardIteratorInput{StreamName: aws.String("smoke"), ShardId: shard0,
		ShardIteratorType: types.ShardIteratorTypeAtTimestamp, Timestamp: aws.Time(before)}))
	if !slices.Equal(seqsOf(recs), byShard[*shard0]) {
		t.Errorf("AT_TIMESTAMP on B: %d records, want %d", len(recs), len(byShard[*shard0]))
	}

	// A consumer registered through A: a subscription on B receives what A writes.
	arn := "arn:aws:kinesis:us-east-1:000000000000:stream/smoke"
	reg, err := a.Client.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: aws.String(arn), ConsumerName: aws.String("fan")})
	if err != nil {
		t.Fatal(err)
	}
	sub := subscribe(t, b.Endpoint, *reg.Consumer.ConsumerARN, *shard0, types.StartingPosition{Type: types.ShardIteratorTypeLatest})
	live := kinesistest.PutN(t, a.Client, "smoke", "live", 100)
	var want []string
	for _, s := range live {
		if idx, _ := shardOf(s); idx == 0 {
			want = append(want, s)
		}
	}
	if len(want) == 0 {
		t.Fatal("no live record went to shard 0")
	}
	received, _ := sub.Collect(t, len(want), eventWait)
	if got := seqsOf(received); !slices.Equal(got, want) {
		t.Errorf("subscription on B: %v, want %v", got, want)
	}

	// Split through B; A routes its next writes to the children; B reads the lineage.
	sum, err := b.Client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("smoke")})
	if err != nil {
		t.Fatal(err)
	}
	hi, _ := new(big.Int).SetString(*shards.Shards[0].HashKeyRange.EndingHashKey, 10)
	if _, err := b.Client.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String("smoke"), ShardToSplit: shard0,
		NewStartingHashKey: aws.String(new(big.Int).Rsh(hi, 1).String())}); err != nil {
		t.Fatal(err)
	}
	waitActive(t, a.Client, "smoke")
	after := kinesistest.PutN(t, a.Client, "smoke", "after", 200)
	parent, children := drain(t, b.Client, iterator(t, b.Client, &kinesis.GetShardIteratorInput{StreamName: aws.String("smoke"), ShardId: shard0,
		ShardIteratorType: types.ShardIteratorTypeTrimHorizon}))
	if len(parent) != len(byShard[*shard0])+len(want) || len(children) != 2 {
		t.Fatalf("parent through B after the split: %d records (want %d), %d children", len(parent), len(byShard[*shard0])+len(want), len(children))
	}
	inChildren := 0
	for _, ch := range children {
		recs, _ := drain(t, b.Client, iterator(t, b.Client, &kinesis.GetShardIteratorInput{StreamName: aws.String("smoke"), ShardId: ch.ShardId,
			ShardIteratorType: types.ShardIteratorTypeTrimHorizon}))
		inChildren += len(recs)
	}
	toChildren := 0 // shards 2 and 3; the rest went to shard 1
	for _, s := range after {
		switch idx, _ := shardOf(s); idx {
		case 0:
			t.Fatalf("A wrote %s to the closed parent after the split", s)
		case 2, 3:
			toChildren++
		}
	}
	if toChildren == 0 || inChildren != toChildren {
		t.Errorf("%d records read in the children through B, %d written to them through A", inChildren, toChildren)
	}
	if n := *sum.StreamDescriptionSummary.OpenShardCount; n != 2 {
		t.Errorf("%d open shards before the split, want 2", n)
	}
}
