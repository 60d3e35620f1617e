package api_test

import (
	"fmt"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/kinesistest"
)

const acct = "000000000000"

func describeShards(t *testing.T, c *kinesis.Client, stream string) []types.Shard {
	t.Helper()
	out, err := c.DescribeStream(t.Context(), &kinesis.DescribeStreamInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatalf("DescribeStream: %v", err)
	}
	return out.StreamDescription.Shards
}

func putAt(t *testing.T, c *kinesis.Client, stream, hashKey, data string) *kinesis.PutRecordOutput {
	t.Helper()
	out, err := c.PutRecord(t.Context(), &kinesis.PutRecordInput{StreamName: aws.String(stream), PartitionKey: aws.String("k"),
		ExplicitHashKey: aws.String(hashKey), Data: []byte(data)})
	if err != nil {
		t.Fatalf("PutRecord: %v", err)
	}
	return out
}

// drain reads a shard from TRIM_HORIZON to its end: for a closed shard until GetRecords returns no
// NextShardIterator (returning the ChildShards it gave), for an open one until a read is empty.
func drain(t *testing.T, c *kinesis.Client, stream, shard string) ([]types.Record, []types.ChildShard) {
	t.Helper()
	it, err := c.GetShardIterator(t.Context(), &kinesis.GetShardIteratorInput{
		StreamName: aws.String(stream), ShardId: aws.String(shard), ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
	})
	if err != nil {
		t.Fatalf("GetShardIterator %s: %v", shard, err)
	}
	iter := it.ShardIterator
	var recs []types.Record
	for range 100000 {
		res, err := c.GetRecords(t.Context(), &kinesis.GetRecordsInput{ShardIterator: iter})
		if err != nil {
			t.Fatalf("GetRecords %s: %v", shard, err)
		}
		recs = append(recs, res.Records...)
		if res.NextShardIterator == nil {
			return recs, res.ChildShards
		}
		if len(res.ChildShards) > 0 {
			t.Fatalf("%s: ChildShards with a NextShardIterator", shard)
		}
		if len(res.Records) == 0 {
			return recs, nil
		}
		iter = res.NextShardIterator
	}
	t.Fatalf("%s never drained", shard)
	return nil, nil
}

func seqLess(a, b string) bool {
	x, _ := new(big.Int).SetString(a, 10)
	y, _ := new(big.Int).SetString(b, 10)
	return x.Cmp(y) < 0
}

