package service

import (
	"context"
	"fmt"
	"iter"
	"time"

	"kinesisd/internal/kerr"
	"kinesisd/internal/service/seqnum"
)

// SubscribeToShard (enhanced fan-out): a consumer's push subscription to one shard. The operation
// checks everything before it answers, so that every refusal is an ordinary error response, then
// hands the edge a sequence of events that it writes as they come: records as soon as they are
// appended (woken by storage.Store.Wait, no polling), an event at least every SubscribeHeartbeat while
// idle, ChildShards at the end of a closed shard, an in-stream error when the consumer or stream goes
// or another subscription takes over, and a clean end after SubscribeLifetime.

const (
	defaultSubscribeLifetime  = 5 * time.Minute
	defaultSubscribeHeartbeat = 5 * time.Second
	defaultSubscribeTakeover  = 5 * time.Second
	// subscribeEventBytes caps the record bytes of one event (the first record always goes whole):
	// 2 MiB, a second's worth at AWS's per-consumer-shard rate, well inside the 16 MiB message limit
	// of the event-stream framing once base64 has grown it.
	subscribeEventBytes = 2 * mib
	// subscribeReadRate is AWS's delivery rate per consumer and shard, applied with ThroughputLimits.
	subscribeReadRate = 2 * mib
)

// SubscribeToShardInput is the input of SubscribeToShard.
type SubscribeToShardInput struct {
	ConsumerARN      *string           `json:"ConsumerARN,omitempty"`
	ShardId          *string           `json:"ShardId,omitempty"`
	StartingPosition *StartingPosition `json:"StartingPosition,omitempty"`
	StreamId         *string           `json:"StreamId,omitempty"` // accepted and ignored, as in StreamRef
	DryRun           *bool             `json:"DryRun,omitempty"`
}

// StartingPosition is where a subscription starts: Type is a shard iterator type, with SequenceNumber
// for AT_ and AFTER_SEQUENCE_NUMBER and Timestamp for AT_TIMESTAMP.
type StartingPosition struct {
	Type           *string    `json:"Type,omitempty"`
	SequenceNumber *string    `json:"SequenceNumber,omitempty"`
	Timestamp      *Timestamp `json:"Timestamp,omitempty"`
}

// SubscribeToShardOutput is the initial response of SubscribeToShard: no members.
type SubscribeToShardOutput struct{}

// SubscribeToShardEvent is one event of a subscription. ContinuationSequenceNumber is where a new
// subscription continues with AFTER_SEQUENCE_NUMBER; it is absent only in the last event of a closed
// shard, which carries ChildShards instead (KCL reads a null continuation as the shard's end).
type SubscribeToShardEvent struct {
	Records                    []Record     `json:"Records"`
	ContinuationSequenceNumber *string      `json:"ContinuationSequenceNumber,omitempty"`
	MillisBehindLatest         int64        `json:"MillisBehindLatest"`
	ChildShards                []ChildShard `json:"ChildShards,omitempty"`

	batches []*RecordBatch // the shared batches Records is made of, in order (nil: none)
}

// Batches returns the shared batches the event's Records are made of, in order, or nil when it has no
// records. The edge encodes each batch once per wire format for every subscription that delivers it
// (RecordBatch.Edge).
func (e *SubscribeToShardEvent) Batches() []*RecordBatch { return e.batches }

// WithBatches returns e with its Records made of batches, as the events the service delivers are
// made: for the edge's tests and benchmarks.
func (e SubscribeToShardEvent) WithBatches(batches ...*RecordBatch) SubscribeToShardEvent {
	e.Records, e.batches = joinRecords(batches), batches
	if len(batches) == 0 {
		e.batches = nil
	}
	return e
}

// joinRecords returns the records of batches, in order: the one batch's own when there is one.
func joinRecords(batches []*RecordBatch) []Record {
	switch len(batches) {
	case 0:
		return []Record{}
	case 1:
		return batches[0].recs
	}
	n := 0
	for _, b := range batches {
		n += len(b.recs)
	}
	recs := make([]Record, 0, n)
	for _, b := range batches {
		recs = append(recs, b.recs...)
	}
	return recs
}

// subscriber is one subscription's fixed facts.
type subscriber struct {
	key      subKey
	arn      string
	stream   string // stream name
	streamID uint64 // stream incarnation: a recreated stream of the same name is another stream
	consumer string
	created  int64 // the consumer's creation second (its ARN's suffix)
	shard    uint32
}

