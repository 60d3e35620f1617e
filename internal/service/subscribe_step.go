package service

// One step of a subscription: where it starts, and each batch of records or idle event after that.

import (
	"context"
	"fmt"
	"kinesisd/internal/kerr"
	"kinesisd/internal/service/seqnum"
	"kinesisd/internal/service/stream"
	"time"
)

// startPosition is where a subscription starts, by GetShardIterator's rules. Resuming from an idle
// continuation number keeps it, so that the next continuation is past it.
func (s *Service) startPosition(ctx context.Context, st *stream.Stream, sh *stream.Shard, p *StartingPosition, now time.Time) (position, error) {
	typ := *p.Type
	hasSeq := p.SequenceNumber != nil
	if needsSeq := typ == atSequenceNumber || typ == afterSequenceNumber; needsSeq != hasSeq && typ != atTimestamp {
		also := "no"
		if hasSeq {
			also = "also a"
		}
		return position{}, kerr.NewInvalidArgument(fmt.Sprintf("Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber "+
			"or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified %s and %s StartingSequenceNumber.", typ, also))
	}
	ref := st.Ref(sh.Index)
	var off uint64
	var cont seqnum.Pos
	var err error
	switch typ {
	case trimHorizon:
		off, err = s.horizon(ctx, st, sh, now)
	case latest:
		off, err = s.store.NextOffset(ctx, ref)
	case atTimestamp:
		if p.Timestamp == nil {
			return position{}, kerr.NewInvalidArgument("Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no timestamp parameter.")
		}
		if p.Timestamp.Time.After(now) {
			return position{}, kerr.NewInvalidArgument(fmt.Sprintf(
				"The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. timestampInMillis: %d, currentTimestampInMillis: %d",
				p.Timestamp.UnixMilli(), now.UnixMilli()))
		}
		off, err = s.store.OffsetAtTime(ctx, ref, maxTime(p.Timestamp.Time, st.Cutoff(now)))
	case atSequenceNumber, afterSequenceNumber:
		seq := *p.SequenceNumber
		p, ok := parseSeq(seq)
		if !ok {
			return position{}, kerr.NewInvalidArgument(fmt.Sprintf(
				"StartingSequenceNumber %s used in SubscribeToShard on shard %s in stream %s under account %s is invalid.",
				seq, stream.ShardID(sh.Index), st.Doc.Name, s.cfg.Account))
		}
		if p.Shard != sh.Index {
			return position{}, kerr.NewInvalidArgument(fmt.Sprintf(
				"Invalid StartingSequenceNumber. It encodes %s, while it was used in a call to a shard with %s",
				stream.ShardID(p.Shard), stream.ShardID(sh.Index)))
		}
		off = max(seqStart(typ, p.Offset, uint64(p.Tick)), sh.StartOffset)
		if off == p.Offset && p.Tick > 0 {
			cont = p // in this shard's layout, whatever form the client had
			cont.Shard, cont.ShardCreated = sh.Index, sh.SeqCreated
		}
	}
	if err != nil {
		return position{}, internal("subscribe to shard", err)
	}
	return position{next: off, cont: cont}, nil
}

// subscriptionStep is what one look at the shard found.
type subscriptionStep struct {
	event SubscribeToShardEvent
	bytes int  // record bytes in the event
	more  bool // records remain to be read at once
	end   bool // the shard is closed and read to its end: the event is the last
}

