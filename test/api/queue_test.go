package api_test

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

	"kinesisd/internal/config"
	"kinesisd/internal/kinesistest"
)

// Queues (issue 19): the control plane, validation, and the stream's rules with queues.

const queueAcct = "000000000000"

// queueARNOf looks up the ARN of the queue name through ListQueues: a queue's ARN ends in an id
// generated when it is created, not in its name.
func queueARNOf(t testing.TB, c *kinesis.Client, name string) *string {
	t.Helper()
	in := &kinesis.ListQueuesInput{}
	for {
		out, err := c.ListQueues(t.Context(), in)
		if err != nil {
			t.Fatalf("ListQueues for %s: %v", name, err)
		}
		for _, q := range out.QueueSummaries {
			if *q.QueueName == name {
				return q.QueueARN
			}
		}
		if out.NextToken == nil {
			t.Fatalf("no queue %s in ListQueues", name)
		}
		in.NextToken = out.NextToken
	}
}

// nameARN is the ARN a queue would have if its ARN were derived from its name: it names no queue.
func nameARN(name string) *string {
	return aws.String("arn:aws:kinesis:us-east-1:" + queueAcct + ":queue/" + name)
}

// queueARNShape is the shape of a queue's ARN: a generated id of 17 lowercase letters and digits.
var queueARNShape = regexp.MustCompile(`^arn:aws:kinesis:us-east-1:\d{12}:queue/[a-z0-9]{17}$`)

// eachQueueEngine is eachEngine with the per-shard write limits off, so that tests put records as
// fast as they like on the fake clock.
func eachQueueEngine(t *testing.T, body func(t *testing.T, s *kinesistest.Server)) {
	eachEngineWith(t, func(c *config.Config) { c.ThroughputLimits = false }, body)
}

// createQueue creates a queue on stream starting at pos (nil: the default, LATEST) with attrs.
func createQueue(t *testing.T, c *kinesis.Client, name, streamName string, pos *types.QueueStartingPosition, attrs *types.QueueAttributes) *types.QueueDescription {
	t.Helper()
	out, err := c.CreateQueue(t.Context(), &kinesis.CreateQueueInput{
		QueueName:               aws.String(name),
		StreamConfigurationList: []types.QueueStreamConfiguration{{StreamARN: arnOf(streamName), StartingPosition: pos}},
		QueueAttributes:         attrs,
	})
	if err != nil {
		t.Fatalf("CreateQueue %s: %v", name, err)
	}
	return out.QueueDescription
}

var trimHorizonQueue = &types.QueueStartingPosition{Type: types.QueueStartingPositionTypeTrimHorizon}

