package channel_test

import (
	"cmp"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go/table"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/channel/iceberg"
	"kinesisd/internal/config"
	"kinesisd/internal/kinesistest"
)

// records is how many records a default run puts; KINESISD_CHANNEL_RECORDS (make channeltest: 100,000)
// asks for more.
func records(t *testing.T) int { return envInt(t, "KINESISD_CHANNEL_RECORDS", 3000) }

// TestChannelDeliversToS3 puts records into a stream read by three channels to an S3-compatible
// server, each with its format, compression and key layout, on every engine, and reads the objects
// back: each channel's objects hold every record once, and the records its format cannot carry are
// in its dead-letter objects.
func TestChannelDeliversToS3(t *testing.T) {
	for _, e := range kinesistest.RunEngines() {
		t.Run(e.Name, func(t *testing.T) {
			t.Setenv("AWS_ACCESS_KEY_ID", "key")
			t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
			f := startFakeS3(t)
			f.bucket(t, "lake")
			s := kinesistest.Start(t, e, kinesistest.Options{Configure: func(c *config.Config) {
				c.S3Endpoint, c.ThroughputLimits = f.URL, false
			}})
			c := s.Client
			arn := onDemand(t, c, "events")
			specs := []channelSpec{
				{name: "as-json", format: "JSON", compression: "GZIP", freshness: 1},
				{name: "as-text", format: "STRING", compression: "ZSTD", freshness: 1, template: "text/!{stream}/!{timestamp:yyyy-MM-dd}/"},
				{name: "as-bytes", format: "BYTE_ARRAY", compression: "NONE", freshness: 1},
			}
			for _, sp := range specs {
				createChannel(t, c, arn, "lake", sp)
			}
			n := records(t)
			datas := make([]string, n)
			for i := range datas {
				datas[i] = jsonRecord("s3", i)
			}
			datas[7] = "not json 7"             // JSON: dead letter
			datas[11] = "two\nlines 11"         // STRING: dead letter
			datas[13] = string([]byte{0xff, 0}) // JSON and STRING: dead letter; BYTE_ARRAY carries it
			put(t, c, "events", datas)

			for _, sp := range specs {
				got := waitDelivered(t, s, func() delivered { return decode(t, f.objects(t, "lake"), sp.name, sp.format) }, datas, 2*time.Minute)
				wantDead := map[string]int{"JSON": 3, "STRING": 2, "BYTE_ARRAY": 0}[sp.format]
				if len(got.dead) != wantDead {
					t.Errorf("%s: %d dead letters, want %d: %q", sp.name, len(got.dead), wantDead, got.dead)
				}
				for _, k := range got.keys {
					switch sp.name {
					case "as-json":
						if !strings.HasPrefix(k, "events/") || !strings.HasSuffix(k, ".json.gz") {
							t.Errorf("as-json key %s: want the default layout events/yyyy/MM/dd/HH/…json.gz", k)
						}
					case "as-text":
						if !strings.HasPrefix(k, "text/events/") || !strings.HasSuffix(k, ".txt.zst") {
							t.Errorf("as-text key %s: want the template's text/events/yyyy-MM-dd/…txt.zst", k)
						}
					case "as-bytes":
						if !strings.HasSuffix(k, ".b64") {
							t.Errorf("as-bytes key %s: want …b64", k)
						}
					}
				}
			}
			if s.Proc == nil {
				if got := metric(t, s.Endpoint, "kinesisd_channel_records_delivered_total", `channel="as-json"`); got != float64(n) {
					t.Errorf("kinesisd_channel_records_delivered_total %v, want %d", got, n)
				}
			}
		})
	}
}

