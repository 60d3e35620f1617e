package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/kinesistest"
)

// TestBadInput sends each kind of bad request and checks the exact AWS error, then that the stream's
// records and summary are as they were.
func TestBadInput(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c := s.Client
		createStream(t, c, "good", 2)
		createStream(t, c, "other", 1)
		var seed []types.PutRecordsRequestEntry
		for i := range 20 {
			seed = append(seed, types.PutRecordsRequestEntry{Data: []byte(fmt.Sprint(i)), PartitionKey: aws.String(fmt.Sprint(i))})
		}
		put, err := c.PutRecords(t.Context(), &kinesis.PutRecordsInput{StreamName: aws.String("good"), Records: seed})
		if err != nil {
			t.Fatal(err)
		}
		before := takeSnapshot(t, s, "good", 2)
		mib := 1 << 20
		records := func(n, size int) []types.PutRecordsRequestEntry {
			out := make([]types.PutRecordsRequestEntry, n)
			for i := range out {
				out[i] = types.PutRecordsRequestEntry{Data: make([]byte, size), PartitionKey: aws.String("k")}
			}
			return out
		}
		otherShardSeq := *put.Records[0].SequenceNumber
		otherShard := "shardId-000000000001"
		if *put.Records[0].ShardId == otherShard {
			otherShard = "shardId-000000000000"
		}
		forged := "AAAAAAAAAAE" + strings.Repeat("A", 100) + "="

		tests := []struct {
			name    string
			call    func(ctx context.Context) error
			code    string
			message string // exact; "" means checked by prefix
			prefix  string
		}{
			{"no records", func(ctx context.Context) error {
				_, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("good"), Records: []types.PutRecordsRequestEntry{}})
				return err
			}, "ValidationException", "1 validation error detected: Value '[]' at 'records' failed to satisfy constraint: Member must have length greater than or equal to 1", ""},
			{"501 records", func(ctx context.Context) error {
				_, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("good"), Records: records(501, 1)})
				return err
			}, "ValidationException", "", "1 validation error detected: Value '[com.amazonaws.kinesis.v20131202.PutRecordsRequestEntry@"},
			{"record over 1 MiB", func(ctx context.Context) error {
				_, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("good"), Records: records(1, mib+1)})
				return err
			}, "ValidationException", "1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 lim=1048577 cap=1048577]' at 'records.1.member.data' failed to satisfy constraint: Member must have length less than or equal to 1048576", ""},
			{"record of 1 MiB with its key", func(ctx context.Context) error {
				_, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("good"), Records: records(1, mib)})
				return err
			}, "InvalidArgumentException", "", ""},
			{"request over 5 MiB", func(ctx context.Context) error {
				_, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("good"), Records: records(6, mib-100)})
				return err
			}, "InvalidArgumentException", "", ""},
			{"empty partition key", func(ctx context.Context) error {
				_, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("good"), Records: []types.PutRecordsRequestEntry{{Data: []byte("x"), PartitionKey: aws.String("")}}})
				return err
			}, "ValidationException", "1 validation error detected: Value '' at 'records.1.member.partitionKey' failed to satisfy constraint: Member must have length greater than or equal to 1", ""},
			{"257-character partition key", func(ctx context.Context) error {
				_, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("good"), Data: []byte("x"), PartitionKey: aws.String(strings.Repeat("é", 257))})
				return err
			}, "ValidationException", "1 validation error detected: Value '" + strings.Repeat("é", 257) + "' at 'partitionKey' failed to satisfy constraint: Member must have length less than or equal to 256", ""},
			{"malformed explicit hash key", func(ctx context.Context) error {
				_, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("good"), Records: []types.PutRecordsRequestEntry{
					{Data: []byte("x"), PartitionKey: aws.String("a")}, {Data: []byte("x"), PartitionKey: aws.String("a"), ExplicitHashKey: aws.String("-1")}}})
				return err
			}, "ValidationException", `1 validation error detected: Value '-1' at 'records.2.member.explicitHashKey' failed to satisfy constraint: Member must satisfy regular expression pattern: 0|([1-9]\d{0,38})`, ""},
			{"explicit hash key out of range", func(ctx context.Context) error {
				_, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("good"), Data: []byte("x"), PartitionKey: aws.String("a"), ExplicitHashKey: aws.String("340282366920938463463374607431768211456")})
				return err
			}, "InvalidArgumentException", "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was 340282366920938463463374607431768211456", ""},
			{"stream that does not exist", func(ctx context.Context) error {
				_, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("nope"), Records: records(1, 1)})
				return err
			}, "ResourceNotFoundException", "Stream nope under account 000000000000 not found.", ""},
			{"stream ARN that does not exist", func(ctx context.Context) error {
				_, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/nope"), Data: []byte("x"), PartitionKey: aws.String("a")})
				return err
			}, "ResourceNotFoundException", "Stream nope under account 000000000000 not found.", ""},
			{"name and ARN disagree", func(ctx context.Context) error {
				_, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("good"), StreamARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/other"), Records: records(1, 1)})
				return err
			}, "InvalidArgumentException", "", ""},
			{"malformed ARN", func(ctx context.Context) error {
				_, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamARN: aws.String("arn:aws:kinesis:us-east-1:0:stream/good"), Records: records(1, 1)})
				return err
			}, "ValidationException", `1 validation error detected: Value 'arn:aws:kinesis:us-east-1:0:stream/good' at 'streamARN' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:aws.*:kinesis:.*:\d{12}:stream/\S+`, ""},
			{"shard that does not exist", func(ctx context.Context) error {
				_, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("good"), ShardId: aws.String("shardId-000000000009"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
				return err
			}, "ResourceNotFoundException", "Shard shardId-000000000009 in stream good under account 000000000000 does not exist", ""},
			{"sequence number from another shard", func(ctx context.Context) error {
				_, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("good"), ShardId: aws.String(otherShard), ShardIteratorType: types.ShardIteratorTypeAtSequenceNumber, StartingSequenceNumber: aws.String(otherShardSeq)})
				return err
			}, "InvalidArgumentException", "", "Invalid StartingSequenceNumber."},
			{"shard id that names no shard", func(ctx context.Context) error {
				_, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("good"), ShardId: aws.String("shardId-002147483648"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
				return err
			}, "ResourceNotFoundException", "Could not find shard shardId-002147483648 in stream good under account 000000000000.", ""},
			{"short shard id of a missing shard", func(ctx context.Context) error {
				_, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("good"), ShardId: aws.String("7"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
				return err
			}, "ResourceNotFoundException", "Shard shardId-000000000007 in stream good under account 000000000000 does not exist", ""},
			{"AT_SEQUENCE_NUMBER without a number", func(ctx context.Context) error {
				_, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("good"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeAtSequenceNumber})
				return err
			}, "InvalidArgumentException", "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified AT_SEQUENCE_NUMBER and no StartingSequenceNumber.", ""},
			{"LATEST with a number", func(ctx context.Context) error {
				_, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("good"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeLatest, StartingSequenceNumber: aws.String(otherShardSeq)})
				return err
			}, "InvalidArgumentException", "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified LATEST and also a StartingSequenceNumber.", ""},
			{"sequence number that is not one", func(ctx context.Context) error {
				_, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("good"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeAtSequenceNumber, StartingSequenceNumber: aws.String("12345")})
				return err
			}, "InvalidArgumentException", "StartingSequenceNumber 12345 used in GetShardIterator on shard shardId-000000000000 in stream good under account 000000000000 is invalid.", ""},
			{"bad iterator type", func(ctx context.Context) error {
				_, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("good"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: "SOMEWHERE"})
				return err
			}, "ValidationException", "1 validation error detected: Value 'SOMEWHERE' at 'shardIteratorType' failed to satisfy constraint: Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_TIMESTAMP, AT_SEQUENCE_NUMBER, TRIM_HORIZON]", ""},
			{"forged iterator", func(ctx context.Context) error {
				_, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String(forged)})
				return err
			}, "InvalidArgumentException", "Invalid ShardIterator.", ""},
			{"limit over 10000", func(ctx context.Context) error {
				it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("good"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
				if err != nil {
					return err
				}
				_, err = c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator, Limit: aws.Int32(10001)})
				return err
			}, "ValidationException", "1 validation error detected: Value '10001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 10000", ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := tt.call(t.Context())
				wantAPIError(t, err, tt.code, 400, tt.message)
				if tt.prefix != "" {
					wantPrefix(t, err, tt.code, tt.prefix)
				}
				if err := before.equal(takeSnapshot(t, s, "good", 2)); err != nil {
					t.Fatalf("bad input changed the stream: %v", err)
				}
			})
		}

		// Bad bodies the SDK refuses to build, sent raw.
		raw := []struct {
			name, op, body, code, message string
		}{
			{"missing Records", "PutRecords", `{"StreamName":"good"}`, "ValidationException",
				"1 validation error detected: Value null at 'records' failed to satisfy constraint: Member must not be null"},
			{"missing partition key", "PutRecords", `{"StreamName":"good","Records":[{"Data":"eA=="}]}`, "ValidationException",
				"1 validation error detected: Value null at 'records.1.member.partitionKey' failed to satisfy constraint: Member must not be null"},
			{"malformed JSON", "PutRecords", `{"StreamName":`, "SerializationException", ""},
			{"string for a list", "PutRecords", `{"StreamName":"good","Records":"x"}`, "SerializationException", ""},
			{"number for a string", "DescribeStreamSummary", `{"StreamName":5}`, "SerializationException", ""},
			{"unknown operation", "Nope", `{}`, "UnknownOperationException", ""},
		}
		for _, tt := range raw {
			t.Run(tt.name, func(t *testing.T) {
				status, hdr, body := rawCall(t, s.Endpoint, tt.op, "application/x-amz-json-1.1", tt.body)
				var got struct {
					Type    string `json:"__type"`
					Message string `json:"message"`
				}
				if err := json.Unmarshal([]byte(body), &got); err != nil {
					t.Fatalf("body %q: %v", body, err)
				}
				if status != http.StatusBadRequest || got.Type != tt.code || hdr.Get("X-Amzn-ErrorType") != tt.code {
					t.Errorf("status %d, type %q, header %q; want 400 %s (body %s)", status, got.Type, hdr.Get("X-Amzn-ErrorType"), tt.code, body)
				}
				if tt.message != "" && got.Message != tt.message {
					t.Errorf("message\n got: %q\nwant: %q", got.Message, tt.message)
				}
				if hdr.Get("x-amzn-RequestId") == "" || hdr.Get("x-amz-id-2") == "" {
					t.Error("missing request id headers")
				}
				if err := before.equal(takeSnapshot(t, s, "good", 2)); err != nil {
					t.Fatalf("bad input changed the stream: %v", err)
				}
			})
		}
	})
}

