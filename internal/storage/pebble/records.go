package pebble

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/cockroachdb/pebble/v2"

	"kinesisd/internal/storage"
)

// claim is one shard's span in an Append call, finished after the commit whatever its outcome.
type claim struct {
	sh          *shard
	start       uint64
	chunk       *tailChunk // the span's records for the tail cache, nil when it is off
	entry, size int        // the span's entry in the call's log buffer: start and length
	last        uint64     // the span's last offset
}

// logBufs recycles Append's log buffers: a buffer is free again once the record log has written it.
var logBufs sync.Pool

// maxPooledLogBuf: larger buffers (calls of large records) are left to the garbage collector.
const maxPooledLogBuf = 8 << 20

// Append implements storage.Store. Each shard's records become one entry of the record log
// (datalog.go), all of the call's entries one write; once that is synced, the span keys pointing at
// them (and the time-index checkpoints due) are committed in one synced Pebble batch, atomic even
// over several stream incarnations. Pebble has no limit near storage.MaxAppendRecords, but a larger
// call is refused all the same, so that callers meet the same contract on every engine. Offsets are
// assigned under each shard's lock, which is released before the writes: concurrent calls share the
// record log's syncs and Pebble's. Each shard's visibility watermark then advances past the span once
// every lower span has finished.
func (s *Store) Append(ctx context.Context, appends []storage.Append) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.leave()
	if err := storage.CheckAppend(appends); err != nil {
		return fmt.Errorf("pebble: %w", err)
	}

	// Size the log write (offsets are dense: the first takes at most 10 bytes, the others 1) and the
	// batch (a span key and a time-index checkpoint per shard).
	logSize, spans := 0, 0
	for i := range appends {
		if len(appends[i].Records) == 0 {
			continue
		}
		spans++
		logSize += entryHeaderLen + entryFixedLen + binary.MaxVarintLen64
		for j := range appends[i].Records {
			v := recordValueLen(&appends[i].Records[j])
			logSize += 1 + uvarintLen(uint64(v)) + v
		}
	}
	batchSize := 12 + spans*(2*(2+offsetKeyLen)+spanValueLen+9) + 2 + 1 + 17 + 16
	if err := s.space.admit(logSize + batchSize); err != nil {
		return fmt.Errorf("append: %w", err)
	}
	buf := getLogBuf(logSize)
	b := s.db.NewBatchWithSize(batchSize)
	defer b.Close()

	var claimBuf [8]claim
	claims := claimBuf[:0]
	var sealed []storage.ShardRef
	var err error
	for i := range appends {
		if buf, err = s.addAppend(b, buf, &appends[i], &claims, &sealed); err != nil {
			break
		}
	}
	if err == nil && len(claims) > 0 {
		err = s.commitSpans(b, buf, claims)
	}
	putLogBuf(buf)
	for _, c := range claims {
		if err != nil {
			c.chunk = nil
		}
		c.sh.finish(c.start, c.chunk)
	}
	if err != nil {
		return fmt.Errorf("append: %w", err)
	}
	if len(sealed) > 0 {
		return &storage.SealedError{Shards: sealed}
	}
	return nil
}

// commitSpans writes buf (the claims' entries) to the record log, then commits b with a span key per
// claim while the log syncs, and returns once both are durable. A crash between the two syncs can
// leave span keys pointing at bytes that never reached the disk, of calls never acknowledged: Open
// drops them (checkSpans), looking only past the synced position that each batch records.
func (s *Store) commitSpans(b *pebble.Batch, buf []byte, claims []claim) error {
	if err := s.faults.failed(); err != nil {
		return err
	}
	seg, pos, synced, err := s.records.write(buf, len(claims))
	if err != nil {
		return err
	}
	for _, c := range claims {
		op := b.SetDeferred(offsetKeyLen, spanValueLen)
		putOffsetKey(op.Key, c.sh.ref, kindSpan, c.start)
		putSpanValue(op.Value, spanRef{seg: seg, pos: pos + int64(c.entry), n: uint32(c.size), last: c.last})
		if err = op.Finish(); err != nil {
			break
		}
	}
	if at := s.records.syncedTo.Load(); at != nil && err == nil {
		err = b.Set(logSyncedKey, encodeLogPos(*at), nil)
	}
	if err == nil {
		if err = s.vouch(b); err == nil {
			err = s.commit(b)
		}
	}
	if serr := synced(); err == nil {
		err = serr
	}
	if err != nil {
		s.records.unref(map[uint64]int{seg: len(claims)})
		return err
	}
	s.acknowledged(b)
	return nil
}