// TestChannelDeliversToEmbeddedBuckets: without -s3-endpoint, on Pebble on disk, each bucket is a
// directory under the data directory and each object a file at its key.
func TestChannelDeliversToEmbeddedBuckets(t *testing.T) {
	dir := t.TempDir()
	s := kinesistest.Start(t, kinesistest.Engines[0], kinesistest.Options{Dir: dir, Configure: func(c *config.Config) { c.ThroughputLimits = false }})
	c := s.Client
	arn := onDemand(t, c, "local")
	createChannel(t, c, arn, "files", channelSpec{name: "to-files", format: "JSON", compression: "ZSTD", freshness: 1})
	datas := make([]string, records(t))
	for i := range datas {
		datas[i] = jsonRecord("dir", i)
	}
	put(t, c, "local", datas)
	root := filepath.Join(dir, "buckets", "files")
	got := waitDelivered(t, s, func() delivered { return decode(t, dirObjects(t, root), "to-files", "JSON") }, datas, 2*time.Minute)
	if len(got.keys) == 0 || !strings.HasPrefix(got.keys[0], "local/") {
		t.Errorf("object keys %v: want the default layout under local/", got.keys)
	}
}

// TestChannelDestinationDownThenUp: while the destination refuses every request the channel stays
// ACTIVE and counts errors; once it is back every record is delivered, once.
func TestChannelDestinationDownThenUp(t *testing.T) {
	f := startFakeS3(t)
	f.bucket(t, "flaky")
	t.Setenv("AWS_ACCESS_KEY_ID", "key")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	s := kinesistest.Start(t, kinesistest.Engines[0], kinesistest.Options{Configure: func(c *config.Config) {
		c.S3Endpoint, c.ThroughputLimits = f.URL, false
	}})
	c := s.Client
	arn := onDemand(t, c, "flaky")
	f.down.Store(true)
	chARN := createChannel(t, c, arn, "flaky", channelSpec{name: "flaky", format: "JSON", compression: "NONE", freshness: 1})
	datas := make([]string, records(t))
	for i := range datas {
		datas[i] = jsonRecord("flaky", i)
	}
	put(t, c, "flaky", datas[:len(datas)/2])
	deadline := time.Now().Add(time.Minute)
	for metric(t, s.Endpoint, "kinesisd_channel_errors_total", `channel="flaky"`) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no delivery errors counted while the destination is down")
		}
		if s.Clock != nil {
			s.Clock.Advance(2 * time.Second)
		}
		time.Sleep(100 * time.Millisecond)
	}
	d, err := c.DescribeChannel(t.Context(), &kinesis.DescribeChannelInput{ChannelARN: aws.String(chARN)})
	if err != nil || d.ChannelDescription.ChannelStatus != types.ChannelStatusActive {
		t.Fatalf("channel while its destination is down: %v %+v", err, d)
	}
	put(t, c, "flaky", datas[len(datas)/2:])
	f.down.Store(false)
	waitDelivered(t, s, func() delivered { return decode(t, f.objects(t, "flaky"), "flaky", "JSON") }, datas, 2*time.Minute)
}

