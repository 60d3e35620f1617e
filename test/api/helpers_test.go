// Package api_test drives every operation through the AWS SDK for Go v2 over a real socket, on every
// engine in process, or against the built binary when KINESISD_TEST_BINARY names it (kinesistest.Start).
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

// eachEngine runs body once per storage engine, each on a fresh server (once, on the binary, when
// KINESISD_TEST_BINARY is set).
func eachEngine(t *testing.T, body func(t *testing.T, s *kinesistest.Server)) {
	eachEngineWith(t, nil, body)
}

// eachEngineWith is eachEngine on servers whose flags configure sets.
func eachEngineWith(t *testing.T, configure func(*config.Config), body func(t *testing.T, s *kinesistest.Server)) {
	for _, e := range kinesistest.RunEngines() {
		t.Run(e.Name, func(t *testing.T) {
			body(t, kinesistest.Start(t, e, kinesistest.Options{Configure: configure}))
		})
	}
}

// onBinary reports whether the suite runs against the built binary (KINESISD_TEST_BINARY) instead of
// in-process servers.
func onBinary() bool { return kinesistest.Binary() != "" }

// skipOnBinary marks a test (or the rest of one) as in-process only, saying why: against the binary
// it is skipped with that reason.
func skipOnBinary(t *testing.T, reason string) {
	t.Helper()
	if onBinary() {
		t.Skip("in process only: " + reason)
	}
}

// maxRealWait is the most elapse waits against the binary: tests that move the clock further (hours of
// retention, a day of rolling limits) are in process only.
const maxRealWait = 3 * time.Second

// elapse lets d of the server's time pass: in process the fake clock moves on at once; the binary
// reads the real clock, so there elapse waits d (at most maxRealWait). It is for time that must have
// passed before what follows (a throughput window, a delay ending); a test that asserts something has
// not happened yet just before a deadline drives the fake clock and is in process only.
func elapse(t *testing.T, s *kinesistest.Server, d time.Duration) {
	t.Helper()
	if s.Clock != nil {
		s.Clock.Advance(d)
		return
	}
	if d > maxRealWait {
		t.Fatalf("elapse(%v) against the binary: more than %v of real time; mark the test skipOnBinary", d, maxRealWait)
	}
	time.Sleep(d)
}

// elapseUntil lets the server's time reach at (a serverNow reading plus a delay): in process the fake
// clock moves there; against the binary elapse waits until the real clock reads at. Read at's base
// after the call that starts the delay has returned, so that the server's deadline is not later.
func elapseUntil(t *testing.T, s *kinesistest.Server, at time.Time) {
	t.Helper()
	if d := at.Sub(serverNow(s)); d > 0 {
		elapse(t, s, d)
	}
}

// elapseChecking is elapse(d) that, in process, runs notYet when d less margin has passed: the check
// that something due at d has not happened yet. Against the binary that check is left out: there it
// would be a sleep followed by an assertion that something did not happen, which passes when the
// server is merely slow (and fails when the test is).
func elapseChecking(t *testing.T, s *kinesistest.Server, d, margin time.Duration, notYet func()) {
	t.Helper()
	if s.Clock == nil {
		elapse(t, s, d)
		return
	}
	s.Clock.Advance(d - margin)
	notYet()
	s.Clock.Advance(margin)
}

// inProcessPart runs part of a test that needs the fake clock (hours moved at once, a boundary to the
// millisecond); against the binary it is left out and the log says why.
func inProcessPart(t *testing.T, s *kinesistest.Server, reason string, part func()) {
	t.Helper()
	if s.Clock == nil {
		t.Logf("left out against the binary: %s", reason)
		return
	}
	part()
}

// freshSecond, against the binary, waits for the start of the next second of the real clock, which
// the binary's per-second windows (throughput and API rate limits) follow: calls that must fall in
// one window then have a second to be made. In process it does nothing: the fake clock stands still.
func freshSecond(t *testing.T, s *kinesistest.Server) {
	t.Helper()
	if s.Clock != nil {
		return
	}
	now := time.Now()
	time.Sleep(now.Truncate(time.Second).Add(time.Second + 5*time.Millisecond).Sub(now))
}

// serverNow is the server's time: its fake clock in process, the real clock against the binary (where
// it is only close to the server's: compare with withinServerTime, not Equal).
func serverNow(s *kinesistest.Server) time.Time {
	if s.Clock != nil {
		return s.Clock.Now()
	}
	return time.Now()
}

// sameServerTime checks got is the server time want: equal in process, where the fake clock stood
// still; against the binary, within a second either side (the binary reads the real clock while the
// test reads its own).
func sameServerTime(s *kinesistest.Server, got, want time.Time) bool {
	if s.Clock != nil {
		return got.Equal(want)
	}
	diff := got.Sub(want)
	return diff > -time.Second && diff < time.Second
}

func createStream(t *testing.T, c *kinesis.Client, name string, shards int32) {
	t.Helper()
	_, err := c.CreateStream(t.Context(), &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(shards)})
	if err != nil {
		t.Fatalf("CreateStream %s: %v", name, err)
	}
}

// throttled calls f until it is not refused with ProvisionedThroughputExceededException, moving the
// server's fake clock a second on after each refusal (against the binary, waiting a second of real
// time: a retry, not an assertion): tests read as fast as they like without weakening the per-shard
// read limits.
func throttled[T any](t *testing.T, s *kinesistest.Server, f func() (T, error)) (T, error) {
	t.Helper()
	for range 30 {
		out, err := f()
		var pte *types.ProvisionedThroughputExceededException
		if !errors.As(err, &pte) {
			return out, err
		}
		elapse(t, s, time.Second)
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
