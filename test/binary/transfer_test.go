package binary_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/kinesistest"
	"kinesisd/internal/transfer"
)

// runTool runs the binary with args (stdin from a file if not empty) and returns its exit code and stderr.
func runTool(t *testing.T, bin, stdin string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if stdin != "" {
		f, err := os.Open(stdin)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cmd.Stdin = f
	}
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), stderr.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, stderr.String()
}

// shardRecords reads every shard of stream from TRIM_HORIZON: shard id → records.
func shardRecords(t *testing.T, c *kinesis.Client, stream string) map[string][]types.Record {
	t.Helper()
	shards, err := c.ListShards(t.Context(), &kinesis.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]types.Record{}
	for _, sh := range shards.Shards {
		it, err := c.GetShardIterator(t.Context(), &kinesis.GetShardIteratorInput{StreamName: aws.String(stream), ShardId: sh.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatal(err)
		}
		for iter := it.ShardIterator; iter != nil; {
			page, err := c.GetRecords(t.Context(), &kinesis.GetRecordsInput{ShardIterator: iter})
			if err != nil {
				t.Fatal(err)
			}
			out[*sh.ShardId] = append(out[*sh.ShardId], page.Records...)
			if len(page.Records) == 0 {
				break
			}
			iter = page.NextShardIterator
		}
	}
	return out
}

// TestExportImport moves a resharded stream out of one data directory and into two others with the
// built binary, as a user would: refused while the server runs, then exported (gzip, JSON map),
// imported keeping sequence numbers, and imported from stdin with -renumber; servers started on the
// copies serve the same records.
func TestExportImport(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	src, tmp := t.TempDir(), t.TempDir()
	cmd, endpoint := startBinary(t, bin, src, "-throughput-limits=false")
	c := kinesistest.NewClient(endpoint)
	if _, err := c.CreateStream(t.Context(), &kinesis.CreateStreamInput{StreamName: aws.String("moved"), ShardCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	put := func(n int) {
		entries := make([]types.PutRecordsRequestEntry, n)
		for i := range entries {
			entries[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprint("p", i)), Data: fmt.Appendf(nil, "r%d", i)}
		}
		if _, err := c.PutRecords(t.Context(), &kinesis.PutRecordsInput{StreamName: aws.String("moved"), Records: entries}); err != nil {
			t.Fatal(err)
		}
	}
	put(60)
	if _, err := c.SplitShard(t.Context(), &kinesis.SplitShardInput{StreamName: aws.String("moved"), ShardToSplit: aws.String("shardId-000000000000"),
		NewStartingHashKey: aws.String("85070591730234615865843651857942052864")}); err != nil {
		t.Fatal(err)
	}
	put(40)
	want := shardRecords(t, c, "moved")

	archive := filepath.Join(tmp, "moved.kar.gz")
	if code, stderr := runTool(t, bin, "", "export", "-data", src, "-out", archive); code != 1 || !strings.Contains(stderr, "in use by another process") {
		t.Fatalf("export beside a running server: exit %d, %s", code, stderr)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if code, stderr := runTool(t, bin, "", "export", "-data", src, "-out", archive); code != 0 || !strings.Contains(stderr, "exported 1 streams, 4 shards, 100 records") {
		t.Fatalf("export: exit %d, %s", code, stderr)
	}

	kept, renumbered := filepath.Join(tmp, "kept"), filepath.Join(tmp, "renumbered")
	if code, stderr := runTool(t, bin, "", "import", "-data", kept, "-in", archive); code != 0 || !strings.Contains(stderr, "sequence numbers kept") {
		t.Fatalf("import: exit %d, %s", code, stderr)
	}
	mapFile := filepath.Join(tmp, "map.json")
	if code, stderr := runTool(t, bin, archive, "import", "-data", renumbered, "-in", "-", "-renumber", "-map", mapFile); code != 0 || !strings.Contains(stderr, "sequence numbers reassigned") {
		t.Fatalf("import -renumber: exit %d, %s", code, stderr)
	}
	raw, err := os.ReadFile(mapFile)
	if err != nil {
		t.Fatal(err)
	}
	var rep transfer.Report
	if err := json.Unmarshal(raw, &rep); err != nil || len(rep.Streams) != 1 || len(rep.Streams[0].Shards) != 4 {
		t.Fatalf("map %s: %v", raw, err)
	}

	for _, dir := range []string{kept, renumbered} {
		_, endpoint := startBinary(t, bin, dir, "-throughput-limits=false")
		got := shardRecords(t, kinesistest.NewClient(endpoint), "moved")
		for _, sh := range rep.Streams[0].Shards {
			g, w := got[sh.ShardID], want[sh.ShardID]
			if len(g) != len(w) || uint64(len(g)) != sh.Records {
				t.Fatalf("%s %s: %d records, want %d (map: %d)", filepath.Base(dir), sh.ShardID, len(g), len(w), sh.Records)
			}
			for i := range g {
				if !bytes.Equal(g[i].Data, w[i].Data) || *g[i].PartitionKey != *w[i].PartitionKey || !g[i].ApproximateArrivalTimestamp.Equal(*w[i].ApproximateArrivalTimestamp) {
					t.Fatalf("%s %s record %d differs", filepath.Base(dir), sh.ShardID, i)
				}
				if dir == kept && *g[i].SequenceNumber != *w[i].SequenceNumber {
					t.Fatalf("%s record %d: sequence number %s, was %s", sh.ShardID, i, *g[i].SequenceNumber, *w[i].SequenceNumber)
				}
			}
			if dir == renumbered && len(g) > 0 && (*g[0].SequenceNumber != sh.NewFirst || *g[len(g)-1].SequenceNumber != sh.NewLast ||
				*w[0].SequenceNumber != sh.OldFirst || *w[len(w)-1].SequenceNumber != sh.OldLast) {
				t.Errorf("%s %s: the map does not match the records", filepath.Base(dir), sh.ShardID)
			}
		}
	}
}
