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

// Queues (issue 19): states with delays, AT_TIMESTAMP, and KMS-encrypted streams.

func TestQueueStates(t *testing.T) {
	eachEngineWith(t, func(c *config.Config) { c.ConsumerDelay = time.Second }, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createOnDemand(t, c, "st")
		d := createQueue(t, c, "sq", "st", nil, nil)
		if d.QueueStatus != types.QueueStatusCreating || d.StreamConfigurationList[0].StartingPosition.Timestamp != nil {
			t.Errorf("CreateQueue: %s, starting position %+v (CREATING shows no LATEST time)", d.QueueStatus, d.StreamConfigurationList[0].StartingPosition)
		}
		_, err := c.ReceiveQueueRecords(ctx, &kinesis.ReceiveQueueRecordsInput{QueueARN: queueARNOf(t, c, "sq"), WaitTimeSeconds: aws.Int32(0)})
		wantAPIError(t, err, "ResourceInUseException", 400, "Queue sq under account "+queueAcct+" not ACTIVE, instead in state CREATING")
		elapse(t, s, time.Second)
		desc, err := c.DescribeQueue(ctx, &kinesis.DescribeQueueInput{QueueARN: queueARNOf(t, c, "sq")})
		if err != nil || desc.QueueDescription.QueueStatus != types.QueueStatusActive || desc.QueueDescription.StreamConfigurationList[0].StartingPosition.Timestamp == nil {
			t.Fatalf("after the delay: %+v %v", desc, err)
		}
		up, err := c.UpdateQueue(ctx, &kinesis.UpdateQueueInput{QueueARN: queueARNOf(t, c, "sq"), QueueAttributes: &types.QueueAttributes{VisibilityTimeoutSeconds: aws.Int32(7)}})
		if err != nil || up.QueueDescription.QueueStatus != types.QueueStatusUpdating {
			t.Fatalf("UpdateQueue: %+v %v", up, err)
		}
		// Records flow while UPDATING.
		kinesistest.PutN(t, c, "st", "k", 1)
		if n := len(receive(t, c, "sq", 10, nil)); n != 1 {
			t.Errorf("received %d records while UPDATING", n)
		}
		elapse(t, s, time.Second)
		desc, err = c.DescribeQueue(ctx, &kinesis.DescribeQueueInput{QueueARN: queueARNOf(t, c, "sq")})
		if err != nil || desc.QueueDescription.QueueStatus != types.QueueStatusActive || *desc.QueueDescription.QueueAttributes.VisibilityTimeoutSeconds != 7 {
			t.Errorf("after the update: %+v %v", desc, err)
		}
	})
}

func TestQueueAtTimestamp(t *testing.T) {
	eachQueueEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c := s.Client
		createOnDemand(t, c, "ts")
		kinesistest.PutN(t, c, "ts", "old", 5)
		elapse(t, s, 50*time.Millisecond)
		at := serverNow(s)
		elapse(t, s, 50*time.Millisecond)
		kinesistest.PutN(t, c, "ts", "new", 5)
		d := createQueue(t, c, "tq", "ts", &types.QueueStartingPosition{Type: types.QueueStartingPositionTypeAtTimestamp, Timestamp: aws.Time(at)}, nil)
		if p := d.StreamConfigurationList[0].StartingPosition; p.Type != types.QueueStartingPositionTypeAtTimestamp || p.Timestamp == nil || p.Timestamp.UnixMilli() != at.UnixMilli() {
			t.Errorf("starting position %+v", p)
		}
		got := map[string]bool{}
		for range 3 {
			for _, r := range receive(t, c, "tq", 10, nil) {
				got[*r.PartitionKey] = true
			}
		}
		if len(got) != 5 {
			t.Errorf("AT_TIMESTAMP queue delivered %v, want the 5 records after the time", got)
		}
		for k := range got {
			if k[:3] != "new" {
				t.Errorf("AT_TIMESTAMP queue delivered %s, written before the time", k)
			}
		}
	})
}

func TestQueueEncryptedStream(t *testing.T) {
	eachEngineWith(t, withKMS(t), func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createOnDemand(t, c, "sealed")
		waitActive(t, c, "sealed")
		if _, err := c.StartStreamEncryption(ctx, &kinesis.StartStreamEncryptionInput{StreamName: aws.String("sealed"),
			EncryptionType: types.EncryptionTypeKms, KeyId: aws.String("alias/aws/kinesis")}); err != nil {
			t.Fatal(err)
		}
		waitActive(t, c, "sealed")
		createQueue(t, c, "eq", "sealed", trimHorizonQueue, nil)
		kinesistest.PutN(t, c, "sealed", "k", 3)
		recs := receive(t, c, "eq", 10, nil)
		if len(recs) != 3 {
			t.Fatalf("%d records", len(recs))
		}
		for _, r := range recs {
			if string(r.Data) != "data "+*r.PartitionKey {
				t.Errorf("record %s: data %q, not opened", *r.PartitionKey, r.Data)
			}
		}
	})
}