func TestReshardSplitShard(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createStream(t, c, "split", 1)
		before := putAt(t, c, "split", "5", "before")
		mid := new(big.Int).Lsh(big.NewInt(1), 127).String()
		max := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1)).String()
		elapse(t, s, time.Second)
		if _, err := c.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String("split"), ShardToSplit: aws.String("shardId-000000000000"),
			NewStartingHashKey: aws.String(mid)}); err != nil {
			t.Fatal(err)
		}
		shards := describeShards(t, c, "split")
		if got := shardIDs(shards); fmt.Sprint(got) != "[shardId-000000000000 shardId-000000000001 shardId-000000000002]" {
			t.Fatalf("shards %v", got)
		}
		if shards[0].SequenceNumberRange.EndingSequenceNumber == nil || !seqLess(*before.SequenceNumber, *shards[0].SequenceNumberRange.EndingSequenceNumber) &&
			*before.SequenceNumber != *shards[0].SequenceNumberRange.EndingSequenceNumber {
			t.Errorf("parent's EndingSequenceNumber %v, last record %s", shards[0].SequenceNumberRange.EndingSequenceNumber, *before.SequenceNumber)
		}
		midMinus1 := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 127), big.NewInt(1)).String()
		for i, want := range [][2]string{{"0", midMinus1}, {mid, max}} {
			sh := shards[i+1]
			if aws.ToString(sh.ParentShardId) != "shardId-000000000000" || sh.AdjacentParentShardId != nil || sh.SequenceNumberRange.EndingSequenceNumber != nil ||
				*sh.HashKeyRange.StartingHashKey != want[0] || *sh.HashKeyRange.EndingHashKey != want[1] {
				t.Errorf("child %d: parent %v range %s..%s", i, aws.ToString(sh.ParentShardId), *sh.HashKeyRange.StartingHashKey, *sh.HashKeyRange.EndingHashKey)
			}
		}
		after := putAt(t, c, "split", "5", "after")
		if *after.ShardId != "shardId-000000000001" || !seqLess(*before.SequenceNumber, *after.SequenceNumber) {
			t.Errorf("write after split went to %s with %s (before: %s)", *after.ShardId, *after.SequenceNumber, *before.SequenceNumber)
		}
		recs, children := drain(t, c, "split", "shardId-000000000000")
		if len(recs) != 1 || string(recs[0].Data) != "before" {
			t.Errorf("parent holds %d records", len(recs))
		}
		if len(children) != 2 || *children[0].ShardId != "shardId-000000000001" || *children[1].ShardId != "shardId-000000000002" ||
			fmt.Sprint(children[0].ParentShards) != "[shardId-000000000000]" || *children[1].HashKeyRange.StartingHashKey != mid {
			t.Errorf("ChildShards %+v", children)
		}
		if sum := summary(t, c, "split"); *sum.OpenShardCount != 2 || sum.StreamStatus != types.StreamStatusActive {
			t.Errorf("summary: %d open, %s", *sum.OpenShardCount, sum.StreamStatus)
		}

		split := func(shard, key string) error {
			_, err := c.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String("split"), ShardToSplit: aws.String(shard), NewStartingHashKey: aws.String(key)})
			return err
		}
		wantAPIError(t, split("shardId-000000000000", "7"), "InvalidArgumentException", 400,
			"Shard shardId-000000000000 in stream split under account "+acct+" has already been merged or split, and thus is not eligible for merging or splitting.")
		wantAPIError(t, split("shardId-000000000001", "1"), "InvalidArgumentException", 400,
			"NewStartingHashKey 1 used in SplitShard() on shard shardId-000000000001 in stream split under account "+acct+
				" is not both greater than one plus the shard's StartingHashKey 0 and less than the shard's EndingHashKey "+midMinus1+".")
		wantAPIError(t, split("shardId-000000000002", "999999999999999999999999999999999999999"), "InvalidArgumentException", 400,
			"NewStartingHashKey 999999999999999999999999999999999999999 used in SplitShard() on shard shardId-000000000002 in stream split under account "+acct+
				" is not both greater than one plus the shard's StartingHashKey "+mid+" and less than the shard's EndingHashKey "+max+".")
		wantAPIError(t, split("shardId-5", "7"), "ResourceNotFoundException", 400, "Could not find shard shardId-000000000005 in stream split under account "+acct+".")
		wantAPIError(t, split("ABKLFD8", "7"), "ResourceNotFoundException", 400, "Could not find shard ABKLFD8 in stream split under account "+acct+".")
		_, err := c.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String("nope"), ShardToSplit: aws.String("shardId-0"), NewStartingHashKey: aws.String("7")})
		wantAPIError(t, err, "ResourceNotFoundException", 400, "Stream nope under account "+acct+" not found.")
		wantAPIError(t, split("shardId-000000000001", "x"), "ValidationException", 400,
			`1 validation error detected: Value 'x' at 'newStartingHashKey' failed to satisfy constraint: Member must satisfy regular expression pattern: 0|([1-9]\d{0,38})`)
	})
}

