package api_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/config"
	"kinesisd/internal/kinesistest"
)

// Records and lifecycle as recorded against AWS (issue 16 §3; kinesalite's tests and sources).

func TestSequenceNumberForOrderingValidated(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createStream(t, c, "ordered", 1)
		first, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("ordered"), PartitionKey: aws.String("k"), Data: []byte("a")})
		if err != nil {
			t.Fatal(err)
		}
		before := takeSnapshot(t, s, "ordered", 1)
		for _, bad := range []string{"0", "1", "12345678901234567890", "49000000000000000000000000000000000000000000000000000000000"} {
			_, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("ordered"), PartitionKey: aws.String("k"), Data: []byte("b"),
				SequenceNumberForOrdering: aws.String(bad)})
			wantAPIError(t, err, "InvalidArgumentException", 400,
				"ExclusiveMinimumSequenceNumber "+bad+" used in PutRecord on stream ordered under account 000000000000 is invalid.")
		}
		if err := before.equal(takeSnapshot(t, s, "ordered", 1)); err != nil {
			t.Errorf("a refused PutRecord changed the stream: %v", err)
		}
		// A real number, of either form, is taken.
		out, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("ordered"), PartitionKey: aws.String("k"), Data: []byte("c"),
			SequenceNumberForOrdering: first.SequenceNumber})
		if err != nil {
			t.Fatalf("SequenceNumberForOrdering %s: %v", *first.SequenceNumber, err)
		}
		if seqInt(t, *out.SequenceNumber).Cmp(seqInt(t, *first.SequenceNumber)) <= 0 {
			t.Errorf("record %s not above %s", *out.SequenceNumber, *first.SequenceNumber)
		}
		if _, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("ordered"), PartitionKey: aws.String("k"), Data: []byte("d"),
			SequenceNumberForOrdering: aws.String("49000000000000000000000000000000000000000010000000000000")}); err != nil {
			t.Errorf("a legacy SequenceNumberForOrdering: %v", err)
		}
	})
}

func TestDeleteCreatingStream(t *testing.T) {
	s := kinesistest.Start(t, kinesistest.Engines[1], kinesistest.Options{Configure: func(c *config.Config) {
		c.CreateStreamDelay = time.Minute // against the binary, a real minute: far longer than the test
	}})
	c, ctx := s.Client, t.Context()
	createStream(t, c, "young", 1)
	if _, err := c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("young")}); err != nil {
		t.Fatalf("DeleteStream of a CREATING stream: %v", err)
	}
	sum, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("young")})
	if err == nil && sum.StreamDescriptionSummary.StreamStatus != types.StreamStatusDeleting {
		t.Fatalf("after DeleteStream: %s", sum.StreamDescriptionSummary.StreamStatus)
	}
	if err != nil {
		wantAPIError(t, err, "ResourceNotFoundException", 400, "Stream young under account 000000000000 not found.")
	}
}

func TestGetRecordsOfDeletedStream(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createStream(t, c, "gone", 1)
		it := getIterator(t, s, &kinesis.GetShardIteratorInput{StreamName: aws.String("gone"), ShardId: aws.String(shard0), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		if _, err := c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("gone")}); err != nil {
			t.Fatal(err)
		}
		_, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String(it)})
		wantAPIError(t, err, "ResourceNotFoundException", 400, "Shard shardId-000000000000 in stream gone under account 000000000000 does not exist")
	})
}

func TestStartingSequenceNumberOfAnotherShard(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createStream(t, c, "two", 2)
		out, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("two"), PartitionKey: aws.String("k"), Data: []byte("x"),
			ExplicitHashKey: aws.String("340282366920938463463374607431768211455")}) // shard 1
		if err != nil || *out.ShardId != "shardId-000000000001" {
			t.Fatalf("PutRecord: %+v, %v", out, err)
		}
		_, err = c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("two"), ShardId: aws.String(shard0),
			ShardIteratorType: types.ShardIteratorTypeAtSequenceNumber, StartingSequenceNumber: out.SequenceNumber})
		wantAPIError(t, err, "InvalidArgumentException", 400,
			"Invalid StartingSequenceNumber. It encodes shardId-000000000001, while it was used in a call to a shard with shardId-000000000000")
	})
}
