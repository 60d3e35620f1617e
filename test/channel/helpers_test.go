// Package channel_test checks that channels deliver every record of their stream exactly once: to an
// S3-compatible server the tests start (gofakes3), to the embedded buckets under the data directory,
// across a destination outage, a reshard and SIGKILLs of the binary, decoding what was written back to
// the records put through the Go SDK.
package channel_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"kinesisd/internal/channel/s3dest"
	"kinesisd/internal/kinesistest"
)

const roleARN = "arn:aws:iam::000000000000:role/channel"

// envInt is the integer environment variable name, or def.
func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// fakeS3 is an S3-compatible server in the test's process; while down is set it answers 503.
type fakeS3 struct {
	URL    string
	Client *s3.Client
	down   atomic.Bool
	puts   atomic.Int64

	mu      sync.Mutex
	headers []http.Header // of every request but the test's own (without Authorization), in order
}

func startFakeS3(t *testing.T) *fakeS3 {
	t.Helper()
	f := &fakeS3{}
	h := gofakes3.New(s3mem.New()).Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		if r.Method == http.MethodPut {
			f.puts.Add(1)
		}
		if r.Header.Get("X-Test-Client") == "" {
			f.mu.Lock()
			hd := r.Header.Clone()
			hd.Del("Authorization")
			hd.Set("X-Method", r.Method)
			hd.Set("X-Path", r.URL.Path) // /bucket/key: the order of the objects written
			f.headers = append(f.headers, hd)
			f.mu.Unlock()
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	f.Client = s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("key", "secret", ""),
		HTTPClient:  &http.Client{Transport: testClientTransport{}}})
	return f
}

// testClientTransport marks the test's own requests to the fake S3 server, which does not record them.
type testClientTransport struct{}

func (testClientTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Test-Client", "1")
	return http.DefaultTransport.RoundTrip(r)
}

// requests returns the headers of the requests kinesisd made, by method.
func (f *fakeS3) requests(method string) []http.Header {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []http.Header
	for _, h := range f.headers {
		if h.Get("X-Method") == method {
			out = append(out, h)
		}
	}
	return out
}

func (f *fakeS3) bucket(t *testing.T, name string) {
	t.Helper()
	if _, err := f.Client.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("CreateBucket %s: %v", name, err)
	}
}

// objects returns every object of bucket, by key.
func (f *fakeS3) objects(t *testing.T, bucket string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	p := s3.NewListObjectsV2Paginator(f.Client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatalf("ListObjectsV2: %v", err)
		}
		for _, o := range page.Contents {
			g, err := f.Client.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: o.Key})
			if err != nil {
				t.Fatalf("GetObject %s: %v", *o.Key, err)
			}
			b, err := io.ReadAll(g.Body)
			g.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			out[*o.Key] = b
		}
	}
	return out
}

// dirObjects returns every file under root (an embedded bucket), by its key.
func dirObjects(t *testing.T, root string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".put-") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, p)
		out[filepath.ToSlash(rel)] = b
		return nil
	})
	return out
}

// delivered is what a channel's objects hold: the records' data, decoded, and the dead letters.
type delivered struct {
	data, dead []string
	keys       []string // data objects' keys
}

// decode reads a channel's objects (one bucket's, of channel name) in format.
func decode(t *testing.T, objects map[string][]byte, channel, format string) delivered {
	t.Helper()
	var out delivered
	for key, body := range objects {
		if strings.HasPrefix(key, ".kinesisd/") || !strings.Contains(key, channel+"-shardId-") {
			continue
		}
		if strings.HasPrefix(key, "error/") {
			rej, err := s3dest.DecodeDeadLetters(body)
			if err != nil {
				t.Fatalf("dead letters %s: %v", key, err)
			}
			for _, r := range rej {
				out.dead = append(out.dead, string(r.Record.Data))
			}
			continue
		}
		out.keys = append(out.keys, key)
		compression := "NONE"
		switch {
		case strings.HasSuffix(key, ".gz"):
			compression = "GZIP"
		case strings.HasSuffix(key, ".zst"):
			compression = "ZSTD"
		}
		plain, err := s3dest.Decompress(compression, body)
		if err != nil {
			t.Fatalf("decompress %s: %v", key, err)
		}
		for _, line := range strings.Split(strings.TrimSuffix(string(plain), "\n"), "\n") {
			switch format {
			case "BYTE_ARRAY":
				b, err := base64.StdEncoding.DecodeString(line)
				if err != nil {
					t.Fatalf("object %s: %v", key, err)
				}
				line = string(b)
			case "JSON":
				if !json.Valid([]byte(line)) {
					t.Fatalf("object %s holds a line that is not JSON: %q", key, line)
				}
			}
			out.data = append(out.data, line)
		}
	}
	return out
}

