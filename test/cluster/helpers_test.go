// Package cluster_test runs kinesisd as a cluster: front-ends sharing a 3-node NATS JetStream cluster
// (replicas 3), in process and as real processes killed under load. Every test here needs
// KINESISD_CLUSTER_TESTS=1 (make clustertest), which runs them apart from the other packages.
package cluster_test

import (
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/kinesistest"
	"kinesisd/internal/service/seqnum"
)

// iterator returns a shard iterator.
func iterator(t *testing.T, c *kinesis.Client, in *kinesis.GetShardIteratorInput) string {
	t.Helper()
	out, err := c.GetShardIterator(t.Context(), in)
	if err != nil {
		t.Fatalf("GetShardIterator %s %s: %v", aws.ToString(in.ShardId), in.ShardIteratorType, err)
	}
	return *out.ShardIterator
}

// drain follows iter until a read returns nothing or the shard ends; it returns the records and the
// child shards of a closed shard's end.
func drain(t *testing.T, c *kinesis.Client, iter string) ([]types.Record, []types.ChildShard) {
	t.Helper()
	var out []types.Record
	for range 10000 {
		res, err := c.GetRecords(t.Context(), &kinesis.GetRecordsInput{ShardIterator: aws.String(iter)})
		if err != nil {
			t.Fatalf("GetRecords: %v", err)
		}
		out = append(out, res.Records...)
		if res.NextShardIterator == nil {
			return out, res.ChildShards
		}
		if len(res.Records) == 0 {
			return out, nil
		}
		iter = *res.NextShardIterator
	}
	t.Fatal("shard never drained")
	return nil, nil
}

// seqsOf returns the sequence numbers of recs.
func seqsOf(recs []types.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = *r.SequenceNumber
	}
	return out
}

// waitActive waits until the stream is ACTIVE as c sees it.
func waitActive(t *testing.T, c *kinesis.Client, stream string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := c.DescribeStreamSummary(t.Context(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
		var nf *types.ResourceNotFoundException
		switch {
		case err == nil && out.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive:
			return
		case err != nil && !errors.As(err, &nf):
			t.Fatalf("DescribeStreamSummary: %v", err)
		case time.Now().After(deadline):
			t.Fatalf("stream %s not ACTIVE within 30s", stream)
		}
		time.Sleep(20 * time.Millisecond) // polling the state
	}
}

// seq is a record's sequence number as a number.
func seq(r types.Record) *big.Int {
	n, _ := new(big.Int).SetString(*r.SequenceNumber, 10)
	return n
}

// shardOf is the shard index a sequence number belongs to.
func shardOf(s string) (uint32, error) {
	p, _, err := seqnum.Decode(s)
	return p.Shard, err
}

// eventWait bounds the wait for each SubscribeToShard event.
const eventWait = 20 * time.Second

// subscribe subscribes to shard on endpoint with a client of its own (kinesistest.Subscribe says why).
func subscribe(t *testing.T, endpoint, arn, shard string, pos types.StartingPosition) *kinesistest.Subscription {
	t.Helper()
	sub, err := kinesistest.Subscribe(t, kinesistest.NewClient(endpoint), arn, shard, pos)
	if err != nil {
		t.Fatalf("SubscribeToShard: %v", err)
	}
	return sub
}
