package pebble

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"kinesisd/internal/storage"
)

// The tail cache: the records of each shard's most recent Append calls, kept in memory as they were
// committed, so that readers at or near the end of a log (GetRecords from LATEST, SubscribeToShard's
// shared feed, channels, the console's tail) are served without a Pebble iterator, a blob-file read or
// a copy: Read hands out the cached records themselves, whose Data are never written again.
//
// Only shards with readers are cached (tailIdle). Each shard keeps a ring of chunks, one per committed span, in offset order and contiguous: every
// record of the shard at or above the ring's low mark and below the visibility watermark is in the
// ring, because spans enter it in the order the watermark passes them (shard.finish). Anything that
// could break that (a failed span, whose offsets might or might not be on disk after an I/O error; an
// AppendAt, whose offsets are sparse) empties the ring and moves the low mark past it, so that reads
// below go to Pebble. Trim raises the low mark to the trim floor. A memory budget shared by every
// shard evicts the oldest chunks first; an evicted chunk's records are dropped at once (readers that
// already took them keep them alive) and its ring notices on its next use.

// defaultTailCache is Options.TailCache's default (and -tail-cache-mib's): the record bytes the tail
// cache keeps for every read shard together. With the headline load (4 shards, 200,000 records of 1
// KiB a second) it holds the last ~80 ms of every shard, more than a consumer at the tip or the
// subscriptions' feeds are behind; at a more usual 1 MB/s a shard it holds seconds.
const defaultTailCache = 16 << 20

// tailIdle is how long after its last read a shard's new records stop being cached: a shard that
// nobody reads (a stream only written, or read in bulk later) costs the cache nothing. The first read
// after such a pause finds the cache empty and goes to Pebble; the records appended after it are
// cached again.
const tailIdle = 30 * time.Second

// tailRecordOverhead is what a cached record costs besides its bytes: its storage.Record.
const tailRecordOverhead = 48

// tailChunk is the records of one span, offsets start, start+1, ... (Append assigns them densely).
type tailChunk struct {
	start uint64
	end   uint64                           // start + number of records
	recs  atomic.Pointer[[]storage.Record] // nil once evicted or released
	bytes int64                            // what the budget counts for it
}

// newTailChunk copies recs (their Offsets set, start to start+len-1) into one chunk: data in one
// allocation, partition keys in one string.
func newTailChunk(recs []storage.Record) *tailChunk {
	data, pks := 0, 0
	for i := range recs {
		data += len(recs[i].Data)
		pks += len(recs[i].PartitionKey)
	}
	buf := make([]byte, 0, data+pks)
	for i := range recs {
		buf = append(buf, recs[i].PartitionKey...)
	}
	keys := string(buf)
	buf = buf[:0]
	out := make([]storage.Record, len(recs))
	pk := 0
	for i := range recs {
		r := &recs[i]
		n := len(buf)
		buf = append(buf, r.Data...)
		out[i] = storage.Record{
			Offset:       r.Offset,
			ArrivalMilli: r.ArrivalMilli,
			PartitionKey: keys[pk : pk+len(r.PartitionKey)],
			Data:         buf[n:len(buf):len(buf)],
		}
		pk += len(r.PartitionKey)
	}
	c := &tailChunk{start: recs[0].Offset, end: recs[0].Offset + uint64(len(recs)),
		bytes: int64(data+pks) + int64(len(recs))*tailRecordOverhead}
	c.recs.Store(&out)
	return c
}

// records returns the chunk's records, nil once it was evicted.
func (c *tailChunk) records() []storage.Record {
	if p := c.recs.Load(); p != nil {
		return *p
	}
	return nil
}

// tailBudget bounds the memory of every shard's ring together: chunks are evicted oldest first.
type tailBudget struct {
	max int64

	mu   sync.Mutex
	used int64
	fifo []*tailChunk // chunks counted in used, and some released since, oldest first
}

