package service

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"kinesisd/internal/kerr"
	"kinesisd/internal/service/iterator"
	"kinesisd/internal/service/queue"
	"kinesisd/internal/service/stream"
	"kinesisd/internal/storage"
)

// Receiving from a queue: each receive takes visible records shard by shard, each shard's state
// changed by compare-and-set (retried on conflict), so that no record is in flight to two receives
// at once, whichever front-end serves them. Records are read from the stream as GetRecords reads them
// (KMS-sealed ones opened the same way); a child shard is delivered from once its parents have been
// read to their ends. Receipt handles are sealed like shard iterators (iterator.Sealer) and name the
// queue's incarnation, the shard, the record's offset and the receive's nonce.

const (
	// queuePollInterval is how often a long poll looks again without a reason to (another front-end's
	// visibility change, a fake clock moved in a test).
	queuePollInterval = time.Second
)

// receipt is what a receipt handle names.
type receipt struct {
	name  string
	id    uint64
	shard uint32
	off   uint64
	nonce uint64
	dead  bool
}

// handle seals r. The name field carries a prefix no stream name has, so that a shard iterator is
// never taken for a receipt handle nor the other way round.
func (s *Service) handle(r receipt, now time.Time) (string, error) {
	kind := "r"
	if r.dead {
		kind = "d"
	}
	return s.sealer.Seal(iterator.Position{
		StreamName: "q" + kind + ":" + strconv.FormatUint(r.nonce, 36) + ":" + r.name,
		StreamID:   r.id, Shard: r.shard, Offset: r.off, Issued: now,
	})
}

// openHandle reads a receipt handle; ok is false for one this service did not seal as one.
func (s *Service) openHandle(h string) (receipt, bool) {
	p, err := s.sealer.Open(h)
	if err != nil || len(p.StreamName) < 3 || p.StreamName[0] != 'q' || p.StreamName[2] != ':' {
		return receipt{}, false
	}
	nonce, name, ok := strings.Cut(p.StreamName[3:], ":")
	n, err := strconv.ParseUint(nonce, 36, 64)
	if !ok || err != nil || (p.StreamName[1] != 'r' && p.StreamName[1] != 'd') {
		return receipt{}, false
	}
	return receipt{name: name, id: p.StreamID, shard: p.Shard, off: p.Offset, nonce: n, dead: p.StreamName[1] == 'd'}, true
}

// ReceiveQueueRecords receives up to 10 visible records, waiting up to WaitTimeSeconds for one.
func (s *Service) ReceiveQueueRecords(ctx context.Context, in *ReceiveQueueRecordsInput) (*ReceiveQueueRecordsOutput, error) {
	return s.receiveQueue(ctx, in, false)
}

// ReceiveDeadLetterQueueRecords receives up to 10 visible dead letters.
func (s *Service) ReceiveDeadLetterQueueRecords(ctx context.Context, in *ReceiveQueueRecordsInput) (*ReceiveQueueRecordsOutput, error) {
	return s.receiveQueue(ctx, in, true)
}