func TestQueueLifecycle(t *testing.T) {
	eachQueueEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createOnDemand(t, c, "qs")
		d := createQueue(t, c, "orders", "qs", nil, nil)
		if !queueARNShape.MatchString(*d.QueueARN) || *d.QueueARN != *queueARNOf(t, c, "orders") || *d.QueueName != "orders" || d.QueueStatus != types.QueueStatusActive {
			t.Errorf("CreateQueue: %s %s %s", *d.QueueARN, *d.QueueName, d.QueueStatus)
		}
		if a := d.QueueAttributes; *a.VisibilityTimeoutSeconds != 30 || a.DeadLetterConfiguration.TargetType != types.TargetTypeBuiltIn || *a.DeadLetterConfiguration.MaxReceiveCount != 6 {
			t.Errorf("default attributes %+v %+v", a, a.DeadLetterConfiguration)
		}
		sc := d.StreamConfigurationList
		if len(sc) != 1 || *sc[0].StreamARN != *arnOf("qs") || sc[0].StartingPosition.Type != types.QueueStartingPositionTypeLatest || sc[0].StartingPosition.Timestamp == nil {
			t.Errorf("stream configuration %+v", sc)
		}
		_, err := c.CreateQueue(ctx, &kinesis.CreateQueueInput{QueueName: aws.String("orders"),
			StreamConfigurationList: []types.QueueStreamConfiguration{{StreamARN: arnOf("qs")}}})
		wantAPIError(t, err, "ResourceInUseException", 400, "Queue orders under account "+queueAcct+" already exists.")

		createQueue(t, c, "audit", "qs", trimHorizonQueue, &types.QueueAttributes{VisibilityTimeoutSeconds: aws.Int32(5),
			DeadLetterConfiguration: &types.DeadLetterConfiguration{TargetType: types.TargetTypeNone}})
		desc, err := c.DescribeQueue(ctx, &kinesis.DescribeQueueInput{QueueARN: queueARNOf(t, c, "audit")})
		if err != nil {
			t.Fatal(err)
		}
		if a := desc.QueueDescription.QueueAttributes; *a.VisibilityTimeoutSeconds != 5 || a.DeadLetterConfiguration.TargetType != types.TargetTypeNone || a.DeadLetterConfiguration.MaxReceiveCount != nil {
			t.Errorf("DescribeQueue attributes %+v %+v", a, a.DeadLetterConfiguration)
		}
		up, err := c.UpdateQueue(ctx, &kinesis.UpdateQueueInput{QueueARN: queueARNOf(t, c, "audit"), QueueAttributes: &types.QueueAttributes{
			DeadLetterConfiguration: &types.DeadLetterConfiguration{TargetType: types.TargetTypeBuiltIn, MaxReceiveCount: aws.Int32(3)}}})
		if err != nil {
			t.Fatal(err)
		}
		if a := up.QueueDescription.QueueAttributes; *a.VisibilityTimeoutSeconds != 5 || *a.DeadLetterConfiguration.MaxReceiveCount != 3 {
			t.Errorf("UpdateQueue kept nothing else: %+v %+v", a, a.DeadLetterConfiguration)
		}

		// The stream counts its queues, and refuses to be deleted while it has any.
		sum := summary(t, c, "qs")
		if sum.QueueCount == nil || *sum.QueueCount != 2 || *sum.ConsumerCount != 0 {
			t.Errorf("QueueCount %v ConsumerCount %v", sum.QueueCount, sum.ConsumerCount)
		}
		_, err = c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("qs"), EnforceConsumerDeletion: aws.Bool(true)})
		wantAPIError(t, err, "ResourceInUseException", 400, "DeleteStream can’t delete "+queueAcct+":qs because there are queues associated with this data stream. Delete every queue on the stream with DeleteQueue first.")

		// ListQueues: by name, in pages, filtered by stream.
		createOnDemand(t, c, "other")
		createQueue(t, c, "zeta", "other", nil, nil)
		var names []string
		var token *string
		for range 10 {
			l, err := c.ListQueues(ctx, &kinesis.ListQueuesInput{MaxResults: aws.Int32(2), NextToken: token})
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range l.QueueSummaries {
				names = append(names, *q.QueueName)
				if len(q.Streams) != 1 || q.QueueStatus != types.QueueStatusActive {
					t.Errorf("summary %+v", q)
				}
			}
			if token = l.NextToken; token == nil {
				break
			}
		}
		if strings.Join(names, ",") != "audit,orders,zeta" {
			t.Errorf("ListQueues pages: %v", names)
		}
		l, err := c.ListQueues(ctx, &kinesis.ListQueuesInput{StreamFilter: []types.QueueStreamFilter{{StreamARN: arnOf("other")}}})
		if err != nil || len(l.QueueSummaries) != 1 || *l.QueueSummaries[0].QueueName != "zeta" || *l.QueueSummaries[0].Streams[0].StreamARN != *arnOf("other") {
			t.Errorf("ListQueues filtered: %+v %v", l, err)
		}

		// Tags and a resource policy on a queue ARN.
		if _, err := c.TagResource(ctx, &kinesis.TagResourceInput{ResourceARN: queueARNOf(t, c, "orders"), Tags: map[string]string{"team": "a"}}); err != nil {
			t.Fatal(err)
		}
		tags, err := c.ListTagsForResource(ctx, &kinesis.ListTagsForResourceInput{ResourceARN: queueARNOf(t, c, "orders")})
		if err != nil || len(tags.Tags) != 1 || *tags.Tags[0].Key != "team" {
			t.Errorf("queue tags %+v %v", tags, err)
		}
		policy := `{"Version":"2012-10-17","Statement":[]}`
		if _, err := c.PutResourcePolicy(ctx, &kinesis.PutResourcePolicyInput{ResourceARN: queueARNOf(t, c, "orders"), Policy: aws.String(policy)}); err != nil {
			t.Fatal(err)
		}
		gp, err := c.GetResourcePolicy(ctx, &kinesis.GetResourcePolicyInput{ResourceARN: queueARNOf(t, c, "orders")})
		if err != nil || *gp.Policy != policy {
			t.Errorf("queue policy %v %v", gp, err)
		}
		_, err = c.ListTagsForResource(ctx, &kinesis.ListTagsForResourceInput{ResourceARN: nameARN("nope")})
		wantAPIError(t, err, "ResourceNotFoundException", 400, "Queue nope under account "+queueAcct+" not found.")

		ordersARN := queueARNOf(t, c, "orders")
		for _, q := range []string{"orders", "audit"} {
			if _, err := c.DeleteQueue(ctx, &kinesis.DeleteQueueInput{QueueARN: queueARNOf(t, c, q)}); err != nil {
				t.Fatal(err)
			}
		}
		_, err = c.DescribeQueue(ctx, &kinesis.DescribeQueueInput{QueueARN: ordersARN})
		wantAPIError(t, err, "ResourceNotFoundException", 400, "Queue "+strings.TrimPrefix(*ordersARN, "arn:aws:kinesis:us-east-1:"+queueAcct+":queue/")+" under account "+queueAcct+" not found.")
		if sum := summary(t, c, "qs"); sum.QueueCount != nil {
			t.Errorf("QueueCount %d after the queues went", *sum.QueueCount)
		}
		if _, err := c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("qs")}); err != nil {
			t.Errorf("DeleteStream without queues: %v", err)
		}
		// A name is free again once its queue is deleted.
		createQueue(t, c, "orders", "other", nil, nil)
	})
}

