package protocol

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"kinesisd/internal/protocol/eventstream"
	"kinesisd/internal/service"
)

// testRecords are n records with what makes encodings differ: escaped and non-ASCII partition keys,
// empty data, encryption types.
func testRecords(first, n, size int) []service.Record {
	keys := []string{"plain", `quote"back\slash`, "<html>&amp;", "ünïcödé €", "\x01ctl"}
	recs := make([]service.Record, n)
	for i := range recs {
		data := bytes.Repeat([]byte{byte(first + i)}, size)
		if i%7 == 3 {
			data = []byte{}
		}
		recs[i] = service.Record{
			SequenceNumber:              fmt.Sprintf("4960%052d", first+i),
			ApproximateArrivalTimestamp: service.Timestamp{Time: time.UnixMilli(1_700_000_000_123 + int64(first+i)).UTC()},
			Data:                        data,
			PartitionKey:                keys[(first+i)%len(keys)],
		}
		if i%2 == 1 {
			recs[i].EncryptionType = "KMS"
		}
	}
	return recs
}

// TestEventPartsMatchEncode: an event written around shared batches is, byte for byte, the event
// encoded whole, in every codec, however its records are split into batches and whatever else it
// carries; and a batch is encoded once per codec, not once per event.
func TestEventPartsMatchEncode(t *testing.T) {
	cont := "49000000000000000000000000000000000000000000000000000042"
	children := []service.ChildShard{{ShardId: "shardId-000000000001", ParentShards: []string{"shardId-000000000000"},
		HashKeyRange: service.HashKeyRange{StartingHashKey: "0", EndingHashKey: "42"}}}
	tests := []struct {
		name    string
		batches []int // records per batch
		event   service.SubscribeToShardEvent
	}{
		{"no records", nil, service.SubscribeToShardEvent{ContinuationSequenceNumber: &cont}},
		{"one batch", []int{5}, service.SubscribeToShardEvent{ContinuationSequenceNumber: &cont}},
		{"one record", []int{1}, service.SubscribeToShardEvent{ContinuationSequenceNumber: &cont, MillisBehindLatest: 1234}},
		{"three batches", []int{3, 1, 9}, service.SubscribeToShardEvent{ContinuationSequenceNumber: &cont, MillisBehindLatest: 7}},
		{"shard end", []int{2, 2}, service.SubscribeToShardEvent{ChildShards: children}},
	}
	for _, c := range []codec{jsonCodec, cborCodec} {
		for _, tt := range tests {
			t.Run(c.contentType()+"/"+tt.name, func(t *testing.T) {
				var batches []*service.RecordBatch
				first := 0
				for _, n := range tt.batches {
					batches = append(batches, service.NewRecordBatch(testRecords(first, n, 40)))
					first += n
				}
				ev := tt.event.WithBatches(batches...)
				want, err := c.encode(ev)
				if err != nil {
					t.Fatal(err)
				}
				for round := range 2 { // the second round finds the batches' encodings made
					parts, err := eventParts(c, &ev)
					if err != nil {
						t.Fatal(err)
					}
					var got []byte
					for _, p := range parts {
						got = append(got, p.Bytes...)
					}
					if !bytes.Equal(got, want) {
						t.Fatalf("round %d:\n got %q\nwant %q", round, got, want)
					}
					var frames, whole bytes.Buffer
					if err := eventstream.NewWriter(&frames, nil).EventParts("SubscribeToShardEvent", "x", parts...); err != nil {
						t.Fatal(err)
					}
					if err := eventstream.NewWriter(&whole, nil).Event("SubscribeToShardEvent", "x", want); err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(frames.Bytes(), whole.Bytes()) {
						t.Fatalf("round %d: framed parts differ from the framed whole", round)
					}
				}
				if len(batches) > 0 {
					b0 := batches[0].Records()
					again, err := batchEncoded(batches[0], c.contentType(), func([]service.Record) (sharedRecords, error) {
						t.Error("a batch was encoded twice in one codec")
						return sharedRecords{}, nil
					})
					if err != nil || len(again.b) == 0 || len(b0) == 0 {
						t.Errorf("the batch's encoding was not kept: %v", err)
					}
				}
			})
		}
	}
}

// BenchmarkSubscribeEvent is the cost of one SubscribeToShardEvent of 500 records of 1 KiB to one
// subscription, encoded and framed: "whole" encodes every record for each subscription with the
// codec's reflective encoder (as before the records were shared); "shared" is the subscription's own
// cost once the batch's encoding is made (every subscription after the first); "first" includes
// making it (a batch seen by one subscription). The records are testRecords ("odd keys": a third of
// their partition keys need escaping) or, as `kinesisd bench` writes them, with 16 hex digits of key
// and random data ("bench keys").
func BenchmarkSubscribeEvent(b *testing.B) {
	cont := "49000000000000000000000000000000000000000000000000000042"
	plain := testRecords(0, 500, 1024)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range plain {
		r := &plain[i]
		r.PartitionKey = fmt.Sprintf("%016x", rng.Uint64())
		r.Data = make([]byte, 1024)
		for j := range r.Data {
			r.Data[j] = byte(rng.Uint32())
		}
		r.EncryptionType = "NONE"
	}
	for _, set := range []struct {
		name string
		recs []service.Record
	}{{"odd keys", testRecords(0, 500, 1024)}, {"bench keys", plain}} {
		for _, c := range []codec{jsonCodec, cborCodec} {
			b.Run(set.name+"/"+strings.TrimPrefix(c.contentType(), "application/"), func(b *testing.B) {
				benchmarkSubscribeEvent(b, c, set.recs, cont)
			})
		}
	}
}

func benchmarkSubscribeEvent(b *testing.B, c codec, recs []service.Record, cont string) {
	b.Run("whole", func(b *testing.B) {
		ev := service.SubscribeToShardEvent{Records: recs, ContinuationSequenceNumber: &cont, MillisBehindLatest: 12}
		w := eventstream.NewWriter(io.Discard, nil)
		b.ReportAllocs()
		for b.Loop() {
			payload, err := c.encode(ev)
			if err != nil {
				b.Fatal(err)
			}
			if err := w.Event("SubscribeToShardEvent", "application/json", payload); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("first", func(b *testing.B) {
		w := eventstream.NewWriter(io.Discard, nil)
		b.ReportAllocs()
		for b.Loop() {
			ev := service.SubscribeToShardEvent{ContinuationSequenceNumber: &cont, MillisBehindLatest: 12}.
				WithBatches(service.NewRecordBatch(recs))
			parts, err := eventParts(c, &ev)
			if err != nil {
				b.Fatal(err)
			}
			if err := w.EventParts("SubscribeToShardEvent", "application/json", parts...); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("shared", func(b *testing.B) {
		batch := service.NewRecordBatch(recs)
		w := eventstream.NewWriter(io.Discard, nil)
		b.ReportAllocs()
		for b.Loop() {
			ev := service.SubscribeToShardEvent{ContinuationSequenceNumber: &cont, MillisBehindLatest: 12}.WithBatches(batch)
			parts, err := eventParts(c, &ev)
			if err != nil {
				b.Fatal(err)
			}
			if err := w.EventParts("SubscribeToShardEvent", "application/json", parts...); err != nil {
				b.Fatal(err)
			}
		}
	})
}
