package service

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"kinesisd/internal/clock"
	"kinesisd/internal/service/stream"
	"kinesisd/internal/storage"
	"kinesisd/internal/storage/pebble"
)

// fakeLog is a shard's log for feed tests: records at offsets 0…n-1, read into batches of at most max
// records; every read is counted.
type fakeLog struct {
	n, max int
	reads  atomic.Int64
	gate   chan struct{} // when set, each read waits for it
}

func (l *fakeLog) read(ctx context.Context, from, before uint64) (*RecordBatch, error) {
	l.reads.Add(1)
	if l.gate != nil {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-l.gate:
		}
	}
	var recs []Record
	for off := from; off < uint64(l.n) && off < before && len(recs) < l.max; off++ {
		recs = append(recs, Record{SequenceNumber: fmt.Sprint(off), Data: make([]byte, 10)})
	}
	if len(recs) == 0 {
		return nil, nil
	}
	b := &RecordBatch{from: from, next: from + uint64(len(recs)), recs: recs, bytes: 10 * len(recs)}
	return b, nil
}

// TestFeedChain: reads stop where a kept batch starts or ends, so that a subscription joining in the
// middle of the chain follows it from the next batch on; a kept batch is not read again.
func TestFeedChain(t *testing.T) {
	ctx := t.Context()
	var fs feeds
	ref := storage.ShardRef{StreamID: 1}
	fd := fs.acquire(ref)
	log := &fakeLog{n: 100, max: 10}
	get := func(from uint64) *RecordBatch {
		t.Helper()
		b, err := fd.get(ctx, from, log.read)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name       string
		from       uint64
		start, end uint64 // the batch got: [start, end)
		reads      int64  // reads so far
	}{
		{"first read", 20, 20, 30, 1},
		{"kept", 20, 20, 30, 1},
		{"inside a kept batch: up to its end", 25, 25, 30, 2},
		{"before a kept batch: up to its start", 15, 15, 20, 3},
		{"far before: a whole batch", 0, 0, 10, 4},
		{"between two: up to the next start", 10, 10, 15, 5},
		{"after the chain", 30, 30, 40, 6},
		{"end of the log", 100, 0, 0, 7},
	}
	for _, tt := range tests {
		b := get(tt.from)
		var start, end uint64
		if b != nil {
			start, end = b.from, b.next
		}
		if start != tt.start || end != tt.end || log.reads.Load() != tt.reads {
			t.Errorf("%s: get(%d) = [%d, %d) after %d reads, want [%d, %d) after %d", tt.name, tt.from,
				start, end, log.reads.Load(), tt.start, tt.end, tt.reads)
		}
	}
	fs.release(ref, fd)
	if len(fs.m) != 0 {
		t.Error("the last release did not drop the feed")
	}
}

// TestFeedOneRead: subscriptions asking for the same position at once share one read; when that
// read fails, the others read for themselves. It runs in a synctest bubble: synctest.Wait returns once
// every goroutine of the test is blocked (in the read, or waiting for another's), so each step starts
// from a known state instead of after a sleep.
func TestFeedOneRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var fs feeds
		ref := storage.ShardRef{StreamID: 1}
		fd := fs.acquire(ref)
		defer fs.release(ref, fd)
		log := &fakeLog{n: 100, max: 10, gate: make(chan struct{})}
		const n = 8
		got := make([]*RecordBatch, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				b, err := fd.get(t.Context(), 0, log.read)
				if err != nil {
					t.Error(err)
				}
				got[i] = b
			})
		}
		synctest.Wait() // all n are in get: one in the read, held by the gate, the others waiting for it
		if r := log.reads.Load(); r != 1 {
			t.Errorf("%d reads for %d subscriptions at one position, want 1", r, n)
		}
		close(log.gate)
		wg.Wait()
		for i := range got {
			if got[i] == nil || got[i] != got[0] {
				t.Fatalf("subscription %d got batch %p, the first %p", i, got[i], got[0])
			}
		}

		// A read that fails (its subscription ended) is not shared: the waiter reads again.
		log2 := &fakeLog{n: 100, max: 10, gate: make(chan struct{})}
		cctx, cancel := context.WithCancel(t.Context())
		failed := make(chan error, 1)
		go func() { _, err := fd.get(cctx, 50, log2.read); failed <- err }()
		synctest.Wait() // the first read is under way
		waited := make(chan *RecordBatch, 1)
		go func() {
			b, err := fd.get(t.Context(), 50, log2.read)
			if err != nil {
				t.Error(err)
			}
			waited <- b
		}()
		synctest.Wait() // the waiter waits for the first read
		if r := log2.reads.Load(); r != 1 {
			t.Fatalf("%d reads before the first failed, want 1: the waiter did not wait for it", r)
		}
		cancel()
		if err := <-failed; !errors.Is(err, context.Canceled) {
			t.Fatalf("the cancelled read: %v", err)
		}
		synctest.Wait() // the waiter, woken by the failure, reads for itself
		if r := log2.reads.Load(); r != 2 {
			t.Fatalf("%d reads after the first failed, want 2", r)
		}
		close(log2.gate)
		if b := <-waited; b == nil || b.from != 50 {
			t.Fatalf("the waiter got %v after the read it waited for failed", b)
		}
	})
}

