// Package binary_test drives the built kinesisd binary as a process: flags, signals, and kill -9 under
// load followed by a restart on the same data directory.
package binary_test

import (
	"bufio"
	"context"
	"fmt"
	"math/big"
	"os/exec"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/kinesistest"
	"kinesisd/internal/kinesistest/proc"
)

var listening = regexp.MustCompile(`listening on (127\.0\.0\.1:\d+)`)

// buildBinary builds cmd/kinesisd into a temporary directory ($KINESISD_BIN if set).
func buildBinary(t *testing.T) string {
	t.Helper()
	bin, err := proc.Build(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// startBinary starts kinesisd on dataDir and returns the process and its endpoint.
func startBinary(t *testing.T, bin, dataDir string, extra ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"-listen", "127.0.0.1:0", "-data", dataDir}, extra...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case addr := <-found:
		return cmd, "http://" + addr
	case <-time.After(20 * time.Second):
		t.Fatal("kinesisd did not log its address")
	}
	return nil, ""
}

type acked struct {
	seq   *big.Int
	shard string
	data  string
}

func TestKillUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a real process")
	}
	bin := buildBinary(t)
	dataDir := t.TempDir()
	cmd, endpoint := startBinary(t, bin, dataDir, "-throughput-limits=false")
	c := kinesistest.NewClient(endpoint)
	if _, err := c.CreateStream(t.Context(), &kinesis.CreateStreamInput{StreamName: aws.String("crash"), ShardCount: aws.Int32(4)}); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var acks []acked
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ctx.Err() == nil; n++ {
				entries := make([]types.PutRecordsRequestEntry, 100)
				for i := range entries {
					entries[i] = types.PutRecordsRequestEntry{Data: fmt.Appendf(nil, "w%d-r%d-i%d", w, n, i), PartitionKey: aws.String(fmt.Sprint(n*100 + i))}
				}
				out, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("crash"), Records: entries})
				if err != nil {
					return // the server died under us: nothing of this request was acknowledged
				}
				mu.Lock()
				for i, r := range out.Records {
					if r.ErrorCode == nil {
						seq, _ := new(big.Int).SetString(*r.SequenceNumber, 10)
						acks = append(acks, acked{seq: seq, shard: *r.ShardId, data: string(entries[i].Data)})
					}
				}
				mu.Unlock()
			}
		}()
	}
	// Let the load run, then kill -9 while requests are in flight.
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(acks)
		mu.Unlock()
		if n >= 20000 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	cancel()
	wg.Wait()
	if len(acks) == 0 {
		t.Fatal("no record was acknowledged before the kill")
	}
	t.Logf("%d records acknowledged before SIGKILL", len(acks))

	_, endpoint = startBinary(t, bin, dataDir)
	c = kinesistest.NewClient(endpoint)
	found := map[string]acked{}
	for i := range 4 {
		shard := fmt.Sprintf("shardId-%012d", i)
		it, err := c.GetShardIterator(t.Context(), &kinesis.GetShardIteratorInput{StreamName: aws.String("crash"), ShardId: aws.String(shard), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatal(err)
		}
		iter := it.ShardIterator
		prev := new(big.Int)
		for {
			res, err := c.GetRecords(t.Context(), &kinesis.GetRecordsInput{ShardIterator: iter})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res.Records {
				seq, _ := new(big.Int).SetString(*r.SequenceNumber, 10)
				if seq.Cmp(prev) <= 0 {
					t.Fatalf("%s: sequence numbers out of order after restart", shard)
				}
				prev = seq
				if _, dup := found[string(r.Data)]; dup {
					t.Fatalf("record %s is there twice", r.Data)
				}
				found[string(r.Data)] = acked{seq: seq, shard: shard}
			}
			if len(res.Records) == 0 {
				break
			}
			iter = res.NextShardIterator
		}
	}
	lost := 0
	for _, a := range acks {
		f, ok := found[a.data]
		if !ok || f.seq.Cmp(a.seq) != 0 || f.shard != a.shard {
			lost++
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged records lost or changed after kill -9", lost, len(acks))
	}
	// New records get sequence numbers above everything from before the crash.
	out, err := c.PutRecord(t.Context(), &kinesis.PutRecordInput{StreamName: aws.String("crash"), PartitionKey: aws.String("after"), Data: []byte("after")})
	if err != nil {
		t.Fatal(err)
	}
	newSeq, _ := new(big.Int).SetString(*out.SequenceNumber, 10)
	var shardMax *big.Int
	for _, f := range found {
		if f.shard == *out.ShardId && (shardMax == nil || f.seq.Cmp(shardMax) > 0) {
			shardMax = f.seq
		}
	}
	if shardMax != nil && newSeq.Cmp(shardMax) <= 0 {
		t.Errorf("new sequence number %s not above %s", newSeq, shardMax)
	}
	t.Logf("all %d acknowledged records present once, in order, after restart (%d stored)", len(acks), len(found))
}
