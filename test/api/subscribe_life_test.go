package api_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/config"
	"kinesisd/internal/kinesistest"
)

// TestSubscribeHeartbeat: an idle subscription still gets an event every heartbeat, and each one's
// continuation number advances (AWS: it "captures your shard progress even when no data is written")
// while staying below the next record's: resuming from it, AFTER or AT, or reading from it with
// GetShardIterator, delivers exactly the records written since, none twice.
func TestSubscribeHeartbeat(t *testing.T) {
	const heartbeat = 50 * time.Millisecond
	s := startSubscribe(t, time.Minute, heartbeat)
	arn := consumerOn(t, s, "idle", "c")
	before := kinesistest.PutN(t, s.Client, "idle", "old", 1)
	sub := mustSubscribe(t, s, arn, latestPos)
	start := time.Now()
	var conts []string
	for range 6 {
		ev := sub.next()
		if len(ev.Records) != 0 {
			t.Fatalf("idle shard delivered %d records", len(ev.Records))
		}
		conts = append(conts, *ev.ContinuationSequenceNumber)
	}
	// The first event comes at once, then one per heartbeat: 5 gaps.
	if took := time.Since(start); took < 5*heartbeat*8/10 || took > 5*heartbeat+2*time.Second {
		t.Errorf("6 idle events took %s with a %s heartbeat", took, heartbeat)
	}
	// Every idle continuation is past the last record and the one before it, also on a server clock
	// that does not move (the fake clock stands still here).
	prev := before[0]
	for _, c := range conts {
		if !seqLess(prev, c) {
			t.Fatalf("idle continuation %s does not advance past %s: %v", c, prev, conts)
		}
		prev = c
	}
	idle := conts[len(conts)-1]
	if s.Clock != nil { // a minute on in process; against the binary the real clock moves by itself
		s.Clock.Advance(time.Minute)
	}
	if ev := sub.next(); !seqLess(idle, *ev.ContinuationSequenceNumber) {
		t.Fatalf("continuation %s later, not past %s", *ev.ContinuationSequenceNumber, idle)
	}

	seqs := kinesistest.PutN(t, s.Client, "idle", "k", 2)
	if !seqLess(idle, seqs[0]) {
		t.Fatalf("record %s written after idle continuation %s sorts below it", seqs[0], idle)
	}
	recs, last := sub.collect(2)
	wantSeqs(t, recs, seqs)
	if *last.ContinuationSequenceNumber != seqs[1] {
		t.Errorf("continuation after records %s, want the last record's %s", *last.ContinuationSequenceNumber, seqs[1])
	}
	if after := sub.next(); len(after.Records) != 0 || !seqLess(seqs[1], *after.ContinuationSequenceNumber) {
		t.Errorf("idle continuation after a record %s, record %s: did not advance", *after.ContinuationSequenceNumber, seqs[1])
	}
	sub.Stream.Close()

	// Resuming from the idle continuation of before the records gets exactly those records.
	elapse(t, s, takeover)
	for _, typ := range []types.ShardIteratorType{types.ShardIteratorTypeAfterSequenceNumber, types.ShardIteratorTypeAtSequenceNumber} {
		t.Run(string(typ), func(t *testing.T) {
			arn := consumerOn(t, s, "idle", "resume-"+string(typ))
			sub := mustSubscribe(t, s, arn, types.StartingPosition{Type: typ, SequenceNumber: aws.String(idle)})
			recs, _ := sub.collect(2)
			wantSeqs(t, recs, seqs)
			if ev := sub.next(); len(ev.Records) != 0 || !seqLess(seqs[1], *ev.ContinuationSequenceNumber) {
				t.Errorf("after the records: %d records, continuation %s", len(ev.Records), *ev.ContinuationSequenceNumber)
			}
			// Resuming from an idle continuation of this subscription, the next one is past it.
			c := *sub.next().ContinuationSequenceNumber
			sub.Stream.Close()
			elapse(t, s, takeover)
			again := mustSubscribe(t, s, arn, afterPos(c))
			if ev := again.next(); len(ev.Records) != 0 || !seqLess(c, *ev.ContinuationSequenceNumber) {
				t.Errorf("resumed from %s: %d records, continuation %s", c, len(ev.Records), *ev.ContinuationSequenceNumber)
			}
		})
		iter := getIterator(t, s, &kinesis.GetShardIteratorInput{StreamName: aws.String("idle"), ShardId: aws.String(shard0),
			ShardIteratorType: typ, StartingSequenceNumber: aws.String(idle)})
		wantSeqs(t, readAll(t, s, iter), seqs)
	}
}