func (s *Service) receiveQueue(ctx context.Context, in *ReceiveQueueRecordsInput, dead bool) (*ReceiveQueueRecordsOutput, error) {
	var c checker
	c.str("queueARN", in.QueueARN, true, 1, 2048, queueARNPattern, queueARNPatternText)
	c.integer("limit", in.Limit, false, 1, queueReceiveMax)
	c.integer("visibilityTimeoutSeconds", in.VisibilityTimeoutSeconds, false, 0, queueMaxVisibility)
	c.integer("waitTimeSeconds", in.WaitTimeSeconds, false, 0, queueMaxWaitSeconds)
	if err := c.err(); err != nil {
		return nil, err
	}
	limit, wait := queueReceiveMax, time.Duration(queueDefaultWaitSeconds)*time.Second
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	if in.WaitTimeSeconds != nil {
		wait = time.Duration(*in.WaitTimeSeconds) * time.Second
	}
	until := time.Now().Add(wait)
	ended := s.subs.endedChan()
	for first := true; ; first = false {
		q, err := s.openQueue(ctx, *in.QueueARN)
		if !first && (isStreamNotFound(err) || err == nil && q.doc.Status == stream.StatusDeleting) {
			// Deleted while this poll waited: it delivers nothing more.
			return &ReceiveQueueRecordsOutput{QueueRecords: []QueueRecord{}}, nil
		}
		if err != nil {
			return nil, err
		}
		if q.doc.Status != stream.StatusActive && q.doc.Status != stream.StatusUpdating {
			return nil, s.queueNotActive(&q.doc)
		}
		vis := q.doc.VisibilitySecs
		if in.VisibilityTimeoutSeconds != nil {
			vis = int(*in.VisibilityTimeoutSeconds)
		}
		st, err := s.streams.Load(ctx, q.doc.Stream)
		if err != nil {
			return nil, internal("receive queue records", err)
		}
		if st == nil || st.Doc.ID != q.doc.StreamID {
			return nil, kerr.StreamNotFound(q.doc.Stream, s.cfg.Account)
		}
		// Ask for the wake-ups before looking, so that one landing during the look is not missed.
		var wakes []<-chan struct{}
		polling := time.Until(until) > 0
		if polling {
			wakes = append(wakes, s.queues.waiter(q.key))
			if !dead {
				for _, sh := range st.Doc.Shards {
					if !sh.Closed {
						wakes = append(wakes, s.store.Wait(st.Ref(sh.Index)))
					}
				}
			}
		}
		out, next, err := s.receiveOnce(ctx, q, st, limit, vis, dead, false)
		if err == nil && len(out) == 0 { // make sure with what the store holds now
			out, next, err = s.receiveOnce(ctx, q, st, limit, vis, dead, true)
		}
		if err != nil || len(out) > 0 || !polling {
			return &ReceiveQueueRecordsOutput{QueueRecords: out}, err
		}
		left := time.Until(until)
		if left <= 0 {
			return &ReceiveQueueRecordsOutput{QueueRecords: out}, nil
		}
		d := min(left, queuePollInterval)
		if next > 0 {
			d = min(d, time.Duration(next-s.now().UnixMilli())*time.Millisecond)
		}
		timer := queueWaitTimer(d)
		cases := []reflect.SelectCase{
			{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())},
			{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ended)},
			{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(timer.C)},
		}
		for _, w := range wakes {
			cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(w)})
		}
		chosen, _, _ := reflect.Select(cases)
		timer.Stop()
		switch chosen {
		case 0:
			return nil, ctx.Err()
		case 1: // shutting down: answer what there is (nothing)
			return &ReceiveQueueRecordsOutput{QueueRecords: []QueueRecord{}}, nil
		}
	}
}

// receiveOnce takes up to limit visible records (dead letters if dead) without waiting, and returns
// them with the earliest time (Unix ms, 0: none) a record in flight becomes visible again. It looks
// at the states this process last knew (fresh: reads them from the store).
func (s *Service) receiveOnce(ctx context.Context, q *loadedQueue, st *stream.Stream, limit, vis int, dead, fresh bool) ([]QueueRecord, int64, error) {
	now := s.now()
	shards := make([]*stream.Shard, 0, len(st.Doc.Shards))
	for i := range st.Doc.Shards {
		if sh := &st.Doc.Shards[i]; !st.Expired(sh, now) {
			shards = append(shards, sh)
		}
	}
	slices.SortFunc(shards, func(a, b *stream.Shard) int { return int(a.Index) - int(b.Index) })
	states := make(map[uint32]*shardState, len(shards))
	var eligible []*shardState
	for _, sh := range shards { // parents before children: their indexes are lower
		ss, err := s.loadShardState(ctx, q, st, sh, now, fresh)
		if err != nil {
			return nil, 0, internal("receive queue records", err)
		}
		states[sh.Index] = ss
		if dead || s.parentsRead(sh, states) {
			eligible = append(eligible, ss)
		}
	}
	// Consumers start at different shards, so that they seldom meet on one shard's state.
	if n := len(eligible); n > 1 {
		k := rand.IntN(n)
		eligible = append(eligible[k:], eligible[:k]...)
	}
	out := []QueueRecord{}
	budget := s.cfg.MaxGetRecordsSize // a reply holds at most what GetRecords' does (its first record whatever its size)
	for _, ss := range eligible {
		if len(out) >= limit || budget <= 0 {
			break
		}
		got, err := s.takeFromShard(ctx, q, st, ss, limit-len(out), budget, vis, dead, now)
		if errors.Is(err, storage.ErrConflict) {
			continue // busy: the other shards may serve
		}
		if err != nil {
			return nil, 0, err
		}
		out = append(out, got...)
		for i := range got {
			budget -= len(got[i].Data) + len(got[i].PartitionKey)
		}
	}
	var next int64
	for _, ss := range states {
		if d := ss.state.NextDeadline(now.UnixMilli()); d > 0 && (next == 0 || d < next) {
			next = d
		}
	}
	return out, next, nil
}

