package transfer_test

import (
	"bytes"
	"fmt"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/clock"
	"kinesisd/internal/kinesistest"
	"kinesisd/internal/storage"
	"kinesisd/internal/transfer"
)

// TestThroughTheAPI imports the source into a store on disk, keeping offsets and reassigning them,
// starts a server on it and reads everything back through the SDK: every record in order with its
// arrival time and the reported sequence numbers, AT_TIMESTAMP and AT/AFTER_SEQUENCE_NUMBER positions,
// the lineage of the resharded stream (ChildShards at each closed shard's end), consumers, tags, the
// policy, the settings and the account document; new records follow the imported ones.
func TestThroughTheAPI(t *testing.T) {
	src := buildSource(t)
	data, _ := exportSource(t, src, true)
	for _, keep := range []bool{true, false} {
		t.Run(map[bool]string{true: "Kept", false: "Reassigned"}[keep], func(t *testing.T) {
			dir := t.TempDir()
			st := openPebble(t, dir)
			var target storage.Store = st
			if !keep {
				target = appendOnly{st}
			}
			rep, err := transfer.Import(t.Context(), target, bytes.NewReader(data), transfer.ImportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			closeStore(t, st)
			s := kinesistest.Start(t, kinesistest.Engines[0], kinesistest.Options{
				Dir: dir, Clock: clock.NewFake(src.clock.Add(time.Minute)), Configure: noLimits,
			})
			checkAPI(t, s, src, rep, keep)
		})
	}
}

// shardReport finds a shard in a report.
func shardReport(t *testing.T, rep *transfer.Report, stream, shardID string) transfer.ShardReport {
	t.Helper()
	for _, s := range rep.Streams {
		for _, sh := range s.Shards {
			if s.Name == stream && sh.ShardID == shardID {
				return sh
			}
		}
	}
	t.Fatalf("no %s %s in the report", stream, shardID)
	return transfer.ShardReport{}
}

// read reads a shard from an iterator until it is drained (an empty page) or ends (ChildShards).
func read(t *testing.T, c *kinesis.Client, it *kinesis.GetShardIteratorInput, limit int32) ([]types.Record, []types.ChildShard) {
	t.Helper()
	out, err := c.GetShardIterator(t.Context(), it)
	if err != nil {
		t.Fatalf("GetShardIterator %s %s: %v", *it.ShardId, it.ShardIteratorType, err)
	}
	iter := out.ShardIterator
	var recs []types.Record
	for iter != nil {
		page, err := c.GetRecords(t.Context(), &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(limit)})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, page.Records...)
		if len(page.Records) == 0 || page.NextShardIterator == nil || int32(len(recs)) >= limit {
			return recs, page.ChildShards
		}
		iter = page.NextShardIterator
	}
	return recs, nil
}

func childIDs(cs []types.ChildShard) []string {
	var ids []string
	for _, c := range cs {
		ids = append(ids, *c.ShardId)
	}
	slices.Sort(ids)
	return ids
}