func TestQueueStreamRules(t *testing.T) {
	eachQueueEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createStream(t, c, "prov", 1)
		_, err := c.CreateQueue(ctx, &kinesis.CreateQueueInput{QueueName: aws.String("q"),
			StreamConfigurationList: []types.QueueStreamConfiguration{{StreamARN: arnOf("prov")}}})
		wantAPIError(t, err, "ValidationException", 400, "Queues are supported only on streams in ON_DEMAND capacity mode. Stream prov under account "+queueAcct+" is PROVISIONED.")
		_, err = c.CreateQueue(ctx, &kinesis.CreateQueueInput{QueueName: aws.String("q"),
			StreamConfigurationList: []types.QueueStreamConfiguration{{StreamARN: arnOf("missing")}}})
		wantAPIError(t, err, "ResourceNotFoundException", 400, "Stream missing under account "+queueAcct+" not found.")

		// Queues and enhanced fan-out consumers share the limit of 20.
		createOnDemand(t, c, "shared")
		for i := range 18 {
			if _, err := c.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: arnOf("shared"), ConsumerName: aws.String(fmt.Sprintf("c%d", i))}); err != nil {
				var le *types.LimitExceededException // five CREATING at once: let them settle
				if !errors.As(err, &le) {
					t.Fatal(err)
				}
			}
		}
		n := *summary(t, c, "shared").ConsumerCount
		for i := int(n); i < 19; i++ {
			createQueue(t, c, fmt.Sprintf("q%d", i), "shared", nil, nil)
		}
		createQueue(t, c, "last", "shared", nil, nil)
		_, err = c.CreateQueue(ctx, &kinesis.CreateQueueInput{QueueName: aws.String("over"),
			StreamConfigurationList: []types.QueueStreamConfiguration{{StreamARN: arnOf("shared")}}})
		wantAPIError(t, err, "LimitExceededException", 400, "This request would exceed the limit of 20 consumers registered to stream shared under account "+queueAcct+".")
		_, err = c.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: arnOf("shared"), ConsumerName: aws.String("over")})
		wantAPIError(t, err, "LimitExceededException", 400, "This request would exceed the limit of 20 consumers registered to stream shared under account "+queueAcct+".")
		// A stream with queues stays ON_DEMAND (the model's UpdateStreamMode), and the refusal changes nothing.
		_, err = c.UpdateStreamMode(ctx, &kinesis.UpdateStreamModeInput{StreamARN: arnOf("shared"),
			StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeProvisioned}})
		wantAPIError(t, err, "ResourceInUseException", 400, "Stream shared under account "+queueAcct+fmt.Sprintf(" has %d queues", 20-n)+": delete them with DeleteQueue before you switch it to PROVISIONED mode.")
		if got := summary(t, c, "shared"); got.StreamModeDetails.StreamMode != types.StreamModeOnDemand || got.StreamStatus != types.StreamStatusActive {
			t.Errorf("after the refused UpdateStreamMode: %s %s, want ON_DEMAND and ACTIVE", got.StreamModeDetails.StreamMode, got.StreamStatus)
		}
		// The refused queue's name was not kept.
		if _, err := c.DeleteQueue(ctx, &kinesis.DeleteQueueInput{QueueARN: queueARNOf(t, c, "last")}); err != nil {
			t.Fatal(err)
		}
		createQueue(t, c, "over", "shared", nil, nil)
	})
}

