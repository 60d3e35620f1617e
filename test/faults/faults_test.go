// Package faults_test drives the built kinesisd binary into storage faults (a full disk, a corrupt write-ahead log or table, huge records) and checks its answers and that nothing acknowledged is lost.
package faults_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// needFaultEnv skips t with reason, or fails it when KINESISD_FAULT_TESTS=1 (make faulttest), where
// a fault test that cannot run is an error.
func needFaultEnv(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("KINESISD_FAULT_TESTS") == "1" {
		t.Fatalf("KINESISD_FAULT_TESTS=1 but: "+format, args...)
	}
	t.Skipf(format+" (make faulttest runs it, as root)", args...)
}

// tmpfs mounts a tmpfs of sizeMiB on a new directory and unmounts it when the test ends (after
// every process started later has been killed: cleanups run last-in first-out).
func tmpfs(t *testing.T, sizeMiB int) string {
	t.Helper()
	if os.Geteuid() != 0 {
		needFaultEnv(t, "mounting a small file system needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%dm", sizeMiB), "tmpfs", dir).CombinedOutput(); err != nil {
		needFaultEnv(t, "mount -t tmpfs: %v: %s", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, bytes.TrimSpace(out))
			exec.Command("umount", "-l", dir).Run()
		}
	})
	return dir
}

// freeBytes is the space left to unprivileged users on dir's file system.
func freeBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * st.Bsize
}

// fill writes zeros to a new file at path until it holds n bytes or the disk is full, and returns
// the size written.
func fill(t *testing.T, path string, n int64) int64 {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 1<<20)
	var written int64
	for written < n {
		k, err := f.Write(chunk[:min(int64(len(chunk)), n-written)])
		written += int64(k)
		if errors.Is(err, syscall.ENOSPC) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return written
}

// ledger keeps what a test's writes had acknowledged: record id → shard and sequence number.
type ledger struct {
	mu    sync.Mutex
	next  int
	acked map[string]ack
}

type ack struct{ shard, seq string }

func newLedger() *ledger { return &ledger{acked: map[string]ack{}} }

// recordsError is a PutRecords answered 200 with some records failed.
type recordsError struct{ code, message string }

func (e *recordsError) Error() string { return "record failed: " + e.code + ": " + e.message }

// put sends one PutRecords of n records of size bytes (each starting "<id>|") to stream and records
// what was acknowledged. It returns the call's error, or a *recordsError for the first failed record.
func (l *ledger) put(ctx context.Context, c *kinesis.Client, stream string, n, size int) error {
	l.mu.Lock()
	first := l.next
	l.next += n
	l.mu.Unlock()
	entries := make([]types.PutRecordsRequestEntry, n)
	for i := range entries {
		id := fmt.Sprintf("r%09d|", first+i)
		data := make([]byte, max(size, len(id)))
		copy(data, id)
		for j := len(id); j < len(data); j++ {
			data[j] = byte('a' + (first+i+j)%26)
		}
		entries[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String(strconv.Itoa(first + i)), Data: data}
	}
	out, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: entries})
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var failed *recordsError
	for i, r := range out.Records {
		if r.ErrorCode != nil {
			if failed == nil {
				failed = &recordsError{*r.ErrorCode, aws.ToString(r.ErrorMessage)}
			}
			continue
		}
		id, _, _ := strings.Cut(string(entries[i].Data), "|")
		l.acked[id] = ack{*r.ShardId, *r.SequenceNumber}
	}
	if failed != nil {
		return failed
	}
	return nil
}

func (l *ledger) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

