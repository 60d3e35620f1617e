package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/config"
	"kinesisd/internal/kinesistest"
)

// Queues (issue 19): a queue's ARN ends in an id generated when it is created (the model's
// QueueDescription.QueueARN), and DeleteQueue is asynchronous (DELETING, then gone).

// arnID is the resource id at the end of a queue's ARN.
func arnID(arn *string) string { return (*arn)[strings.LastIndexByte(*arn, '/')+1:] }

func TestQueueARNGenerated(t *testing.T) {
	eachQueueEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createOnDemand(t, c, "ar")
		d := createQueue(t, c, "aq", "ar", trimHorizonQueue, nil)
		if !queueARNShape.MatchString(*d.QueueARN) {
			t.Errorf("QueueARN %s: want a generated id", *d.QueueARN)
		}
		if got := queueARNOf(t, c, "aq"); *got != *d.QueueARN {
			t.Errorf("ListQueues' QueueARN %s, CreateQueue's %s", *got, *d.QueueARN)
		}
		desc, err := c.DescribeQueue(ctx, &kinesis.DescribeQueueInput{QueueARN: d.QueueARN})
		if err != nil || *desc.QueueDescription.QueueARN != *d.QueueARN || *desc.QueueDescription.QueueName != "aq" {
			t.Fatalf("DescribeQueue by the returned ARN: %+v %v", desc, err)
		}
		// An ARN built from the name names no queue.
		_, err = c.DescribeQueue(ctx, &kinesis.DescribeQueueInput{QueueARN: nameARN("aq")})
		wantAPIError(t, err, "ResourceNotFoundException", 400, "Queue aq under account "+queueAcct+" not found.")
		_, err = c.ListTagsForResource(ctx, &kinesis.ListTagsForResourceInput{ResourceARN: nameARN("aq")})
		wantAPIError(t, err, "ResourceNotFoundException", 400, "Queue aq under account "+queueAcct+" not found.")

		kinesistest.PutN(t, c, "ar", "k", 1)
		recs, err := c.ReceiveQueueRecords(ctx, &kinesis.ReceiveQueueRecordsInput{QueueARN: d.QueueARN, WaitTimeSeconds: aws.Int32(0)})
		if err != nil || len(recs.QueueRecords) != 1 {
			t.Fatalf("receive: %+v %v", recs, err)
		}

		// Deleted and created again under the same name: a new ARN; the old one names nothing.
		if _, err := c.DeleteQueue(ctx, &kinesis.DeleteQueueInput{QueueARN: d.QueueARN}); err != nil {
			t.Fatal(err)
		}
		d2 := createQueue(t, c, "aq", "ar", trimHorizonQueue, nil)
		if *d2.QueueARN == *d.QueueARN || !queueARNShape.MatchString(*d2.QueueARN) {
			t.Errorf("the queue created again has ARN %s, the first had %s", *d2.QueueARN, *d.QueueARN)
		}
		_, err = c.DescribeQueue(ctx, &kinesis.DescribeQueueInput{QueueARN: d.QueueARN})
		wantAPIError(t, err, "ResourceNotFoundException", 400, "Queue "+arnID(d.QueueARN)+" under account "+queueAcct+" not found.")
		_, err = c.ReceiveQueueRecords(ctx, &kinesis.ReceiveQueueRecordsInput{QueueARN: d.QueueARN, WaitTimeSeconds: aws.Int32(0)})
		wantAPIError(t, err, "ResourceNotFoundException", 400, "")
		_, err = c.TagResource(ctx, &kinesis.TagResourceInput{ResourceARN: d.QueueARN, Tags: map[string]string{"a": "b"}})
		wantAPIError(t, err, "ResourceNotFoundException", 400, "")
		if got := queueARNOf(t, c, "aq"); *got != *d2.QueueARN {
			t.Errorf("ListQueues' QueueARN %s after the re-creation, want %s", *got, *d2.QueueARN)
		}
		// The first incarnation's receipt handle is not the new queue's.
		ackOut, err := c.AcknowledgeQueueRecords(ctx, &kinesis.AcknowledgeQueueRecordsInput{QueueARN: d2.QueueARN,
			Entries: []types.AcknowledgeQueueRecordsRequestEntry{{ReceiptHandle: recs.QueueRecords[0].ReceiptHandle}}})
		if err != nil || len(ackOut.Failed) != 1 || *ackOut.Failed[0].ErrorCode != "InvalidArgumentException" {
			t.Errorf("the old queue's handle on the new one: %+v %v", ackOut, err)
		}
		if _, err := c.DescribeQueue(ctx, &kinesis.DescribeQueueInput{QueueARN: d2.QueueARN}); err != nil {
			t.Errorf("DescribeQueue of the new ARN: %v", err)
		}
	})
}