func TestReshardMergeShards(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createStream(t, c, "merge", 3)
		merge := func(a, b string) error {
			_, err := c.MergeShards(ctx, &kinesis.MergeShardsInput{StreamName: aws.String("merge"), ShardToMerge: aws.String(a), AdjacentShardToMerge: aws.String(b)})
			return err
		}
		wantAPIError(t, merge("shardId-000000000000", "shardId-000000000002"), "InvalidArgumentException", 400,
			"Shards shardId-000000000000 and shardId-000000000002 in stream merge under account "+acct+" are not an adjacent pair of shards eligible for merging")
		wantAPIError(t, merge("shardId-000000000001", "shardId-000000000000"), "InvalidArgumentException", 400,
			"Shards shardId-000000000001 and shardId-000000000000 in stream merge under account "+acct+" are not an adjacent pair of shards eligible for merging")
		// The last shard and the first are not adjacent, though the last's end + 1 wraps to 0.
		wantAPIError(t, merge("shardId-000000000002", "shardId-000000000000"), "InvalidArgumentException", 400,
			"Shards shardId-000000000002 and shardId-000000000000 in stream merge under account "+acct+" are not an adjacent pair of shards eligible for merging")
		wantAPIError(t, merge("shardId-000000000000", "shardId-7"), "ResourceNotFoundException", 400,
			"Could not find shard shardId-000000000007 in stream merge under account "+acct+".")
		start1, _ := hashRange(1, 3)
		p := putAt(t, c, "merge", start1.String(), "in-1")
		if err := merge("shardId-000000000000", "shardId-000000000001"); err != nil {
			t.Fatal(err)
		}
		shards := describeShards(t, c, "merge")
		child := shards[3]
		_, end1 := hashRange(1, 3)
		if *child.ShardId != "shardId-000000000003" || aws.ToString(child.ParentShardId) != "shardId-000000000000" ||
			aws.ToString(child.AdjacentParentShardId) != "shardId-000000000001" || *child.HashKeyRange.StartingHashKey != "0" ||
			*child.HashKeyRange.EndingHashKey != end1.String() {
			t.Errorf("merged child %+v", child)
		}
		for _, i := range []int{0, 1} {
			if shards[i].SequenceNumberRange.EndingSequenceNumber == nil {
				t.Errorf("parent %d not closed", i)
			}
		}
		// Shard 0 closed with no records: its first read is its end.
		recs, children := drain(t, c, "merge", "shardId-000000000000")
		if len(recs) != 0 || len(children) != 1 || *children[0].ShardId != "shardId-000000000003" ||
			fmt.Sprint(children[0].ParentShards) != "[shardId-000000000000 shardId-000000000001]" {
			t.Errorf("empty closed shard: %d records, children %+v", len(recs), children)
		}
		recs, children = drain(t, c, "merge", "shardId-000000000001")
		if len(recs) != 1 || *recs[0].SequenceNumber != *p.SequenceNumber || len(children) != 1 {
			t.Errorf("closed shard 1: %d records, %d children", len(recs), len(children))
		}
		after := putAt(t, c, "merge", start1.String(), "in-3")
		if *after.ShardId != "shardId-000000000003" || !seqLess(*p.SequenceNumber, *after.SequenceNumber) {
			t.Errorf("write after merge: %s %s", *after.ShardId, *after.SequenceNumber)
		}
		wantAPIError(t, merge("shardId-000000000001", "shardId-000000000002"), "InvalidArgumentException", 400,
			"Shard shardId-000000000001 in stream merge under account "+acct+" has already been merged or split, and thus is not eligible for merging or splitting.")
		if err := merge("shardId-000000000003", "shardId-000000000002"); err != nil {
			t.Fatal(err)
		}
		if sum := summary(t, c, "merge"); *sum.OpenShardCount != 1 {
			t.Errorf("open shards %d", *sum.OpenShardCount)
		}
	})
}

