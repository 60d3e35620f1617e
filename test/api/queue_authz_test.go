package api_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/kinesistest"
)

// Queues (issue 19) under authorization: identity policies on queue ARNs, and another account's
// queue through the queue's resource policy.

func TestQueueAuthorization(t *testing.T) {
	eachEngineWith(t, withPolicies(t), func(t *testing.T, s *kinesistest.Server) {
		ctx := t.Context()
		alice := clientAs(s, "AKIDALICE", "alice-secret", "us-east-1")
		bob := clientAs(s, "AKIDBOB", "bob-secret", "us-east-1")
		other := clientAs(s, "AKIDOTHER", "other-secret", "us-east-1")
		if _, err := bob.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("jobs"),
			StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand}}); err != nil {
			t.Fatal(err)
		}
		streamARN := "arn:aws:kinesis:us-east-1:111122223333:stream/jobs"
		created, err := bob.CreateQueue(ctx, &kinesis.CreateQueueInput{QueueName: aws.String("jobs"),
			StreamConfigurationList: []types.QueueStreamConfiguration{{StreamARN: aws.String(streamARN),
				StartingPosition: &types.QueueStartingPosition{Type: types.QueueStartingPositionTypeTrimHorizon}}}})
		if err != nil {
			t.Fatal(err)
		}
		queueARN := *created.QueueDescription.QueueARN
		if _, err := bob.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("jobs"), PartitionKey: aws.String("k"), Data: []byte("x")}); err != nil {
			t.Fatal(err)
		}
		receiveAs := func(c *kinesis.Client) (*kinesis.ReceiveQueueRecordsOutput, error) {
			return c.ReceiveQueueRecords(ctx, &kinesis.ReceiveQueueRecordsInput{QueueARN: aws.String(queueARN), WaitTimeSeconds: aws.Int32(0)})
		}
		// alice may describe (Describe*) but not receive.
		if _, err := alice.DescribeQueue(ctx, &kinesis.DescribeQueueInput{QueueARN: aws.String(queueARN)}); err != nil {
			t.Errorf("alice's DescribeQueue: %v", err)
		}
		_, err = receiveAs(alice)
		wantAPIError(t, err, "AccessDeniedException", 400, "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: kinesis:ReceiveQueueRecords on resource: "+
			queueARN+" because no identity-based policy allows the kinesis:ReceiveQueueRecords action")
		_, err = alice.CreateQueue(ctx, &kinesis.CreateQueueInput{QueueName: aws.String("mine"),
			StreamConfigurationList: []types.QueueStreamConfiguration{{StreamARN: aws.String(streamARN)}}})
		wantAPIError(t, err, "AccessDeniedException", 400, "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: kinesis:CreateQueue on resource: "+
			"arn:aws:kinesis:us-east-1:111122223333:queue/* because no identity-based policy allows the kinesis:CreateQueue action")

		// Another account: refused until the queue's policy allows it.
		_, err = receiveAs(other)
		wantAPIError(t, err, "AccessDeniedException", 400, "User: arn:aws:iam::444455556666:root is not authorized to perform: kinesis:ReceiveQueueRecords on resource: "+
			queueARN+" because no resource-based policy allows the kinesis:ReceiveQueueRecords action")
		policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},` +
			`"Action":["kinesis:ReceiveQueueRecords","kinesis:AcknowledgeQueueRecords"],"Resource":"` + queueARN + `"}]}`
		if _, err := bob.PutResourcePolicy(ctx, &kinesis.PutResourcePolicyInput{ResourceARN: aws.String(queueARN), Policy: aws.String(policy)}); err != nil {
			t.Fatal(err)
		}
		got, err := receiveAs(other)
		if err != nil || len(got.QueueRecords) != 1 {
			t.Fatalf("another account's receive with the queue's policy allowing it: %+v %v", got, err)
		}
		ack, err := other.AcknowledgeQueueRecords(ctx, &kinesis.AcknowledgeQueueRecordsInput{QueueARN: aws.String(queueARN),
			Entries: []types.AcknowledgeQueueRecordsRequestEntry{{ReceiptHandle: got.QueueRecords[0].ReceiptHandle}}})
		if err != nil || len(ack.Successful) != 1 {
			t.Fatalf("another account's acknowledgement: %+v %v", ack, err)
		}
		_, err = other.DeleteQueue(ctx, &kinesis.DeleteQueueInput{QueueARN: aws.String(queueARN)})
		wantAPIError(t, err, "AccessDeniedException", 400, "User: arn:aws:iam::444455556666:root is not authorized to perform: kinesis:DeleteQueue on resource: "+
			queueARN+" because no resource-based policy allows the kinesis:DeleteQueue action")
	})
}