// SubscribeToShard checks a subscription and returns its initial response and its events. The events
// end at the subscription's end, after an in-stream error (a kerr error), when ctx ends, or when the
// caller stops ranging; every resource the subscription holds is released then.
func (s *Service) SubscribeToShard(ctx context.Context, in *SubscribeToShardInput) (*SubscribeToShardOutput, iter.Seq2[SubscribeToShardEvent, error], error) {
	var c checker
	c.str("consumerARN", in.ConsumerARN, true, 1, 2048, consumerARNRe, consumerARNReText)
	c.str("shardId", in.ShardId, true, 1, 128, namePattern, namePatternText)
	if in.StartingPosition == nil {
		c.v.Add(kerr.Null, "startingPosition", "Member must not be null")
	} else {
		p := in.StartingPosition
		c.enum("startingPosition.type", p.Type, true, afterSequenceNumber, latest, atTimestamp, atSequenceNumber, trimHorizon)
		c.str("startingPosition.sequenceNumber", p.SequenceNumber, false, 0, 0, seqNumPattern, seqNumPatternText)
	}
	c.streamID(in.StreamId)
	if err := c.err(); err != nil {
		return nil, nil, err
	}
	streamName, consumerName, err := s.ActiveConsumer(ctx, *in.ConsumerARN)
	if err != nil {
		return nil, nil, err
	}
	a, _ := parseResourceARN(*in.ConsumerARN) // parsed by ActiveConsumer already
	st, err := s.dataStream(ctx, StreamRef{StreamName: &streamName})
	if err != nil {
		return nil, nil, err
	}
	index, ok := parseShardID(*in.ShardId)
	var sh *shardDoc
	if ok {
		sh = st.shard(index)
	}
	if sh == nil {
		return nil, nil, kerr.NewResourceNotFound(fmt.Sprintf("Shard %s in stream %s under account %s does not exist",
			*in.ShardId, streamName, s.cfg.Account))
	}
	now := s.now()
	start, err := s.startPosition(ctx, st, sh, in.StartingPosition, now)
	if err != nil {
		return nil, nil, err
	}
	if isDryRun(in.DryRun) {
		return nil, nil, errDryRun()
	}
	sub := &subscriber{
		key: subKey{streamID: st.doc.ID, consumer: consumerName, created: a.ConsumerSecs, shard: sh.Index},
		arn: *in.ConsumerARN, stream: streamName, streamID: st.doc.ID, consumer: consumerName,
		created: a.ConsumerSecs, shard: sh.Index,
	}
	h, err := s.acquireLease(ctx, sub, now)
	if err != nil {
		return nil, nil, err
	}
	return &SubscribeToShardOutput{}, s.events(ctx, sub, h, start), nil
}

// position is where a subscription stands: the offset it reads next, and the tick of the last
// continuation number it stood at there (0: none, or the last record's own number). Idle events move
// the tick on, so that their continuation numbers keep advancing while nothing is written.
type position struct {
	next uint64
	tick uint64
}