// parentsRead tells whether every parent of sh among states has been read to its end (a parent not
// there has expired, or is not the queue's to deliver).
func (s *Service) parentsRead(sh *stream.Shard, states map[uint32]*shardState) bool {
	for _, p := range []*uint32{sh.Parent, sh.AdjacentParent} {
		if p == nil {
			continue
		}
		if ps := states[*p]; ps != nil && !ps.readThrough() {
			return false
		}
	}
	return true
}

// pick is one record a receive takes.
type pick struct {
	entry queue.Entry
	rec   storage.Record
}

// takeFromShard takes up to need visible records from one shard: entries visible again first, then
// records never delivered (not for dead letters), and stores the state by compare-and-set
// (storage.ErrConflict: others kept changing it).
func (s *Service) takeFromShard(ctx context.Context, q *loadedQueue, st *stream.Stream, ss *shardState, need, maxBytes, vis int, dead bool, now time.Time) ([]QueueRecord, error) {
	var picks []pick
	err := s.changeState(ctx, ss, q, st, now, func(ss *shardState, sl *queueSlot, _ bool) ([]byte, bool, error) {
		var err error
		picks, err = s.planTake(ctx, q, st, ss, sl, need, maxBytes, vis, dead, now)
		if err != nil {
			return nil, false, err
		}
		return ss.state.Encode(), false, nil
	})
	if err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return nil, err
		}
		return nil, internal("receive queue records", err)
	}
	if len(picks) == 0 {
		return nil, nil
	}
	recs := make([]storage.Record, len(picks))
	for i := range picks {
		recs[i] = picks[i].rec
	}
	api := make([]Record, len(recs))
	if err := s.apiRecords(ctx, st, ss.sh.Index, ss.sh.SeqCreated, recs, api); err != nil {
		return nil, err
	}
	out := make([]QueueRecord, len(picks))
	for i, p := range picks {
		h, err := s.handle(receipt{name: q.doc.Name, id: q.doc.ID, shard: ss.sh.Index, off: p.entry.Offset, nonce: p.entry.Nonce, dead: dead}, now)
		if err != nil {
			return nil, internal("receive queue records", err)
		}
		out[i] = QueueRecord{
			ReceiptHandle: h, RecordId: api[i].SequenceNumber, PartitionKey: api[i].PartitionKey, Data: api[i].Data,
			ApproximateArrivalTimestamp: api[i].ApproximateArrivalTimestamp,
			FirstReceiveTimestamp:       Timestamp{stream.Milli(p.entry.First)},
			ReceiveCount:                int64(p.entry.Receives),
		}
	}
	return out, nil
}

// planTake changes ss.state for a receive of up to need records and returns them: records past
// retention leave, entries due become dead letters, visible entries are received again, then records
// never delivered are read from the stream. Hold the slot's mutex (sl).
func (s *Service) planTake(ctx context.Context, q *loadedQueue, st *stream.Stream, ss *shardState, sl *queueSlot, need, maxBytes, vis int, dead bool, now time.Time) ([]pick, error) {
	work := ss.state
	ms := now.UnixMilli()
	deadline := now.Add(time.Duration(vis) * time.Second).UnixMilli()
	ref := st.Ref(ss.sh.Index)
	if len(work.Entries) > 0 || (!dead && !ss.readThrough()) {
		horizon, err := s.slotHorizon(ctx, sl, st, ss.sh, now)
		if err != nil {
			return nil, err
		}
		work.Expire(horizon)
	}
	work.Settle(ms, q.doc.MaxReceive)
	var picks []pick
	for _, i := range work.Visible(ms, dead, need) {
		if maxBytes <= 0 {
			break
		}
		e := work.Entries[i]
		recs, err := s.store.Read(ctx, ref, e.Offset, 1, s.cfg.MaxGetRecordsSize)
		if err != nil {
			return nil, err
		}
		if len(recs) == 0 || recs[0].Offset != e.Offset {
			continue // trimmed since: the next receive's Expire counts it
		}
		work.Receive(i, ms, deadline)
		picks = append(picks, pick{entry: work.Entries[i], rec: recs[0]})
		maxBytes -= recs[0].Size()
	}
	if !dead && len(picks) < need && maxBytes > 0 && !ss.readThrough() {
		from := max(work.Next, ss.sh.StartOffset)
		recs, err := s.store.Read(ctx, ref, from, need-len(picks), maxBytes)
		if err != nil {
			return nil, err
		}
		for ss.sh.Closed && len(recs) > 0 && recs[len(recs)-1].Offset >= ss.sh.EndOffset {
			recs = recs[:len(recs)-1]
		}
		if len(recs) == 0 && ss.sh.Closed {
			work.Next = max(work.Next, ss.sh.EndOffset)
		}
		for _, r := range recs {
			work.Deliver(r.Offset, ms, deadline)
			picks = append(picks, pick{entry: work.Entries[len(work.Entries)-1], rec: r})
		}
	}
	return picks, nil
}

