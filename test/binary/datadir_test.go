package binary_test

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"io"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/kinesistest/proc"
	"kinesisd/internal/service/seqnum"
)

// A data directory written before sequence numbers took AWS's layout (issue 16) must open and keep
// working: its records read back, now numbered in the new form; the numbers handed out before (KCL
// checkpoints, saved positions) still position iterators; every new number of a shard is above every
// old one. The fixture was made by the binary of the commit before that change, with
//
//	KINESISD_MAKE_DATADIR_FIXTURE=1 KINESISD_BIN=<old kinesisd> go test -run TestMakeDataDirFixture ./test/binary/

const (
	legacyFixture = "testdata/datadir-legacy-seqnum.tar.gz"
	fixtureStream = "compat"
)

// fixtureRecord is a record the fixture's binary acknowledged, with the number it handed out.
type fixtureRecord struct {
	Shard, Seq, Key, Data string
}

func TestMakeDataDirFixture(t *testing.T) {
	if os.Getenv("KINESISD_MAKE_DATADIR_FIXTURE") == "" {
		t.Skip("makes the fixture: set KINESISD_MAKE_DATADIR_FIXTURE=1 and KINESISD_BIN to the old binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	p := proc.Start(t, bin, data)
	c := proc.NewClient(p.Endpoint, 10*time.Second)
	ctx := t.Context()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(fixtureStream), ShardCount: aws.Int32(2)}))
	var recs []fixtureRecord
	put := func(n int, prefix string) {
		for i := range n {
			key, value := prefix+"-key-"+string(rune('a'+i%26)), prefix+"-data-"+time.Now().Format(time.RFC3339Nano)
			out, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(fixtureStream), PartitionKey: aws.String(key), Data: []byte(value)})
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, fixtureRecord{Shard: *out.ShardId, Seq: *out.SequenceNumber, Key: key, Data: value})
		}
	}
	put(20, "before")
	must(c.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String(fixtureStream), ShardToSplit: aws.String("shardId-000000000000"),
		NewStartingHashKey: aws.String("85070591730234615865843651857942052864")}))
	put(20, "after")
	must(c.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/" + fixtureStream),
		ConsumerName: aws.String("fan")}))
	must(c.AddTagsToStream(ctx, &kinesis.AddTagsToStreamInput{StreamName: aws.String(fixtureStream), Tags: map[string]string{"team": "compat"}}))
	if err := p.Stop(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	manifest, err := json.MarshalIndent(recs, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "records.json"), manifest, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(legacyFixture)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	zw := gzip.NewWriter(out)
	tw := tar.NewWriter(zw)
	if err := tw.AddFS(os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
}

// extractFixture unpacks a tar.gz fixture into a new directory and returns it.
func extractFixture(t *testing.T, name string) string {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return dir
		}
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(path, dir+string(filepath.Separator)) {
			t.Fatalf("fixture entry %q leaves the directory", h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(path, 0o755)
		case tar.TypeReg:
			err = writeFile(path, tr, fs.FileMode(h.Mode))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func writeFile(path string, r io.Reader, mode fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode|0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func bigSeq(t *testing.T, s string) *big.Int {
	t.Helper()
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		t.Fatalf("sequence number %q is not a decimal", s)
	}
	return n
}

func TestLegacyDataDirOpens(t *testing.T) {
	dir := extractFixture(t, legacyFixture)
	raw, err := os.ReadFile(filepath.Join(dir, "records.json"))
	if err != nil {
		t.Fatal(err)
	}
	var recs []fixtureRecord
	if err := json.Unmarshal(raw, &recs); err != nil {
		t.Fatal(err)
	}
	if len(recs) != 40 {
		t.Fatalf("fixture holds %d records, want 40", len(recs))
	}
	bin := buildBinary(t)
	p := proc.Start(t, bin, filepath.Join(dir, "data"), "-throughput-limits=false")
	c := proc.NewClient(p.Endpoint, 10*time.Second)
	ctx := t.Context()

	sum, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(fixtureStream)})
	if err != nil {
		t.Fatal(err)
	}
	if d := sum.StreamDescriptionSummary; d.StreamStatus != types.StreamStatusActive || *d.OpenShardCount != 3 || *d.ConsumerCount != 1 {
		t.Fatalf("stream after the upgrade: status %s, %d open shards, %d consumers; want ACTIVE, 3, 1", d.StreamStatus, *d.OpenShardCount, *d.ConsumerCount)
	}
	tags, err := c.ListTagsForStream(ctx, &kinesis.ListTagsForStreamInput{StreamName: aws.String(fixtureStream)})
	if err != nil || len(tags.Tags) != 1 || *tags.Tags[0].Value != "compat" {
		t.Fatalf("tags after the upgrade: %+v, %v", tags, err)
	}

	// Every record reads back, in the new form, above its old number and in the old order.
	got := shardRecords(t, c, fixtureStream)
	newSeq := map[string]string{} // old number → new number
	for _, r := range recs {
		var found *types.Record
		for i := range got[r.Shard] {
			if string(got[r.Shard][i].Data) == r.Data {
				found = &got[r.Shard][i]
			}
		}
		if found == nil {
			t.Fatalf("record %q of %s is gone after the upgrade", r.Data, r.Shard)
		}
		if *found.PartitionKey != r.Key {
			t.Errorf("record %q: partition key %q, want %q", r.Data, *found.PartitionKey, r.Key)
		}
		if _, form, err := seqnum.Decode(*found.SequenceNumber); err != nil || form != seqnum.V2 {
			t.Errorf("record %q reads back as %s (%v, %v), want AWS's layout", r.Data, *found.SequenceNumber, form, err)
		}
		if bigSeq(t, *found.SequenceNumber).Cmp(bigSeq(t, r.Seq)) <= 0 {
			t.Errorf("record %q: new number %s is not above its old number %s", r.Data, *found.SequenceNumber, r.Seq)
		}
		newSeq[r.Seq] = *found.SequenceNumber
	}
	for shard, rs := range got {
		for i := 1; i < len(rs); i++ {
			if bigSeq(t, *rs[i].SequenceNumber).Cmp(bigSeq(t, *rs[i-1].SequenceNumber)) <= 0 {
				t.Errorf("%s: numbers out of order at %d: %s then %s", shard, i, *rs[i-1].SequenceNumber, *rs[i].SequenceNumber)
			}
		}
	}

	// Old numbers still position iterators, AT and AFTER.
	for i, r := range recs {
		if i%7 != 0 {
			continue
		}
		for _, typ := range []types.ShardIteratorType{types.ShardIteratorTypeAtSequenceNumber, types.ShardIteratorTypeAfterSequenceNumber} {
			it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(fixtureStream), ShardId: aws.String(r.Shard),
				ShardIteratorType: typ, StartingSequenceNumber: aws.String(r.Seq)})
			if err != nil {
				t.Fatalf("GetShardIterator %s at the old number %s: %v", typ, r.Seq, err)
			}
			out, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator, Limit: aws.Int32(1)})
			if err != nil {
				t.Fatal(err)
			}
			var want string
			if typ == types.ShardIteratorTypeAtSequenceNumber {
				want = newSeq[r.Seq]
			} else {
				for k, rec := range got[r.Shard] {
					if *rec.SequenceNumber == newSeq[r.Seq] && k+1 < len(got[r.Shard]) {
						want = *got[r.Shard][k+1].SequenceNumber
					}
				}
			}
			switch {
			case want == "" && len(out.Records) != 0:
				t.Errorf("%s %s (the shard's last record): got %s, want nothing", typ, r.Seq, *out.Records[0].SequenceNumber)
			case want != "" && (len(out.Records) != 1 || *out.Records[0].SequenceNumber != want):
				t.Errorf("%s %s: got %v, want the record numbered %s", typ, r.Seq, out.Records, want)
			}
		}
	}

	// The stream takes new records, numbered above every old one of their shard.
	out, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(fixtureStream), PartitionKey: aws.String("after-upgrade"), Data: []byte("new")})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Shard == *out.ShardId && bigSeq(t, *out.SequenceNumber).Cmp(bigSeq(t, newSeq[r.Seq])) <= 0 {
			t.Errorf("new record %s is not above old record %s of %s", *out.SequenceNumber, newSeq[r.Seq], r.Shard)
		}
	}
}