func TestReshardUpdatingState(t *testing.T) {
	for _, e := range kinesistest.RunEngines() {
		t.Run(e.Name, func(t *testing.T) {
			s := kinesistest.Start(t, e, kinesistest.Options{Configure: withUpdateDelay})
			c, ctx := s.Client, t.Context()
			createStream(t, c, "busy", 2)
			if _, err := c.MergeShards(ctx, &kinesis.MergeShardsInput{StreamName: aws.String("busy"),
				ShardToMerge: aws.String("shardId-000000000000"), AdjacentShardToMerge: aws.String("shardId-000000000001")}); err != nil {
				t.Fatal(err)
			}
			if st := summary(t, c, "busy").StreamStatus; st != types.StreamStatusUpdating {
				t.Fatalf("status %s, want UPDATING", st)
			}
			inUse := "Stream busy under account " + acct + " not ACTIVE, instead in state UPDATING"
			// The merge takes effect when UPDATING ends: until then shard 0 is open (pending_test.go).
			_, err := c.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String("busy"), ShardToSplit: aws.String("shardId-000000000000"), NewStartingHashKey: aws.String("100")})
			wantAPIError(t, err, "ResourceInUseException", 400, inUse)
			_, err = c.UpdateShardCount(ctx, &kinesis.UpdateShardCountInput{StreamName: aws.String("busy"), TargetShardCount: aws.Int32(2), ScalingType: types.ScalingTypeUniformScaling})
			wantAPIError(t, err, "ResourceInUseException", 400, inUse)
			arn := "arn:aws:kinesis:us-east-1:" + acct + ":stream/busy"
			_, err = c.UpdateStreamMode(ctx, &kinesis.UpdateStreamModeInput{StreamARN: aws.String(arn), StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand}})
			wantAPIError(t, err, "ResourceInUseException", 400, inUse)
			putAt(t, c, "busy", "0", "while updating") // writes go on
			elapse(t, s, updateDelay)
			if st := summary(t, c, "busy").StreamStatus; st != types.StreamStatusActive {
				t.Fatalf("status %s after the delay, want ACTIVE", st)
			}
			if _, err := c.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String("busy"), ShardToSplit: aws.String("shardId-000000000002"), NewStartingHashKey: aws.String("100")}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// checkCover checks that the open shards cover [0, 2^128−1] with no gap or overlap, in n ranges whose
// sizes differ by at most one, each made by a split or merge of closed shards.
func checkCover(t *testing.T, shards []types.Shard, n int) {
	t.Helper()
	closed := map[string]bool{}
	var open []types.Shard
	for _, sh := range shards {
		if sh.SequenceNumberRange.EndingSequenceNumber != nil {
			closed[*sh.ShardId] = true
		} else {
			open = append(open, sh)
		}
	}
	if len(open) != n {
		t.Fatalf("%d open shards, want %d", len(open), n)
	}
	key := func(s *string) *big.Int { v, _ := new(big.Int).SetString(*s, 10); return v }
	slices.SortFunc(open, func(a, b types.Shard) int {
		return key(a.HashKeyRange.StartingHashKey).Cmp(key(b.HashKeyRange.StartingHashKey))
	})
	next := big.NewInt(0)
	var lo, hi *big.Int
	for _, sh := range open {
		start, end := key(sh.HashKeyRange.StartingHashKey), key(sh.HashKeyRange.EndingHashKey)
		if start.Cmp(next) != 0 {
			t.Fatalf("%s starts at %s, want %s", *sh.ShardId, start, next)
		}
		size := new(big.Int).Sub(end, start)
		if lo == nil || size.Cmp(lo) < 0 {
			lo = size
		}
		if hi == nil || size.Cmp(hi) > 0 {
			hi = size
		}
		next = new(big.Int).Add(end, big.NewInt(1))
		if sh.ParentShardId != nil && !closed[*sh.ParentShardId] || sh.AdjacentParentShardId != nil && !closed[*sh.AdjacentParentShardId] {
			t.Errorf("%s has an open parent", *sh.ShardId)
		}
	}
	if next.Cmp(new(big.Int).Lsh(big.NewInt(1), 128)) != 0 {
		t.Fatalf("open shards end at %s", next)
	}
	if new(big.Int).Sub(hi, lo).Cmp(big.NewInt(1)) > 0 {
		t.Errorf("sizes from %s to %s", lo, hi)
	}
	for _, sh := range shards {
		if sh.AdjacentParentShardId != nil && sh.ParentShardId == nil {
			t.Errorf("%s: adjacent parent without parent", *sh.ShardId)
		}
	}
}