func TestStreamLifecycle(t *testing.T) {
	skipOnBinary(t, "compares the creation time with the server's fake clock")
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createStream(t, c, "life", 3)
		sum, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/life")})
		if err != nil {
			t.Fatal(err)
		}
		d := sum.StreamDescriptionSummary
		if *d.StreamName != "life" || *d.StreamARN != "arn:aws:kinesis:us-east-1:000000000000:stream/life" || d.StreamStatus != types.StreamStatusActive ||
			*d.OpenShardCount != 3 || *d.RetentionPeriodHours != 24 || d.EncryptionType != types.EncryptionTypeNone ||
			d.StreamModeDetails == nil || d.StreamModeDetails.StreamMode != types.StreamModeProvisioned || !d.StreamCreationTimestamp.Equal(s.Clock.Now()) {
			t.Errorf("summary %+v", d)
		}
		_, err = c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("life"), ShardCount: aws.Int32(1)})
		var inUse *types.ResourceInUseException
		if !errors.As(err, &inUse) {
			t.Fatalf("second CreateStream: %v", err)
		}
		wantAPIError(t, err, "ResourceInUseException", 400, "Stream life under account 000000000000 already exists.")
		_, err = c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("bad name!"), ShardCount: aws.Int32(1)})
		wantAPIError(t, err, "ValidationException", 400, "1 validation error detected: Value 'bad name!' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
		if _, err := c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("life")}); err != nil {
			t.Fatal(err)
		}
		_, err = c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("life")})
		var notFound *types.ResourceNotFoundException
		if !errors.As(err, &notFound) {
			t.Fatalf("after delete: %v", err)
		}
		wantAPIError(t, err, "ResourceNotFoundException", 400, "Stream life under account 000000000000 not found.")
		_, err = c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("life")})
		wantAPIError(t, err, "ResourceNotFoundException", 400, "Stream life under account 000000000000 not found.")
	})
}

