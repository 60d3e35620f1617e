package api_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/config"
	"kinesisd/internal/kinesistest"
)

// TestReshardUnderLoad writes continuously from several goroutines while the stream is split, merged
// and rescaled, then reads every shard lineage in order (a shard only after all its parents, following
// the ChildShards that GetRecords gives at each closed shard's end) and finds every acknowledged record
// exactly once, in its acknowledged shard, with every child's sequence numbers above its parents'. With
// an update delay, each change waits while writes go on, then takes effect when the clock has moved on
// (the writers and the step's DescribeStreamSummary calls race to make it happen).
func TestReshardUnderLoad(t *testing.T) {
	for _, e := range kinesistest.RunEngines() {
		for _, delay := range []time.Duration{0, updateDelay} {
			t.Run(fmt.Sprintf("%s/delay=%s", e.Name, delay), func(t *testing.T) { reshardUnderLoad(t, e, delay) })
		}
	}
}

func reshardUnderLoad(t *testing.T, e kinesistest.Engine, delay time.Duration) {
	s := kinesistest.Start(t, e, kinesistest.Options{Configure: func(c *config.Config) {
		c.ThroughputLimits = false
		c.UpdateStreamDelay = delay
	}})
	c, ctx := s.Client, t.Context()
	const stream = "busy"
	createStream(t, c, stream, 2)

	type ack struct{ shard, data string }
	var (
		mu    sync.Mutex
		acked = map[string]ack{} // by sequence number
		count atomic.Int64
		stop  = make(chan struct{})
		wg    sync.WaitGroup
	)
	for w := range 4 {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				recs := make([]types.PutRecordsRequestEntry, 20)
				for i := range recs {
					k, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
					recs[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String("k"), ExplicitHashKey: aws.String(k.String()),
						Data: fmt.Appendf(nil, "w%d-%d-%d", w, n, i)}
				}
				out, err := c.PutRecords(context.Background(), &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: recs})
				if err != nil {
					t.Errorf("PutRecords: %v", err)
					return
				}
				mu.Lock()
				for i, r := range out.Records {
					if r.ErrorCode != nil {
						continue // not acknowledged
					}
					if _, dup := acked[*r.SequenceNumber]; dup {
						t.Errorf("sequence number %s acknowledged twice", *r.SequenceNumber)
					}
					acked[*r.SequenceNumber] = ack{*r.ShardId, string(recs[i].Data)}
				}
				mu.Unlock()
				count.Add(int64(len(out.Records)))
			}
		})
	}
	// Each step waits until more records have gone in, so every shard generation takes writes.
	progress := func() {
		t.Helper()
		target := count.Load() + 400
		for count.Load() < target && !t.Failed() {
			_, _ = c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
		}
	}
	open := func() []types.Shard {
		var out []types.Shard
		for _, sh := range describeShards(t, c, stream) {
			if sh.SequenceNumberRange.EndingSequenceNumber == nil {
				out = append(out, sh)
			}
		}
		return out
	}
	steps := []func() error{
		func() error { // split the first open shard in the middle
			sh := open()[0]
			lo, _ := new(big.Int).SetString(*sh.HashKeyRange.StartingHashKey, 10)
			hi, _ := new(big.Int).SetString(*sh.HashKeyRange.EndingHashKey, 10)
			mid := new(big.Int).Rsh(new(big.Int).Add(lo, hi), 1)
			_, err := c.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String(stream), ShardToSplit: sh.ShardId, NewStartingHashKey: aws.String(mid.String())})
			return err
		},
		func() error { // merge the two lowest open shards
			shards := open()
			lo, hi := shards[0], shards[1]
			for _, sh := range shards {
				if *sh.HashKeyRange.StartingHashKey == "0" {
					lo = sh
				}
			}
			end, _ := new(big.Int).SetString(*lo.HashKeyRange.EndingHashKey, 10)
			for _, sh := range shards {
				if *sh.HashKeyRange.StartingHashKey == new(big.Int).Add(end, big.NewInt(1)).String() {
					hi = sh
				}
			}
			_, err := c.MergeShards(ctx, &kinesis.MergeShardsInput{StreamName: aws.String(stream), ShardToMerge: lo.ShardId, AdjacentShardToMerge: hi.ShardId})
			return err
		},
		func() error { return updateCount(c, stream, 4) },
		func() error { return updateCount(c, stream, 3) },
		func() error { return updateCount(c, stream, 5) },
		func() error { return updateCount(c, stream, 3) },
	}
	for i, step := range steps {
		progress()
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if delay > 0 {
			progress() // the change waits: the writes go to the old shards
			elapse(t, s, delay)
		}
	}
	progress()
	close(stop)
	wg.Wait()
	if t.Failed() {
		return
	}

	// Read the lineages: roots first, a child once all its parents are read.
	shards := describeShards(t, c, stream)
	parents := map[string][]string{}
	for _, sh := range shards {
		for _, p := range []*string{sh.ParentShardId, sh.AdjacentParentShardId} {
			if p != nil {
				parents[*sh.ShardId] = append(parents[*sh.ShardId], *p)
			}
		}
	}
	read := map[string][]types.Record{}
	var queue []string
	for _, sh := range shards {
		if len(parents[*sh.ShardId]) == 0 {
			queue = append(queue, *sh.ShardId)
		}
	}
	seen := map[string]bool{}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		if _, done := read[id]; done {
			continue
		}
		recs, children := drain(t, c, stream, id)
		read[id] = recs
		for _, child := range children {
			ready := true
			for _, p := range child.ParentShards {
				if _, done := read[p]; !done {
					ready = false
				}
			}
			if ready {
				queue = append(queue, *child.ShardId)
			}
		}
		for _, r := range recs {
			a, ok := acked[*r.SequenceNumber]
			switch {
			case seen[*r.SequenceNumber]:
				t.Errorf("%s: record %s read twice", id, *r.SequenceNumber)
			case !ok:
				t.Errorf("%s: record %s was never acknowledged", id, *r.SequenceNumber)
			case a.shard != id || a.data != string(r.Data):
				t.Errorf("%s: record %s acknowledged in %s as %q, read as %q", id, *r.SequenceNumber, a.shard, a.data, r.Data)
			}
			seen[*r.SequenceNumber] = true
		}
	}
	if len(read) != len(shards) {
		t.Errorf("read %d of %d shards following the lineage", len(read), len(shards))
	}
	if len(seen) != len(acked) {
		t.Errorf("read %d of %d acknowledged records", len(seen), len(acked))
	}
	for child, ps := range parents {
		for _, p := range ps {
			pr, cr := read[p], read[child]
			if len(pr) > 0 && len(cr) > 0 && !seqLess(*pr[len(pr)-1].SequenceNumber, *cr[0].SequenceNumber) {
				t.Errorf("child %s starts at %s, not above parent %s's last %s", child, *cr[0].SequenceNumber, p, *pr[len(pr)-1].SequenceNumber)
			}
		}
	}
	t.Logf("%d records over %d shards", len(acked), len(shards))
}

func updateCount(c *kinesis.Client, stream string, n int32) error {
	_, err := c.UpdateShardCount(context.Background(), &kinesis.UpdateShardCountInput{StreamName: aws.String(stream), TargetShardCount: aws.Int32(n),
		ScalingType: types.ScalingTypeUniformScaling})
	return err
}