func getLogBuf(size int) []byte {
	if p, _ := logBufs.Get().(*[]byte); p != nil && cap(*p) >= size {
		return (*p)[:0]
	}
	return make([]byte, 0, size)
}

func putLogBuf(buf []byte) {
	if cap(buf) <= maxPooledLogBuf {
		logBufs.Put(&buf)
	}
}

// addAppend assigns offsets to a's records, appends their entry to buf and adds a time-index
// checkpoint to b when one is due. A span it claims is added to claims, to be finished by the caller;
// a sealed shard is added to sealed instead.
func (s *Store) addAppend(b *pebble.Batch, buf []byte, a *storage.Append, claims *[]claim, sealed *[]storage.ShardRef) ([]byte, error) {
	n := len(a.Records)
	if n == 0 {
		return buf, nil
	}
	maxArr := int64(noArrival)
	for j := range a.Records {
		maxArr = max(maxArr, a.Records[j].ArrivalMilli)
	}
	sh, err := s.lockShard(a.Shard)
	if err != nil {
		return buf, err
	}
	if sh.sealed {
		sh.mu.Unlock()
		*sealed = append(*sealed, a.Shard)
		return buf, nil
	}
	start, ckp, ckpMax := sh.claimLocked(n, maxArr, s.indexEvery)
	sh.mu.Unlock()

	for j := range a.Records {
		a.Records[j].Offset = start + uint64(j)
	}
	c := claim{sh: sh, start: start, entry: len(buf), last: start + uint64(n) - 1}
	buf = appendEntry(buf, a.Shard, a.Records)
	c.size = len(buf) - c.entry
	if sh.tailWanted() {
		c.chunk = newTailChunk(a.Records)
	}
	*claims = append(*claims, c)
	if ckp > 0 {
		return buf, putCheckpoint(b, a.Shard, ckp, ckpMax)
	}
	return buf, nil
}

// putRecord adds r to b at its Offset.
func putRecord(b *pebble.Batch, ref storage.ShardRef, r *storage.Record) error {
	op := b.SetDeferred(offsetKeyLen, recordValueLen(r))
	putOffsetKey(op.Key, ref, kindRecord, r.Offset)
	putRecordValue(op.Value, r)
	return op.Finish()
}

// putCheckpoint adds a time-index checkpoint to b: every record of ref below offset at arrived at or
// before maxArr.
func putCheckpoint(b *pebble.Batch, ref storage.ShardRef, at uint64, maxArr int64) error {
	op := b.SetDeferred(offsetKeyLen, 9)
	putOffsetKey(op.Key, ref, kindIndex, at)
	op.Value[0] = valueFormat
	binary.BigEndian.PutUint64(op.Value[1:], uint64(maxArr))
	return op.Finish()
}

// readTail returns the watermark and, when the tail cache holds the records at from, those records
// (ok).
func (s *Store) readTail(ref storage.ShardRef, from uint64, maxRecords, maxBytes int) (vis uint64, recs []storage.Record, ok bool, err error) {
	sh, err := s.lockShard(ref)
	if err != nil {
		return 0, nil, false, err
	}
	defer sh.mu.Unlock()
	sh.noteRead()
	vis = sh.visibleLocked()
	if sh.tail != nil && from < vis {
		recs, ok = sh.tail.read(from, maxRecords, maxBytes)
	}
	return vis, recs, ok, nil
}

// visible returns the visibility watermark of ref, for a reader (NextOffset, OffsetAtTime).
func (s *Store) visible(ref storage.ShardRef) (uint64, error) {
	sh, err := s.lockShard(ref)
	if err != nil {
		return 0, err
	}
	defer sh.mu.Unlock()
	sh.noteRead()
	return sh.visibleLocked(), nil
}

