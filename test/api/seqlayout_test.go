package api_test

import (
	"encoding/base64"
	"math/big"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/kinesistest"
	"kinesisd/internal/service/seqnum"
)

// Sequence numbers in AWS's layout (issue 16 §2): decodable without a lookup, ordered within a shard,
// a child's above its parents' even when both were made in the same second, and the first form's
// numbers still taken wherever a number is.

func decodeV2(t *testing.T, s string) seqnum.Pos {
	t.Helper()
	p, form, err := seqnum.Decode(s)
	if err != nil || form != seqnum.V2 {
		t.Fatalf("sequence number %s: form %v, %v; want AWS's layout", s, form, err)
	}
	return p
}

func seqInt(t *testing.T, s string) *big.Int {
	t.Helper()
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		t.Fatalf("%q is not a decimal", s)
	}
	return n
}

func TestSequenceNumberLayout(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createStream(t, c, "layout", 1)
		sum, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("layout")})
		if err != nil {
			t.Fatal(err)
		}
		created := sum.StreamDescriptionSummary.StreamCreationTimestamp.Unix()
		var prev string
		var prevIndex uint64
		for i := range 5 {
			out, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("layout"), PartitionKey: aws.String("k"), Data: []byte{byte(i)}})
			if err != nil {
				t.Fatal(err)
			}
			p := decodeV2(t, *out.SequenceNumber)
			now := serverNow(s)
			if p.Shard != 0 || p.ShardCreated != created || p.Offset <= prevIndex || p.Tick != 0 || !sameServerTime(s, time.Unix(p.RecordTime, 0), now.Truncate(time.Second)) {
				t.Errorf("record %d: %+v, want shard 0 created %d, sequence index above %d, record time %d", i, p, created, prevIndex, now.Unix())
			}
			prevIndex = p.Offset
			if prev != "" && seqInt(t, *out.SequenceNumber).Cmp(seqInt(t, prev)) <= 0 {
				t.Errorf("record %d: %s not above %s", i, *out.SequenceNumber, prev)
			}
			prev = *out.SequenceNumber
		}
		recs := readShard(t, s, "layout", shard0)
		if len(recs) != 5 || *recs[4].SequenceNumber != prev {
			t.Fatalf("GetRecords: %d records, last %v; want 5 ending with %s", len(recs), recs, prev)
		}

		// The first form's number of the third record (the same shard and sequence index) positions
		// iterators as the new one does.
		third := decodeV2(t, *recs[2].SequenceNumber)
		legacy := seqnum.Format(third.Shard, third.Offset)
		for _, typ := range []types.ShardIteratorType{types.ShardIteratorTypeAtSequenceNumber, types.ShardIteratorTypeAfterSequenceNumber} {
			got := readAll(t, s, getIterator(t, s, &kinesis.GetShardIteratorInput{StreamName: aws.String("layout"), ShardId: aws.String(shard0),
				ShardIteratorType: typ, StartingSequenceNumber: aws.String(legacy)}))
			want := 3
			if typ == types.ShardIteratorTypeAfterSequenceNumber {
				want = 2
			}
			if len(got) != want || *got[0].SequenceNumber != *recs[5-want].SequenceNumber {
				t.Errorf("%s the legacy number %s: %d records from %v, want %d from %s", typ, legacy, len(got), got, want, *recs[5-want].SequenceNumber)
			}
		}

		// Shard iterators: the 8-byte header 00 00 00 00 00 00 00 01, then 16-byte blocks.
		it := getIterator(t, s, &kinesis.GetShardIteratorInput{StreamName: aws.String("layout"), ShardId: aws.String(shard0), ShardIteratorType: types.ShardIteratorTypeLatest})
		raw, err := base64.StdEncoding.DecodeString(it)
		if err != nil || len(raw) < 24 || string(raw[:8]) != "\x00\x00\x00\x00\x00\x00\x00\x01" || (len(raw)-8)%16 != 0 {
			t.Errorf("shard iterator %q: %d bytes, header % x, %v", it, len(raw), raw[:min(len(raw), 8)], err)
		}
	})
}

func TestChildSequenceNumbersAboveParentsInOneSecond(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createStream(t, c, "lineage", 2)
		put := func(key string) string {
			t.Helper()
			out, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("lineage"), PartitionKey: aws.String(key), Data: []byte(key),
				ExplicitHashKey: aws.String("1")})
			if err != nil {
				t.Fatal(err)
			}
			return *out.SequenceNumber
		}
		parentRec := put("parent")
		// In process the clock does not move: the stream, the split and the merge all happen in one second.
		_, err := c.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String("lineage"), ShardToSplit: aws.String(shard0), NewStartingHashKey: aws.String("1000")})
		if err != nil {
			t.Fatal(err)
		}
		childRec := put("child")
		_, err = c.MergeShards(ctx, &kinesis.MergeShardsInput{StreamName: aws.String("lineage"), ShardToMerge: aws.String("shardId-000000000002"),
			AdjacentShardToMerge: aws.String("shardId-000000000003")})
		if err != nil {
			t.Fatal(err)
		}
		grandchildRec := put("grandchild")
		shards, err := c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("lineage")})
		if err != nil {
			t.Fatal(err)
		}
		byID := map[string]types.Shard{}
		for _, sh := range shards.Shards {
			byID[*sh.ShardId] = sh
		}
		for _, r := range []string{parentRec, childRec, grandchildRec} {
			decodeV2(t, r)
		}
		if decodeV2(t, childRec).Shard != 2 || decodeV2(t, grandchildRec).Shard != 4 {
			t.Fatalf("records went to shards %d and %d, want 2 and 4", decodeV2(t, childRec).Shard, decodeV2(t, grandchildRec).Shard)
		}
		for child, parents := range map[string][]string{
			"shardId-000000000002": {shard0}, "shardId-000000000003": {shard0},
			"shardId-000000000004": {"shardId-000000000002", "shardId-000000000003"},
		} {
			start := *byID[child].SequenceNumberRange.StartingSequenceNumber
			for _, p := range parents {
				end := byID[p].SequenceNumberRange.EndingSequenceNumber
				if end == nil {
					t.Fatalf("parent %s is not closed", p)
				}
				if seqInt(t, start).Cmp(seqInt(t, *end)) <= 0 {
					t.Errorf("%s starts at %s, not above its parent %s's end %s", child, start, p, *end)
				}
			}
		}
		if seqInt(t, childRec).Cmp(seqInt(t, parentRec)) <= 0 || seqInt(t, grandchildRec).Cmp(seqInt(t, childRec)) <= 0 {
			t.Errorf("records %s, %s, %s of parent, child and grandchild do not increase", parentRec, childRec, grandchildRec)
		}
		if end := *byID[shard0].SequenceNumberRange.EndingSequenceNumber; seqInt(t, end).Cmp(seqInt(t, parentRec)) < 0 {
			t.Errorf("the parent's EndingSequenceNumber %s is below its last record %s", end, parentRec)
		}
	})
}
