package service

import (
	"context"
	"errors"
	"fmt"
	"kinesisd/internal/kerr"
	"kinesisd/internal/service/iterator"
	"kinesisd/internal/service/stream"
	"kinesisd/internal/storage"
	"sync"
	"time"
)

// GetShardIterator and GetRecords: reading a shard through iterators.

// GetShardIterator returns an iterator positioned in a shard.
func (s *Service) GetShardIterator(ctx context.Context, in *GetShardIteratorInput) (*GetShardIteratorOutput, error) {
	var c checker
	c.str("shardId", in.ShardId, true, 1, 128, namePattern, namePatternText)
	// AWS lists the enum in its own (hash-set) order.
	c.enum("shardIteratorType", in.ShardIteratorType, true, afterSequenceNumber, latest, atTimestamp, atSequenceNumber, trimHorizon)
	c.str("startingSequenceNumber", in.StartingSequenceNumber, false, 0, 0, seqNumPattern, seqNumPatternText)
	c.streamRef(in.StreamRef)
	if err := c.err(); err != nil {
		return nil, err
	}
	st, err := s.dataStream(ctx, in.StreamRef)
	if err != nil {
		return nil, s.streamWithoutShard(in.StreamRef, *in.ShardId, err)
	}
	index, ok := stream.ParseShardID(*in.ShardId)
	if !ok {
		return nil, kerr.NewResourceNotFound(fmt.Sprintf("Could not find shard %s in stream %s under account %s.",
			*in.ShardId, st.Doc.Name, s.cfg.Account))
	}
	sh := st.Shard(index)
	if sh == nil {
		return nil, kerr.NewResourceNotFound(fmt.Sprintf("Shard %s in stream %s under account %s does not exist",
			stream.ShardID(index), st.Doc.Name, s.cfg.Account))
	}
	typ := *in.ShardIteratorType
	hasSeq := in.StartingSequenceNumber != nil
	if needsSeq := typ == atSequenceNumber || typ == afterSequenceNumber; needsSeq != hasSeq && typ != atTimestamp {
		also := "no"
		if hasSeq {
			also = "also a"
		}
		return nil, kerr.NewInvalidArgument(fmt.Sprintf("Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber "+
			"or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified %s and %s StartingSequenceNumber.", typ, also))
	}
	ref := st.Ref(sh.Index)
	now := s.now()
	var offset uint64
	switch typ {
	case trimHorizon:
		if offset, err = s.horizon(ctx, st, sh, now); err != nil {
			return nil, internal("get shard iterator", err)
		}
	case latest:
		if offset, err = s.store.NextOffset(ctx, ref); err != nil {
			return nil, internal("get shard iterator", err)
		}
	case atTimestamp:
		if in.Timestamp == nil {
			return nil, kerr.NewInvalidArgument("Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no timestamp parameter.")
		}
		if in.Timestamp.Time.After(now) {
			return nil, kerr.NewInvalidArgument(fmt.Sprintf(
				"The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. timestampInMillis: %d, currentTimestampInMillis: %d",
				in.Timestamp.UnixMilli(), now.UnixMilli()))
		}
		if offset, err = s.store.OffsetAtTime(ctx, ref, maxTime(in.Timestamp.Time, st.Cutoff(now))); err != nil {
			return nil, internal("get shard iterator", err)
		}
	case atSequenceNumber, afterSequenceNumber:
		seq := *in.StartingSequenceNumber
		p, ok := parseSeq(seq)
		if !ok {
			return nil, kerr.NewInvalidArgument(fmt.Sprintf(
				"StartingSequenceNumber %s used in GetShardIterator on shard %s in stream %s under account %s is invalid.",
				seq, stream.ShardID(sh.Index), st.Doc.Name, s.cfg.Account))
		}
		if p.Shard != sh.Index {
			return nil, kerr.NewInvalidArgument(fmt.Sprintf(
				"Invalid StartingSequenceNumber. It encodes %s, while it was used in a call to a shard with %s",
				stream.ShardID(p.Shard), stream.ShardID(sh.Index)))
		}
		offset = max(seqStart(typ, p.Offset, uint64(p.Tick)), sh.StartOffset)
	}
	if isDryRun(in.DryRun) {
		return nil, errDryRun()
	}
	if err := s.admitIterator(st, sh.Index, now); err != nil {
		return nil, err
	}
	token, err := s.sealer.Seal(iterator.Position{
		StreamName: st.Doc.Name, StreamID: st.Doc.ID, Shard: sh.Index, Offset: offset, Issued: now,
	})
	if err != nil {
		return nil, internal("get shard iterator", err)
	}
	return &GetShardIteratorOutput{ShardIterator: token}, nil
}

