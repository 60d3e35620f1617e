// Package api_test drives every operation through the AWS SDK for Go v2 over a real socket, on every engine.
package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

	"kinesisd/internal/config"
	"kinesisd/internal/kinesistest"
)

// eachEngine runs body once per storage engine, each on a fresh server.
func eachEngine(t *testing.T, body func(t *testing.T, s *kinesistest.Server)) {
	eachEngineWith(t, nil, body)
}

// eachEngineWith is eachEngine on servers whose flags configure sets.
func eachEngineWith(t *testing.T, configure func(*config.Config), body func(t *testing.T, s *kinesistest.Server)) {
	for _, e := range kinesistest.Engines {
		t.Run(e.Name, func(t *testing.T) {
			body(t, kinesistest.Start(t, e, kinesistest.Options{Configure: configure}))
		})
	}
}

func createStream(t *testing.T, c *kinesis.Client, name string, shards int32) {
	t.Helper()
	_, err := c.CreateStream(t.Context(), &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(shards)})
	if err != nil {
		t.Fatalf("CreateStream %s: %v", name, err)
	}
}

// throttled calls f until it is not refused with ProvisionedThroughputExceededException, moving the
// server's fake clock a second on after each refusal: tests read as fast as they like without
// weakening the per-shard read limits.
func throttled[T any](t *testing.T, s *kinesistest.Server, f func() (T, error)) (T, error) {
	t.Helper()
	for range 30 {
		out, err := f()
		var pte *types.ProvisionedThroughputExceededException
		if !errors.As(err, &pte) {
			return out, err
		}
		s.Clock.Advance(time.Second)
	}
	return f()
}

// getIterator is GetShardIterator through throttled.
func getIterator(t *testing.T, s *kinesistest.Server, in *kinesis.GetShardIteratorInput) string {
	t.Helper()
	out, err := throttled(t, s, func() (*kinesis.GetShardIteratorOutput, error) { return s.Client.GetShardIterator(t.Context(), in) })
	if err != nil {
		t.Fatalf("GetShardIterator %s %s: %v", aws.ToString(in.ShardId), in.ShardIteratorType, err)
	}
	return *out.ShardIterator
}

// readShard reads a shard from TRIM_HORIZON until a read returns nothing.
func readShard(t *testing.T, s *kinesistest.Server, stream, shard string) []types.Record {
	t.Helper()
	return readAll(t, s, getIterator(t, s, &kinesis.GetShardIteratorInput{
		StreamName: aws.String(stream), ShardId: aws.String(shard), ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
	}))
}

// readAll follows an iterator until a read returns nothing or the shard ends.
func readAll(t *testing.T, s *kinesistest.Server, iter string) []types.Record {
	t.Helper()
	var out []types.Record
	for range 10000 {
		res, err := throttled(t, s, func() (*kinesis.GetRecordsOutput, error) {
			return s.Client.GetRecords(t.Context(), &kinesis.GetRecordsInput{ShardIterator: aws.String(iter)})
		})
		if err != nil {
			t.Fatalf("GetRecords: %v", err)
		}
		out = append(out, res.Records...)
		if len(res.Records) == 0 || res.NextShardIterator == nil {
			return out
		}
		if *res.NextShardIterator == iter {
			t.Fatal("NextShardIterator did not change")
		}
		iter = *res.NextShardIterator
	}
	t.Fatal("shard never drained")
	return nil
}

// snapshot is what bad input must leave untouched: every record and the stream summary.
type snapshot struct {
	records map[string][]types.Record
	summary types.StreamDescriptionSummary
}

func takeSnapshot(t *testing.T, s *kinesistest.Server, stream string, shards int) snapshot {
	t.Helper()
	snap := snapshot{records: map[string][]types.Record{}}
	for i := range shards {
		id := fmt.Sprintf("shardId-%012d", i)
		snap.records[id] = readShard(t, s, stream, id)
	}
	sum, err := s.Client.DescribeStreamSummary(t.Context(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatalf("DescribeStreamSummary: %v", err)
	}
	snap.summary = *sum.StreamDescriptionSummary
	return snap
}

func (a snapshot) equal(b snapshot) error {
	if len(a.records) != len(b.records) {
		return fmt.Errorf("shard count %d != %d", len(a.records), len(b.records))
	}
	for id, ra := range a.records {
		rb := b.records[id]
		if len(ra) != len(rb) {
			return fmt.Errorf("%s: %d records, then %d", id, len(ra), len(rb))
		}
		for i := range ra {
			if *ra[i].SequenceNumber != *rb[i].SequenceNumber || !bytes.Equal(ra[i].Data, rb[i].Data) {
				return fmt.Errorf("%s: record %d changed", id, i)
			}
		}
	}
	sa, sb := a.summary, b.summary
	if *sa.StreamARN != *sb.StreamARN || sa.StreamStatus != sb.StreamStatus || *sa.OpenShardCount != *sb.OpenShardCount ||
		!sa.StreamCreationTimestamp.Equal(*sb.StreamCreationTimestamp) || *sa.RetentionPeriodHours != *sb.RetentionPeriodHours {
		return fmt.Errorf("summary changed: %+v then %+v", sa, sb)
	}
	return nil
}

// wantAPIError checks err is the AWS error code with the HTTP status and message.
func wantAPIError(t *testing.T, err error, code string, status int, message string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", code)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an API error", err)
	}
	if ae.ErrorCode() != code {
		t.Errorf("error code %q, want %q (message %q)", ae.ErrorCode(), code, ae.ErrorMessage())
	}
	if message != "" && ae.ErrorMessage() != message {
		t.Errorf("%s message\n got: %q\nwant: %q", code, ae.ErrorMessage(), message)
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("error %v carries no HTTP response", err)
	}
	if re.HTTPStatusCode() != status {
		t.Errorf("HTTP status %d, want %d", re.HTTPStatusCode(), status)
	}
	if re.ServiceRequestID() == "" {
		t.Error("no x-amzn-RequestId on the error response")
	}
}

// wantPrefix is wantAPIError for a message checked by its beginning.
func wantPrefix(t *testing.T, err error, code, prefix string) {
	t.Helper()
	wantAPIError(t, err, code, 400, "")
	var ae smithy.APIError
	if errors.As(err, &ae) && !strings.HasPrefix(ae.ErrorMessage(), prefix) {
		t.Errorf("%s message\n got: %q\nwant prefix: %q", code, ae.ErrorMessage(), prefix)
	}
}

// rawCall sends a signed request with a body the SDK would refuse to build.
func rawCall(t *testing.T, endpoint, op, contentType, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, endpoint+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if op != "" {
		req.Header.Set("X-Amz-Target", "Kinesis_20131202."+op)
	}
	req.Header.Set("Content-Type", contentType)
	sum := sha256.Sum256([]byte(body))
	signer := v4.NewSigner()
	creds := aws.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "secret"}
	if err := signer.SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "kinesis", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// hashRange returns shard i's range when n shards split [0, 2^128-1] evenly.
func hashRange(i, n int) (start, end *big.Int) {
	space := new(big.Int).Lsh(big.NewInt(1), 128)
	step := new(big.Int).Div(space, big.NewInt(int64(n)))
	start = new(big.Int).Mul(step, big.NewInt(int64(i)))
	end = new(big.Int).Add(start, step)
	end.Sub(end, big.NewInt(1))
	if i == n-1 {
		end.Sub(space, big.NewInt(1))
	}
	return start, end
}
