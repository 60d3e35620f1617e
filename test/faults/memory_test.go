package faults_test

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/kinesistest/proc"
)

// vmHWM is the peak resident set size of process pid (VmHWM in /proc/pid/status), in bytes.
func vmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}

// With the stream's records raised to 10 MiB (UpdateMaxRecordSize), 24 PutRecords of one 10 MiB
// record each at once, against the binary at its default memory settings: the server's peak RSS
// stays under 512 MiB, and every record is either acknowledged and then read back intact, or refused
// with an error the SDKs retry. One shard, so that the writes queue behind each other with their
// bodies in memory (on four shards the server of 2026-12-05 peaked at 389 MiB, on one at 563 MiB).
// -throughput-limits=false: with the default per-shard limit of 1 MiB/s
// every 10 MiB record is refused for rate before it is stored, and the test would prove nothing.
// Opt-in (KINESISD_MEMORY_TESTS=1): it sends 320 MiB of JSON.
func TestLargeRecordsStayUnderMemoryBound(t *testing.T) {
	if os.Getenv("KINESISD_MEMORY_TESTS") != "1" {
		t.Skip("set KINESISD_MEMORY_TESTS=1 to send 24 records of 10 MiB at once and measure the server's peak RSS")
	}
	const requests, recordSize, bound = 24, 10 << 20, 512 << 20
	p := proc.Start(t, bin, t.TempDir(), "-throughput-limits=false")
	c := proc.NewClient(p.Endpoint, 5*time.Minute)
	createStream(t, c, "big", 1)
	sum, err := c.DescribeStreamSummary(t.Context(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("big")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateMaxRecordSize(t.Context(), &kinesis.UpdateMaxRecordSizeInput{StreamARN: sum.StreamDescriptionSummary.StreamARN, MaxRecordSizeInKiB: aws.Int32(10240)}); err != nil {
		t.Fatal(err)
	}
	before := vmHWM(t, p.Pid())

	type result struct {
		data  []byte
		shard string
		seq   string
		err   error
	}
	results := make([]result, requests)
	var wg sync.WaitGroup
	for i := range requests {
		key := fmt.Sprintf("%02d", i)
		data := make([]byte, recordSize-len(key)) // the partition key counts in the record's size
		rng := rand.NewChaCha8([32]byte{byte(i)})
		rng.Read(data) // incompressible
		copy(data, fmt.Sprintf("big-%02d|", i))
		results[i].data = data
		wg.Go(func() {
			out, err := c.PutRecords(t.Context(), &kinesis.PutRecordsInput{StreamName: aws.String("big"), Records: []types.PutRecordsRequestEntry{{PartitionKey: aws.String(key), Data: data}}})
			switch {
			case err != nil:
				results[i].err = err
			case out.Records[0].ErrorCode != nil:
				results[i].err = &recordsError{*out.Records[0].ErrorCode, aws.ToString(out.Records[0].ErrorMessage)}
			default:
				results[i].shard, results[i].seq = *out.Records[0].ShardId, *out.Records[0].SequenceNumber
			}
		})
	}
	wg.Wait()
	peak := vmHWM(t, p.Pid())
	t.Logf("server VmHWM %d MiB before, %d MiB after %d concurrent PutRecords of %d MiB", before>>20, peak>>20, requests, recordSize>>20)
	if peak >= bound {
		t.Errorf("server peak RSS %d MiB, want under %d MiB", peak>>20, bound>>20)
	}

	acked, refused := 0, 0
	for i, r := range results {
		if r.err != nil {
			a := answerOf(r.err)
			if a.status == 0 || !a.retryable {
				t.Errorf("record %d: %v (status %d, retryable %v): want acknowledged, or refused with an HTTP answer the SDKs retry", i, r.err, a.status, a.retryable)
			} else {
				t.Logf("record %d refused: %d %s %s", i, a.status, a.code, a.msg)
				refused++
			}
			continue
		}
		acked++
		it, err := c.GetShardIterator(t.Context(), &kinesis.GetShardIteratorInput{StreamName: aws.String("big"), ShardId: aws.String(r.shard), ShardIteratorType: types.ShardIteratorTypeAtSequenceNumber, StartingSequenceNumber: aws.String(r.seq)})
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.GetRecords(t.Context(), &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator, Limit: aws.Int32(1)})
		if err != nil {
			t.Fatalf("record %d: GetRecords: %v", i, err)
		}
		if len(got.Records) != 1 || *got.Records[0].SequenceNumber != r.seq || !bytes.Equal(got.Records[0].Data, r.data) {
			t.Errorf("record %d (%s %s) not read back intact (%d records)", i, r.shard, r.seq, len(got.Records))
		}
	}
	t.Logf("%d of %d records acknowledged, %d refused retryably", acked, requests, refused)
}