// TestFeedBounds: a feed keeps at most feedBatches batches and feedBytes record bytes (but always the
// newest batch).
func TestFeedBounds(t *testing.T) {
	tests := []struct {
		name              string
		batches, size     int
		wantMax, wantSize int
	}{
		{"many small", 3 * feedBatches, 10, feedBatches, feedBatches * 10},
		{"few large", 10, 1500 << 10, 2, 3000 << 10},
		{"one larger than the bound", 1, 2 * feedBytes, 1, 2 * feedBytes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fd feed
			for i := range tt.batches {
				fd.keepLocked(&RecordBatch{from: uint64(i), next: uint64(i + 1), bytes: tt.size})
			}
			if len(fd.batches) != tt.wantMax || fd.bytes != tt.wantSize {
				t.Errorf("kept %d batches of %d bytes, want %d of %d", len(fd.batches), fd.bytes, tt.wantMax, tt.wantSize)
			}
			if last := fd.batches[len(fd.batches)-1]; last.from != uint64(tt.batches-1) {
				t.Errorf("the newest batch was dropped")
			}
		})
	}
}

// TestSubscribeShared: subscriptions on one shard deliver every record in order, exactly once, and
// from the same batches: each record is read (and later encoded) once, not once per subscription. A
// subscription that starts in the middle of a batch joins the others' batches from the next one.
func TestSubscribeShared(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute) // a subscription stuck ends the test
	defer cancel()
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
	streamARN := svc.arn(name)
	subscribe := func(consumer string, pos StartingPosition) func() (SubscribeToShardEvent, error, bool) {
		reg, err := svc.RegisterStreamConsumer(ctx, &RegisterStreamConsumerInput{StreamARN: &streamARN, ConsumerName: &consumer})
		if err != nil {
			t.Fatal(err)
		}
		_, events, err := svc.SubscribeToShard(ctx, &SubscribeToShardInput{
			ConsumerARN: &reg.Consumer.ConsumerARN, ShardId: subPtr("shardId-000000000000"), StartingPosition: &pos})
		if err != nil {
			t.Fatal(err)
		}
		next, stop := iter.Pull2(events)
		t.Cleanup(stop)
		return next
	}
	put := func(n int) (seqs []string) {
		for i := range n {
			k := fmt.Sprint(i)
			out, err := svc.PutRecord(ctx, &PutRecordInput{StreamRef: StreamRef{StreamName: &name}, PartitionKey: &k, Data: []byte(k)})
			if err != nil {
				t.Fatal(err)
			}
			seqs = append(seqs, out.SequenceNumber)
		}
		return seqs
	}
	// collect reads events until n records came, and returns them and the batches they came in.
	collect := func(next func() (SubscribeToShardEvent, error, bool), n int) (seqs []string, batches []*RecordBatch) {
		t.Helper()
		for len(seqs) < n {
			ev, err, ok := next()
			if err != nil || !ok {
				t.Fatalf("subscription ended: %v", err)
			}
			for _, r := range ev.Records {
				seqs = append(seqs, r.SequenceNumber)
			}
			batches = append(batches, ev.Batches()...)
		}
		return seqs, batches
	}

	const subs = 5
	var nexts []func() (SubscribeToShardEvent, error, bool)
	for i := range subs {
		nexts = append(nexts, subscribe(fmt.Sprintf("c%d", i), StartingPosition{Type: subPtr(latest)}))
	}
	// The first subscription follows the writes as they come, four batches; the others come later
	// and find those batches kept.
	var want, first []string
	read := map[*RecordBatch]bool{}
	for range 4 {
		seqs := put(5)
		want = append(want, seqs...)
		got, batches := collect(nexts[0], len(seqs))
		first = append(first, got...)
		for _, b := range batches {
			read[b] = true
		}
	}
	if !slices.Equal(first, want) {
		t.Fatalf("subscription 0: records %v, want %v", first, want)
	}
	for i, next := range nexts[1:] {
		got, batches := collect(next, len(want))
		if !slices.Equal(got, want) {
			t.Fatalf("subscription %d: records %v, want %v", i+1, got, want)
		}
		for _, b := range batches {
			read[b] = true
		}
	}
	n := 0
	for b := range read {
		n += len(b.recs)
	}
	if n != len(want) {
		t.Errorf("%d subscriptions made batches of %d records in all for %d records: some were read more than once", subs, n, len(want))
	}

	// A late subscription from the middle of the first batch gets the rest of it, then the same
	// batches as the others. The first batch holds the five records of the first put: a subscription
	// reads only when its events are pulled (iter.Pull2 runs the loop in the caller's turn), and the
	// first pull came after the five writes.
	var firstBatch *RecordBatch
	for b := range read {
		if firstBatch == nil || b.from < firstBatch.from {
			firstBatch = b
		}
	}
	if len(firstBatch.recs) != 5 {
		t.Fatalf("the first batch has %d records, want the 5 written before the first pull", len(firstBatch.recs))
	}
	late := subscribe("late", StartingPosition{Type: subPtr(afterSequenceNumber), SequenceNumber: &firstBatch.recs[0].SequenceNumber})
	got, batches := collect(late, len(want)-1)
	if !slices.Equal(got, want[1:]) {
		t.Fatalf("late subscription: records %v, want %v", got, want[1:])
	}
	if b := batches[0]; b.from != firstBatch.from+1 || b.next != firstBatch.next {
		t.Errorf("late subscription: first batch [%d, %d), want the rest of the first, [%d, %d)", b.from, b.next, firstBatch.from+1, firstBatch.next)
	}
	if len(batches) != len(read) {
		t.Errorf("late subscription: %d batches, want %d (its own first, then the others')", len(batches), len(read))
	}
	for _, b := range batches[1:] {
		if !read[b] {
			t.Errorf("late subscription: batch [%d, %d) is its own, not the others'", b.from, b.next)
		}
	}
}

