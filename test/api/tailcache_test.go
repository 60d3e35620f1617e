package api_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/kinesistest"
)

// TestReadsFromTheTip: a consumer at the end of a shard (GetRecords from LATEST, and SubscribeToShard
// from LATEST) gets the records just written from the engine's tail cache, without reading its files:
// kinesisd_storage_reads_total{source="engine"} does not move while {source="tail_cache"} does. On
// JetStream (no tail cache, and no such metric) the records must simply be right.
func TestReadsFromTheTip(t *testing.T) {
	eachEngineWith(t, withSubscribe(5*time.Minute, 200*time.Millisecond), func(t *testing.T, s *kinesistest.Server) {
		createStream(t, s.Client, "tip", 1)
		arn := consumerOn(t, s, "tip", "tip-reader")
		sub := mustSubscribe(t, s, arn, types.StartingPosition{Type: types.ShardIteratorTypeLatest})
		iter := getIterator(t, s, &kinesis.GetShardIteratorInput{
			StreamName: aws.String("tip"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeLatest,
		})
		before := scrape(t, s)
		cached := before.metric("kinesisd_storage_reads_total", "source", "tail_cache") != nil

		entries := make([]types.PutRecordsRequestEntry, 300)
		for i := range entries {
			entries[i] = types.PutRecordsRequestEntry{Data: fmt.Appendf(nil, "record %d %0500d", i, i), PartitionKey: aws.String(fmt.Sprint("k", i))}
		}
		put, err := s.Client.PutRecords(t.Context(), &kinesis.PutRecordsInput{StreamName: aws.String("tip"), Records: entries})
		if err != nil || aws.ToInt32(put.FailedRecordCount) != 0 {
			t.Fatalf("PutRecords: %v, failed %d", err, aws.ToInt32(put.FailedRecordCount))
		}
		got, err := s.Client.GetRecords(t.Context(), &kinesis.GetRecordsInput{ShardIterator: aws.String(iter)})
		if err != nil {
			t.Fatal(err)
		}
		events, _ := sub.collect(len(entries))
		for name, recs := range map[string][]types.Record{"GetRecords": got.Records, "SubscribeToShard": events} {
			if len(recs) != len(entries) {
				t.Fatalf("%s: %d records, want %d", name, len(recs), len(entries))
			}
			for i, r := range recs {
				if string(r.Data) != string(entries[i].Data) || *r.PartitionKey != *entries[i].PartitionKey || *r.SequenceNumber != *put.Records[i].SequenceNumber {
					t.Fatalf("%s: record %d is %q/%s, want %q/%s", name, i, r.Data[:12], *r.SequenceNumber, entries[i].Data[:12], *put.Records[i].SequenceNumber)
				}
			}
		}
		if !cached {
			return
		}
		after := scrape(t, s)
		engine := func(f families) float64 { return f.value("kinesisd_storage_reads_total", "source", "engine") }
		tail := func(f families) float64 { return f.value("kinesisd_storage_reads_total", "source", "tail_cache") }
		if engine(after) != engine(before) {
			t.Errorf("reads of the engine's files went from %v to %v: the tip was not served from the tail cache", engine(before), engine(after))
		}
		if tail(after) < tail(before)+2 { // GetRecords and the subscription's feed
			t.Errorf("tail cache reads went from %v to %v, want at least 2 more", tail(before), tail(after))
		}
		if b := after.value("kinesisd_storage_tail_cache_bytes"); b < 300*500 {
			t.Errorf("kinesisd_storage_tail_cache_bytes = %v, want at least the 150 kB just written", b)
		}
	})
}
