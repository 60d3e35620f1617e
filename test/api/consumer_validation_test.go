package api_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"kinesisd/internal/kinesistest"
)

// TestConsumerValidation sends each model violation of the consumer operations and checks AWS's
// ValidationException text, with the failures in model member order, and that nothing changed.
func TestConsumerValidation(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c := s.Client
		createStream(t, c, "s", 1)
		arn := *register(t, c, "s", "c").ConsumerARN
		long := strings.Repeat("n", 129)
		const (
			arnPattern      = `arn:aws.*:kinesis:.*:\d{12}:stream/\S+`
			consumerPattern = `^(arn):aws.*:kinesis:.*:\d{12}:.*stream\/[a-zA-Z0-9_.-]+\/consumer\/[a-zA-Z0-9_.-]+:[0-9]+`
		)
		tests := []struct {
			name    string
			call    func(ctx context.Context) error
			message string
		}{
			{"register bad name", func(ctx context.Context) error {
				_, err := c.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: aws.String(streamARN("s")), ConsumerName: aws.String("a b")})
				return err
			}, "1 validation error detected: Value 'a b' at 'consumerName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"},
			{"register long name", func(ctx context.Context) error {
				_, err := c.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: aws.String(streamARN("s")), ConsumerName: aws.String(long)})
				return err
			}, "1 validation error detected: Value '" + long + "' at 'consumerName' failed to satisfy constraint: Member must have length less than or equal to 128"},
			{"register bad ARN and name", func(ctx context.Context) error {
				_, err := c.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: aws.String("stream/s"), ConsumerName: aws.String("a/b")})
				return err
			}, "2 validation errors detected: Value 'stream/s' at 'streamARN' failed to satisfy constraint: Member must satisfy regular expression pattern: " + arnPattern +
				"; Value 'a/b' at 'consumerName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"},
			{"register bad stream id", func(ctx context.Context) error {
				_, err := c.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: aws.String(streamARN("s")), ConsumerName: aws.String("x"), StreamId: aws.String("X")})
				return err
			}, `1 validation error detected: Value 'X' at 'streamId' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-z0-9]{20}-[a-z0-9]{3}`},
			{"register empty tags", func(ctx context.Context) error {
				_, err := c.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: aws.String(streamARN("s")), ConsumerName: aws.String("x"), Tags: map[string]string{}})
				return err
			}, "1 validation error detected: Value '{}' at 'tags' failed to satisfy constraint: Member must have length greater than or equal to 1"},
			{"register long tag key and value", func(ctx context.Context) error {
				_, err := c.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: aws.String(streamARN("s")), ConsumerName: aws.String("x"),
					Tags: map[string]string{long: strings.Repeat("v", 257)}})
				return err
			}, "2 validation errors detected: Value '{" + long + "=" + strings.Repeat("v", 257) + "}' at 'tags' failed to satisfy constraint: " +
				"Map keys must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1]; " +
				"Value '{" + long + "=" + strings.Repeat("v", 257) + "}' at 'tags' failed to satisfy constraint: " +
				"Map value must satisfy constraint: [Member must have length less than or equal to 256, Member must have length greater than or equal to 0]"},
			{"describe stream ARN as consumer ARN", func(ctx context.Context) error {
				_, err := c.DescribeStreamConsumer(ctx, &kinesis.DescribeStreamConsumerInput{ConsumerARN: aws.String(streamARN("s"))})
				return err
			}, "1 validation error detected: Value '" + streamARN("s") + "' at 'consumerARN' failed to satisfy constraint: Member must satisfy regular expression pattern: " + consumerPattern},
			{"describe everything wrong", func(ctx context.Context) error {
				_, err := c.DescribeStreamConsumer(ctx, &kinesis.DescribeStreamConsumerInput{StreamARN: aws.String("x"), ConsumerName: aws.String(""),
					ConsumerARN: aws.String(arn + "x")})
				return err
			}, "4 validation errors detected: Value 'x' at 'streamARN' failed to satisfy constraint: Member must satisfy regular expression pattern: " + arnPattern +
				"; Value '' at 'consumerName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+" +
				"; Value '' at 'consumerName' failed to satisfy constraint: Member must have length greater than or equal to 1" +
				"; Value '" + arn + "x' at 'consumerARN' failed to satisfy constraint: Member must satisfy regular expression pattern: " + consumerPattern},
			{"deregister bad consumer ARN", func(ctx context.Context) error {
				_, err := c.DeregisterStreamConsumer(ctx, &kinesis.DeregisterStreamConsumerInput{ConsumerARN: aws.String(streamARN("s") + "/consumer/c")})
				return err
			}, "1 validation error detected: Value '" + streamARN("s") + "/consumer/c' at 'consumerARN' failed to satisfy constraint: Member must satisfy regular expression pattern: " + consumerPattern},
			{"list max results 0", func(ctx context.Context) error {
				_, err := c.ListStreamConsumers(ctx, &kinesis.ListStreamConsumersInput{StreamARN: aws.String(streamARN("s")), MaxResults: aws.Int32(0)})
				return err
			}, "1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1"},
			{"list max results 10001 and empty token", func(ctx context.Context) error {
				_, err := c.ListStreamConsumers(ctx, &kinesis.ListStreamConsumersInput{StreamARN: aws.String(streamARN("s")), MaxResults: aws.Int32(10001), NextToken: aws.String("")})
				return err
			}, "2 validation errors detected: Value '' at 'nextToken' failed to satisfy constraint: Member must have length greater than or equal to 1" +
				"; Value '10001' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 10000"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				wantAPIError(t, tt.call(t.Context()), "ValidationException", 400, tt.message)
			})
		}

		// Required members the SDK checks itself, sent raw.
		raw := []struct {
			op, body, message string
		}{
			{"RegisterStreamConsumer", `{}`, "2 validation errors detected: Value null at 'streamARN' failed to satisfy constraint: Member must not be null" +
				"; Value null at 'consumerName' failed to satisfy constraint: Member must not be null"},
			{"RegisterStreamConsumer", `{"StreamARN":"` + streamARN("s") + `"}`, "1 validation error detected: Value null at 'consumerName' failed to satisfy constraint: Member must not be null"},
			{"ListStreamConsumers", `{}`, "1 validation error detected: Value null at 'streamARN' failed to satisfy constraint: Member must not be null"},
		}
		for _, r := range raw {
			status, _, body := rawCall(t, s.Endpoint, r.op, "application/x-amz-json-1.1", r.body)
			want := `{"__type":"ValidationException","message":"` + r.message + `"}`
			if status != 400 || strings.TrimSpace(body) != want {
				t.Errorf("%s %s: %d %s\nwant %s", r.op, r.body, status, body, want)
			}
		}

		list, err := c.ListStreamConsumers(t.Context(), &kinesis.ListStreamConsumersInput{StreamARN: aws.String(streamARN("s"))})
		if err != nil || len(list.Consumers) != 1 || *list.Consumers[0].ConsumerARN != arn {
			t.Fatalf("bad requests changed the consumers: %v %+v", err, list)
		}
	})
}
