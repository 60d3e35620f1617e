package api_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/config"
	"kinesisd/internal/kinesistest"
	"kinesisd/internal/server"
)

const (
	msgSignatureMismatch = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgUnknownKey        = "The security token included in the request is invalid."
)

// withCredentials writes a credentials file listing the key kinesistest's clients sign with and
// another one, and sets -credentials to it.
func withCredentials(t *testing.T) func(*config.Config) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "credentials")
	file := "# kinesistest's key\n" + testKeyID + " " + testSecret + "\n\nAKIDSECOND second/secret+key\n"
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	return func(c *config.Config) { c.Credentials = path }
}

// clientAs is s's client signing with another key pair (and region, when given). It needs a signer
// of its own (the auth schemes hold it): the SDK caches derived keys by access key id, not secret.
func clientAs(s *kinesistest.Server, id, secret, region string) *kinesis.Client {
	o := s.Client.Options()
	o.HTTPSignerV4, o.AuthSchemes = nil, nil
	o.Credentials = credentials.NewStaticCredentialsProvider(id, secret, "")
	if region != "" {
		o.Region = region
	}
	return kinesis.New(o)
}

// TestAuthSignedRequests: with -credentials, the Go SDK signing with a listed key works for control,
// data and event-stream operations, with either key of the file.
func TestAuthSignedRequests(t *testing.T) {
	skipOnBinary(t, "moves the server's fake clock a second")
	eachEngineWith(t, withCredentials(t), func(t *testing.T, s *kinesistest.Server) {
		createStream(t, s.Client, "auth", 1)
		second := clientAs(s, "AKIDSECOND", "second/secret+key", "")
		if out, err := second.ListStreams(t.Context(), &kinesis.ListStreamsInput{}); err != nil || len(out.StreamNames) != 1 {
			t.Fatalf("ListStreams with the second key: %v %v", out, err)
		}
		seqs := kinesistest.PutN(t, s.Client, "auth", "signed", 150)
		wantSeqs(t, readShard(t, s, "auth", shard0), seqs)

		arn := *register(t, s.Client, "auth", "reader").ConsumerARN
		s.Clock.Advance(time.Second) // well within the 5 minutes a signature may be from the clock
		sub, err := subscribeWith(t, clientAs(s, "AKIDSECOND", "second/secret+key", ""), arn, shard0, latestPos)
		if err != nil {
			t.Fatalf("SubscribeToShard: %v", err)
		}
		sub.next() // the first event, before any record
		more := kinesistest.PutN(t, s.Client, "auth", "live", 3)
		recs, _ := sub.collect(3)
		wantSeqs(t, recs, more)
	})
}