// exactly reports how got differs from want as multisets: missing and duplicated records.
func exactly(got, want []string) error {
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	if slices.Equal(g, w) {
		return nil
	}
	counts := map[string]int{}
	for _, s := range w {
		counts[s]++
	}
	for _, s := range g {
		counts[s]--
	}
	missing, extra := 0, 0
	var example string
	for s, n := range counts {
		if n > 0 {
			missing += n
		}
		if n < 0 {
			extra -= n
			example = s
		}
	}
	return fmt.Errorf("%d records delivered, %d wanted: %d missing, %d duplicated or unknown (e.g. %q)", len(got), len(want), missing, extra, example)
}

// jsonRecord is record i's data: a JSON object, one line of text.
func jsonRecord(prefix string, i int) string {
	return fmt.Sprintf(`{"n":%d,"key":"%s-%d","pad":"%s"}`, i, prefix, i, strings.Repeat("x", i%50))
}

// put writes datas to stream through c, 500 per PutRecords call, retrying refused entries.
func put(t *testing.T, c *kinesis.Client, stream string, datas []string) {
	t.Helper()
	for start := 0; start < len(datas); start += 500 {
		batch := datas[start:min(start+500, len(datas))]
		entries := make([]types.PutRecordsRequestEntry, len(batch))
		for i, d := range batch {
			entries[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprintf("pk-%d", start+i)), Data: []byte(d)}
		}
		for len(entries) > 0 {
			out, err := c.PutRecords(t.Context(), &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: entries})
			if err != nil {
				t.Fatalf("PutRecords: %v", err)
			}
			var again []types.PutRecordsRequestEntry
			for i, r := range out.Records {
				if r.ErrorCode != nil {
					again = append(again, entries[i])
				}
			}
			entries = again
		}
	}
}

// onDemand creates an ON_DEMAND stream and returns its ARN.
func onDemand(t *testing.T, c *kinesis.Client, name string) string {
	t.Helper()
	_, err := c.CreateStream(t.Context(), &kinesis.CreateStreamInput{StreamName: aws.String(name),
		StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand}})
	if err != nil {
		t.Fatalf("CreateStream: %v", err)
	}
	for {
		out, err := c.DescribeStreamSummary(t.Context(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		if out.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive {
			return *out.StreamDescriptionSummary.StreamARN
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// channelSpec is what a test's channel looks like.
type channelSpec struct {
	name, format, compression, template string
	freshness                           int32
	storageClass                        string // "": the default
}

// createChannel creates a channel from streamARN to bucket and waits until it is ACTIVE.
func createChannel(t *testing.T, c *kinesis.Client, streamARN, bucket string, spec channelSpec) string {
	t.Helper()
	sto := &types.S3StorageConfiguration{BucketARN: aws.String("arn:aws:s3:::" + bucket),
		CompressionType: types.S3CompressionType(spec.compression), ExpectedBucketOwner: aws.String("000000000000")}
	if spec.template != "" {
		sto.OutputKeyTemplate = aws.String(spec.template)
	}
	if spec.storageClass != "" {
		sto.StorageClass = types.S3StorageClass(spec.storageClass)
	}
	out, err := c.CreateChannel(t.Context(), &kinesis.CreateChannelInput{
		ChannelName: aws.String(spec.name), ServiceExecutionRoleARN: aws.String(roleARN),
		StreamConfigurationList: []types.ChannelStreamConfiguration{{StreamARN: aws.String(streamARN),
			RecordConfiguration: &types.RecordConfiguration{RecordFormatType: types.RecordFormatType(spec.format)}}},
		S3DestinationConfiguration: &types.S3DestinationConfiguration{StorageConfiguration: sto, DataFreshnessInSeconds: aws.Int32(spec.freshness)},
	})
	if err != nil {
		t.Fatalf("CreateChannel %s: %v", spec.name, err)
	}
	return *out.ChannelDescription.ChannelARN
}

// waitDelivered waits (moving an in-process server's fake clock past the freshness interval each
// round; s nil: a server of its own clock) until read returns at least want records, then checks it holds exactly want.
func waitDelivered(t *testing.T, s *kinesistest.Server, read func() delivered, want []string, within time.Duration) delivered {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if s != nil && s.Clock != nil {
			s.Clock.Advance(2 * time.Second)
		}
		got := read()
		if len(got.data)+len(got.dead) >= len(want) || time.Now().After(deadline) {
			if err := exactly(append(got.data, got.dead...), want); err != nil {
				t.Fatal(err)
			}
			return got
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// metric reads one figure of GET /metrics: the sum of the lines of name whose labels contain label.
func metric(t *testing.T, endpoint, name, label string) float64 {
	t.Helper()
	resp, err := http.Get(endpoint + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	sum := 0.0
	for _, line := range bytes.Split(b, []byte("\n")) {
		l := string(line)
		if !strings.HasPrefix(l, name+"{") || !strings.Contains(l, label) {
			continue
		}
		v, err := strconv.ParseFloat(l[strings.LastIndexByte(l, ' ')+1:], 64)
		if err == nil {
			sum += v
		}
	}
	return sum
}
