// Package transfer_test runs export and import end to end: a source built through the AWS SDK, copied
// between stores that keep and that reassign offsets, and read back through the store and the SDK.
package transfer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/config"
	"kinesisd/internal/kinesistest"
	"kinesisd/internal/service"
	"kinesisd/internal/service/stream"
	"kinesisd/internal/storage"
	"kinesisd/internal/storage/pebble"
	"kinesisd/internal/transfer"
)

// source is a store built through the API: a resharded stream with records in every generation (some
// trimmed, one shard's all), consumers, tags, a policy and settings; an empty stream; a stream being
// deleted; and the account settings document.
type source struct {
	dir      string
	clock    time.Time   // the source server's clock when it stopped
	batches  []time.Time // arrival time of each PutRecords batch, for AT_TIMESTAMP
	consumer string      // the consumer's ARN
	policy   string
	snap     *snapshot // the store as it was exported
}

const policyDoc = `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "kinesis:GetRecords", "Resource": "arn:aws:kinesis:us-east-1:000000000000:stream/orders"}]}`

func noLimits(cfg *config.Config) {
	cfg.ThroughputLimits = false
	cfg.DeleteStreamDelay = time.Hour // a deleted stream stays DELETING, to be left out of the export
}

// buildSource builds the source store on disk and returns it closed.
func buildSource(t *testing.T) *source {
	t.Helper()
	s := kinesistest.Start(t, kinesistest.Engines[0], kinesistest.Options{Configure: noLimits})
	c, ctx := s.Client, t.Context()
	src := &source{dir: s.Config.DataDir, policy: policyDoc}
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("orders"), ShardCount: aws.Int32(2)}))
	must(c.UpdateAccountSettings(ctx, &kinesis.UpdateAccountSettingsInput{
		MinimumThroughputBillingCommitment: &types.MinimumThroughputBillingCommitmentInput{Status: types.MinimumThroughputBillingCommitmentInputStatusEnabled},
	}))
	put := func() {
		t.Helper()
		s.Clock.Advance(time.Second)
		b := len(src.batches)
		src.batches = append(src.batches, s.Clock.Now())
		entries := make([]types.PutRecordsRequestEntry, 24)
		for i := range entries {
			entries[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprintf("key-%d-%d", b, i)), Data: fmt.Appendf(nil, "orders-%d-%d", b, i)}
		}
		entries[0].Data = []byte{} // an empty record travels too
		out, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("orders"), Records: entries})
		if err != nil {
			t.Fatal(err)
		}
		if n := aws.ToInt32(out.FailedRecordCount); n != 0 {
			t.Fatalf("PutRecords: %d failed", n)
		}
	}
	put()
	put()
	// Split shard 0 in the middle of its range: children 2 and 3; then merge them into 4.
	shards, err := c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("orders")})
	if err != nil {
		t.Fatal(err)
	}
	lo, _ := new(big.Int).SetString(*shards.Shards[0].HashKeyRange.StartingHashKey, 10)
	hi, _ := new(big.Int).SetString(*shards.Shards[0].HashKeyRange.EndingHashKey, 10)
	mid := new(big.Int).Rsh(new(big.Int).Add(lo, hi), 1)
	must(c.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String("orders"), ShardToSplit: aws.String("shardId-000000000000"), NewStartingHashKey: aws.String(mid.String())}))
	put()
	put()
	must(c.MergeShards(ctx, &kinesis.MergeShardsInput{StreamName: aws.String("orders"), ShardToMerge: aws.String("shardId-000000000002"), AdjacentShardToMerge: aws.String("shardId-000000000003")}))
	put()
	put()

	must(c.AddTagsToStream(ctx, &kinesis.AddTagsToStreamInput{StreamName: aws.String("orders"), Tags: map[string]string{"team": "payments", "env": "prod"}}))
	arn := "arn:aws:kinesis:us-east-1:000000000000:stream/orders"
	reg, err := c.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: aws.String(arn), ConsumerName: aws.String("billing"),
		Tags: map[string]string{"owner": "billing"}})
	if err != nil {
		t.Fatal(err)
	}
	src.consumer = *reg.Consumer.ConsumerARN
	must(c.PutResourcePolicy(ctx, &kinesis.PutResourcePolicyInput{ResourceARN: aws.String(arn), Policy: aws.String(policyDoc)}))
	must(c.EnableEnhancedMonitoring(ctx, &kinesis.EnableEnhancedMonitoringInput{StreamName: aws.String("orders"), ShardLevelMetrics: []types.MetricsName{types.MetricsNameIncomingBytes}}))
	must(c.IncreaseStreamRetentionPeriod(ctx, &kinesis.IncreaseStreamRetentionPeriodInput{StreamName: aws.String("orders"), RetentionPeriodHours: aws.Int32(48)}))

	must(c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("quiet"), ShardCount: aws.Int32(1)}))
	must(c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("doomed"), ShardCount: aws.Int32(1)}))
	must(c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("doomed"), PartitionKey: aws.String("k"), Data: []byte("gone")}))
	must(c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("doomed")}))
	src.clock = s.Clock.Now()
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	// Retention has trimmed the first records of shards 0 (closed) and 1 (open), and every record of
	// shard 3 (closed), as it does after a day: their logs start above 0.
	st := openPebble(t, src.dir)
	orders := streamDoc(t, st, "orders")
	for _, index := range []uint32{0, 1, 3} {
		ref := storage.ShardRef{StreamID: orders.ID(), Shard: index}
		recs, err := st.Read(ctx, ref, 0, 5, 1<<20)
		if err != nil || len(recs) != 5 {
			t.Fatalf("read shard %d: %d records, %v", index, len(recs), err)
		}
		before := recs[4].Offset
		if index == 3 {
			if before, err = st.NextOffset(ctx, ref); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.Trim(ctx, ref, before); err != nil {
			t.Fatal(err)
		}
	}
	src.snap = takeSnapshot(t, st)
	closeStore(t, st)
	return src
}