// add counts c, evicting the oldest chunks while the budget is exceeded (c itself, when it alone is
// larger than the budget).
func (b *tailBudget) add(c *tailChunk) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.fifo = append(b.fifo, c)
	b.used += c.bytes
	n := 0
	for n < len(b.fifo) && (b.used > b.max || b.fifo[n].recs.Load() == nil) {
		if old := b.fifo[n]; old.recs.Swap(nil) != nil {
			b.used -= old.bytes
		}
		b.fifo[n] = nil
		n++
	}
	if n > 0 {
		b.fifo = append(b.fifo[:0], b.fifo[n:]...)
	}
}

// usedBytes is the memory the cache holds (0 for a nil budget: the cache is off).
func (b *tailBudget) usedBytes() uint64 {
	if b == nil {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return uint64(b.used)
}

// release drops c's records and gives its memory back to the budget (Trim, an emptied ring).
func (b *tailBudget) release(c *tailChunk) {
	if c.recs.Swap(nil) != nil {
		b.mu.Lock()
		b.used -= c.bytes
		b.mu.Unlock()
	}
}

// tailRing is one shard's cached tail. Its methods are called with the shard's mu held.
type tailRing struct {
	budget *tailBudget
	lo     uint64       // every record of the shard in [lo, watermark) is in chunks
	chunks []*tailChunk // offset order, each starting where the previous ends
}

// end is the offset after the ring's last record: the watermark when the ring is in step.
func (t *tailRing) end() uint64 {
	if len(t.chunks) == 0 {
		return t.lo
	}
	return t.chunks[len(t.chunks)-1].end
}

// push adds the committed chunk c, which the watermark has just passed; a chunk that does not start
// where the ring ends (which Append's dense spans never produce) empties the ring instead.
func (t *tailRing) push(c *tailChunk) {
	if c.start != t.end() {
		t.reset(c.end)
		t.budget.release(c)
		return
	}
	t.chunks = append(t.chunks, c)
	t.budget.add(c)
	t.prune()
}

// reset empties the ring: from now on it covers only offsets at or above lo.
func (t *tailRing) reset(lo uint64) {
	for _, c := range t.chunks {
		t.budget.release(c)
	}
	clear(t.chunks)
	t.chunks = t.chunks[:0]
	t.lo = max(t.lo, lo)
}

// trim drops what lies below the trim floor.
func (t *tailRing) trim(floor uint64) {
	n := 0
	for n < len(t.chunks) && t.chunks[n].end <= floor {
		t.budget.release(t.chunks[n])
		n++
	}
	t.drop(n)
	t.lo = max(t.lo, floor)
}

// prune drops the evicted chunks at the head of the ring.
func (t *tailRing) prune() {
	n := 0
	for n < len(t.chunks) && t.chunks[n].records() == nil {
		n++
	}
	t.drop(n)
}

// drop removes the first n chunks, raising lo past them.
func (t *tailRing) drop(n int) {
	if n == 0 {
		return
	}
	t.lo = max(t.lo, t.chunks[n-1].end)
	copy(t.chunks, t.chunks[n:])
	clear(t.chunks[len(t.chunks)-n:])
	t.chunks = t.chunks[:len(t.chunks)-n]
}

// read returns the records at offset from onward, as Store.Read would (at most maxRecords, stopping
// before maxBytes is passed, the first one whatever its size), and whether the ring could answer:
// false when from is below its low mark. The records are the cached ones, shared.
func (t *tailRing) read(from uint64, maxRecords, maxBytes int) ([]storage.Record, bool) {
	t.prune()
	if from < t.lo || from >= t.end() {
		return nil, false
	}
	i := sort.Search(len(t.chunks), func(i int) bool { return t.chunks[i].end > from })
	var out []storage.Record
	total := 0
	for ; i < len(t.chunks) && len(out) < maxRecords; i++ {
		recs := t.chunks[i].records()
		if recs == nil {
			break // evicted since prune: what follows is still cached, but not this
		}
		if from > t.chunks[i].start {
			recs = recs[from-t.chunks[i].start:]
		}
		for j := range recs {
			size := recs[j].Size()
			if len(out) == maxRecords || (len(out) > 0 && total+size > maxBytes) {
				return out, true
			}
			if out == nil {
				out = make([]storage.Record, 0, min(maxRecords, int(t.end()-from)))
			}
			total += size
			out = append(out, recs[j])
		}
	}
	return out, len(out) > 0
}