// entryOp is what one of the entry operations does to an entry its handle found (i in sh).
type entryOp func(sh *queue.Shard, i int, e *QueueRecordsEntry, now int64)

// AcknowledgeQueueRecords acknowledges records: the queue never delivers them again.
func (s *Service) AcknowledgeQueueRecords(ctx context.Context, in *QueueRecordsInput) (*QueueRecordsOutput, error) {
	return s.queueEntries(ctx, in, false, false, func(sh *queue.Shard, i int, _ *QueueRecordsEntry, _ int64) { sh.Ack(i) })
}

// UpdateQueueRecordsVisibility sets the visibility timeouts of records in flight, from now.
func (s *Service) UpdateQueueRecordsVisibility(ctx context.Context, in *QueueRecordsInput) (*QueueRecordsOutput, error) {
	return s.queueEntries(ctx, in, false, true, setVisibility)
}

// AcknowledgeDeadLetterQueueRecords discards dead letters.
func (s *Service) AcknowledgeDeadLetterQueueRecords(ctx context.Context, in *QueueRecordsInput) (*QueueRecordsOutput, error) {
	return s.queueEntries(ctx, in, true, false, func(sh *queue.Shard, i int, _ *QueueRecordsEntry, _ int64) { sh.Ack(i) })
}

// UpdateDeadLetterQueueRecordsVisibility sets the visibility timeouts of dead letters received.
func (s *Service) UpdateDeadLetterQueueRecordsVisibility(ctx context.Context, in *QueueRecordsInput) (*QueueRecordsOutput, error) {
	return s.queueEntries(ctx, in, true, true, setVisibility)
}

// RestoreDeadLetterQueueRecords makes dead letters ordinary records again, with no receives.
func (s *Service) RestoreDeadLetterQueueRecords(ctx context.Context, in *QueueRecordsInput) (*QueueRecordsOutput, error) {
	return s.queueEntries(ctx, in, true, false, func(sh *queue.Shard, i int, _ *QueueRecordsEntry, now int64) { sh.Restore(i, now) })
}

func setVisibility(sh *queue.Shard, i int, e *QueueRecordsEntry, now int64) {
	sh.Entries[i].Deadline = now + *e.VisibilityTimeoutSeconds*1000
}