// TestSubscribeLifetime: a subscription ends cleanly after its lifetime, and the consumer can
// subscribe again at once (the ended one no longer counts for the 5-second rule).
func TestSubscribeLifetime(t *testing.T) {
	const lifetime = 300 * time.Millisecond
	s := startSubscribe(t, lifetime, 50*time.Millisecond)
	arn := consumerOn(t, s, "life", "c")
	start := time.Now()
	sub := mustSubscribe(t, s, arn, latestPos)
	if err := sub.ended(); err != nil {
		t.Fatalf("subscription ended with %v, want a clean end", err)
	}
	if took := time.Since(start); took < lifetime {
		t.Errorf("subscription ended after %s, lifetime %s", took, lifetime)
	}
	sub2 := mustSubscribe(t, s, arn, latestPos)
	seqs := kinesistest.PutN(t, s.Client, "life", "k", 3)
	recs, _ := sub2.collect(3)
	wantSeqs(t, recs, seqs)
}

// TestSubscribeTakeover: a second subscription for the consumer and shard within 5 s of the first
// is refused; after 5 s (service clock) it takes over and the first ends with ResourceInUseException.
func TestSubscribeTakeover(t *testing.T) {
	s := startSubscribe(t, time.Minute, 50*time.Millisecond)
	arn := consumerOn(t, s, "take", "c")
	first := mustSubscribe(t, s, arn, latestPos)
	first.next()

	_, err := subscribe(t, s, arn, latestPos)
	wantAPIError(t, err, "ResourceInUseException", 400,
		"Another active subscription exists for this consumer: 000000000000:take:shardId-000000000000:c")

	// Another consumer on the same shard is not affected.
	other := mustSubscribe(t, s, consumerOn(t, s, "take", "other"), latestPos)

	elapseChecking(t, s, takeover, time.Millisecond, func() {
		_, err = subscribe(t, s, arn, latestPos)
		wantAPIError(t, err, "ResourceInUseException", 400, "")
	})

	second := mustSubscribe(t, s, arn, latestPos)
	var riu *types.ResourceInUseException
	if err := first.ended(); !errors.As(err, &riu) {
		t.Fatalf("taken-over subscription ended with %v, want ResourceInUseException", err)
	}
	seqs := kinesistest.PutN(t, s.Client, "take", "k", 2)
	recs, _ := second.collect(2)
	wantSeqs(t, recs, seqs)
	recs, _ = other.collect(2)
	wantSeqs(t, recs, seqs)
}