// TestAuthRefused: a wrong secret, an unknown key, a region that is no region name, a clock more than 5 minutes away
// are each refused with AWS's exception and message, and a refused PutRecords writes nothing.
func TestAuthRefused(t *testing.T) {
	skipOnBinary(t, "puts the server's fake clock minutes away from the client's")
	s := kinesistest.Start(t, kinesistest.Engines[1], kinesistest.Options{Configure: withCredentials(t)})
	createStream(t, s.Client, "auth", 1)
	written := kinesistest.PutN(t, s.Client, "auth", "before", 2)
	arn := *register(t, s.Client, "auth", "reader").ConsumerARN

	put := func(c *kinesis.Client) error {
		_, err := c.PutRecords(t.Context(), &kinesis.PutRecordsInput{StreamName: aws.String("auth"), Records: []types.PutRecordsRequestEntry{
			{PartitionKey: aws.String("refused"), Data: []byte("must not be written")},
		}})
		return err
	}
	wrongSecret := clientAs(s, testKeyID, "not-the-secret", "")
	unknown := clientAs(s, "AKIDUNKNOWN", testSecret, "")
	t.Run("wrong secret", func(t *testing.T) {
		wantAPIError(t, put(wrongSecret), "InvalidSignatureException", 400, msgSignatureMismatch)
		_, err := wrongSecret.DescribeStreamSummary(t.Context(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("auth")})
		wantAPIError(t, err, "InvalidSignatureException", 400, msgSignatureMismatch)
		_, err = wrongSecret.DeleteStream(t.Context(), &kinesis.DeleteStreamInput{StreamName: aws.String("auth")})
		wantAPIError(t, err, "InvalidSignatureException", 400, msgSignatureMismatch)
	})
	t.Run("second key with the first key's secret", func(t *testing.T) {
		wantAPIError(t, put(clientAs(s, "AKIDSECOND", testSecret, "")), "InvalidSignatureException", 400, msgSignatureMismatch)
	})
	t.Run("unknown key", func(t *testing.T) {
		wantAPIError(t, put(unknown), "UnrecognizedClientException", 400, msgUnknownKey)
	})
	t.Run("not a region", func(t *testing.T) { // any valid region is accepted (identity_test.go)
		wantAPIError(t, put(clientAs(s, testKeyID, testSecret, "moon-1")),
			"InvalidSignatureException", 400, "Credential should be scoped to a valid region, not 'moon-1'. ")
	})
	t.Run("subscribe with a wrong secret", func(t *testing.T) {
		_, err := subscribeWith(t, clientAs(s, testKeyID, "not-the-secret", ""), arn, shard0, latestPos)
		wantAPIError(t, err, "InvalidSignatureException", 400, msgSignatureMismatch)
	})
	t.Run("clock skew", func(t *testing.T) {
		s.Clock.Advance(5*time.Minute + 30*time.Second)
		err := put(s.Client)
		wantAPIError(t, err, "InvalidSignatureException", 400, "")
		expired := regexp.MustCompile(`^Signature expired: (\d{8}T\d{6}Z) is now earlier than (\d{8}T\d{6}Z) \((\d{8}T\d{6}Z) - 5 min\.\)$`)
		checkSkewMessage(t, err, expired, -5*time.Minute)

		s.Clock.Advance(-11 * time.Minute) // now 5.5 minutes behind the client
		err = put(s.Client)
		wantAPIError(t, err, "InvalidSignatureException", 400, "")
		future := regexp.MustCompile(`^Signature not yet current: (\d{8}T\d{6}Z) is still later than (\d{8}T\d{6}Z) \((\d{8}T\d{6}Z) \+ 5 min\.\)$`)
		checkSkewMessage(t, err, future, 5*time.Minute)

		s.Clock.Advance(5*time.Minute + 30*time.Second) // back in step
	})
	t.Run("unsigned", func(t *testing.T) {
		status, _, body := rawUnsigned(t, s.Endpoint)
		if status != 400 || !strings.Contains(body, "MissingAuthenticationToken") {
			t.Errorf("unsigned request: %d %s", status, body)
		}
	})
	t.Run("metrics stay open", func(t *testing.T) {
		resp, err := http.Get(s.Endpoint + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET /metrics: %d", resp.StatusCode)
		}
	})
	// Nothing refused was written, and the stream the refused DeleteStream named is still there.
	wantSeqs(t, readShard(t, s, "auth", shard0), written)
}

// checkSkewMessage checks the request time and the two server times of a skew message: the limit
// is the server's clock moved by offset.
func checkSkewMessage(t *testing.T, err error, re *regexp.Regexp, offset time.Duration) {
	t.Helper()
	msg := err.Error()
	if i := strings.Index(msg, "Signature "); i >= 0 {
		msg = msg[i:]
	}
	m := re.FindStringSubmatch(msg)
	if m == nil {
		t.Fatalf("message %q does not match %s", msg, re)
	}
	parse := func(s string) time.Time {
		v, err := time.Parse("20060102T150405Z", s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	signed, limit, now := parse(m[1]), parse(m[2]), parse(m[3])
	if !limit.Equal(now.Add(offset)) {
		t.Errorf("limit %s is not %s %s", m[2], m[3], offset)
	}
	if d := time.Until(signed); d < -time.Minute || d > time.Minute {
		t.Errorf("request time %s is not the client's clock", m[1])
	}
}

// rawUnsigned posts a ListStreams with no signature at all.
func rawUnsigned(t *testing.T, endpoint string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, endpoint+"/", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", "Kinesis_20131202.ListStreams")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// TestAuthCredentialsFileProblems: a malformed or missing credentials file stops the start, naming
// the line.
func TestAuthCredentialsFileProblems(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, file, want string
	}{
		{"one field", "AKID1 secret\nAKID2\n", "-credentials: " + filepath.Join(dir, "one field") + ":2: want ACCESS_KEY_ID SECRET_ACCESS_KEY [ACCOUNT_ID [PRINCIPAL]], found 1 fields"},
		{"no keys", "# none yet\n", "-credentials: " + filepath.Join(dir, "no keys") + ": no keys"},
		{"missing", "", "-credentials: open " + filepath.Join(dir, "missing") + ": no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name)
			if tt.file != "" {
				if err := os.WriteFile(path, []byte(tt.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			cfg, err := config.Load([]string{"-listen", "127.0.0.1:0", "-in-memory", "-credentials", path}, nil)
			if err != nil {
				t.Fatal(err)
			}
			s, err := server.Start(context.Background(), cfg, nil, nil)
			if err == nil {
				s.Close(context.Background())
				t.Fatal("started with a bad credentials file")
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error %q\nwant prefix %q", err, tt.want)
			}
		})
	}
}
