package api_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/kinesistest"
)

// TestDryRun: a DryRun request runs every check, changes nothing and answers DryRunOperationException;
// a DryRun request that fails a check gets that check's error.
func TestDryRun(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c := s.Client
		createStream(t, c, "dry", 1)
		// StreamId is accepted (and ignored). Sent raw: the SDK's endpoint rules route a request with a
		// StreamId to AWS's own host whatever the configured endpoint.
		status, _, body := rawCall(t, s.Endpoint, "PutRecord", "application/x-amz-json-1.1",
			`{"StreamName":"dry","PartitionKey":"k","Data":"cmVhbA==","StreamId":"abcdefghij0123456789-abc"}`)
		if status != 200 {
			t.Fatalf("PutRecord with StreamId: %d %s", status, body)
		}
		status, _, body = rawCall(t, s.Endpoint, "PutRecord", "application/x-amz-json-1.1",
			`{"StreamName":"dry","PartitionKey":"k","Data":"cmVhbA==","StreamId":"NOT-AN-ID"}`)
		if status != 400 || !strings.Contains(body, `Value 'NOT-AN-ID' at 'streamId' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-z0-9]{20}-[a-z0-9]{3}`) {
			t.Fatalf("PutRecord with a malformed StreamId: %d %s", status, body)
		}
		it, err := c.GetShardIterator(t.Context(), &kinesis.GetShardIteratorInput{StreamName: aws.String("dry"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatal(err)
		}
		before := takeSnapshot(t, s, "dry", 1)
		yes := aws.Bool(true)
		passing := map[string]func(context.Context) error{
			"PutRecord": func(ctx context.Context) error {
				_, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("dry"), PartitionKey: aws.String("k"), Data: []byte("x"), DryRun: yes})
				return err
			},
			"PutRecords": func(ctx context.Context) error {
				_, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("dry"), Records: entries(10, 10, "k"), DryRun: yes})
				return err
			},
			"GetShardIterator": func(ctx context.Context) error {
				_, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("dry"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeLatest, DryRun: yes})
				return err
			},
			"GetRecords": func(ctx context.Context) error {
				_, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator, DryRun: yes})
				return err
			},
		}
		for name, call := range passing {
			err := call(t.Context())
			var dry *types.DryRunOperationException
			if !errors.As(err, &dry) {
				t.Errorf("%s DryRun: %v, want DryRunOperationException", name, err)
			}
			wantAPIError(t, err, "DryRunOperationException", 400, "Request would have succeeded, but DryRun flag is set.")
		}
		if err := before.equal(takeSnapshot(t, s, "dry", 1)); err != nil {
			t.Fatalf("a DryRun changed the stream: %v", err)
		}
		// Checks still run: a DryRun naming a missing stream is refused as without DryRun.
		_, err = c.PutRecord(t.Context(), &kinesis.PutRecordInput{StreamName: aws.String("absent"), PartitionKey: aws.String("k"), Data: []byte("x"), DryRun: yes})
		wantAPIError(t, err, "ResourceNotFoundException", 400, "Stream absent under account 000000000000 not found.")
		_, err = c.PutRecords(t.Context(), &kinesis.PutRecordsInput{StreamName: aws.String("dry"), Records: []types.PutRecordsRequestEntry{}, DryRun: yes})
		wantAPIError(t, err, "ValidationException", 400, "1 validation error detected: Value '[]' at 'records' failed to satisfy constraint: Member must have length greater than or equal to 1")
		_, err = c.GetRecords(t.Context(), &kinesis.GetRecordsInput{ShardIterator: aws.String("AAAAAAAAAAEbogus"), DryRun: yes})
		wantAPIError(t, err, "InvalidArgumentException", 400, "Invalid ShardIterator.")
	})
}

// TestBooleanStrings: a Boolean member given as one of the strings the service reads as a Boolean
// ("true", "yes", "1", "false", "no", "0", in any case) works as the JSON boolean; other strings are a
// SerializationException naming the string in upper case. Sent raw: the SDK only sends JSON booleans.
func TestBooleanStrings(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		createStream(t, s.Client, "flags", 1)
		call := func(op, body string) (int, string) {
			t.Helper()
			status, _, got := rawCall(t, s.Endpoint, op, "application/x-amz-json-1.1", body)
			return status, got
		}
		tests := []struct {
			name, op, body string
			status         int
			want           string // in the response body
		}{
			{"PutRecord DryRun TRUE", "PutRecord", `{"StreamName":"flags","PartitionKey":"k","Data":"eA==","DryRun":"TRUE"}`, 400, `"__type":"DryRunOperationException"`},
			{"PutRecord DryRun yes", "PutRecord", `{"StreamName":"flags","PartitionKey":"k","Data":"eA==","DryRun":"yes"}`, 400, `"__type":"DryRunOperationException"`},
			{"PutRecord DryRun no", "PutRecord", `{"StreamName":"flags","PartitionKey":"k","Data":"eA==","DryRun":"No"}`, 200, `"SequenceNumber"`},
			{"PutRecord DryRun 0", "PutRecord", `{"StreamName":"flags","PartitionKey":"k","Data":"eA==","DryRun":"0"}`, 200, `"SequenceNumber"`},
			{"PutRecords DryRun 1", "PutRecords", `{"StreamName":"flags","Records":[{"PartitionKey":"k","Data":"eA=="}],"DryRun":"1"}`, 400, `"__type":"DryRunOperationException"`},
			{"PutRecords DryRun false", "PutRecords", `{"StreamName":"flags","Records":[{"PartitionKey":"k","Data":"eA=="}],"DryRun":"false"}`, 200, `"FailedRecordCount":0`},
			{"PutRecord DryRun maybe", "PutRecord", `{"StreamName":"flags","PartitionKey":"k","Data":"eA==","DryRun":"maybe"}`, 400,
				`{"__type":"SerializationException","Message":"'MAYBE' can not be converted to an Boolean"}`},
			{"PutRecord DryRun 2", "PutRecord", `{"StreamName":"flags","PartitionKey":"k","Data":"eA==","DryRun":"2"}`, 400,
				`{"__type":"SerializationException","Message":"'2' can not be converted to an Boolean"}`},
			{"DeleteStream EnforceConsumerDeletion nO", "DeleteStream", `{"StreamName":"flags","EnforceConsumerDeletion":"nO"}`, 400, `"__type":"ResourceInUseException"`},
		}
		register(t, s.Client, "flags", "reader")
		for _, tt := range tests {
			if status, body := call(tt.op, tt.body); status != tt.status || !strings.Contains(body, tt.want) {
				t.Errorf("%s: %d %s, want %d with %s", tt.name, status, body, tt.status, tt.want)
			}
		}
		if got := len(readShard(t, s, "flags", "shardId-000000000000")); got != 3 {
			t.Errorf("%d records written, want the 3 of the calls that were no DryRun", got)
		}
		if status, body := call("DeleteStream", `{"StreamName":"flags","EnforceConsumerDeletion":"Yes"}`); status != 200 {
			t.Fatalf("DeleteStream with consumers, EnforceConsumerDeletion \"Yes\": %d %s", status, body)
		}
	})
}