// TestChannelFollowsReshard: records put before, during and after a split are delivered once each,
// the parent's before its children's.
func TestChannelFollowsReshard(t *testing.T) {
	f := startFakeS3(t)
	f.bucket(t, "split")
	t.Setenv("AWS_ACCESS_KEY_ID", "key")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	for _, e := range kinesistest.RunEngines() {
		t.Run(e.Name, func(t *testing.T) {
			s := kinesistest.Start(t, e, kinesistest.Options{Configure: func(c *config.Config) {
				c.S3Endpoint, c.ThroughputLimits = f.URL, false
			}})
			c := s.Client
			name := "split-" + e.Name
			arn := onDemand(t, c, name)
			createChannel(t, c, arn, "split", channelSpec{name: "ch-" + e.Name, format: "JSON", compression: "GZIP", freshness: 1})
			n := records(t)
			datas := make([]string, n)
			for i := range datas {
				datas[i] = jsonRecord(e.Name, i)
			}
			put(t, c, name, datas[:n/2])
			// Channels need an on-demand stream to be created; the stream is then switched to
			// provisioned to split a shard by hand.
			if _, err := c.UpdateStreamMode(t.Context(), &kinesis.UpdateStreamModeInput{StreamARN: aws.String(arn),
				StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeProvisioned}}); err != nil {
				t.Fatalf("UpdateStreamMode: %v", err)
			}
			waitStreamActive(t, c, name)
			shards, err := c.ListShards(t.Context(), &kinesis.ListShardsInput{StreamName: aws.String(name)})
			if err != nil {
				t.Fatal(err)
			}
			sh := shards.Shards[0]
			if _, err := c.SplitShard(t.Context(), &kinesis.SplitShardInput{StreamName: aws.String(name), ShardToSplit: sh.ShardId,
				NewStartingHashKey: aws.String(midpoint(*sh.HashKeyRange.StartingHashKey, *sh.HashKeyRange.EndingHashKey))}); err != nil {
				t.Fatalf("SplitShard: %v", err)
			}
			waitStreamActive(t, c, name)
			put(t, c, name, datas[n/2:])
			got := waitDelivered(t, s, func() delivered { return decode(t, f.objects(t, "split"), "ch-"+e.Name, "JSON") }, datas, 2*time.Minute)
			children := 0
			for _, k := range got.keys {
				if !strings.Contains(k, "-"+*sh.ShardId+"-") {
					children++
				}
			}
			if children == 0 {
				t.Errorf("no objects from shards other than %s: keys %v", *sh.ShardId, got.keys)
			}
			// Parents before children: the channel writes its objects one after another, so the
			// order of the PUTs the destination received is the order of delivery; the last object
			// of the split shard must come before the first of either child.
			after, err := c.ListShards(t.Context(), &kinesis.ListShardsInput{StreamName: aws.String(name)})
			if err != nil {
				t.Fatal(err)
			}
			var kids []string
			for _, s := range after.Shards {
				if aws.ToString(s.ParentShardId) == *sh.ShardId {
					kids = append(kids, *s.ShardId)
				}
			}
			if len(kids) != 2 {
				t.Fatalf("children of %s: %v, want 2", *sh.ShardId, kids)
			}
			lastParent, firstChild := -1, -1
			for i, h := range f.requests(http.MethodPut) {
				p := h.Get("X-Path")
				if !strings.HasPrefix(p, "/split/") || !strings.Contains(p, "ch-"+e.Name+"-shardId-") {
					continue
				}
				if strings.Contains(p, "-"+*sh.ShardId+"-") {
					lastParent = i
				}
				for _, k := range kids {
					if strings.Contains(p, "-"+k+"-") && firstChild < 0 {
						firstChild = i
					}
				}
			}
			if lastParent < 0 || firstChild < 0 || firstChild < lastParent {
				t.Errorf("PUT order: the split shard's last object at %d, its children's first at %d: want the parent's objects first", lastParent, firstChild)
			}
		})
	}
}

