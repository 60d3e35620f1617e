package faults_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/kinesistest/proc"
)

// A record log segment flipped on disk: GetRecords that reads it must answer 500
// InternalFailureException (an HTTP reply, never a dropped connection, which the SDKs retry forever),
// the server stays up, and kinesisd_storage_corruptions_total counts it. (Pebble's tables hold only
// span keys and metadata since the record log: damage to them is found when the store opens or reads
// them, as Pebble's checksums find it; internal/storage/pebble's TestReadCorruption covers a table.)
func TestCorruptTableBlockAnswers500(t *testing.T) {
	tests := []struct {
		name    string
		glob    string
		records int
		size    int
	}{
		{"segment", "records/*.seg", 5_000, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := proc.Start(t, bin, dir, "-throughput-limits=false")
			c := proc.NewClient(p.Endpoint, 30*time.Second)
			createStream(t, c, "table", 1)
			l := newLedger()
			for l.len() < tt.records {
				if err := l.put(t.Context(), c, "table", 500, tt.size); err != nil {
					t.Fatal(err)
				}
			}
			waitForFile(t, dir, tt.glob)
			// Start once more and let the engine settle, so that no flush or compaction is due
			// when the corrupt file is opened (a compaction would read it before GetRecords does).
			if err := p.Stop(30 * time.Second); err != nil {
				t.Fatalf("SIGTERM: %v", err)
			}
			p = proc.Start(t, bin, dir, "-throughput-limits=false")
			waitSettled(t, p)
			if err := p.Stop(30 * time.Second); err != nil {
				t.Fatalf("SIGTERM: %v", err)
			}
			file := largest(t, dir, tt.glob)
			size := fileSize(t, file)
			flip(t, file, size/2, 16)
			t.Logf("flipped 16 bytes at offset %d of %s (%d bytes)", size/2, filepath.Base(file), size)

			p = proc.Start(t, bin, dir, "-throughput-limits=false", "-log-level", "debug")
			c = proc.NewClient(p.Endpoint, 30*time.Second)
			it, err := c.GetShardIterator(t.Context(), &kinesis.GetShardIteratorInput{StreamName: aws.String("table"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
			if err != nil {
				t.Fatal(err)
			}
			iter, read, answered := *it.ShardIterator, 0, false
			for !answered {
				status, body, err := rawCall(t.Context(), p.Endpoint, "GetRecords", map[string]any{"ShardIterator": iter, "Limit": 1000})
				switch {
				case err != nil:
					t.Fatalf("GetRecords after %d records: no HTTP reply (%v); log:\n%s", read, err, p.LogTail(20))
				case status == 200:
					var out struct {
						Records            []json.RawMessage
						NextShardIterator  string
						MillisBehindLatest int64
					}
					if err := json.Unmarshal(body, &out); err != nil {
						t.Fatal(err)
					}
					read += len(out.Records)
					if len(out.Records) == 0 && out.MillisBehindLatest == 0 {
						t.Fatalf("read the whole shard (%d of %d records) without meeting the corruption", read, l.len())
					}
					iter = out.NextShardIterator
				default:
					var e struct {
						Type string `json:"__type"`
					}
					json.Unmarshal(body, &e)
					if status != 500 || !strings.HasSuffix(e.Type, "InternalFailureException") {
						t.Errorf("GetRecords on the corrupt block: %d %s; want 500 InternalFailureException", status, body)
					}
					t.Logf("GetRecords after %d records: %d %s", read, status, body)
					answered = true
				}
			}
			if p.HasExited() {
				t.Fatalf("kinesisd exited (%v); log:\n%s", p.ExitErr(), p.LogTail(20))
			}
			if n := metric(t, p.Endpoint, "kinesisd_storage_corruptions_total"); n < 1 {
				t.Errorf("kinesisd_storage_corruptions_total %v after a corrupt block was read", n)
			}
			if _, err := c.ListShards(t.Context(), &kinesis.ListShardsInput{StreamName: aws.String("table")}); err != nil {
				t.Errorf("ListShards after the corruption: %v", err)
			}
		})
	}
}

// waitSettled waits until p's engine has no table in level 0 and no compaction debt.
func waitSettled(t *testing.T, p *proc.Proc) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if metric(t, p.Endpoint, "kinesisd_storage_l0_files") == 0 && metric(t, p.Endpoint, "kinesisd_storage_compaction_debt_bytes") == 0 {
			return
		}
	}
	t.Logf("engine not settled after 30s: %v tables in L0, compaction debt %v", metric(t, p.Endpoint, "kinesisd_storage_l0_files"), metric(t, p.Endpoint, "kinesisd_storage_compaction_debt_bytes"))
}

// waitForFile waits until a file of more than 64 KiB matching glob exists in dir (a memtable flush
// wrote it).
func waitForFile(t *testing.T, dir, glob string) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if f := largest(t, dir, glob); f != "" && fileSize(t, f) > 64<<10 {
			return
		}
	}
	t.Fatalf("no %s file in %s after 60s", glob, dir)
}

// largest returns the largest file matching glob in dir, or "".
func largest(t *testing.T, dir, glob string) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, glob))
	if err != nil {
		t.Fatal(err)
	}
	name, size := "", int64(-1)
	for _, f := range files {
		if s := fileSize(t, f); s > size {
			name, size = f, s
		}
	}
	return name
}