func TestQueueValidation(t *testing.T) {
	s := kinesistest.Start(t, kinesistest.Engines[1], kinesistest.Options{})
	c, ctx := s.Client, t.Context()
	createOnDemand(t, c, "v")
	createQueue(t, c, "vq", "v", nil, nil)
	prefix := "1 validation error detected: "
	tests := []struct {
		name string
		call func() error
		code string
		msg  string
	}{
		{"bad queue name", func() error {
			_, err := c.CreateQueue(ctx, &kinesis.CreateQueueInput{QueueName: aws.String("a b"), StreamConfigurationList: []types.QueueStreamConfiguration{{StreamARN: arnOf("v")}}})
			return err
		}, "ValidationException", prefix + "Value 'a b' at 'queueName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"},
		{"two streams", func() error {
			_, err := c.CreateQueue(ctx, &kinesis.CreateQueueInput{QueueName: aws.String("x"), StreamConfigurationList: []types.QueueStreamConfiguration{{StreamARN: arnOf("v")}, {StreamARN: arnOf("v")}}})
			return err
		}, "ValidationException", prefix + "Value '[2 entries]' at 'streamConfigurationList' failed to satisfy constraint: Member must have length less than or equal to 1"},
		{"visibility too long", func() error {
			_, err := c.CreateQueue(ctx, &kinesis.CreateQueueInput{QueueName: aws.String("x"), StreamConfigurationList: []types.QueueStreamConfiguration{{StreamARN: arnOf("v")}},
				QueueAttributes: &types.QueueAttributes{VisibilityTimeoutSeconds: aws.Int32(43201)}})
			return err
		}, "ValidationException", prefix + "Value '43201' at 'queueAttributes.visibilityTimeoutSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200"},
		{"built in without a count", func() error {
			_, err := c.CreateQueue(ctx, &kinesis.CreateQueueInput{QueueName: aws.String("x"), StreamConfigurationList: []types.QueueStreamConfiguration{{StreamARN: arnOf("v")}},
				QueueAttributes: &types.QueueAttributes{DeadLetterConfiguration: &types.DeadLetterConfiguration{TargetType: types.TargetTypeBuiltIn}}})
			return err
		}, "ValidationException", "MaxReceiveCount is required when TargetType is BUILT_IN."},
		{"timestamp with LATEST", func() error {
			_, err := c.CreateQueue(ctx, &kinesis.CreateQueueInput{QueueName: aws.String("x"), StreamConfigurationList: []types.QueueStreamConfiguration{{StreamARN: arnOf("v"),
				StartingPosition: &types.QueueStartingPosition{Type: types.QueueStartingPositionTypeLatest, Timestamp: aws.Time(serverNow(s))}}}})
			return err
		}, "ValidationException", "StartingPosition Timestamp must not be specified when Type is LATEST."},
		{"AT_TIMESTAMP without one", func() error {
			_, err := c.CreateQueue(ctx, &kinesis.CreateQueueInput{QueueName: aws.String("x"), StreamConfigurationList: []types.QueueStreamConfiguration{{StreamARN: arnOf("v"),
				StartingPosition: &types.QueueStartingPosition{Type: types.QueueStartingPositionTypeAtTimestamp}}}})
			return err
		}, "ValidationException", "StartingPosition Timestamp is required when Type is AT_TIMESTAMP."},
		{"receive limit", func() error {
			_, err := c.ReceiveQueueRecords(ctx, &kinesis.ReceiveQueueRecordsInput{QueueARN: queueARNOf(t, c, "vq"), Limit: aws.Int32(11), WaitTimeSeconds: aws.Int32(21)})
			return err
		}, "ValidationException", "2 validation errors detected: Value '11' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 10; " +
			"Value '21' at 'waitTimeSeconds' failed to satisfy constraint: Member must have value less than or equal to 20"},
		{"not a queue ARN", func() error {
			_, err := c.DescribeQueue(ctx, &kinesis.DescribeQueueInput{QueueARN: arnOf("v")})
			return err
		}, "ValidationException", prefix + "Value '" + *arnOf("v") + "' at 'queueARN' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:aws.*:kinesis:.*:\\d{12}:queue/\\S+"},
		{"too many entries", func() error {
			entries := make([]types.AcknowledgeQueueRecordsRequestEntry, 11)
			for i := range entries {
				entries[i].ReceiptHandle = aws.String("h")
			}
			_, err := c.AcknowledgeQueueRecords(ctx, &kinesis.AcknowledgeQueueRecordsInput{QueueARN: queueARNOf(t, c, "vq"), Entries: entries})
			return err
		}, "ValidationException", prefix + "Value '[11 entries]' at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10"},
		{"visibility entry", func() error {
			_, err := c.UpdateQueueRecordsVisibility(ctx, &kinesis.UpdateQueueRecordsVisibilityInput{QueueARN: queueARNOf(t, c, "vq"),
				Entries: []types.UpdateQueueRecordsVisibilityRequestEntry{{ReceiptHandle: aws.String("h"), VisibilityTimeoutSeconds: aws.Int32(-1)}}})
			return err
		}, "ValidationException", prefix + "Value '-1' at 'entries.1.member.visibilityTimeoutSeconds' failed to satisfy constraint: Member must have value greater than or equal to 0"},
		{"queue of another account", func() error {
			_, err := c.DescribeQueue(ctx, &kinesis.DescribeQueueInput{QueueARN: aws.String("arn:aws:kinesis:us-east-1:111111111111:queue/vq")})
			return err
		}, "ResourceNotFoundException", "Queue vq under account 111111111111 not found."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var ae smithy.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("got %v, want %s", err, tt.code)
			}
			wantAPIError(t, err, tt.code, 400, tt.msg)
		})
	}
}