// TestSubscribeResourceGone: a consumer deregistered, or its stream deleted, mid-stream ends the
// subscription with ResourceNotFoundException.
func TestSubscribeResourceGone(t *testing.T) {
	s := startSubscribe(t, time.Minute, 50*time.Millisecond)
	arn := consumerOn(t, s, "gone", "c")
	sub := mustSubscribe(t, s, arn, latestPos)
	sub.next()
	if _, err := s.Client.DeregisterStreamConsumer(t.Context(), &kinesis.DeregisterStreamConsumerInput{ConsumerARN: &arn}); err != nil {
		t.Fatal(err)
	}
	var rnf *types.ResourceNotFoundException
	if err := sub.ended(); !errors.As(err, &rnf) {
		t.Fatalf("subscription of a deregistered consumer ended with %v, want ResourceNotFoundException", err)
	}

	arn2 := consumerOn(t, s, "gone", "c2")
	sub2 := mustSubscribe(t, s, arn2, latestPos)
	sub2.next()
	if _, err := s.Client.DeleteStream(t.Context(), &kinesis.DeleteStreamInput{StreamName: aws.String("gone"), EnforceConsumerDeletion: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if err := sub2.ended(); !errors.As(err, &rnf) {
		t.Fatalf("subscription on a deleted stream ended with %v, want ResourceNotFoundException", err)
	}
}

// TestSubscribeServerClose: closing the server ends open subscriptions instead of waiting for them.
func TestSubscribeServerClose(t *testing.T) {
	s := startSubscribe(t, time.Hour, time.Hour)
	sub := mustSubscribe(t, s, consumerOn(t, s, "close", "c"), latestPos)
	sub.next()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Close took %s with a subscription open", took)
	}
	sub.ended()
}

// TestSubscribeManySubscribers: 20 consumers on one shard each get every record once, in order.
func TestSubscribeManySubscribers(t *testing.T) {
	s := startSubscribe(t, time.Minute, 100*time.Millisecond)
	subs := make([]*subscription, 20)
	for i := range subs {
		subs[i] = mustSubscribe(t, s, consumerOn(t, s, "many", fmt.Sprintf("c%02d", i)), latestPos)
		subs[i].next()
	}
	var want []string
	for i := range 4 {
		want = append(want, kinesistest.PutN(t, s.Client, "many", fmt.Sprintf("b%d", i), 50)...)
	}
	for i, sub := range subs {
		recs, _ := sub.collect(len(want))
		if !slices.EqualFunc(recs, want, func(r types.Record, seq string) bool { return *r.SequenceNumber == seq }) {
			t.Fatalf("subscriber %d: records differ", i)
		}
	}
}

// TestSubscribeThroughputLimit: with -throughput-limits a consumer gets at most 2 MiB/s from a shard.
func TestSubscribeThroughputLimit(t *testing.T) {
	s := kinesistest.Start(t, kinesistest.Engines[1], kinesistest.Options{Configure: func(c *config.Config) {
		c.ThroughputLimits = true
		c.SubscribeHeartbeat = 50 * time.Millisecond
	}})
	arn := consumerOn(t, s, "rate", "c")
	const recordSize, n = 512 << 10, 8 // 4 MiB
	for range n {
		_, err := s.Client.PutRecord(t.Context(), &kinesis.PutRecordInput{StreamName: aws.String("rate"),
			PartitionKey: aws.String("k"), Data: make([]byte, recordSize-1)})
		if err != nil {
			t.Fatal(err)
		}
		// The write limit: 1 MiB per second of the server's clock (against the binary, the real one:
		// half a second is enough for a half-MiB record).
		if s.Clock != nil {
			s.Clock.Advance(time.Second)
		} else {
			elapse(t, s, 500*time.Millisecond)
		}
	}
	start := time.Now()
	sub := mustSubscribe(t, s, arn, types.StartingPosition{Type: types.ShardIteratorTypeTrimHorizon})
	sub.collect(n)
	// 4 MiB at 2 MiB/s: the first 2 MiB at once, the next after a second.
	if took := time.Since(start); took < 900*time.Millisecond {
		t.Errorf("4 MiB delivered in %s: faster than 2 MiB/s", took)
	}
}

// TestSubscribeLatency logs the time from a PutRecords acknowledgement to the event carrying the
// record, with 1 and 20 subscribers on the shard; it asserts only a generous bound.
func TestSubscribeLatency(t *testing.T) {
	for _, subscribers := range []int{1, 20} {
		t.Run(fmt.Sprint(subscribers), func(t *testing.T) {
			s := startSubscribe(t, time.Minute, time.Second)
			seen := make([]map[string]time.Time, subscribers)
			var mu sync.Mutex
			var wg sync.WaitGroup
			for i := range subscribers {
				sub := mustSubscribe(t, s, consumerOn(t, s, "lat", fmt.Sprintf("c%02d", i)), latestPos)
				sub.next()
				seen[i] = map[string]time.Time{}
				wg.Go(func() {
					for ev := range sub.Stream.Events() {
						now := time.Now()
						e, ok := ev.(*types.SubscribeToShardEventStreamMemberSubscribeToShardEvent)
						if !ok {
							continue
						}
						mu.Lock()
						for _, r := range e.Value.Records {
							seen[i][*r.SequenceNumber] = now
						}
						mu.Unlock()
					}
				})
				t.Cleanup(func() { sub.Stream.Close() })
			}
			const puts = 100
			var lat, sendLat []time.Duration
			for p := range puts {
				sent := time.Now()
				out, err := s.Client.PutRecords(t.Context(), &kinesis.PutRecordsInput{StreamName: aws.String("lat"),
					Records: []types.PutRecordsRequestEntry{{PartitionKey: aws.String(fmt.Sprint(p)), Data: []byte("x")}}})
				if err != nil {
					t.Fatal(err)
				}
				acked, seq := time.Now(), *out.Records[0].SequenceNumber
				deadline := time.Now().Add(eventWait)
				for i := range subscribers {
					for {
						mu.Lock()
						at, ok := seen[i][seq]
						mu.Unlock()
						if ok {
							lat = append(lat, at.Sub(acked)) // negative: the event beat the acknowledgement
							sendLat = append(sendLat, at.Sub(sent))
							break
						}
						if time.Now().After(deadline) {
							t.Fatalf("subscriber %d never got %s", i, seq)
						}
						time.Sleep(100 * time.Microsecond)
					}
				}
			}
			slices.Sort(lat)
			slices.Sort(sendLat)
			p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
			t.Logf("%d subscriber(s), %d records: PutRecords ack → event p50 %s p99 %s max %s; PutRecords sent → event p50 %s p99 %s",
				subscribers, puts, p50, p99, lat[len(lat)-1], sendLat[len(sendLat)/2], sendLat[len(sendLat)*99/100])
			if p99 > time.Second {
				t.Errorf("p99 latency %s over 1 s", p99)
			}
			s.Close(t.Context())
			wg.Wait()
		})
	}
}