// Read implements storage.Store. A maxRecords below 1 is taken as 1. Records at the end of the log
// come from the tail cache (tail.go), shared; the others from Pebble, their partition keys in one
// string and their data in a few large buffers, so that a read costs a handful of allocations rather
// than two per record.
func (s *Store) Read(ctx context.Context, ref storage.ShardRef, from uint64, maxRecords, maxBytes int) ([]storage.Record, error) {
	return s.read(ctx, ref, from, maxRecords, maxBytes, nil)
}

// read is Read and ReadLent: the entries read from the record log go into lend's buffers (fresh ones
// when it is nil).
func (s *Store) read(ctx context.Context, ref storage.ShardRef, from uint64, maxRecords, maxBytes int, lend *lender) (_ []storage.Record, err error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.leave()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("read: %w", s.readFailure(nil, r))
		}
	}()
	maxRecords = max(maxRecords, 1)
	vis, cached, ok, err := s.readTail(ref, from, maxRecords, maxBytes)
	if err != nil {
		return nil, fmt.Errorf("read: %w", s.readFailure(err, nil))
	}
	if ok {
		s.cachedReads.Add(1)
		return cached, nil
	}
	if from >= vis {
		return nil, nil
	}
	s.engineReads.Add(1)
	return s.readDB(ctx, ref, from, vis, maxRecords, maxBytes, lend)
}

// readDB is Read from the engine's files: the records of ref in [from, vis), none below the trim
// floor.
func (s *Store) readDB(ctx context.Context, ref storage.ShardRef, from, vis uint64, maxRecords, maxBytes int, lend *lender) ([]storage.Record, error) {
	sh, err := s.lockShard(ref)
	if err != nil {
		return nil, fmt.Errorf("read: %w", s.readFailure(err, nil))
	}
	from = max(from, sh.floor)
	legacyEnd := sh.legacyEnd
	sh.mu.Unlock()
	switch {
	case from >= vis:
		return nil, nil
	case from < legacyEnd:
		return s.readRecordKeys(ctx, ref, from, min(vis, legacyEnd), maxRecords, maxBytes)
	}
	recs, err := s.readSpans(ctx, ref, from, vis, maxRecords, maxBytes, lend)
	if err != nil {
		return nil, fmt.Errorf("read: %w", s.readFailure(err, nil))
	}
	return recs, nil
}

// readRecordKeys is Read from the record keys of format version 1 (keys.go): the records of ref in
// [from, vis).
func (s *Store) readRecordKeys(ctx context.Context, ref storage.ShardRef, from, vis uint64, maxRecords, maxBytes int) (_ []storage.Record, err error) {
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{
		LowerBound: recordKey(ref, from),
		UpperBound: recordKey(ref, vis),
	})
	if err != nil {
		return nil, fmt.Errorf("read: %w", s.readFailure(err, nil))
	}
	itClosed := false
	defer func() {
		if !itClosed { // a panic in the loop: release the iterator's references before recovering
			_ = it.Close()
		}
	}()
	var (
		out    = make([]storage.Record, 0, min(maxRecords, 256))
		pkEnds []int  // end of each record's partition key in pks
		pks    []byte // every partition key, back to back
		arena  []byte // current data buffer
		total  int
	)
	for ok := it.First(); ok && len(out) < maxRecords; ok = it.Next() {
		var off uint64
		if off, err = keyOffset(it.Key()); err != nil {
			break
		}
		var v, pk, data []byte
		var arr int64
		if v, err = it.ValueAndErr(); err != nil {
			break
		}
		if arr, pk, data, err = decodeRecordValue(v); err != nil {
			break
		}
		size := len(pk) + len(data)
		if len(out) > 0 && total+size > maxBytes {
			break
		}
		total += size
		if cap(arena)-len(arena) < len(data) {
			arena = make([]byte, 0, max(len(data), min(64<<10, maxBytes-total+len(data))))
		}
		n := len(arena)
		arena = append(arena, data...)
		pks = append(pks, pk...)
		pkEnds = append(pkEnds, len(pks))
		out = append(out, storage.Record{Offset: off, ArrivalMilli: arr, Data: arena[n:len(arena):len(arena)]})
	}
	itClosed = true
	if err = errors.Join(err, it.Close()); err != nil {
		return nil, fmt.Errorf("read: %w", s.readFailure(err, nil))
	}
	all, prev := string(pks), 0
	for i, end := range pkEnds {
		out[i].PartitionKey = all[prev:end]
		prev = end
	}
	return out, nil
}