// startPosition is where a subscription starts, by GetShardIterator's rules. Resuming from an idle
// continuation number keeps its tick, so that the next continuation is past it.
func (s *Service) startPosition(ctx context.Context, st *stream, sh *shardDoc, p *StartingPosition, now time.Time) (position, error) {
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
	ref := st.ref(sh.Index)
	var off, tick uint64
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
		off, err = s.store.OffsetAtTime(ctx, ref, maxTime(p.Timestamp.Time, st.cutoff(now)))
	case atSequenceNumber, afterSequenceNumber:
		seq := *p.SequenceNumber
		seqShard, seqOffset, seqTick, perr := seqnum.ParseTick(seq)
		if perr != nil {
			return position{}, kerr.NewInvalidArgument(fmt.Sprintf(
				"StartingSequenceNumber %s used in SubscribeToShard on shard %s in stream %s under account %s is invalid.",
				seq, shardID(sh.Index), st.doc.Name, s.cfg.Account))
		}
		if seqShard != sh.Index {
			return position{}, kerr.NewInvalidArgument(fmt.Sprintf(
				"Invalid StartingSequenceNumber. It encodes %s, while it was used in a call to a shard with %s",
				shardID(seqShard), shardID(sh.Index)))
		}
		off = max(seqStart(typ, seqOffset, seqTick), sh.StartOffset)
		if off == seqOffset {
			tick = seqTick
		}
	}
	if err != nil {
		return position{}, internal("subscribe to shard", err)
	}
	return position{next: off, tick: tick}, nil
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
	st, err := fd.streamFor(woke, func() (*stream, error) { return s.loadStream(ctx, sub.stream) })
	if err != nil {
		return nil, internal("subscribe to shard", err)
	}
	sh, err := s.checkSubscription(st, sub)
	if err != nil {
		return nil, err
	}
	now := s.now()
	ref := st.ref(sh.Index)
	next := &pos.next
	from := *next
	read := func(ctx context.Context, from, before uint64) (*RecordBatch, error) {
		return s.readBatch(ctx, st, sh.Index, from, before)
	}
	b, err := fd.get(ctx, *next, read)
	if err != nil {
		return nil, internal("subscribe to shard", err)
	}
	if b != nil && timeMilli(b.firstArrival).Before(st.cutoff(now)) {
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
		out.event.ChildShards = st.children(sh.Index)
		return out, nil
	}
	// Sequence number n stands just after the record at offset n-1, so the position next, as a
	// sequence number, is the last record delivered. An event without records continues from the same
	// place, but a tick later (the service clock's milliseconds, and always past the last tick there):
	// the number advances with time while nothing is written, as AWS's does, and still sorts below the
	// next record's.
	if *next != from || b != nil {
		pos.tick = 0
	}
	var cont string
	if b != nil {
		cont = seqnum.Format(sh.Index, *next)
	} else {
		pos.tick = min(max(uint64(max(now.UnixMilli(), 0)), pos.tick+1), seqnum.MaxTick)
		cont = seqnum.FormatTick(sh.Index, *next, pos.tick)
	}
	out.event.ContinuationSequenceNumber = &cont
	return out, nil
}

// checkSubscription returns sub's shard in its stream st (nil: none) while the stream (the same
// incarnation), the consumer and the shard all stand, and otherwise the ResourceNotFoundException that
// ends sub.
func (s *Service) checkSubscription(st *stream, sub *subscriber) (*shardDoc, error) {
	if st == nil || st.doc.ID != sub.streamID || (st.doc.Status != statusActive && st.doc.Status != statusUpdating) {
		return nil, kerr.StreamNotFound(sub.stream, s.cfg.Account)
	}
	if c := s.findConsumer(&st.doc, sub.consumer, sub.created); c == nil || c.Status == statusDeleting {
		return nil, s.consumerNotFound(sub.stream, sub.consumer, sub.created)
	}
	sh := st.shard(sub.shard)
	if sh == nil {
		return nil, kerr.NewResourceNotFound(fmt.Sprintf("Shard %s in stream %s under account %s does not exist",
			shardID(sub.shard), sub.stream, s.cfg.Account))
	}
	return sh, nil
}

// readBatch reads the records of shard index at from onwards, stopping before before and at an event's
// worth, as a batch: nil when there are none.
func (s *Service) readBatch(ctx context.Context, st *stream, index uint32, from, before uint64) (*RecordBatch, error) {
	limit := getRecordsDefaultLimit
	if span := before - from; span < uint64(limit) {
		limit = int(span) // offsets are distinct: no more records than offsets in [from, before)
	}
	recs, err := s.store.Read(ctx, st.ref(index), from, limit, subscribeEventBytes)
	if err != nil {
		return nil, err
	}
	for len(recs) > 0 && recs[len(recs)-1].Offset >= before {
		recs = recs[:len(recs)-1]
	}
	if len(recs) == 0 {
		return nil, nil
	}
	last := &recs[len(recs)-1]
	b := &RecordBatch{from: from, next: last.Offset + 1, recs: make([]Record, len(recs)),
		firstArrival: recs[0].ArrivalMilli, lastArrival: last.ArrivalMilli}
	for i := range recs {
		r := &recs[i]
		if r.Data == nil {
			r.Data = []byte{}
		}
		b.recs[i] = Record{
			SequenceNumber:              recordSeq(index, r.Offset),
			ApproximateArrivalTimestamp: Timestamp{timeMilli(r.ArrivalMilli)},
			Data:                        r.Data,
			PartitionKey:                r.PartitionKey,
			EncryptionType:              st.encryptionAt(r.ArrivalMilli),
		}
		b.bytes += r.Size()
	}
	return b, nil
}