func TestUpdateShardCount(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		for _, tc := range [][2]int{{4, 8}, {8, 4}, {2, 3}, {3, 5}, {5, 3}, {4, 7}, {10, 5}, {3, 3}, {1, 2}} {
			name := fmt.Sprintf("usc-%d-%d", tc[0], tc[1])
			createStream(t, c, name, int32(tc[0]))
			// A record in every shard, to see it again after the rescale.
			var puts []*kinesis.PutRecordOutput
			for i := range tc[0] {
				start, _ := hashRange(i, tc[0])
				puts = append(puts, putAt(t, c, name, start.String(), name))
			}
			out, err := c.UpdateShardCount(ctx, &kinesis.UpdateShardCountInput{StreamName: aws.String(name),
				TargetShardCount: aws.Int32(int32(tc[1])), ScalingType: types.ScalingTypeUniformScaling})
			if err != nil {
				t.Fatalf("%v: %v", tc, err)
			}
			if *out.CurrentShardCount != int32(tc[0]) || *out.TargetShardCount != int32(tc[1]) || *out.StreamName != name ||
				*out.StreamARN != "arn:aws:kinesis:us-east-1:"+acct+":stream/"+name {
				t.Errorf("%v: output %+v", tc, out)
			}
			checkCover(t, describeShards(t, c, name), tc[1])
			for i, p := range puts {
				recs, _ := drain(t, c, name, *p.ShardId)
				if len(recs) != 1 || *recs[0].SequenceNumber != *p.SequenceNumber {
					t.Errorf("%v: shard %d lost its record", tc, i)
				}
			}
		}

		update := func(name string, n int32) error {
			_, err := c.UpdateShardCount(ctx, &kinesis.UpdateShardCountInput{StreamName: aws.String(name), TargetShardCount: aws.Int32(n), ScalingType: types.ScalingTypeUniformScaling})
			return err
		}
		createStream(t, c, "bounds", 6)
		wantAPIError(t, update("bounds", 13), "LimitExceededException", 400,
			"UpdateShardCount cannot scale up over double your current open shard count. Current open shard count: 6, Target shard count: 13")
		wantAPIError(t, update("bounds", 2), "LimitExceededException", 400,
			"UpdateShardCount cannot scale down below half your current open shard count. Current open shard count: 6, Target shard count: 2")
		wantAPIError(t, update("bounds", 10001), "LimitExceededException", 400,
			"Target shard count or number of open shards cannot be greater than 10000. Current open shard count: 6, Target shard count: 10001")

		// At most 10 calls per stream in any 24 hours.
		for i := range 10 {
			if err := update("bounds", int32(6+i%2)); err != nil {
				t.Fatalf("call %d: %v", i+1, err)
			}
			if s.Clock != nil { // an hour apart in process; against the binary within seconds, the same to a 24-hour window
				s.Clock.Advance(time.Hour)
			}
		}
		wantAPIError(t, update("bounds", 6), "LimitExceededException", 400,
			"UpdateShardCount failed for stream bounds under account "+acct+". The stream has been rescaled 10 times in the last 24 hours, the most allowed.")
		inProcessPart(t, s, "the rolling window is 24 hours of the fake clock", func() {
			s.Clock.Advance(14*time.Hour + time.Millisecond) // the first call is now 24 h old
			if err := update("bounds", 6); err != nil {
				t.Fatalf("after the window: %v", err)
			}
		})

		_, err := c.UpdateShardCount(ctx, &kinesis.UpdateShardCountInput{StreamName: aws.String("nope"), TargetShardCount: aws.Int32(1), ScalingType: types.ScalingTypeUniformScaling})
		wantAPIError(t, err, "ResourceNotFoundException", 400, "Stream nope under account "+acct+" not found.")
		_, err = c.UpdateShardCount(ctx, &kinesis.UpdateShardCountInput{StreamName: aws.String("bounds"), TargetShardCount: aws.Int32(0), ScalingType: "SCALE"})
		wantAPIError(t, err, "ValidationException", 400, "2 validation errors detected: "+
			"Value 'SCALE' at 'scalingType' failed to satisfy constraint: Member must satisfy enum value set: [UNIFORM_SCALING]; "+
			"Value '0' at 'targetShardCount' failed to satisfy constraint: Member must have value greater than or equal to 1")
	})
}