// step reads what follows pos (moving it on) through the shard's feed fd, and checks the subscription
// is still valid: the stream and the consumer still exist (ResourceNotFoundException otherwise). woke
// is the append notification that woke the subscription, if one did: the subscriptions it woke share
// one load of the stream's document (feed.streamFor).
func (s *Service) step(ctx context.Context, sub *subscriber, fd *feed, pos *position, woke <-chan struct{}) (*subscriptionStep, error) {
	st, err := fd.streamFor(woke, func() (*stream.Stream, error) { return s.streams.Load(ctx, sub.stream) })
	if err != nil {
		return nil, internal("subscribe to shard", err)
	}
	sh, err := s.checkSubscription(st, sub)
	if err != nil {
		return nil, err
	}
	now := s.now()
	ref := st.Ref(sh.Index)
	next := &pos.next
	from := *next
	read := func(ctx context.Context, from, before uint64) (*RecordBatch, error) {
		return s.readBatch(ctx, st, sh.Index, from, before)
	}
	b, err := fd.get(ctx, *next, read)
	if err != nil {
		return nil, internal("subscribe to shard", err)
	}
	if b != nil && stream.Milli(b.firstArrival).Before(st.Cutoff(now)) {
		// Behind the trim horizon: move there, as GetRecords does.
		if *next, err = s.horizon(ctx, st, sh, now); err != nil {
			return nil, internal("subscribe to shard", err)
		}
		if b, err = fd.get(ctx, *next, read); err != nil {
			return nil, internal("subscribe to shard", err)
		}
	}
	out := &subscriptionStep{event: SubscribeToShardEvent{Records: []Record{}}}
	var lastArrival int64
	if b != nil {
		// A subscription behind the others takes the batches kept after b as well, up to an event's
		// size: fewer, larger events while it catches up.
		batches, n := []*RecordBatch{b}, len(b.recs)
		out.bytes = b.bytes
		for {
			nb := fd.kept(batches[len(batches)-1].next)
			if nb == nil || out.bytes+nb.bytes > subscribeEventBytes || n+len(nb.recs) > getRecordsDefaultLimit {
				break
			}
			batches, n, out.bytes = append(batches, nb), n+len(nb.recs), out.bytes+nb.bytes
		}
		out.event = out.event.WithBatches(batches...)
		last := batches[len(batches)-1]
		*next, lastArrival = last.next, last.lastArrival
	}
	tail, err := s.store.NextOffset(ctx, ref)
	if err != nil {
		return nil, internal("subscribe to shard", err)
	}
	// A reader at the end of the log (LATEST) continues from there; it never goes back.
	*next = max(*next, sh.StartOffset)
	out.more = *next < tail && b != nil
	if out.more {
		out.event.MillisBehindLatest = max(0, now.UnixMilli()-lastArrival)
	}
	if sh.Closed && *next >= sh.EndOffset {
		out.end, out.more = true, false
		out.event.ChildShards = children(st, sh.Index)
		return out, nil
	}
	// Sequence index n stands just after the record at offset n-1, so the position next, as a
	// sequence number, is the last record delivered. An event without records continues from the same
	// place, but later (seqnum.Pos.Continue: the service clock's seconds, and always past the last
	// continuation there): the number advances with time while nothing is written, as AWS's does, and
	// still sorts below the next record's.
	if *next != from || b != nil {
		pos.cont = seqnum.Pos{}
	}
	var cont string
	if b != nil {
		cont = recordSeq(sh.Index, sh.SeqCreated, *next-1, b.lastArrival)
	} else {
		if pos.cont == (seqnum.Pos{}) {
			pos.cont = seqnum.Pos{Shard: sh.Index, ShardCreated: sh.SeqCreated, Offset: *next}
		}
		pos.cont = pos.cont.Continue(now.Unix())
		cont = pos.cont.Format()
	}
	out.event.ContinuationSequenceNumber = &cont
	return out, nil
}

// checkSubscription returns sub's shard in its stream st (nil: none) while the stream (the same
// incarnation), the consumer and the shard all stand, and otherwise the ResourceNotFoundException that
// ends sub.
func (s *Service) checkSubscription(st *stream.Stream, sub *subscriber) (*stream.Shard, error) {
	if st == nil || st.Doc.ID != sub.streamID || (st.Doc.Status != stream.StatusActive && st.Doc.Status != stream.StatusUpdating) {
		return nil, kerr.StreamNotFound(sub.stream, s.cfg.Account)
	}
	if c := s.streams.FindConsumer(&st.Doc, sub.consumer, sub.created); c == nil || c.Status == stream.StatusDeleting {
		return nil, s.consumerNotFound(sub.stream, sub.consumer, sub.created)
	}
	sh := st.Shard(sub.shard)
	if sh == nil {
		return nil, kerr.NewResourceNotFound(fmt.Sprintf("Shard %s in stream %s under account %s does not exist",
			stream.ShardID(sub.shard), sub.stream, s.cfg.Account))
	}
	return sh, nil
}

// readBatch reads the records of shard index at from onwards, stopping before before and at an event's
// worth, as a batch: nil when there are none.
func (s *Service) readBatch(ctx context.Context, st *stream.Stream, index uint32, from, before uint64) (*RecordBatch, error) {
	limit := getRecordsDefaultLimit
	if span := before - from; span < uint64(limit) {
		limit = int(span) // offsets are distinct: no more records than offsets in [from, before)
	}
	recs, err := s.store.Read(ctx, st.Ref(index), from, limit, subscribeEventBytes)
	if err != nil {
		return nil, err
	}
	for len(recs) > 0 && recs[len(recs)-1].Offset >= before {
		recs = recs[:len(recs)-1]
	}
	if len(recs) == 0 {
		return nil, nil
	}
	var created int64
	if sh := st.Shard(index); sh != nil {
		created = sh.SeqCreated
	}
	last := &recs[len(recs)-1]
	b := &RecordBatch{from: from, next: last.Offset + 1, recs: make([]Record, len(recs)),
		firstArrival: recs[0].ArrivalMilli, lastArrival: last.ArrivalMilli}
	if err := s.apiRecords(ctx, st, index, created, recs, b.recs); err != nil {
		return nil, err
	}
	for i := range recs {
		b.bytes += recs[i].Size()
	}
	return b, nil
}