// GetRecords reads from the position an iterator holds and returns the iterator for what follows.
func (s *Service) GetRecords(ctx context.Context, in *GetRecordsInput) (*GetRecordsOutput, error) {
	var c checker
	c.integer("limit", in.Limit, false, 1, 10000)
	c.str("shardIterator", in.ShardIterator, true, 1, 512, nil, "")
	c.str("streamARN", in.StreamARN, false, 1, 2048, streamARNPattern, streamARNPatternText)
	c.streamID(in.StreamId)
	if err := c.err(); err != nil {
		return nil, err
	}
	pos, err := s.sealer.Open(*in.ShardIterator)
	if errors.Is(err, iterator.ErrInvalid) {
		return nil, kerr.NewInvalidArgument("Invalid ShardIterator.")
	}
	now := s.now()
	if now.Sub(pos.Issued) > s.cfg.IteratorLife {
		return nil, kerr.NewExpiredIterator(fmt.Sprintf(
			"Iterator expired. The iterator was created at time %s while right now it is %s which is further in the future than the tolerated delay of %d milliseconds.",
			javaDate(pos.Issued), javaDate(now), s.cfg.IteratorLife.Milliseconds()))
	}
	ref := StreamRef{StreamName: &pos.StreamName, StreamARN: in.StreamARN}
	st, err := s.dataStream(ctx, ref)
	if isStreamNotFound(err) {
		// The iterator's stream is gone: AWS names the shard (kinesalite's recordings).
		return nil, kerr.NewResourceNotFound(fmt.Sprintf("Shard %s in stream %s under account %s does not exist",
			stream.ShardID(pos.Shard), pos.StreamName, s.cfg.Account))
	}
	if err != nil {
		return nil, err
	}
	if st.Doc.ID != pos.StreamID {
		return nil, kerr.NewInvalidArgument("Invalid ShardIterator.")
	}
	sh := st.Shard(pos.Shard)
	if sh == nil {
		return nil, kerr.NewInvalidArgument("Invalid ShardIterator.")
	}
	if isDryRun(in.DryRun) {
		return nil, errDryRun()
	}
	if err := s.admitRead(st, sh.Index, now); err != nil {
		return nil, err
	}
	limit := getRecordsDefaultLimit
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	shardRef := st.Ref(sh.Index)
	next := pos.Offset // where the next read starts
	recs, release, err := s.readLent(ctx, shardRef, next, limit)
	if err != nil {
		return nil, internal("get records", err)
	}
	// The records' memory goes back to the engine with the output (Release), or here on an error.
	defer func() {
		if release != nil {
			release()
		}
	}()
	if len(recs) > 0 && stream.Milli(recs[0].ArrivalMilli).Before(st.Cutoff(now)) {
		// The reader is behind the trim horizon: move it there.
		release()
		release = nil
		if next, err = s.horizon(ctx, st, sh, now); err != nil {
			return nil, internal("get records", err)
		}
		if recs, release, err = s.readLent(ctx, shardRef, next, limit); err != nil {
			return nil, internal("get records", err)
		}
	}
	// A closed shard ends at EndOffset, whatever its log holds beyond it; once a read finds nothing
	// more before EndOffset (offsets need not be dense), the reader is at the shard's end.
	atEnd := sh.Closed && len(recs) == 0
	for sh.Closed && len(recs) > 0 && recs[len(recs)-1].Offset >= sh.EndOffset {
		recs, atEnd = recs[:len(recs)-1], true
	}
	// The output's records and their numbers are pooled memory too, given back with the records'
	// (replymem.go): release frees both from here on.
	mem := getGetMem(len(recs))
	lent := release
	release = func() {
		lent()
		mem.free()
	}
	out := &GetRecordsOutput{Records: mem.records}
	returned := 0
	for i := range recs {
		returned += recs[i].Size()
	}
	s.noteRead(st, sh.Index, now, returned)
	mem.seqs, err = s.apiRecordsInto(ctx, st, sh.Index, sh.SeqCreated, recs, out.Records, mem.seqs)
	if err != nil {
		return nil, err
	}
	if len(recs) > 0 {
		next = recs[len(recs)-1].Offset + 1
	}
	if atEnd {
		next = max(next, sh.EndOffset)
	}
	tail, err := s.store.NextOffset(ctx, shardRef)
	if err != nil {
		return nil, internal("get records", err)
	}
	if next < tail && len(recs) > 0 {
		out.MillisBehindLatest = max(0, now.UnixMilli()-recs[len(recs)-1].ArrivalMilli)
	}
	if sh.Closed && next >= sh.EndOffset {
		out.ChildShards = children(st, sh.Index)
		out.release, release = release, nil
		return out, nil
	}
	token, err := s.sealer.Seal(iterator.Position{
		StreamName: st.Doc.Name, StreamID: st.Doc.ID, Shard: sh.Index, Offset: next, Issued: now,
	})
	if err != nil {
		return nil, internal("get records", err)
	}
	out.NextShardIterator = &token
	out.release, release = release, nil
	return out, nil
}

// readLent reads records for GetRecords, in memory lent by the engine when it can lend it
// (storage.Lender); release gives it back (a no-op otherwise).
func (s *Service) readLent(ctx context.Context, ref storage.ShardRef, from uint64, limit int) ([]storage.Record, func(), error) {
	if l, ok := s.store.(storage.Lender); ok {
		return l.ReadLent(ctx, ref, from, limit, s.cfg.MaxGetRecordsSize)
	}
	recs, err := s.store.Read(ctx, ref, from, limit, s.cfg.MaxGetRecordsSize)
	return recs, func() {}, err
}

// javaDate renders a time as Java's Date.toString does, which AWS's messages use.
func javaDate(t time.Time) string {
	return t.UTC().Format("Mon Jan 02 15:04:05 MST 2006")
}

// getMem is the memory of one GetRecords reply.
type getMem struct {
	records []Record
	seqs    []byte // the records' sequence numbers (seqText)
}

var getMems = sync.Pool{New: func() any { return new(getMem) }}

// getGetMem returns memory for a reply of n records (records of length n, zeroed).
func getGetMem(n int) *getMem {
	m := getMems.Get().(*getMem)
	m.records = resize(m.records, n)
	return m
}

// free gives m back to the pool, cleared of what it points to (the records' data, lent by the
// engine).
func (m *getMem) free() {
	if cap(m.records) > pooledMax {
		return
	}
	clear(m.records[:cap(m.records)])
	m.seqs = m.seqs[:0]
	getMems.Put(m)
}