// queueEntries runs op on the entries' records, shard by shard under compare-and-set, and reports
// each entry: a handle this service did not seal for this queue (or for the other kind of receive)
// fails with InvalidArgumentException, one that no longer names its record's delivery (acknowledged,
// received again since, dead-lettered, restored, or gone with retention) with
// ResourceNotFoundException.
func (s *Service) queueEntries(ctx context.Context, in *QueueRecordsInput, dead, withVisibility bool, op entryOp) (*QueueRecordsOutput, error) {
	var c checker
	switch n := len(in.Entries); {
	case in.Entries == nil:
		c.v.Add(kerr.Null, "entries", "Member must not be null")
	case n < 1:
		c.v.Add(kerr.Quote("[]"), "entries", "Member must have length greater than or equal to 1")
	case n > queueEntriesMax:
		c.v.Add(kerr.Quote(fmt.Sprintf("[%d entries]", n)), "entries", fmt.Sprintf("Member must have length less than or equal to %d", queueEntriesMax))
	}
	for i := range in.Entries {
		path := fmt.Sprintf("entries.%d.member.", i+1)
		c.str(path+"receiptHandle", in.Entries[i].ReceiptHandle, true, 1, receiptHandleMax, nil, "")
		if withVisibility {
			c.integer(path+"visibilityTimeoutSeconds", in.Entries[i].VisibilityTimeoutSeconds, true, 0, queueMaxVisibility)
		}
	}
	c.str("queueARN", in.QueueARN, true, 1, 2048, queueARNPattern, queueARNPatternText)
	if err := c.err(); err != nil {
		return nil, err
	}
	q, err := s.openQueue(ctx, *in.QueueARN)
	if err != nil {
		return nil, err
	}
	if q.doc.Status == stream.StatusDeleting { // its receipt handles are no longer valid
		return nil, s.queueNotActive(&q.doc)
	}
	out := &QueueRecordsOutput{Successful: []QueueRecordsResult{}, Failed: []QueueRecordsFailure{}}
	fail := func(h, code, msg string) {
		out.Failed = append(out.Failed, QueueRecordsFailure{ReceiptHandle: h, ErrorCode: code, ErrorMessage: msg})
	}
	byShard := map[uint32][]int{}
	var order []uint32
	receipts := make([]receipt, len(in.Entries))
	for i := range in.Entries {
		h := *in.Entries[i].ReceiptHandle
		r, ok := s.openHandle(h)
		if !ok || r.name != q.doc.Name || r.id != q.doc.ID || r.dead != dead {
			fail(h, "InvalidArgumentException", fmt.Sprintf("ReceiptHandle %s is invalid for queue %s.", h, q.doc.Name))
			continue
		}
		receipts[i] = r
		if _, seen := byShard[r.shard]; !seen {
			order = append(order, r.shard)
		}
		byShard[r.shard] = append(byShard[r.shard], i)
	}
	woke := false
	for _, shard := range order {
		idx := byShard[shard]
		key := queueShardKey(q.key, q.doc.ID, shard)
		var found []bool
		var err error
		for attempt := 0; ; attempt++ {
			found, err = s.applyEntries(ctx, key, q, in.Entries, receipts, idx, op)
			if !errors.Is(err, storage.ErrConflict) || attempt >= queueCASAttempts {
				break
			}
		}
		for k, i := range idx {
			h := *in.Entries[i].ReceiptHandle
			switch {
			case err != nil:
				s.log.Warn("queue entries", "queue", q.doc.Name, "err", err)
				fail(h, "InternalFailureException", "Internal service failure.")
			case !found[k]:
				fail(h, "ResourceNotFoundException", fmt.Sprintf("The record ReceiptHandle %s names is no longer in flight with it in queue %s.", h, q.doc.Name))
			default:
				out.Successful = append(out.Successful, QueueRecordsResult{ReceiptHandle: h})
				woke = woke || !withVisibility && dead || withVisibility && *in.Entries[i].VisibilityTimeoutSeconds == 0
			}
		}
	}
	if woke {
		s.queues.notify(q.key)
	}
	return out, nil
}

// applyEntries runs op on the entries idx of one shard's state and stores it by compare-and-set;
// found says which entries named their record's delivery. A handle not found in the state this
// process knew is looked up again in a fresh read.
func (s *Service) applyEntries(ctx context.Context, key string, q *loadedQueue, entries []QueueRecordsEntry, receipts []receipt, idx []int, op entryOp) ([]bool, error) {
	found := make([]bool, len(idx))
	ss := &shardState{sh: &stream.Shard{}, key: key}
	err := s.changeState(ctx, ss, q, nil, time.Time{}, func(ss *shardState, _ *queueSlot, fresh bool) ([]byte, bool, error) {
		clear(found)
		if ss.version == 0 {
			return nil, !fresh, nil
		}
		now := s.now().UnixMilli()
		sh := ss.state
		sh.Settle(now, q.doc.MaxReceive)
		missing := false
		for k, i := range idx {
			r := receipts[i]
			j := sh.Find(r.off, r.nonce, r.dead)
			if j < 0 {
				missing = true
				continue
			}
			op(sh, j, &entries[i], now)
			found[k] = true
		}
		if missing && !fresh {
			return nil, true, nil
		}
		return sh.Encode(), false, nil
	})
	return found, err
}