// NextOffset implements storage.Store: the visibility watermark.
func (s *Store) NextOffset(ctx context.Context, ref storage.ShardRef) (uint64, error) {
	if err := s.enter(ctx); err != nil {
		return 0, err
	}
	defer s.leave()
	vis, err := s.visible(ref)
	if err != nil {
		return 0, fmt.Errorf("next offset: %w", err)
	}
	return vis, nil
}

// Trim implements storage.Store. It deletes records (the span keys of the spans that end below the
// floor, record keys of format version 1, time-index checkpoints) below min(before, visible) with
// range deletions and raises the shard's trim floor to that offset in the same synced batch; the floor
// is what keeps offsets from being reused once every record is gone, and what keeps Read from
// returning the records below it of a span that straddles it. Offsets at or above the watermark
// belong to appends still committing, which are ordered after this Trim. Segments of the record log
// that no span key points into any more are deleted; compaction of the key ranges runs in the
// background.
func (s *Store) Trim(ctx context.Context, ref storage.ShardRef, before uint64) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.leave()
	s.trimMu.Lock()
	defer s.trimMu.Unlock()
	sh, err := s.lockShard(ref)
	if err != nil {
		return fmt.Errorf("trim: %w", err)
	}
	floor, old := min(before, sh.visibleLocked()), sh.floor
	sh.mu.Unlock()
	if floor <= old {
		return nil
	}
	recLo, _ := kindBounds(ref, kindRecord)
	idxLo, _ := kindBounds(ref, kindIndex)
	spanLo, _ := kindBounds(ref, kindSpan)
	recHi := recordKey(ref, floor)
	spanHi, err := s.spanTrimEnd(ref, floor)
	gone := make(map[uint64]int)
	if err == nil {
		err = s.spanSegments(spanLo, spanHi, gone)
	}
	if err != nil {
		return fmt.Errorf("trim: %w", err)
	}
	b := s.db.NewBatch()
	defer b.Close()
	err = errors.Join(
		b.DeleteRange(recLo, recHi, nil),
		b.DeleteRange(idxLo, indexKey(ref, floor), nil),
		b.DeleteRange(spanLo, spanHi, nil),
		b.Set(floorKey(ref), encodeU64(floor), nil),
	)
	if err == nil {
		err = s.commit(b)
	}
	if err != nil {
		return fmt.Errorf("trim: %w", err)
	}
	s.records.unref(gone)
	sh.mu.Lock()
	sh.floor = max(sh.floor, floor)
	if sh.tail != nil {
		sh.tail.trim(floor)
	}
	sh.mu.Unlock()
	s.scheduleCompact(recLo, spanHi)
	return nil
}

// DropStream implements storage.Store: one range deletion over everything the stream owns, then the
// in-memory state of its shards is forgotten and their waiters woken. The caller must not append to the
// stream concurrently (a commit racing the deletion would leave records behind under an id that is never
// used again).
func (s *Store) DropStream(ctx context.Context, streamID uint64) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.leave()
	s.trimMu.Lock()
	defer s.trimMu.Unlock()
	lo, hi := streamBounds(streamID)
	gone := make(map[uint64]int)
	if err := s.spanSegments(lo, hi, gone); err != nil {
		return fmt.Errorf("drop stream %d: %w", streamID, err)
	}
	if err := s.apply(func() error { return s.db.DeleteRange(lo, hi, s.wopts) }); err != nil {
		return fmt.Errorf("drop stream %d: %w", streamID, err)
	}
	s.records.unref(gone)
	s.shardsMu.Lock()
	for ref, sh := range s.shards {
		if ref.StreamID == streamID {
			delete(s.shards, ref)
			sh.dropTail()
			sh.wakeAll()
		}
	}
	s.shardsMu.Unlock()
	s.scheduleCompact(lo, hi)
	return nil
}
