package binary_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/kinesistest"
	"kinesisd/internal/storage/jetstream/natstest"
)

// TestRequestLogs: with -log-requests and -log-format json the built binary logs one JSON line per
// request, with the fields the README lists, for a PutRecords, a ResourceNotFoundException and a
// refused signature (at INFO, naming the access key, never the secret).
func TestRequestLogs(t *testing.T) {
	bin := buildBinary(t)
	keys := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(keys, []byte("AKIDLOGS logsecret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startLogged(t, bin, nil, "-listen", "127.0.0.1:0", "-in-memory", "-credentials", keys, "-log-requests", "-log-format", "json", "-init-streams", "logs:1")
	if p.Endpoint == "" {
		t.Fatalf("kinesisd did not start: %v\n%s", p.ExitErr(), p.Log())
	}
	client := func(secret string) *kinesis.Client {
		return kinesis.New(kinesistest.NewClient(p.Endpoint).Options(), func(o *kinesis.Options) {
			o.Credentials = credentials.NewStaticCredentialsProvider("AKIDLOGS", secret, "")
		})
	}
	good := client("logsecret")
	if _, err := good.PutRecords(t.Context(), &kinesis.PutRecordsInput{StreamName: aws.String("logs"), Records: []types.PutRecordsRequestEntry{
		{PartitionKey: aws.String("a"), Data: []byte("12345")}, {PartitionKey: aws.String("b"), Data: []byte("678")},
	}}); err != nil {
		t.Fatal(err)
	}
	var rnf *types.ResourceNotFoundException
	if _, err := good.DescribeStreamSummary(t.Context(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("missing")}); !errors.As(err, &rnf) {
		t.Fatalf("DescribeStreamSummary of a missing stream: %v", err)
	}
	if _, err := client("not-the-secret").ListStreams(t.Context(), &kinesis.ListStreamsInput{}); err == nil {
		t.Fatal("a wrong secret was accepted")
	}
	stop(t, p)

	var lines []map[string]any
	for _, l := range strings.Split(p.Log(), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q", l)
		}
		lines = append(lines, rec)
	}
	find := func(match func(map[string]any) bool) map[string]any {
		for _, l := range lines {
			if match(l) {
				return l
			}
		}
		return nil
	}
	putLine := find(func(l map[string]any) bool { return l["msg"] == "request" && l["operation"] == "PutRecords" })
	if putLine == nil {
		t.Fatalf("no request line for PutRecords in:\n%s", p.Log())
	}
	for _, k := range []string{"time", "level", "request_id", "remote", "stream", "status", "records", "bytes", "duration"} {
		if _, ok := putLine[k]; !ok {
			t.Errorf("PutRecords line lacks %q: %v", k, putLine)
		}
	}
	if putLine["stream"] != "logs" || putLine["status"] != float64(200) || putLine["records"] != float64(2) || putLine["bytes"] != float64(8) {
		t.Errorf("PutRecords line %v, want stream logs, status 200, 2 records, 8 bytes", putLine)
	}
	rnfLine := find(func(l map[string]any) bool { return l["msg"] == "request" && l["operation"] == "DescribeStreamSummary" })
	if rnfLine == nil || rnfLine["status"] != float64(400) || rnfLine["error"] != "ResourceNotFoundException" || rnfLine["stream"] != "missing" {
		t.Errorf("DescribeStreamSummary line %v, want status 400, error ResourceNotFoundException, stream missing", rnfLine)
	}
	refused := find(func(l map[string]any) bool { return l["msg"] == "signature refused" })
	if refused == nil || refused["level"] != "INFO" || refused["access_key"] != "AKIDLOGS" {
		t.Errorf("refused-signature line %v, want INFO with access_key AKIDLOGS", refused)
	}
	if strings.Contains(p.Log(), "not-the-secret") || strings.Contains(p.Log(), "logsecret") {
		t.Error("a secret appears in the log")
	}
}

// TestHealthWhenNATSGoesAway: the binary on NATS JetStream answers /health 200, then 503 naming NATS
// once the NATS server stops.
func TestHealthWhenNATSGoesAway(t *testing.T) {
	bin := buildBinary(t)
	nats := natstest.Start(t, t.TempDir(), natstest.Options{})
	p := startLogged(t, bin, nil, "-listen", "127.0.0.1:0", "-store", nats.ClientURL(), "-kms-master-key-file", filepath.Join(t.TempDir(), "kms-master-key"))
	if p.Endpoint == "" {
		t.Fatalf("kinesisd did not start: %v\n%s", p.ExitErr(), p.Log())
	}
	status := func() (int, map[string]any) {
		resp, err := http.Get(p.Endpoint + "/health")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, body
	}
	if code, body := status(); code != 200 || body["engine"] != "jetstream" {
		t.Fatalf("/health = %d %v, want 200 on jetstream", code, body)
	}
	natstest.Stop(nats)
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := status()
		if code == http.StatusServiceUnavailable {
			if reason, _ := body["reason"].(string); !strings.Contains(reason, "NATS") {
				t.Errorf("503 reason %q does not name NATS", reason)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/health still %d %v 30 s after NATS stopped", code, body)
		}
		time.Sleep(100 * time.Millisecond) // polling, as a load balancer does
	}
}
