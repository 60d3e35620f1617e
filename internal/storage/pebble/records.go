package pebble

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"kinesisd/internal/storage"
)

// claim is one shard's span in an Append call, finished after the commit whatever its outcome.
type claim struct {
	sh    *shard
	start uint64
	chunk *tailChunk // the span's records for the tail cache, nil when it is off
}

// Append implements storage.Store. The whole call is one Pebble batch committed with pebble.Sync,
// atomic even over several stream incarnations. Pebble has no limit near storage.MaxAppendRecords,
// but a larger call is refused all the same, so that callers meet the same contract on every engine.
// Offsets are assigned under each shard's lock, which is released before the commit: concurrent calls
// commit in parallel and Pebble groups their WAL writes into one fsync. Each shard's visibility
// watermark then advances past the span once every lower span has finished.
func (s *Store) Append(ctx context.Context, appends []storage.Append) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.leave()
	if err := storage.CheckAppend(appends); err != nil {
		return fmt.Errorf("pebble: %w", err)
	}

	// Size the batch once: per entry a kind byte, two length varints, key and value.
	size := 12
	for i := range appends {
		for j := range appends[i].Records {
			size += 1 + 1 + offsetKeyLen + binary.MaxVarintLen32 + recordValueLen(&appends[i].Records[j])
		}
		size += 1 + 1 + offsetKeyLen + 1 + 9 // a time-index checkpoint
	}
	if err := s.space.admit(size); err != nil {
		return fmt.Errorf("append: %w", err)
	}
	b := s.db.NewBatchWithSize(size)
	defer b.Close()

	var claimBuf [8]claim
	claims := claimBuf[:0]
	var sealed []storage.ShardRef
	var err error
	for i := range appends {
		if err = s.addAppend(b, &appends[i], &claims, &sealed); err != nil {
			break
		}
	}
	if err == nil && len(claims) > 0 {
		if err = s.vouch(b); err == nil {
			err = s.commit(b)
		}
		if err == nil {
			s.acknowledged(b)
		}
	}
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

// addAppend assigns offsets to a's records and adds them (and a time-index checkpoint when one is due)
// to b. A span it claims is added to claims, to be finished by the caller; a sealed shard is added to
// sealed instead.
func (s *Store) addAppend(b *pebble.Batch, a *storage.Append, claims *[]claim, sealed *[]storage.ShardRef) error {
	n := len(a.Records)
	if n == 0 {
		return nil
	}
	maxArr := int64(noArrival)
	for j := range a.Records {
		maxArr = max(maxArr, a.Records[j].ArrivalMilli)
	}
	sh, err := s.lockShard(a.Shard)
	if err != nil {
		return err
	}
	if sh.sealed {
		sh.mu.Unlock()
		*sealed = append(*sealed, a.Shard)
		return nil
	}
	start, ckp, ckpMax := sh.claimLocked(n, maxArr, s.indexEvery)
	sh.mu.Unlock()
	*claims = append(*claims, claim{sh: sh, start: start})

	for j := range a.Records {
		r := &a.Records[j]
		r.Offset = start + uint64(j)
		if err := putRecord(b, a.Shard, r); err != nil {
			return err
		}
	}
	if sh.tailWanted() {
		(*claims)[len(*claims)-1].chunk = newTailChunk(a.Records)
	}
	if ckp > 0 {
		return putCheckpoint(b, a.Shard, ckp, ckpMax)
	}
	return nil
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
func (s *Store) Read(ctx context.Context, ref storage.ShardRef, from uint64, maxRecords, maxBytes int) (_ []storage.Record, err error) {
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
	return s.readDB(ctx, ref, from, vis, maxRecords, maxBytes)
}

// readDB is Read from Pebble: the records of ref in [from, vis).
func (s *Store) readDB(ctx context.Context, ref storage.ShardRef, from, vis uint64, maxRecords, maxBytes int) (_ []storage.Record, err error) {
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

// Trim implements storage.Store. It deletes records (and time-index checkpoints) below
// min(before, visible) with range deletions and raises the shard's trim floor to that offset in the same
// synced batch; the floor is what keeps offsets from being reused once every record is gone. Offsets at
// or above the watermark belong to appends still committing, which are ordered after this Trim.
// Compaction of the range, which returns the space, runs in the background.
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
	recHi := recordKey(ref, floor)
	b := s.db.NewBatch()
	defer b.Close()
	err = errors.Join(
		b.DeleteRange(recLo, recHi, nil),
		b.DeleteRange(idxLo, indexKey(ref, floor), nil),
		b.Set(floorKey(ref), encodeU64(floor), nil),
	)
	if err == nil {
		err = s.commit(b)
	}
	if err != nil {
		return fmt.Errorf("trim: %w", err)
	}
	sh.mu.Lock()
	sh.floor = max(sh.floor, floor)
	if sh.tail != nil {
		sh.tail.trim(floor)
	}
	sh.mu.Unlock()
	s.scheduleCompact(recLo, recHi)
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
	if err := s.apply(func() error { return s.db.DeleteRange(lo, hi, s.wopts) }); err != nil {
		return fmt.Errorf("drop stream %d: %w", streamID, err)
	}
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
