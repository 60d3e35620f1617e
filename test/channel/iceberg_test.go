package channel_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/channel/iceberg"
	"kinesisd/internal/config"
	"kinesisd/internal/kinesistest"
)

// TestChannelDeliversToIceberg: a channel to an S3 Tables table on the embedded catalog (Pebble on
// disk, the warehouse under the data directory), records over three hours put through the SDK, the
// table read back with iceberg-go's scan: exactly those records, partitioned by the hour of their
// ts column; the record that is not a JSON object is in the dead-letter bucket.
func TestChannelDeliversToIceberg(t *testing.T) {
	dir := t.TempDir()
	s := kinesistest.Start(t, kinesistest.Engines[0], kinesistest.Options{Dir: dir, Configure: func(c *config.Config) { c.ThroughputLimits = false }})
	c := s.Client
	arn := onDemand(t, c, "clicks")
	tableBucket := "arn:aws:s3tables:us-east-1:000000000000:bucket/analytics"
	_, err := c.CreateChannel(t.Context(), &kinesis.CreateChannelInput{
		ChannelName: aws.String("to-table"), ServiceExecutionRoleARN: aws.String(roleARN),
		StreamConfigurationList: []types.ChannelStreamConfiguration{{StreamARN: aws.String(arn),
			RecordConfiguration: &types.RecordConfiguration{RecordFormatType: types.RecordFormatTypeGsrJson,
				GSRSchemaARN: aws.String("arn:aws:glue:us-east-1:000000000000:schema/registry/clicks")}}},
		S3TablesDestinationConfiguration: &types.S3TablesDestinationConfiguration{
			DataFreshnessInSeconds: aws.Int32(1),
			DeadLetterQueueS3Configuration: &types.DeadLetterQueueS3Configuration{BucketARN: aws.String("arn:aws:s3:::dead"),
				ExpectedBucketOwner: aws.String("000000000000")},
			S3TablesConfigurationList: []types.S3TablesConfiguration{{CompressionType: types.S3TablesCompressionTypeZstd,
				Namespace: aws.String("web"), TableBucketARN: aws.String(tableBucket), TableName: aws.String("clicks"),
				PartitionSpec: &types.PartitionSpec{PartitionFields: []types.PartitionField{{SourceName: aws.String("ts"), Transform: types.PartitionTransformTimeHour}}}}},
		},
	})
	if err != nil {
		t.Fatalf("CreateChannel: %v", err)
	}
	n := records(t)
	base := time.Date(2026, 12, 5, 20, 0, 0, 0, time.UTC)
	datas := make([]string, n)
	want := map[string]bool{}
	for i := range datas {
		ts := base.Add(time.Duration(i) * 3 * time.Hour / time.Duration(n))
		datas[i] = fmt.Sprintf(`{"n":%d,"user":"u-%d","ts":%q}`, i, i%17, ts.Format(time.RFC3339Nano))
		want[fmt.Sprintf("%d %s", i, ts.Format(time.RFC3339Nano))] = true
	}
	datas[5] = `["not","an","object"]`
	delete(want, fmt.Sprintf("%d %s", 5, base.Add(5*3*time.Hour/time.Duration(n)).Format(time.RFC3339Nano)))
	put(t, c, "clicks", datas)

	w, err := iceberg.Open(t.Context(), iceberg.Config{Warehouse: filepath.Join(dir, "iceberg")})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	tb := iceberg.Table{Bucket: tableBucket, Namespace: "web", Name: "clicks"}
	var rows []string
	deadline := time.Now().Add(2 * time.Minute)
	for {
		s.Clock.Advance(2 * time.Second)
		rows = scanRows(t, w, tb)
		if len(rows) >= len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	seen := map[string]int{}
	for _, r := range rows {
		seen[r]++
		if !want[r] || seen[r] > 1 {
			t.Fatalf("row %q: not put, or twice", r)
		}
	}
	if len(seen) != len(want) {
		t.Fatalf("%d rows in the table, want %d", len(seen), len(want))
	}
	tbl, err := w.Load(t.Context(), tb)
	if err != nil {
		t.Fatal(err)
	}
	if spec := tbl.Spec(); spec.NumFields() != 1 || !strings.Contains(spec.Field(0).Transform.String(), "hour") {
		t.Errorf("partition spec %v: want hour(ts)", spec)
	}
	hours := map[string]bool{}
	tasks, err := tbl.Scan().PlanFiles(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		hours[fmt.Sprint(task.File.Partition())] = true
	}
	if len(hours) < 3 {
		t.Errorf("data files in %d hour partitions (%v), want at least 3", len(hours), hours)
	}
	dead := decode(t, dirObjects(t, filepath.Join(dir, "buckets", "dead")), "to-table", "JSON")
	if len(dead.dead) != 1 || dead.dead[0] != datas[5] {
		t.Errorf("dead letters %q, want the one non-object", dead.dead)
	}
}

// scanRows reads the table with iceberg-go's scan as "n ts" rows (none while it does not exist).
func scanRows(t *testing.T, w *iceberg.Writer, tb iceberg.Table) []string {
	t.Helper()
	tbl, err := w.Load(t.Context(), tb)
	if err != nil {
		return nil
	}
	at, err := tbl.Scan().ToArrowTable(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer at.Release()
	rdr := array.NewTableReader(at, 4096)
	defer rdr.Release()
	var rows []string
	for rdr.Next() {
		rec := rdr.RecordBatch()
		var nCol, tsCol arrow.Array
		for j, f := range rec.Schema().Fields() {
			switch f.Name {
			case "n":
				nCol = rec.Column(j)
			case "ts":
				tsCol = rec.Column(j)
			}
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			ts := tsCol.(*array.Timestamp)
			unit := ts.DataType().(*arrow.TimestampType).Unit
			rows = append(rows, nCol.ValueStr(i)+" "+ts.Value(i).ToTime(unit).UTC().Format(time.RFC3339Nano))
		}
	}
	return rows
}

// TestChannelIcebergWriterKilled: the Iceberg writer (the kinesisd-iceberg child process) is killed
// with SIGKILL while it delivers, twice; kinesisd starts another on its next call, which resumes
// from the position in the table's last snapshot: the table ends with every record put, once.
func TestChannelIcebergWriterKilled(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("finds the child process in /proc")
	}
	if kinesistest.Binary() != "" {
		t.Skip("kills the child of an in-process server")
	}
	dir := t.TempDir()
	s := kinesistest.Start(t, kinesistest.Engines[0], kinesistest.Options{Dir: dir, Configure: func(c *config.Config) { c.ThroughputLimits = false }})
	c := s.Client
	arn := onDemand(t, c, "killed")
	tableBucket := "arn:aws:s3tables:us-east-1:000000000000:bucket/killed"
	_, err := c.CreateChannel(t.Context(), &kinesis.CreateChannelInput{
		ChannelName: aws.String("to-table"), ServiceExecutionRoleARN: aws.String(roleARN),
		StreamConfigurationList: []types.ChannelStreamConfiguration{{StreamARN: aws.String(arn),
			RecordConfiguration: &types.RecordConfiguration{RecordFormatType: types.RecordFormatTypeGsrJson,
				GSRSchemaARN: aws.String("arn:aws:glue:us-east-1:000000000000:schema/registry/killed")}}},
		S3TablesDestinationConfiguration: &types.S3TablesDestinationConfiguration{
			DataFreshnessInSeconds: aws.Int32(1),
			DeadLetterQueueS3Configuration: &types.DeadLetterQueueS3Configuration{BucketARN: aws.String("arn:aws:s3:::dead"),
				ExpectedBucketOwner: aws.String("000000000000")},
			S3TablesConfigurationList: []types.S3TablesConfiguration{{CompressionType: types.S3TablesCompressionTypeSnappy, Namespace: aws.String("web"),
				TableBucketARN: aws.String(tableBucket), TableName: aws.String("clicks"),
				PartitionSpec: &types.PartitionSpec{PartitionFields: []types.PartitionField{{SourceName: aws.String("ts"), Transform: types.PartitionTransformTimeHour}}}}},
		},
	})
	if err != nil {
		t.Fatalf("CreateChannel: %v", err)
	}
	w, err := iceberg.Open(t.Context(), iceberg.Config{Warehouse: filepath.Join(dir, "iceberg")})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	tb := iceberg.Table{Bucket: tableBucket, Namespace: "web", Name: "clicks"}
	base := time.Date(2026, 12, 5, 20, 0, 0, 0, time.UTC)
	want := map[string]bool{}
	next := 0
	putBatch := func(n int) {
		datas := make([]string, n)
		for i := range datas {
			ts := base.Add(time.Duration(next) * time.Second)
			datas[i] = fmt.Sprintf(`{"n":%d,"ts":%q}`, next, ts.Format(time.RFC3339Nano))
			want[fmt.Sprintf("%d %s", next, ts.Format(time.RFC3339Nano))] = true
			next++
		}
		put(t, c, "killed", datas)
	}
	var killed []int
	for cycle := range 2 {
		putBatch(500)
		// Deliver until the table holds some of this batch but not all of it, or a delivery is due
		// anyway: then kill the writer in the middle.
		var pid int
		deadline := time.Now().Add(time.Minute)
		for {
			s.Clock.Advance(2 * time.Second)
			if pids := icebergChildren(t); len(pids) == 1 && !slices.Contains(killed, pids[0]) {
				pid = pids[0]
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("cycle %d: no new kinesisd-iceberg child of this process within a minute (killed %v)", cycle, killed)
			}
			time.Sleep(20 * time.Millisecond)
		}
		putBatch(500)
		s.Clock.Advance(2 * time.Second)
		time.Sleep(time.Duration(cycle*150) * time.Millisecond)
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatalf("kill %d: %v", pid, err)
		}
		killed = append(killed, pid)
		t.Logf("cycle %d: killed kinesisd-iceberg %d with %d records put, %d rows in the table", cycle, pid, next, len(scanRows(t, w, tb)))
	}
	putBatch(500)
	var rows []string
	deadline := time.Now().Add(2 * time.Minute)
	for {
		s.Clock.Advance(2 * time.Second)
		rows = scanRows(t, w, tb)
		if len(rows) >= len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	seen := map[string]int{}
	for _, r := range rows {
		if seen[r]++; !want[r] || seen[r] > 1 {
			t.Fatalf("row %q: not put, or twice", r)
		}
	}
	if len(seen) != len(want) {
		t.Fatalf("%d rows in the table, want %d", len(seen), len(want))
	}
	if pids := icebergChildren(t); len(pids) != 1 || slices.Contains(killed, pids[0]) {
		t.Errorf("kinesisd-iceberg children at the end %v, want one new one (killed %v)", pids, killed)
	}
}

// icebergChildren are the live kinesisd-iceberg processes this test process started.
func icebergChildren(t *testing.T) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid ...: comm is at most 15 bytes and may hold spaces.
		s := string(stat)
		open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || close < open {
			continue
		}
		f := strings.Fields(s[close+1:])
		if len(f) < 2 || f[0] == "Z" || s[open+1:close] != "kinesisd-iceber" {
			continue
		}
		if ppid, _ := strconv.Atoi(f[1]); ppid == os.Getpid() {
			pids = append(pids, pid)
		}
	}
	return pids
}
