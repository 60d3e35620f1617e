package api_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/kinesistest"
)

func shardIDs(shards []types.Shard) []string {
	var ids []string
	for _, s := range shards {
		ids = append(ids, *s.ShardId)
	}
	return ids
}

func TestDescribeStreamPaging(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createStream(t, c, "five", 5)
		var pages [][]string
		var start *string
		for {
			out, err := c.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String("five"), Limit: aws.Int32(2), ExclusiveStartShardId: start})
			if err != nil {
				t.Fatal(err)
			}
			d := out.StreamDescription
			if *d.StreamARN != "arn:aws:kinesis:us-east-1:000000000000:stream/five" || d.StreamStatus != types.StreamStatusActive ||
				d.StreamModeDetails.StreamMode != types.StreamModeProvisioned || *d.RetentionPeriodHours != 24 {
				t.Fatalf("description %+v", d)
			}
			pages = append(pages, shardIDs(d.Shards))
			if !*d.HasMoreShards {
				break
			}
			start = d.Shards[len(d.Shards)-1].ShardId
		}
		if got := fmt.Sprint(pages); got != "[[shardId-000000000000 shardId-000000000001] [shardId-000000000002 shardId-000000000003] [shardId-000000000004]]" {
			t.Errorf("pages %s", got)
		}
		out, err := c.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String("five")})
		if err != nil {
			t.Fatal(err)
		}
		for i, sh := range out.StreamDescription.Shards {
			start, end := hashRange(i, 5)
			if *sh.HashKeyRange.StartingHashKey != start.String() || *sh.HashKeyRange.EndingHashKey != end.String() {
				t.Errorf("shard %d range %s..%s, want %s..%s", i, *sh.HashKeyRange.StartingHashKey, *sh.HashKeyRange.EndingHashKey, start, end)
			}
			if sh.ParentShardId != nil || sh.SequenceNumberRange.EndingSequenceNumber != nil || len(*sh.SequenceNumberRange.StartingSequenceNumber) != 56 {
				t.Errorf("shard %d: %+v", i, sh)
			}
		}
		// The advertised StartingSequenceNumber works with AT_ and AFTER_SEQUENCE_NUMBER: both start at
		// the shard's first record, since it belongs to no record.
		sh := out.StreamDescription.Shards[0]
		put, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("five"), PartitionKey: aws.String("x"), ExplicitHashKey: aws.String("0"), Data: []byte("first")})
		if err != nil {
			t.Fatal(err)
		}
		for _, typ := range []types.ShardIteratorType{types.ShardIteratorTypeAtSequenceNumber, types.ShardIteratorTypeAfterSequenceNumber} {
			it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("five"), ShardId: sh.ShardId,
				ShardIteratorType: typ, StartingSequenceNumber: sh.SequenceNumberRange.StartingSequenceNumber})
			if err != nil {
				t.Fatalf("%s with StartingSequenceNumber: %v", typ, err)
			}
			recs := readAll(t, s, *it.ShardIterator)
			if len(recs) != 1 || *recs[0].SequenceNumber != *put.SequenceNumber {
				t.Errorf("%s with StartingSequenceNumber read %d records", typ, len(recs))
			}
		}
	})
}

func TestListShards(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createStream(t, c, "seven", 7)
		var all []string
		out, err := c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("seven"), MaxResults: aws.Int32(3)})
		if err != nil {
			t.Fatal(err)
		}
		for {
			all = append(all, shardIDs(out.Shards)...)
			if out.NextToken == nil {
				break
			}
			if out, err = c.ListShards(ctx, &kinesis.ListShardsInput{NextToken: out.NextToken, MaxResults: aws.Int32(3)}); err != nil {
				t.Fatal(err)
			}
		}
		if len(all) != 7 || all[0] != "shardId-000000000000" || all[6] != "shardId-000000000006" {
			t.Errorf("listed %v", all)
		}
		after, err := c.ListShards(ctx, &kinesis.ListShardsInput{StreamARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/seven"), ExclusiveStartShardId: aws.String("shardId-000000000004")})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(shardIDs(after.Shards)) != "[shardId-000000000005 shardId-000000000006]" || after.NextToken != nil {
			t.Errorf("after shard 4: %v", shardIDs(after.Shards))
		}
		first, err := c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("seven"), MaxResults: aws.Int32(1)})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("seven"), NextToken: first.NextToken})
		wantAPIError(t, err, "InvalidArgumentException", 400, "NextToken and StreamName cannot be provided together.")
		inProcessPart(t, s, "a NextToken expires after 300 s of the fake clock", func() {
			s.Clock.Advance(301 * time.Second)
			_, err = c.ListShards(ctx, &kinesis.ListShardsInput{NextToken: first.NextToken})
			wantPrefix(t, err, "ExpiredNextTokenException", "")
		})
		_, err = c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("missing")})
		wantAPIError(t, err, "ResourceNotFoundException", 400, "Stream missing under account 000000000000 not found.")
	})
}

func TestListStreams(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		created := serverNow(s)
		for _, name := range []string{"b", "a", "d", "c", "e"} {
			createStream(t, c, name, 1)
		}
		out, err := c.ListStreams(ctx, &kinesis.ListStreamsInput{Limit: aws.Int32(2)})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(out.StreamNames) != "[a b]" || !*out.HasMoreStreams || out.NextToken == nil || len(out.StreamSummaries) != 2 {
			t.Fatalf("first page %v more=%v", out.StreamNames, *out.HasMoreStreams)
		}
		sum := out.StreamSummaries[0]
		if *sum.StreamName != "a" || *sum.StreamARN != "arn:aws:kinesis:us-east-1:000000000000:stream/a" || sum.StreamStatus != types.StreamStatusActive ||
			sum.StreamModeDetails.StreamMode != types.StreamModeProvisioned || !sameServerTime(s, *sum.StreamCreationTimestamp, created) {
			t.Errorf("summary %+v", sum)
		}
		next, err := c.ListStreams(ctx, &kinesis.ListStreamsInput{NextToken: out.NextToken, Limit: aws.Int32(2)})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(next.StreamNames) != "[c d]" {
			t.Errorf("second page %v", next.StreamNames)
		}
		rest, err := c.ListStreams(ctx, &kinesis.ListStreamsInput{ExclusiveStartStreamName: aws.String("d")})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(rest.StreamNames) != "[e]" || *rest.HasMoreStreams || rest.NextToken != nil {
			t.Errorf("after d: %v", rest.StreamNames)
		}
	})
}

func TestOnDemandStream(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		_, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("od"), StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand}})
		if err != nil {
			t.Fatal(err)
		}
		sum, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("od")})
		if err != nil {
			t.Fatal(err)
		}
		if *sum.StreamDescriptionSummary.OpenShardCount != 4 || sum.StreamDescriptionSummary.StreamModeDetails.StreamMode != types.StreamModeOnDemand {
			t.Errorf("on-demand summary %+v", sum.StreamDescriptionSummary)
		}
		desc, err := c.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String("od")})
		if err != nil {
			t.Fatal(err)
		}
		if len(desc.StreamDescription.Shards) != 4 || desc.StreamDescription.StreamModeDetails.StreamMode != types.StreamModeOnDemand {
			t.Errorf("on-demand description %+v", desc.StreamDescription)
		}
	})
}
