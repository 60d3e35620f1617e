package bench

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"errors"
	"fmt"
	"hash/maphash"
	"math/big"
	randv2 "math/rand/v2"
	"sync"
	"time"
)

// worker sends one PutRecords request over and over, with the own codec: the body is built once and
// only the stamp at the front of each record changes between requests.
type worker struct {
	id      uint32
	wire    *wire
	body    *putBody
	sizes   []int // bytes of each record: data + partition key
	seed    maphash.Seed
	results []putResult // the last response's entries, reused
	hash    bool        // with -cbor: hash the records for the read-back check

	// What the read-back check needs, from the whole run (warm-up included): the acknowledged records
	// by shard id, and how many calls failed (whose records may or may not have been written).
	acks     map[string]*ackList
	failures int64
	badSeqs  int64 // acknowledged with a sequence number that is not a decimal number

	ackTimes *ackTimes // with -subscribers: where the acknowledgment times of sampled records go

	interval time.Duration // with -rate: between the starts of two calls (0: no pause)
	phase    time.Duration // with -rate: how long after the start its first call starts
}

// newWorker builds worker n's request once: random data and distinct partition keys, spread evenly
// over the shards whose hash ranges are given (workers start at different shards), or random keys
// when ranges is empty.
func newWorker(w *wire, stream string, n int, opts options, ranges []hashRange, seed maphash.Seed) *worker {
	raw := make([]byte, opts.records*opts.size)
	rand.Read(raw)
	data := make([][]byte, opts.records)
	keys := partitionKeys(ranges, n*opts.records, opts.records)
	sizes := make([]int, opts.records)
	for i := range data {
		data[i] = raw[i*opts.size : (i+1)*opts.size : (i+1)*opts.size]
		sizes[i] = opts.size + len(keys[i])
	}
	body := newPutBody(stream, data, keys)
	if opts.cbor {
		body = newPutBodyCBOR(stream, data, keys)
	}
	return &worker{id: uint32(n), wire: w, body: body, sizes: sizes, seed: seed,
		acks: map[string]*ackList{}, hash: opts.read}
}

// partitionKeys returns n distinct random keys of keyLen hex digits; key i hashes (MD5, as Kinesis
// does) into ranges[(first+i) % len(ranges)]. A key for a range too narrow to hit by chance is left
// to fall where it may.
func partitionKeys(ranges []hashRange, first, n int) []string {
	keys := make([]string, n)
	seen := make(map[string]bool, n)
	for i := range keys {
		for try := 0; ; try++ {
			k := fmt.Sprintf("%0*x", keyLen, randv2.Uint64())
			if seen[k] {
				continue
			}
			if len(ranges) > 0 && try < 100*len(ranges)+1000 {
				sum := md5.Sum([]byte(k))
				if !ranges[(first+i)%len(ranges)].holds(new(big.Int).SetBytes(sum[:])) {
					continue
				}
			}
			keys[i], seen[k] = k, true
			break
		}
	}
	return keys
}

// tally is what one worker saw in the measured window.
type tally struct {
	latencies      []time.Duration // of PutRecords calls that got a PutRecords response; 8 bytes each
	requests       int64           // calls completed in the window, failed ones included
	records        int64           // records acknowledged
	bytes          int64           // data + partition key of the records acknowledged
	failedRecords  map[string]int64
	failedRequests map[string]int64
	examples       map[string]string // the first message seen for each error code
}

func newTally() *tally {
	return &tally{latencies: make([]time.Duration, 0, 1024), failedRecords: map[string]int64{},
		failedRequests: map[string]int64{}, examples: map[string]string{}}
}

func (t *tally) example(code, msg string) {
	if _, ok := t.examples[code]; !ok {
		t.examples[code] = msg
	}
}

// runLoad runs the workers for warmup and then duration, and returns what each saw in the measured
// window and the window's length. A call counts if it completes inside the window; no worker starts a
// call after it. Cancelling ctx ends the window early. mark is called when the window opens and when
// it closes (or ctx is cancelled), to sample CPU times.
func runLoad(ctx context.Context, workers []*worker, warmup, duration time.Duration, mark func()) ([]*tally, time.Duration) {
	start := time.Now()
	from, until := start.Add(warmup), start.Add(warmup+duration)
	tallies := make([]*tally, len(workers))
	var wg sync.WaitGroup
	for i, w := range workers {
		tallies[i] = newTally()
		wg.Go(func() { w.run(ctx, from, until, tallies[i]) })
	}
	for _, at := range []time.Time{from, until} {
		timer := time.NewTimer(time.Until(at))
		select {
		case <-ctx.Done():
		case <-timer.C:
		}
		timer.Stop()
		mark()
	}
	wg.Wait()
	end := until
	if now := time.Now(); ctx.Err() != nil && now.Before(until) {
		end = now
	}
	return tallies, max(0, end.Sub(from))
}