// TestHTTP2 drives the SDK over cleartext HTTP/2 with prior knowledge, as the JavaScript SDK does,
// and checks the server counted the calls as HTTP/2.
func TestHTTP2(t *testing.T) {
	skipOnBinary(t, "moves the server's fake clock past the per-second write limit")
	s := kinesistest.Start(t, kinesistest.Engines[1], kinesistest.Options{})
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	h2 := &http.Client{Transport: &http.Transport{Protocols: &protocols}}
	c := kinesis.New(kinesis.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.Endpoint), HTTPClient: h2,
		Credentials: s.Client.Options().Credentials, RetryMaxAttempts: 1})
	createStream(t, c, "h2", 1)
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB, over many HTTP/2 frames
	for range 3 {
		s.Clock.Advance(time.Second) // 1 MiB per shard per second
		if _, err := c.PutRecord(t.Context(), &kinesis.PutRecordInput{StreamName: aws.String("h2"), PartitionKey: aws.String("k"), Data: data[:len(data)-1]}); err != nil {
			t.Fatal(err)
		}
	}
	h2s := *s
	h2s.Client = c // read back over HTTP/2 too
	recs := readShard(t, &h2s, "h2", "shardId-000000000000")
	if len(recs) != 3 || !bytes.Equal(recs[2].Data, data[:len(data)-1]) {
		t.Fatalf("read %d records back over HTTP/2", len(recs))
	}
	resp, err := http.Get(s.Endpoint + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	if want := `kinesisd_http_requests_total{operation="PutRecord",proto="HTTP/2.0"} 3`; !strings.Contains(b.String(), want) {
		t.Errorf("metrics lack %q:\n%s", want, b.String())
	}
}