// readAll reads every shard of stream from TRIM_HORIZON and returns record id → shard and sequence
// number; a record stored twice fails t.
func readAll(t *testing.T, c *kinesis.Client, stream string) map[string]ack {
	t.Helper()
	ctx := t.Context()
	found := map[string]ack{}
	shards, err := c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatalf("ListShards: %v", err)
	}
	for _, sh := range shards.Shards {
		it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(stream), ShardId: sh.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatalf("GetShardIterator: %v", err)
		}
		for iter := it.ShardIterator; iter != nil; {
			res, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
			if err != nil {
				t.Fatalf("GetRecords %s: %v", *sh.ShardId, err)
			}
			for _, r := range res.Records {
				id, _, _ := strings.Cut(string(r.Data), "|")
				if prev, dup := found[id]; dup {
					t.Errorf("record %s stored twice: %v and %s %s", id, prev, *sh.ShardId, *r.SequenceNumber)
				}
				found[id] = ack{*sh.ShardId, *r.SequenceNumber}
			}
			if len(res.Records) == 0 && aws.ToInt64(res.MillisBehindLatest) == 0 {
				break
			}
			iter = res.NextShardIterator
		}
	}
	return found
}

// verify reads stream back and fails t for every acknowledged record missing or stored under
// another sequence number. It returns how many records are stored.
func verify(t *testing.T, c *kinesis.Client, stream string, l *ledger) int {
	t.Helper()
	found := readAll(t, c, stream)
	l.mu.Lock()
	defer l.mu.Unlock()
	lost := 0
	for id, a := range l.acked {
		if f, ok := found[id]; !ok || f != a {
			if lost < 5 {
				t.Errorf("acknowledged record %s (%s %s): stored as %v, %v", id, a.shard, a.seq, f, ok)
			}
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged records lost or changed", lost, len(l.acked))
	}
	return len(found)
}

// createStream creates stream with shards shards and waits for it to be ACTIVE.
func createStream(t *testing.T, c *kinesis.Client, stream string, shards int32) {
	t.Helper()
	if _, err := c.CreateStream(t.Context(), &kinesis.CreateStreamInput{StreamName: aws.String(stream), ShardCount: aws.Int32(shards)}); err != nil {
		t.Fatal(err)
	}
	for {
		out, err := c.DescribeStreamSummary(t.Context(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
		if err != nil {
			t.Fatal(err)
		}
		if out.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// answer is what a call's error says: the HTTP status (0: no HTTP response at all), the error code
// and message, and whether the SDK's standard retryer would retry it.
type answer struct {
	status    int
	code, msg string
	retryable bool
}

func answerOf(err error) answer {
	var a answer
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		a.status = re.HTTPStatusCode()
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		a.code, a.msg = api.ErrorCode(), api.ErrorMessage()
	}
	a.retryable = retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary
	var rec *recordsError
	if errors.As(err, &rec) {
		// A record PutRecords failed alone: clients (the KPL, the KCL's producers) send again those
		// failed for rate or an internal failure.
		a.status, a.code, a.msg = 200, rec.code, rec.message
		a.retryable = rec.code == "ProvisionedThroughputExceededException" || rec.code == "InternalFailure"
	}
	return a
}

// rawCall sends one signed AWS JSON 1.1 request for operation op with net/http directly (no SDK,
// no retries) and returns the status and body: a transport error means the server sent no reply.
func rawCall(ctx context.Context, endpoint, op string, in any) (int, []byte, error) {
	body, err := json.Marshal(in)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "Kinesis_20131202."+op)
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "kinesis", "us-east-1", time.Now()); err != nil {
		return 0, nil, err
	}
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

// metric sums the samples of the Prometheus metric name (all label sets) at endpoint's /metrics; it
// returns -1 if there are none.
func metric(t *testing.T, endpoint, name string) float64 {
	t.Helper()
	resp, err := http.Get(endpoint + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	total, found := 0.0, false
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		if rest == "" || (rest[0] != ' ' && rest[0] != '{') {
			continue // another metric whose name starts with this one
		}
		if rest[0] == '{' {
			rest = rest[strings.LastIndex(rest, "}")+1:]
		}
		fields := strings.Fields(rest) // value [timestamp]
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			t.Fatalf("/metrics: %q: %v", line, err)
		}
		total, found = total+v, true
	}
	if !found {
		return -1
	}
	return total
}