func TestQueueDeleting(t *testing.T) {
	eachEngineWith(t, func(c *config.Config) { c.ConsumerDelay = time.Second }, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createOnDemand(t, c, "dl")
		d := createQueue(t, c, "dq", "dl", trimHorizonQueue, nil)
		arn := d.QueueARN
		elapse(t, s, time.Second)
		kinesistest.PutN(t, c, "dl", "k", 1)
		got, err := c.ReceiveQueueRecords(ctx, &kinesis.ReceiveQueueRecordsInput{QueueARN: arn, WaitTimeSeconds: aws.Int32(0)})
		if err != nil || len(got.QueueRecords) != 1 {
			t.Fatalf("receive: %+v %v", got, err)
		}
		handle := got.QueueRecords[0].ReceiptHandle

		// A poll waiting when the queue goes DELETING answers, with nothing.
		type result struct {
			n   int
			err error
			at  time.Time
		}
		polled := make(chan result, 1)
		go func() {
			out, err := c.ReceiveQueueRecords(ctx, &kinesis.ReceiveQueueRecordsInput{QueueARN: arn, WaitTimeSeconds: aws.Int32(15)})
			n := -1
			if out != nil {
				n = len(out.QueueRecords)
			}
			polled <- result{n, err, time.Now()}
		}()
		time.Sleep(300 * time.Millisecond) // let the poll start waiting

		deleted := time.Now()
		if _, err := c.DeleteQueue(ctx, &kinesis.DeleteQueueInput{QueueARN: arn}); err != nil {
			t.Fatal(err)
		}
		if r := <-polled; r.err != nil || r.n != 0 || r.at.Sub(deleted) > 5*time.Second {
			t.Errorf("the poll waiting at DeleteQueue: %d records, %v, %v after it", r.n, r.err, r.at.Sub(deleted))
		}
		desc, err := c.DescribeQueue(ctx, &kinesis.DescribeQueueInput{QueueARN: arn})
		if err != nil || desc.QueueDescription.QueueStatus != types.QueueStatusDeleting {
			t.Fatalf("DescribeQueue while deleting: %+v %v", desc, err)
		}
		list, err := c.ListQueues(ctx, &kinesis.ListQueuesInput{})
		if err != nil || len(list.QueueSummaries) != 1 || list.QueueSummaries[0].QueueStatus != types.QueueStatusDeleting {
			t.Errorf("ListQueues while deleting: %+v %v", list, err)
		}
		notActive := "Queue dq under account " + queueAcct + " not ACTIVE, instead in state DELETING"
		_, err = c.ReceiveQueueRecords(ctx, &kinesis.ReceiveQueueRecordsInput{QueueARN: arn, WaitTimeSeconds: aws.Int32(0)})
		wantAPIError(t, err, "ResourceInUseException", 400, notActive)
		_, err = c.AcknowledgeQueueRecords(ctx, &kinesis.AcknowledgeQueueRecordsInput{QueueARN: arn,
			Entries: []types.AcknowledgeQueueRecordsRequestEntry{{ReceiptHandle: handle}}})
		wantAPIError(t, err, "ResourceInUseException", 400, notActive)
		_, err = c.UpdateQueue(ctx, &kinesis.UpdateQueueInput{QueueARN: arn, QueueAttributes: &types.QueueAttributes{VisibilityTimeoutSeconds: aws.Int32(5)}})
		wantAPIError(t, err, "ResourceInUseException", 400, notActive)
		if _, err := c.DeleteQueue(ctx, &kinesis.DeleteQueueInput{QueueARN: arn}); err != nil {
			t.Errorf("DeleteQueue of a DELETING queue: %v", err)
		}
		_, err = c.CreateQueue(ctx, &kinesis.CreateQueueInput{QueueName: aws.String("dq"),
			StreamConfigurationList: []types.QueueStreamConfiguration{{StreamARN: arnOf("dl")}}})
		wantAPIError(t, err, "ResourceInUseException", 400, "Queue dq under account "+queueAcct+" already exists.")
		// Until it is gone it still counts, and holds DeleteStream off.
		if sum := summary(t, c, "dl"); sum.QueueCount == nil || *sum.QueueCount != 1 {
			t.Errorf("QueueCount while deleting: %v", sum.QueueCount)
		}
		_, err = c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("dl")})
		wantAPIError(t, err, "ResourceInUseException", 400, "")

		// The delay later it is gone, for the stream first (nothing has read the queue since).
		elapse(t, s, time.Second)
		if sum := summary(t, c, "dl"); sum.QueueCount != nil {
			t.Errorf("QueueCount once deleted: %d", *sum.QueueCount)
		}
		_, err = c.DescribeQueue(ctx, &kinesis.DescribeQueueInput{QueueARN: arn})
		wantAPIError(t, err, "ResourceNotFoundException", 400, "Queue "+arnID(arn)+" under account "+queueAcct+" not found.")
		if list, err := c.ListQueues(ctx, &kinesis.ListQueuesInput{}); err != nil || len(list.QueueSummaries) != 0 {
			t.Errorf("ListQueues once deleted: %+v %v", list, err)
		}
		// The name is free again: a new queue, with a new ARN, deleted while CREATING.
		d2 := createQueue(t, c, "dq", "dl", nil, nil)
		if *d2.QueueARN == *arn || d2.QueueStatus != types.QueueStatusCreating {
			t.Errorf("created again: %s %s", *d2.QueueARN, d2.QueueStatus)
		}
		if _, err := c.DeleteQueue(ctx, &kinesis.DeleteQueueInput{QueueARN: d2.QueueARN}); err != nil {
			t.Fatal(err)
		}
		elapse(t, s, time.Second)
		if _, err := c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("dl")}); err != nil {
			t.Errorf("DeleteStream once its queues are gone: %v", err)
		}
		_, err = c.DescribeQueue(ctx, &kinesis.DescribeQueueInput{QueueARN: d2.QueueARN})
		wantAPIError(t, err, "ResourceNotFoundException", 400, "")
	})
}