// run loops PutRecords until the window closes or ctx is cancelled.
func (w *worker) run(ctx context.Context, from, until time.Time, t *tally) {
	defer w.wire.close()
	next := time.Now().Add(w.phase) // the workers' calls spread over the interval rather than all at once
	for n := uint32(0); ctx.Err() == nil; n++ {
		if w.interval > 0 {
			// A call late for its slot starts at once, and the next one at the first slot still
			// ahead: no burst to catch up, and the slots stay where they were, so that the workers
			// stay out of step after a stall that held them all.
			if wait := time.Until(next); wait > 0 && !sleep(ctx, wait) {
				return
			}
			next = next.Add(w.interval)
			if late := time.Since(next); late > 0 {
				next = next.Add((late/w.interval + 1) * w.interval)
			}
		}
		if !time.Now().Before(until) {
			return
		}
		if w.body.cbor {
			w.body.stampCBOR(w.seed, w.id, n, w.hash)
		} else {
			w.body.stamp(w.seed, w.id, n)
		}
		begin := time.Now()
		var resp []byte
		var err error
		if w.body.cbor {
			resp, err = w.wire.postAs(ctx, "PutRecords", w.body.buf, contentCBOR)
			if err == nil {
				w.results, err = parsePutRecordsCBOR(resp, w.results)
			}
		} else {
			resp, err = w.wire.post(ctx, "PutRecords", w.body.buf)
			if err == nil {
				w.results, err = parsePutRecords(resp, w.results)
			}
		}
		done := time.Now()
		if err == nil && len(w.results) != len(w.body.data) {
			err = fmt.Errorf("%w: %d results for %d records", errWrongCount, len(w.results), len(w.body.data))
		}
		if err != nil {
			w.failures++
		} else {
			w.acknowledge(done) // even when interrupted: the server said so
		}
		if ctx.Err() != nil {
			return // interrupted: the call says nothing about the server
		}
		if done.Before(from) || done.After(until) {
			continue
		}
		t.requests++
		if err != nil {
			code, msg := classify(err)
			if errors.Is(err, errWrongCount) {
				code = "WrongResultCount"
			}
			t.failedRequests[code]++
			t.example(code, msg)
			continue
		}
		t.latencies = append(t.latencies, done.Sub(begin))
		for i, r := range w.results {
			if len(r.code) > 0 {
				t.failedRecords[string(r.code)]++
				if _, ok := t.examples[string(r.code)]; !ok {
					t.example(string(r.code), string(r.msg))
				}
				continue
			}
			t.records++
			t.bytes += int64(w.sizes[i])
		}
	}
}

// acknowledged counts the records the workers acknowledged on shards over the whole run, warm-up
// included.
func acknowledged(workers []*worker, shards []string) int64 {
	var n int64
	for _, w := range workers {
		for _, shard := range shards {
			if list := w.acks[shard]; list != nil {
				n += int64(list.n)
			}
		}
	}
	return n
}

// acked is what the workers acknowledged over the whole run, warm-up included.
type acked struct {
	byShard  map[string][]ack
	count    int64
	failures int64 // PutRecords calls that failed: their records may or may not have been written
	badSeqs  int64 // acknowledged with a sequence number that is not a decimal number
}

// mergeAcks collects the workers' acknowledged records by shard, into slices of the exact size (with
// 2,000,000+ records a run, the lists are the bench's largest memory), freeing the workers' lists.
func mergeAcks(workers []*worker) *acked {
	a := &acked{byShard: map[string][]ack{}}
	sizes := map[string]int{}
	for _, w := range workers {
		for shard, list := range w.acks {
			sizes[shard] += list.n
		}
	}
	for shard, n := range sizes {
		a.byShard[shard] = make([]ack, 0, n)
		a.count += int64(n)
	}
	for _, w := range workers {
		for shard, list := range w.acks {
			a.byShard[shard] = list.appendTo(a.byShard[shard])
			*list = ackList{}
		}
		a.failures += w.failures
		a.badSeqs += w.badSeqs
	}
	return a
}

// errWrongCount is a PutRecords response with another number of entries than the request had records.
var errWrongCount = errors.New("wrong number of results")

// acknowledge keeps the sequence number and data hash of each record the last response acknowledged,
// received at at (and the time, for records in the lag sample).
func (w *worker) acknowledge(at time.Time) {
	for i, r := range w.results {
		if len(r.code) > 0 {
			continue
		}
		if w.ackTimes != nil {
			w.ackTimes.ack(r.seq, at)
		}
		seq, ok := parseSeq(r.seq)
		if !ok {
			w.badSeqs++
			continue
		}
		list := w.acks[string(r.shard)] // no allocation for the key on lookup
		if list == nil {
			list = new(ackList)
			w.acks[string(r.shard)] = list
		}
		list.add(ack{seq: seq, hash: w.body.hashes[i]})
	}
}

// ackList is a worker's acknowledged records of one shard, in blocks: adding never copies what is
// there. A slice grown by append copied the whole list at each doubling, megabytes in one
// memmove into fresh pages, which the runtime cannot preempt: the garbage collector's
// stop-the-world waited for it (pauses of 3-7 ms, GODEBUG=gctrace=1), and so did every call in
// flight, in the latency tail of -rate runs.
type ackList struct {
	blocks [][]ack
	n      int
}

// maxAckBlock is the largest block (512 KiB); the first ones are smaller, for short runs.
const maxAckBlock = 1 << 14

// add appends a to l.
func (l *ackList) add(a ack) {
	if k := len(l.blocks); k == 0 || len(l.blocks[k-1]) == cap(l.blocks[k-1]) {
		size := 256
		if k > 0 {
			size = min(2*cap(l.blocks[k-1]), maxAckBlock)
		}
		l.blocks = append(l.blocks, make([]ack, 0, size))
	}
	last := &l.blocks[len(l.blocks)-1]
	*last = append(*last, a)
	l.n++
}

// appendTo appends l's records to dst, in the order they were added.
func (l *ackList) appendTo(dst []ack) []ack {
	for _, b := range l.blocks {
		dst = append(dst, b...)
	}
	return dst
}
