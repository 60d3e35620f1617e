package cluster_test

import (
	"math/big"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// TestClusterSplitWhileOtherFrontEndWrites splits a shard through front-end B while front-end A
// writes to it, then reads the parent and its children: every record A had acknowledged must be
// there, exactly once, in order within each shard. B's split seals the parent in JetStream
// (storage.Store.Seal); A's appends stored after the seal are refused and routed again to the
// children, never acknowledged with a sequence number past the parent's end. Then an
// UpdateShardCount through B closes both children at once, under the same load.
func TestClusterSplitWhileOtherFrontEndWrites(t *testing.T) {
	a, b := frontEnds(t)
	ctx := t.Context()
	if _, err := a.Client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("split"), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	waitActive(t, b.Client, "split")
	l := startLoad(t, "split", "split", []string{a.Endpoint}, 4)
	l.waitMore(2000, 30*time.Second)
	half := new(big.Int).Lsh(big.NewInt(1), 127)
	if _, err := b.Client.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String("split"),
		ShardToSplit: aws.String("shardId-000000000000"), NewStartingHashKey: aws.String(half.String())}); err != nil {
		t.Fatal(err)
	}
	waitActive(t, b.Client, "split")
	l.waitMore(2000, 30*time.Second)
	// Then both children and more at once: UpdateShardCount closes every open shard.
	if _, err := b.Client.UpdateShardCount(ctx, &kinesis.UpdateShardCountInput{StreamName: aws.String("split"),
		TargetShardCount: aws.Int32(3), ScalingType: types.ScalingTypeUniformScaling}); err != nil {
		t.Fatal(err)
	}
	waitActive(t, b.Client, "split")
	l.waitMore(2000, 30*time.Second)
	l.stop()
	read := l.check(b.Client)
	t.Logf("%d records acknowledged, %d read", len(l.acked), read)
}