func waitStreamActive(t *testing.T, c *kinesis.Client, name string) {
	t.Helper()
	for range 200 {
		out, err := c.DescribeStreamSummary(t.Context(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		if out.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("stream %s not ACTIVE", name)
}

// midpoint is the decimal hash key halfway between a and b.
func midpoint(a, b string) string {
	x, _ := new(big.Int).SetString(a, 10)
	y, _ := new(big.Int).SetString(b, 10)
	return new(big.Int).Rsh(x.Add(x, y), 1).String()
}

// TestChannelCountsExpiredRecords: records that leave the stream's retention while the destination
// is down are counted (kinesisd_channel_records_expired_total) instead of delivered, also once the
// retention pass has deleted them from storage before the channel read them (the gap between the
// channel's position and the trim horizon: offsets on Pebble, the records' ordinals on JetStream,
// whose offsets are sparse); the channel then goes on with the records that arrive later.
func TestChannelCountsExpiredRecords(t *testing.T) {
	if kinesistest.Binary() != "" {
		t.Skip("moves the fake clock a day on")
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "key")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	f := startFakeS3(t)
	for _, e := range []kinesistest.Engine{kinesistest.Engines[1], kinesistest.Engines[2]} {
		t.Run(e.Name, func(t *testing.T) {
			bucket := "late-" + e.Name
			f.bucket(t, bucket)
			s := kinesistest.Start(t, e, kinesistest.Options{Configure: func(c *config.Config) {
				c.S3Endpoint, c.ThroughputLimits = f.URL, false
				c.RetentionInterval = 10 * time.Millisecond
			}})
			c := s.Client
			arn := onDemand(t, c, "late")
			before := []string{jsonRecord("before", 1), jsonRecord("before", 2)}
			put(t, c, "late", before) // before the channel: not its to count
			f.down.Store(true)
			defer f.down.Store(false)
			createChannel(t, c, arn, bucket, channelSpec{name: "late", format: "JSON", compression: "NONE", freshness: 1})
			var old []string
			for i := range 7 {
				old = append(old, jsonRecord("old", i))
			}
			put(t, c, "late", old)
			s.Clock.Advance(25 * time.Hour) // past the 24-hour retention
			fresh := []string{jsonRecord("new", 1), jsonRecord("new", 2)}
			put(t, c, "late", fresh)
			// The retention pass (every 10 ms of real time) deletes the old records while the channel
			// cannot read its position from the destination, down.
			time.Sleep(time.Second)
			f.down.Store(false)
			waitDelivered(t, s, func() delivered { return decode(t, f.objects(t, bucket), "late", "JSON") }, fresh, time.Minute)
			if got := metric(t, s.Endpoint, "kinesisd_channel_records_expired_total", `channel="late"`); got != float64(len(old)) {
				t.Errorf("kinesisd_channel_records_expired_total %v, want %d", got, len(old))
			}
		})
	}
}

// TestChannelSendsBucketOwnerAndStorageClass: every object a channel writes to an S3 endpoint (data,
// dead letters, its position) is a PUT with the channel's ExpectedBucketOwner and, data and position,
// its StorageClass; the GET of its position carries the ExpectedBucketOwner.
func TestChannelSendsBucketOwnerAndStorageClass(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "key")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	f := startFakeS3(t)
	f.bucket(t, "owned")
	s := kinesistest.Start(t, kinesistest.Engines[1], kinesistest.Options{Configure: func(c *config.Config) {
		c.S3Endpoint, c.ThroughputLimits = f.URL, false
	}})
	c := s.Client
	arn := onDemand(t, c, "owned")
	createChannel(t, c, arn, "owned", channelSpec{name: "owned", format: "JSON", compression: "NONE", freshness: 1, storageClass: "INTELLIGENT_TIERING"})
	datas := []string{jsonRecord("own", 1), "not json", jsonRecord("own", 3)}
	put(t, c, "owned", datas)
	got := waitDelivered(t, s, func() delivered { return decode(t, f.objects(t, "owned"), "owned", "JSON") }, datas, time.Minute)
	if len(got.dead) != 1 {
		t.Fatalf("%d dead letters, want 1", len(got.dead))
	}
	puts := f.requests(http.MethodPut)
	if len(puts) < 3 { // data, dead letters, position
		t.Fatalf("%d PUTs, want at least 3", len(puts))
	}
	classed := 0
	for _, h := range puts {
		if o := h.Get("X-Amz-Expected-Bucket-Owner"); o != "000000000000" {
			t.Errorf("PUT without x-amz-expected-bucket-owner 000000000000: %q", o)
		}
		switch sc := h.Get("X-Amz-Storage-Class"); sc {
		case "INTELLIGENT_TIERING":
			classed++
		case "": // the dead-letter location has no storage class
		default:
			t.Errorf("PUT with x-amz-storage-class %q, want INTELLIGENT_TIERING", sc)
		}
	}
	if classed < 2 {
		t.Errorf("%d PUTs with x-amz-storage-class INTELLIGENT_TIERING, want the data and the position", classed)
	}
	gets := f.requests(http.MethodGet)
	if len(gets) == 0 {
		t.Fatal("no GET of the channel's position")
	}
	for _, h := range gets {
		if o := h.Get("X-Amz-Expected-Bucket-Owner"); o != "000000000000" {
			t.Errorf("GET without x-amz-expected-bucket-owner 000000000000: %q", o)
		}
	}
}

// TestChannelToTableFollowsReshard: to an S3 Tables table, records put before and after a split are
// committed once each, and no snapshot adds a record of a child shard before the snapshots that came
// earlier hold every record of its parent (a pass commits the runs of several shards at once, but a
// child's never with its parent's last ones).
func TestChannelToTableFollowsReshard(t *testing.T) {
	dir := t.TempDir()
	s := kinesistest.Start(t, kinesistest.Engines[0], kinesistest.Options{Dir: dir, Configure: func(c *config.Config) { c.ThroughputLimits = false }})
	c := s.Client
	arn := onDemand(t, c, "split")
	tableBucket := "arn:aws:s3tables:us-east-1:000000000000:bucket/analytics"
	_, err := c.CreateChannel(t.Context(), &kinesis.CreateChannelInput{
		ChannelName: aws.String("split"), ServiceExecutionRoleARN: aws.String(roleARN),
		StreamConfigurationList: []types.ChannelStreamConfiguration{{StreamARN: aws.String(arn),
			RecordConfiguration: &types.RecordConfiguration{RecordFormatType: types.RecordFormatTypeJson,
				GSRSchemaARN: aws.String("arn:aws:glue:us-east-1:000000000000:schema/registry/split")}}},
		S3TablesDestinationConfiguration: &types.S3TablesDestinationConfiguration{
			DataFreshnessInSeconds: aws.Int32(1),
			DeadLetterQueueS3Configuration: &types.DeadLetterQueueS3Configuration{BucketARN: aws.String("arn:aws:s3:::dead"),
				ExpectedBucketOwner: aws.String("000000000000")},
			S3TablesConfigurationList: []types.S3TablesConfiguration{{CompressionType: types.S3TablesCompressionTypeZstd,
				Namespace: aws.String("web"), TableBucketARN: aws.String(tableBucket), TableName: aws.String("split")}},
		},
	})
	if err != nil {
		t.Fatalf("CreateChannel: %v", err)
	}
	n := records(t)
	shardOf := make([]string, n) // the shard each record went to, by its n
	putN := func(from, to int) {
		t.Helper()
		for start := from; start < to; start += 500 {
			var entries []types.PutRecordsRequestEntry
			for i := start; i < min(start+500, to); i++ {
				entries = append(entries, types.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprint("pk-", i)),
					Data: fmt.Appendf(nil, `{"n":%d,"ts":%q}`, i, time.Now().UTC().Format(time.RFC3339Nano))})
			}
			out, err := c.PutRecords(t.Context(), &kinesis.PutRecordsInput{StreamName: aws.String("split"), Records: entries})
			if err != nil || aws.ToInt32(out.FailedRecordCount) != 0 {
				t.Fatalf("PutRecords: %v (%d failed)", err, aws.ToInt32(out.FailedRecordCount))
			}
			for i, r := range out.Records {
				shardOf[start+i] = aws.ToString(r.ShardId)
			}
		}
	}
	putN(0, n/2)
	// Hold the split shard back until its children have records due: a record of it that is not a
	// JSON object goes to the dead-letter bucket, which cannot be written while a file stands where
	// its directory goes (and no commit is made while its dead letters fail).
	shards, err := c.ListShards(t.Context(), &kinesis.ListShardsInput{StreamName: aws.String("split")})
	if err != nil {
		t.Fatal(err)
	}
	parent := shards.Shards[0]
	block := filepath.Join(dir, "buckets", "dead")
	if err := os.MkdirAll(filepath.Dir(block), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(block, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutRecord(t.Context(), &kinesis.PutRecordInput{StreamName: aws.String("split"), PartitionKey: aws.String("bad"),
		ExplicitHashKey: parent.HashKeyRange.StartingHashKey, Data: []byte(`["not an object"]`)}); err != nil {
		t.Fatalf("PutRecord: %v", err)
	}
	if _, err := c.UpdateStreamMode(t.Context(), &kinesis.UpdateStreamModeInput{StreamARN: aws.String(arn),
		StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeProvisioned}}); err != nil {
		t.Fatalf("UpdateStreamMode: %v", err)
	}
	waitStreamActive(t, c, "split")
	if _, err := c.SplitShard(t.Context(), &kinesis.SplitShardInput{StreamName: aws.String("split"), ShardToSplit: parent.ShardId,
		NewStartingHashKey: aws.String(midpoint(*parent.HashKeyRange.StartingHashKey, *parent.HashKeyRange.EndingHashKey))}); err != nil {
		t.Fatalf("SplitShard: %v", err)
	}
	waitStreamActive(t, c, "split")
	// The children's records are due (their freshness past) in the pass that delivers the last records
	// of their parent, once the dead-letter bucket can be written.
	putN(n/2, n)
	s.Clock.Advance(2 * time.Second)
	if err := os.Remove(block); err != nil {
		t.Fatal(err)
	}
	after, err := c.ListShards(t.Context(), &kinesis.ListShardsInput{StreamName: aws.String("split")})
	if err != nil {
		t.Fatal(err)
	}
	isChild := map[string]bool{}
	for _, sh := range after.Shards {
		if aws.ToString(sh.ParentShardId) == *parent.ShardId {
			isChild[*sh.ShardId] = true
		}
	}
	var ofParent, ofChildren int
	for _, id := range shardOf {
		switch {
		case id == *parent.ShardId:
			ofParent++
		case isChild[id]:
			ofChildren++
		}
	}
	if len(isChild) != 2 || ofParent == 0 || ofChildren == 0 {
		t.Fatalf("children %v; %d records to the split shard, %d to its children: want 2 children and records to each side", isChild, ofParent, ofChildren)
	}

	w, err := iceberg.Open(t.Context(), iceberg.Config{Warehouse: filepath.Join(dir, "iceberg")})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	tb := iceberg.Table{Bucket: tableBucket, Namespace: "web", Name: "split"}
	deadline := time.Now().Add(2 * time.Minute)
	inTable := func() int {
		tbl, err := w.Load(t.Context(), tb)
		if err != nil || tbl.CurrentSnapshot() == nil {
			return 0
		}
		return len(scanSnapshot(t, tbl, tbl.CurrentSnapshot().SnapshotID))
	}
	for inTable() < n && time.Now().Before(deadline) {
		s.Clock.Advance(2 * time.Second)
		time.Sleep(300 * time.Millisecond)
	}
	tbl, err := w.Load(t.Context(), tb)
	if err != nil {
		t.Fatal(err)
	}
	snaps := tbl.Metadata().Snapshots()
	slices.SortFunc(snaps, func(a, b table.Snapshot) int { return cmp.Compare(a.SequenceNumber, b.SequenceNumber) })
	parentDone := false // every record of the split shard is in the snapshots seen so far
	for i, snap := range snaps {
		seen := map[int]int{}
		for _, row := range scanSnapshot(t, tbl, snap.SnapshotID) {
			seen[row]++
		}
		if i == len(snaps)-1 {
			for k := range n {
				if seen[k] != 1 {
					t.Errorf("record %d is in the table %d times, want once", k, seen[k])
				}
			}
		}
		parentRows := 0
		for k, times := range seen {
			if k < 0 || k >= n {
				t.Fatalf("snapshot %d: a row n=%d, which was not put", snap.SnapshotID, k)
			}
			if isChild[shardOf[k]] && !parentDone {
				t.Fatalf("snapshot %d (%d of %d) adds record %d of child %s before the snapshots before it hold every record of %s",
					snap.SnapshotID, i+1, len(snaps), k, shardOf[k], *parent.ShardId)
			}
			if shardOf[k] == *parent.ShardId {
				parentRows += times
			}
		}
		parentDone = parentRows == ofParent
	}
	if dead := decode(t, dirObjects(t, filepath.Join(dir, "buckets", "dead")), "split", "JSON"); len(dead.dead) != 1 || dead.dead[0] != `["not an object"]` {
		t.Errorf("dead letters %q, want the one non-object", dead.dead)
	}
}

// scanSnapshot reads the n column of tbl as its snapshot id holds it.
func scanSnapshot(t *testing.T, tbl *table.Table, id int64) []int {
	t.Helper()
	at, err := tbl.Scan(table.WithSnapshotID(id)).ToArrowTable(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer at.Release()
	rdr := array.NewTableReader(at, 4096)
	defer rdr.Release()
	var out []int
	for rdr.Next() {
		rec := rdr.RecordBatch()
		for j, f := range rec.Schema().Fields() {
			if f.Name != "n" {
				continue
			}
			col := rec.Column(j).(*array.Int64)
			for i := range col.Len() {
				out = append(out, int(col.Value(i)))
			}
		}
	}
	return out
}
