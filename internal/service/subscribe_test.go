package service

import (
	"context"
	"testing"
	"time"

	"kinesisd/internal/clock"
	"kinesisd/internal/service/stream"
	"kinesisd/internal/storage/pebble"
)

// TestSubscribeShardEnd: at the end of a closed shard the last event carries the child shards and
// no continuation number, and the subscription ends. No operation closes shards on this branch yet,
// so the test closes one by editing the stream document as a split would.
func TestSubscribeShardEnd(t *testing.T) {
	ctx := t.Context()
	store, err := pebble.Open(pebble.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	svc, err := New(ctx, Config{Store: store, Clock: clock.NewFake(time.Unix(1_700_000_000, 0)), SubscribeHeartbeat: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	name, shards := "s", int64(1)
	if err := svc.CreateStream(ctx, &CreateStreamInput{StreamName: &name, ShardCount: &shards}); err != nil {
		t.Fatal(err)
	}
	streamARN, consumer := svc.arn(name), "fan"
	reg, err := svc.RegisterStreamConsumer(ctx, &RegisterStreamConsumerInput{StreamARN: &streamARN, ConsumerName: &consumer})
	if err != nil {
		t.Fatal(err)
	}
	var seqs []string
	for _, k := range []string{"a", "b", "c"} {
		out, err := svc.PutRecord(ctx, &PutRecordInput{StreamRef: StreamRef{StreamName: &name}, PartitionKey: &k, Data: []byte(k)})
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, out.SequenceNumber)
	}
	_, err = svc.streams.Mutate(ctx, name, func(doc *stream.Doc) error {
		sh := &doc.Shards[0]
		end, err := store.NextOffset(ctx, svc.subStream(t, name).Ref(0))
		sh.Closed, sh.EndOffset = true, end
		parent := uint32(0)
		doc.Shards = append(doc.Shards,
			stream.Shard{Index: 1, Parent: &parent, StartHash: "0", EndHash: "170141183460469231731687303715884105727"},
			stream.Shard{Index: 2, Parent: &parent, StartHash: "170141183460469231731687303715884105728", EndHash: sh.EndHash})
		doc.NextShard = 3
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		pos     StartingPosition
		records []string
	}{
		{"records then end", StartingPosition{Type: subPtr(trimHorizon)}, seqs},
		{"already at the end", StartingPosition{Type: subPtr(afterSequenceNumber), SequenceNumber: &seqs[2]}, nil},
	}
	// Both cases use the same consumer and shard at the same clock reading: the second subscription
	// is refused unless the first, ended, was released.
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			subCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			_, events, err := svc.SubscribeToShard(subCtx, &SubscribeToShardInput{
				ConsumerARN: &reg.Consumer.ConsumerARN, ShardId: subPtr("shardId-000000000000"), StartingPosition: &tt.pos})
			if err != nil {
				t.Fatal(err)
			}
			var got []SubscribeToShardEvent
			for ev, err := range events {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, ev)
			}
			if subCtx.Err() != nil {
				t.Fatal("subscription did not end at the shard's end")
			}
			last := got[len(got)-1]
			if last.ContinuationSequenceNumber != nil || len(last.ChildShards) != 2 ||
				last.ChildShards[0].ShardId != "shardId-000000000001" || last.ChildShards[1].ParentShards[0] != "shardId-000000000000" {
				t.Fatalf("last event %+v: want ChildShards 1 and 2 and no continuation", last)
			}
			var recs []string
			for _, ev := range got {
				for _, r := range ev.Records {
					recs = append(recs, r.SequenceNumber)
				}
			}
			if len(recs) != len(tt.records) || (len(recs) > 0 && recs[0] != tt.records[0]) {
				t.Fatalf("records %v, want %v", recs, tt.records)
			}
		})
	}
}

func subPtr[T any](v T) *T { return &v }

func (s *Service) subStream(t *testing.T, name string) *stream.Stream {
	t.Helper()
	st, err := s.streams.Load(t.Context(), name)
	if err != nil || st == nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return st
}