func checkAPI(t *testing.T, s *kinesistest.Server, src *source, rep *transfer.Report, keep bool) {
	c, ctx := s.Client, t.Context()
	orders := src.snap.streams[key("orders")]
	stream := aws.String("orders")

	// Lineage: the shards, their parents, which are closed.
	shards, err := c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: stream})
	if err != nil {
		t.Fatal(err)
	}
	type lineage struct{ parent, adjacent string }
	wantLineage := map[string]lineage{
		"shardId-000000000000": {}, "shardId-000000000001": {},
		"shardId-000000000002": {parent: "shardId-000000000000"}, "shardId-000000000003": {parent: "shardId-000000000000"},
		"shardId-000000000004": {parent: "shardId-000000000002", adjacent: "shardId-000000000003"},
	}
	children := map[string][]string{
		"shardId-000000000000": {"shardId-000000000002", "shardId-000000000003"},
		"shardId-000000000002": {"shardId-000000000004"}, "shardId-000000000003": {"shardId-000000000004"},
	}
	if len(shards.Shards) != len(wantLineage) {
		t.Fatalf("%d shards, want %d", len(shards.Shards), len(wantLineage))
	}
	for _, sh := range shards.Shards {
		id := *sh.ShardId
		if got := (lineage{aws.ToString(sh.ParentShardId), aws.ToString(sh.AdjacentParentShardId)}); got != wantLineage[id] {
			t.Errorf("%s: parents %v, want %v", id, got, wantLineage[id])
		}
		closed := sh.SequenceNumberRange.EndingSequenceNumber != nil
		if closed != (children[id] != nil) {
			t.Errorf("%s: closed %v", id, closed)
		}
		if r := shardReport(t, rep, "orders", id); closed && r.Records > 0 && *sh.SequenceNumberRange.EndingSequenceNumber != r.NewLast {
			t.Errorf("%s: EndingSequenceNumber %s, want the last record's %s", id, *sh.SequenceNumberRange.EndingSequenceNumber, r.NewLast)
		}
	}

	// Every record, in order, with its arrival time; the report's sequence numbers are the records'.
	for index, want := range orders.shards {
		id := fmt.Sprintf("shardId-%012d", index)
		r := shardReport(t, rep, "orders", id)
		if keep && (r.NewFirst != r.OldFirst || r.NewLast != r.OldLast) {
			t.Errorf("%s: sequence numbers moved while kept", id)
		}
		got, kids := read(t, c, &kinesis.GetShardIteratorInput{StreamName: stream, ShardId: &id, ShardIteratorType: types.ShardIteratorTypeTrimHorizon}, 10000)
		if len(got) != len(want.recs) {
			t.Fatalf("%s: %d records through the API, want %d", id, len(got), len(want.recs))
		}
		for i, g := range got {
			w := want.recs[i]
			if !bytes.Equal(g.Data, w.Data) || *g.PartitionKey != w.PartitionKey || g.ApproximateArrivalTimestamp.UnixMilli() != w.ArrivalMilli {
				t.Fatalf("%s record %d: %q %q %v, want %q %q %d", id, i, g.Data, *g.PartitionKey, g.ApproximateArrivalTimestamp, w.Data, w.PartitionKey, w.ArrivalMilli)
			}
			if i > 0 && seq(t, *g.SequenceNumber).Cmp(seq(t, *got[i-1].SequenceNumber)) <= 0 {
				t.Fatalf("%s: sequence numbers not increasing at record %d", id, i)
			}
		}
		if len(got) > 0 && (*got[0].SequenceNumber != r.NewFirst || *got[len(got)-1].SequenceNumber != r.NewLast) {
			t.Errorf("%s: records run %s…%s, the report says %s…%s", id, *got[0].SequenceNumber, *got[len(got)-1].SequenceNumber, r.NewFirst, r.NewLast)
		}
		if !slices.Equal(childIDs(kids), children[id]) {
			t.Errorf("%s: ChildShards at the end %v, want %v", id, childIDs(kids), children[id])
		}

		// AT_TIMESTAMP at each batch's arrival finds the first record that arrived then or later.
		for _, at := range src.batches {
			i := slices.IndexFunc(want.recs, func(r storage.Record) bool { return r.ArrivalMilli >= at.UnixMilli() })
			first, _ := read(t, c, &kinesis.GetShardIteratorInput{StreamName: stream, ShardId: &id, ShardIteratorType: types.ShardIteratorTypeAtTimestamp, Timestamp: aws.Time(at)}, 1)
			switch {
			case i < 0 && len(first) > 0:
				t.Errorf("%s AT_TIMESTAMP %v: got %q, want nothing", id, at, first[0].Data)
			case i >= 0 && (len(first) == 0 || !bytes.Equal(first[0].Data, want.recs[i].Data)):
				t.Errorf("%s AT_TIMESTAMP %v: got %d records, want %q first", id, at, len(first), want.recs[i].Data)
			}
		}
		if r.Records == 0 {
			continue
		}
		// AT_SEQUENCE_NUMBER of the first record, AFTER_SEQUENCE_NUMBER of the last.
		first, _ := read(t, c, &kinesis.GetShardIteratorInput{StreamName: stream, ShardId: &id, ShardIteratorType: types.ShardIteratorTypeAtSequenceNumber, StartingSequenceNumber: &r.NewFirst}, 1)
		if len(first) != 1 || !bytes.Equal(first[0].Data, want.recs[0].Data) {
			t.Errorf("%s AT_SEQUENCE_NUMBER %s: %d records", id, r.NewFirst, len(first))
		}
		after, kids := read(t, c, &kinesis.GetShardIteratorInput{StreamName: stream, ShardId: &id, ShardIteratorType: types.ShardIteratorTypeAfterSequenceNumber, StartingSequenceNumber: &r.NewLast}, 10)
		if len(after) != 0 || !slices.Equal(childIDs(kids), children[id]) {
			t.Errorf("%s AFTER_SEQUENCE_NUMBER of the last record: %d records, children %v", id, len(after), childIDs(kids))
		}
	}

	// New records follow the imported ones.
	put, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: stream, PartitionKey: aws.String("after-import"), Data: []byte("new")})
	if err != nil {
		t.Fatal(err)
	}
	if r := shardReport(t, rep, "orders", *put.ShardId); r.Records > 0 && seq(t, *put.SequenceNumber).Cmp(seq(t, r.NewLast)) <= 0 {
		t.Errorf("a new record's sequence number %s is not after the imported %s", *put.SequenceNumber, r.NewLast)
	}

	// Consumers, tags, policy, settings, the account document; the stream being deleted stayed behind.
	cons, err := c.ListStreamConsumers(ctx, &kinesis.ListStreamConsumersInput{StreamARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/orders")})
	if err != nil {
		t.Fatal(err)
	}
	if len(cons.Consumers) != 1 || *cons.Consumers[0].ConsumerARN != src.consumer || cons.Consumers[0].ConsumerStatus != types.ConsumerStatusActive {
		t.Errorf("consumers: %+v, want %s ACTIVE", cons.Consumers, src.consumer)
	}
	ctags, err := c.ListTagsForResource(ctx, &kinesis.ListTagsForResourceInput{ResourceARN: aws.String(src.consumer)})
	if err != nil || len(ctags.Tags) != 1 || *ctags.Tags[0].Value != "billing" {
		t.Errorf("consumer tags: %+v, %v", ctags, err)
	}
	tags, err := c.ListTagsForStream(ctx, &kinesis.ListTagsForStreamInput{StreamName: stream})
	if err != nil || len(tags.Tags) != 2 {
		t.Errorf("stream tags: %+v, %v", tags, err)
	}
	pol, err := c.GetResourcePolicy(ctx, &kinesis.GetResourcePolicyInput{ResourceARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/orders")})
	if err != nil || aws.ToString(pol.Policy) != src.policy {
		t.Errorf("policy: %v, %v", aws.ToString(pol.Policy), err)
	}
	sum, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: stream})
	if err != nil {
		t.Fatal(err)
	}
	d := sum.StreamDescriptionSummary
	if *d.RetentionPeriodHours != 48 || len(d.EnhancedMonitoring) != 1 || !slices.Equal(d.EnhancedMonitoring[0].ShardLevelMetrics, []types.MetricsName{types.MetricsNameIncomingBytes}) ||
		d.StreamStatus != types.StreamStatusActive || aws.ToInt32(d.ConsumerCount) != 1 {
		t.Errorf("summary: retention %d, monitoring %+v, status %s, consumers %d", *d.RetentionPeriodHours, d.EnhancedMonitoring, d.StreamStatus, aws.ToInt32(d.ConsumerCount))
	}
	acct, err := c.DescribeAccountSettings(ctx, &kinesis.DescribeAccountSettingsInput{})
	if err != nil || acct.MinimumThroughputBillingCommitment == nil || acct.MinimumThroughputBillingCommitment.Status != types.MinimumThroughputBillingCommitmentOutputStatusEnabled {
		t.Errorf("account settings: %+v, %v", acct, err)
	}
	list, err := c.ListStreams(ctx, &kinesis.ListStreamsInput{})
	if err != nil || !slices.Equal(list.StreamNames, []string{"orders", "quiet"}) {
		t.Errorf("streams: %v, %v", list.StreamNames, err)
	}
}

func seq(t *testing.T, s string) *big.Int {
	t.Helper()
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		t.Fatalf("sequence number %q", s)
	}
	return n
}