// TestFeedStreamFor: subscriptions woken by the same append notification share one load of the
// stream document; any other wake-up loads it again.
func TestFeedStreamFor(t *testing.T) {
	var fd feed
	loads := 0
	load := func() (*stream.Stream, error) { loads++; return &stream.Stream{}, nil }
	n1, n2 := make(chan struct{}), make(chan struct{})
	tests := []struct {
		name  string
		woke  <-chan struct{}
		loads int // loads so far
	}{
		{"first of a notification", n1, 1},
		{"second of the same", n1, 1},
		{"third of the same", n1, 1},
		{"a heartbeat", nil, 2},
		{"still the same notification", n1, 2},
		{"the next notification", n2, 3},
		{"back to an old one", n1, 4},
	}
	var first *stream.Stream
	for _, tt := range tests {
		st, err := fd.streamFor(tt.woke, load)
		if err != nil || st == nil || loads != tt.loads {
			t.Errorf("%s: %p, %v after %d loads, want %d loads", tt.name, st, err, loads, tt.loads)
		}
		if tt.name == "first of a notification" {
			first = st
		}
		if tt.name == "third of the same" && st != first {
			t.Errorf("%s: another document than the first subscription's", tt.name)
		}
	}
	failing := func() (*stream.Stream, error) { loads++; return nil, errors.New("boom") }
	n3 := make(chan struct{})
	for range 2 {
		if _, err := fd.streamFor(n3, failing); err == nil {
			t.Error("a failed load was shared")
		}
	}
}