func openPebble(t *testing.T, dir string) storage.Store {
	t.Helper()
	st, err := pebble.Open(pebble.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func closeStore(t *testing.T, st storage.Store) {
	t.Helper()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}

func streamDoc(t *testing.T, st storage.Store, name string) *stream.Stored {
	t.Helper()
	key := service.StreamMetaPrefix + "000000000000/us-east-1/" + name
	raw, _, err := st.GetMeta(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := stream.ParseStored(key, raw)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// snapshot is everything a store holds that an export copies.
type snapshot struct {
	meta    map[string][]byte // documents other than streams
	streams map[string]*streamSnap
}

type streamSnap struct {
	doc    *stream.Stored
	fields map[string]any // the document as JSON
	shards map[uint32]*shardSnap
}

type shardSnap struct {
	offsets stream.ShardOffsets
	recs    []storage.Record
	next    uint64
}

func takeSnapshot(t *testing.T, st storage.Store) *snapshot {
	t.Helper()
	ctx := t.Context()
	entries, err := st.ListMeta(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	snap := &snapshot{meta: map[string][]byte{}, streams: map[string]*streamSnap{}}
	for _, e := range entries {
		if !strings.HasPrefix(e.Key, service.StreamMetaPrefix) {
			snap.meta[e.Key] = e.Value
			continue
		}
		doc, err := stream.ParseStored(e.Key, e.Value)
		if err != nil {
			t.Fatal(err)
		}
		ss := &streamSnap{doc: doc, shards: map[uint32]*shardSnap{}}
		if err := json.Unmarshal(e.Value, &ss.fields); err != nil {
			t.Fatal(err)
		}
		for _, o := range doc.Shards() {
			ref := storage.ShardRef{StreamID: doc.ID(), Shard: o.Index}
			sh := &shardSnap{offsets: o}
			for from := uint64(0); ; {
				recs, err := st.Read(ctx, ref, from, 100, 1<<20)
				if err != nil {
					t.Fatal(err)
				}
				if len(recs) == 0 {
					break
				}
				for _, r := range recs {
					r.Data = bytes.Clone(r.Data)
					sh.recs = append(sh.recs, r)
				}
				from = recs[len(recs)-1].Offset + 1
			}
			if sh.next, err = st.NextOffset(ctx, ref); err != nil {
				t.Fatal(err)
			}
			ss.shards[o.Index] = sh
		}
		snap.streams[e.Key] = ss
	}
	return snap
}

// exportSource exports the source store into an archive.
func exportSource(t *testing.T, src *source, gzip bool) ([]byte, *transfer.Report) {
	t.Helper()
	st := openPebble(t, src.dir)
	defer closeStore(t, st)
	var buf bytes.Buffer
	rep, err := transfer.Export(t.Context(), st, &buf, transfer.ExportOptions{Engine: transfer.EnginePebble, Gzip: gzip})
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), rep
}

// appendOnly hides every ability of a store but storage.Store: an engine that cannot keep offsets.
type appendOnly struct{ storage.Store }

func key(name string) string { return service.StreamMetaPrefix + "000000000000/us-east-1/" + name }
