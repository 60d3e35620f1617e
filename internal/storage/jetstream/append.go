package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"kinesisd/internal/clock"
	"kinesisd/internal/storage"
)

// JetStream API error codes the engine acts on.
const (
	errCodeNotLeader          = 10009 // JSClusterNotLeaderErr: a leader change is under way
	errCodeInsufficientRes    = 10023 // JSInsufficientResourcesErr
	errCodeStreamNotFound     = 10059 // JSStreamNotFoundErr
	errCodeDupInProcess       = 10158 // JSStreamDuplicateMessageConflict: the same message id is being stored
	errCodeBatchIncomplete    = 10176 // JSAtomicPublishIncompleteBatchErr: part of the batch was lost
	errCodeBatchHasDuplicate  = 10201 // JSAtomicPublishContainsDuplicateMessageErr
	errCodeBatchTooManyFlight = 10210 // JSAtomicPublishTooManyInflight
)

// streamState is what this process knows of one stream incarnation's JetStream stream.
type streamState struct {
	id      uint64
	name    string
	ready   atomic.Bool   // the JetStream stream is known to exist
	maxAge  atomic.Int64  // the MaxAge to create the stream with, when SetRetention told it (retention.go)
	lastAck atomic.Uint64 // highest sequence acknowledged to this process: a lower bound for recover

	// pubMu orders the publishes of this stream: every message is written to the connection, which
	// JetStream stores in the order written, with a running maximum (maxArr) computed under the same
	// lock, so that maxArr never decreases along a shard's log (timeindex.go).
	pubMu   sync.Mutex
	maxArr  map[uint32]int64  // per shard, once seeded from the shard's last stored record
	ordinal map[uint32]uint64 // per shard, the last ordinal given, seeded with maxArr (ordinal.go)

	sealMu   sync.Mutex
	seals    map[uint32]uint64 // shard → end, for the sealed shards known (seal.go)
	sealSeen uint64            // the sequence of the last seal message read
}

// stream returns the state of incarnation id, or an error if this process dropped it.
func (s *Store) stream(id uint64) (*streamState, error) {
	s.streamsMu.Lock()
	defer s.streamsMu.Unlock()
	if s.dropped[id] {
		return nil, fmt.Errorf("jetstream: stream %d was dropped", id)
	}
	st := s.streams[id]
	if st == nil {
		st = &streamState{id: id, name: s.streamName(id), maxArr: make(map[uint32]int64), ordinal: make(map[uint32]uint64), seals: make(map[uint32]uint64)}
		s.streams[id] = st
	}
	return st, nil
}

// streamConfig is the JetStream stream of one incarnation: one subject per shard, file storage, no
// limits but MaxAge (retention is the service's Trim, which follows ArrivalMilli; MaxAge, a little
// longer, is the backstop, set by SetRetention), atomic batch publish for Append, direct gets for Read.
func (s *Store) streamConfig(st *streamState) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:               st.name,
		Description:        "kinesisd stream incarnation " + strconv.FormatUint(st.id, 10),
		Subjects:           []string{s.subjectPrefix(st.id) + "*"},
		Retention:          jetstream.LimitsPolicy,
		Discard:            jetstream.DiscardOld,
		MaxAge:             time.Duration(st.maxAge.Load()),
		MaxMsgs:            -1,
		MaxBytes:           -1,
		MaxMsgsPerSubject:  -1,
		MaxConsumers:       -1,
		MaxMsgSize:         MinMaxPayload,
		Storage:            jetstream.FileStorage,
		Replicas:           s.replicas,
		Duplicates:         max(2*time.Minute, 2*s.ackTimeout), // a message id must outlive its retries
		AllowDirect:        true,
		AllowAtomicPublish: true,
	}
}

// ensureStream creates st's JetStream stream unless this process knows it exists. Creating a stream
// that exists with the same configuration succeeds; one that exists with another (an operator changed
// it) is used as it is.
func (s *Store) ensureStream(ctx context.Context, st *streamState) error {
	if st.ready.Load() {
		return nil
	}
	info, err := s.js.CreateStream(ctx, s.streamConfig(st))
	switch {
	case err == nil:
		if ci := info.CachedInfo().Cluster; ci != nil && ci.Leader == "" {
			// Created a moment ago by another call, its leader not elected yet: a publish now would
			// go unanswered until the attempt's timeout.
			if err := s.waitLeader(ctx, st.name); err != nil {
				return fmt.Errorf("create stream %s: %w", st.name, err)
			}
		}
		st.noteAck(info.CachedInfo().State.LastSeq)
	case errors.Is(err, jetstream.ErrStreamNameAlreadyInUse):
		s.log.Debug("stream exists with another configuration; using it", "stream", st.name)
	default:
		return fmt.Errorf("create stream %s: %w", st.name, err)
	}
	st.ready.Store(true)
	return nil
}

// waitLeader waits until the JetStream stream name has a leader. The servers may not know a stream
// created a moment ago yet; one that stays unknown (dropped meanwhile) is left to the publish to find.
func (s *Store) waitLeader(ctx context.Context, name string) error {
	unknownUntil := time.Now().Add(2 * time.Second)
	for {
		var info struct {
			Cluster *struct {
				Leader string `json:"leader"`
			} `json:"cluster"`
		}
		err := s.api(ctx, "STREAM.INFO."+name, nil, &info)
		switch {
		case isNotFound(err) && time.Now().After(unknownUntil):
			return nil
		case isNotFound(err):
		case err != nil:
			return fmt.Errorf("wait for a leader: %w", err)
		case info.Cluster == nil || info.Cluster.Leader != "":
			return nil
		}
		if err := clock.Sleep(ctx, 10*time.Millisecond); err != nil {
			return fmt.Errorf("wait for a leader: %w", err)
		}
	}
}

func (st *streamState) noteAck(seq uint64) {
	for {
		cur := st.lastAck.Load()
		if seq <= cur || st.lastAck.CompareAndSwap(cur, seq) {
			return
		}
	}
}

// Append implements storage.Store. The appends of one stream incarnation go out as one JetStream
// atomic batch publish (ADR-50): JetStream stores all of its messages, contiguously and in order, or
// none. A call holds at most storage.MaxAppendRecords records, which is nats-server's default
// jetstream.limits.max_batch_size, so one batch always suffices; a larger call is refused before
// anything is sent (splitting it would leave earlier batches stored after a later one failed).
// Appends to several incarnations in one call (the service never makes such a call) are one batch
// per incarnation, each atomic on its own, in order; an error may then leave the earlier ones stored,
// as the contract allows. A single record is a plain publish, which is atomic by itself.
//
// The first message of each batch carries a Nats-Msg-Id unique to the batch, so a batch sent again
// after a lost acknowledgement is refused as a duplicate instead of being stored twice; Append then
// finds the stored copy (recover). One id per batch is enough, the batch being stored whole or not at
// all, and keeps JetStream's duplicate table at one entry per batch rather than one per record. Once
// acknowledged, the records of a sealed shard are reported in a *storage.SealedError (seal.go).
// When the acknowledgement does not come within the ack timeout,
// Append fails: the records may or may not be stored, as with any timed-out write, but it never
// reports success for records it has not seen acknowledged.
func (s *Store) Append(ctx context.Context, appends []storage.Append) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.leave()
	if err := storage.CheckAppend(appends); err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	// Group by incarnation, keeping the order of the appends.
	var order []uint64
	groups := map[uint64][]*storage.Append{}
	for i := range appends {
		a := &appends[i]
		if len(a.Records) == 0 {
			continue
		}
		if groups[a.Shard.StreamID] == nil {
			order = append(order, a.Shard.StreamID)
		}
		groups[a.Shard.StreamID] = append(groups[a.Shard.StreamID], a)
	}
	var sealed *storage.SealedError
	for _, id := range order {
		err := s.appendStream(ctx, id, groups[id])
		var se *storage.SealedError
		switch {
		case errors.As(err, &se) && sealed == nil:
			sealed = se
		case errors.As(err, &se):
			sealed.Shards = append(sealed.Shards, se.Shards...)
		case err != nil:
			return fmt.Errorf("append: %w", err)
		}
		s.announce(id, groups[id])
	}
	if sealed != nil {
		return sealed
	}
	return nil
}

// pending is one record's message in an Append, with what the running maximum needs.
type pending struct {
	msg     *nats.Msg
	shard   uint32
	arrival int64
	rec     *storage.Record
	ordinal uint64 // given by the first attempt, kept by the next ones
}

// appendStream appends the records of one incarnation as one atomic batch.
func (s *Store) appendStream(ctx context.Context, id uint64, apps []*storage.Append) error {
	st, err := s.stream(id)
	if err != nil {
		return err
	}
	ctx, cancel := s.timeout(ctx)
	defer cancel()
	if err := s.ensureStream(ctx, st); err != nil {
		return err
	}
	msgs, err := s.prepare(ctx, st, apps)
	if err != nil {
		return err
	}
	first, err := s.publish(ctx, st, msgs, nuid.Next())
	if err != nil {
		return fmt.Errorf("stream %d: %w", id, err)
	}
	for i := range msgs {
		msgs[i].rec.Offset = first + uint64(i)
	}
	return s.checkSeals(ctx, st, apps)
}

// prepare builds the messages of apps, in order, after loading the running maximum of their shards.
// The envelopes are built here, before any lock; the running maximum is patched in under pubMu.
func (s *Store) prepare(ctx context.Context, st *streamState, apps []*storage.Append) ([]pending, error) {
	var msgs []pending
	for _, a := range apps {
		if err := s.seedMaxArr(ctx, st, a.Shard); err != nil {
			return nil, err
		}
		subj := s.shardSubject(a.Shard)
		for j := range a.Records {
			r := &a.Records[j]
			env := appendEnvelope(make([]byte, 0, envelopeLen(r)), r)
			msgs = append(msgs, pending{
				msg:   &nats.Msg{Subject: subj, Header: nats.Header{}, Data: env},
				shard: a.Shard.Shard, arrival: r.ArrivalMilli, rec: r,
			})
		}
	}
	return msgs, nil
}

// pubAck is JetStream's answer to a publish: an acknowledgement or an error.
type pubAck struct {
	Error     *jetstream.APIError `json:"error,omitempty"`
	Stream    string              `json:"stream"`
	Seq       uint64              `json:"seq"`
	Duplicate bool                `json:"duplicate,omitempty"`
	Batch     string              `json:"batch,omitempty"`
	Count     int                 `json:"count,omitempty"`
}

// errRetry marks an attempt whose failure another attempt may cure.
var errRetry = errors.New("retryable")

// publish stores msgs (one record each, in order) as one atomic batch, or as a plain publish when
// there is one, and returns the sequence of the first: the batch's sequences are contiguous.
// Attempts are repeated, with the same message id, until one is acknowledged or ctx (bounded by the
// ack timeout) ends. Each attempt waits at most half of the time left, so that a lost
// acknowledgement leaves time for another attempt.
func (s *Store) publish(ctx context.Context, st *streamState, msgs []pending, msgID string) (uint64, error) {
	var lowerBound uint64
	backoff := 10 * time.Millisecond
	var lastErr error
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if err := clock.Sleep(ctx, backoff); err != nil {
				return 0, fmt.Errorf("not acknowledged after %d attempts (%w): %w", attempt, lastErr, err)
			}
			backoff = min(2*backoff, 500*time.Millisecond)
		}
		wait := time.Until(deadline(ctx))
		if wait <= 0 {
			return 0, fmt.Errorf("not acknowledged after %d attempts: %w", attempt, lastErr)
		}
		if wait > time.Second {
			wait /= 2
		}
		first, lb, err := s.attempt(ctx, st, msgs, msgID, wait)
		if attempt == 0 {
			lowerBound = lb
		}
		switch {
		case err == nil:
			return first, nil
		case ctx.Err() != nil:
			return 0, fmt.Errorf("not acknowledged after %d attempts: %w", attempt+1, err)
		case errors.Is(err, errBatchDuplicate):
			// An earlier attempt was stored after all: find it.
			return s.recover(ctx, st, msgs[0].msg.Subject, msgID, lowerBound)
		case errors.Is(err, errNoStream):
			if err := s.reensure(ctx, st); err != nil {
				return 0, err
			}
		case !errors.Is(err, errRetry):
			return 0, err
		}
		lastErr = err
	}
}

// reensure handles a publish that no stream answered. A stream this process had seen exist is
// created again only if JetStream still knows it (its leader was changing, say): one that is gone was
// deleted, by another front-end's DeleteStream (this process never re-creates one it dropped), and
// creating it again would leave an orphan holding records of a deleted stream.
func (s *Store) reensure(ctx context.Context, st *streamState) error {
	if st.ready.Load() {
		err := s.api(ctx, "STREAM.INFO."+st.name, nil, nil)
		if isNotFound(err) {
			return fmt.Errorf("JetStream stream %s is gone: deleted by another front-end", st.name)
		}
		if err != nil {
			return err
		}
	}
	st.ready.Store(false)
	return s.ensureStream(ctx, st)
}

var (
	errBatchDuplicate = errors.New("batch already stored")
	errNoStream       = errors.New("no stream listens on the subject")
)

// attempt sends msgs once and waits up to wait for the answer. It returns the first sequence, and the
// highest sequence acknowledged to this process before the messages were written (every message of
// this attempt, or of a later one, is stored above it).
func (s *Store) attempt(ctx context.Context, st *streamState, msgs []pending, msgID string, wait time.Duration) (uint64, uint64, error) {
	reply, answer, done := s.replies.expect()
	defer done()
	batchID := ""
	if len(msgs) > 1 {
		batchID = nuid.Next() // new for each attempt: a batch id names one sending of the messages
	}
	st.pubMu.Lock()
	lowerBound := st.lastAck.Load()
	var err error
	for i := range msgs {
		p := &msgs[i]
		cur, ok := st.maxArr[p.shard]
		if !ok {
			cur = noArrival
		}
		m := max(cur, p.arrival)
		st.maxArr[p.shard] = m
		if p.ordinal == 0 {
			p.ordinal = st.ordinal[p.shard] + 1
			st.ordinal[p.shard] = p.ordinal
		}
		h := p.msg.Header
		clear(h)
		if i == 0 {
			h.Set(jetstream.MsgIDHeader, msgID)
		}
		if batchID != "" {
			h.Set("Nats-Batch-Id", batchID)
			h.Set("Nats-Batch-Sequence", strconv.Itoa(i+1))
		}
		p.msg.Reply = ""
		if i == len(msgs)-1 {
			if batchID != "" {
				h.Set("Nats-Batch-Commit", "1")
			}
			p.msg.Reply = reply
		}
		setMaxArr(p.msg.Data, m)
		setOrdinal(p.msg.Data, p.ordinal)
		if err = s.nc.PublishMsg(p.msg); err != nil {
			break
		}
	}
	st.pubMu.Unlock()
	if err != nil {
		// Only an outage is worth another attempt; a message over max_payload, for one, is not.
		if errors.Is(err, nats.ErrReconnectBufExceeded) || errors.Is(err, nats.ErrConnectionReconnecting) {
			err = fmt.Errorf("%w: %w", err, errRetry)
		}
		return 0, lowerBound, fmt.Errorf("publish: %w", err)
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	var m *nats.Msg
	select {
	case m = <-answer:
	case <-timer.C:
		return 0, lowerBound, fmt.Errorf("no acknowledgement within %s: %w", wait.Round(time.Millisecond), errRetry)
	case <-ctx.Done():
		return 0, lowerBound, fmt.Errorf("no acknowledgement: %w", ctx.Err())
	}
	if isNoResponders(m) {
		return 0, lowerBound, errNoStream
	}
	var ack pubAck
	if err := json.Unmarshal(m.Data, &ack); err != nil {
		return 0, lowerBound, fmt.Errorf("bad acknowledgement %q: %w", m.Data, err)
	}
	if e := ack.Error; e != nil {
		switch e.ErrorCode {
		case errCodeBatchHasDuplicate:
			return 0, lowerBound, errBatchDuplicate
		case errCodeNotLeader, errCodeInsufficientRes, errCodeDupInProcess, errCodeBatchIncomplete, errCodeBatchTooManyFlight:
			return 0, lowerBound, fmt.Errorf("%w: %w", e, errRetry)
		case errCodeStreamNotFound:
			return 0, lowerBound, errNoStream
		}
		if e.Code == 503 || e.Code == 429 {
			return 0, lowerBound, fmt.Errorf("%w: %w", e, errRetry)
		}
		return 0, lowerBound, e
	}
	st.noteAck(ack.Seq)
	if batchID != "" {
		if ack.Batch != batchID || ack.Count != len(msgs) {
			return 0, lowerBound, fmt.Errorf("acknowledgement of batch %q with %d messages for batch %q of %d",
				ack.Batch, ack.Count, batchID, len(msgs))
		}
		return ack.Seq - uint64(len(msgs)) + 1, lowerBound, nil
	}
	// A single message: a duplicate's acknowledgement carries the sequence of the stored copy.
	return ack.Seq, lowerBound, nil
}

// recover finds the first message of a batch that JetStream refused as a duplicate, that is, one an
// earlier attempt stored: the message on subject with msgID, above lowerBound. The batch's messages
// were stored contiguously from there.
func (s *Store) recover(ctx context.Context, st *streamState, subject, msgID string, lowerBound uint64) (uint64, error) {
	from := lowerBound + 1
	for {
		msgs, _, err := s.getBatch(ctx, st.name, subject, from, 256, 1<<20)
		if err != nil {
			return 0, fmt.Errorf("find the batch stored by an earlier attempt: %w", err)
		}
		if len(msgs) == 0 {
			return 0, errors.New("JetStream reported the batch stored by an earlier attempt, but it is not there")
		}
		for _, m := range msgs {
			if m.Header.Get(jetstream.MsgIDHeader) == msgID {
				return msgSeq(m)
			}
		}
		last, err := msgSeq(msgs[len(msgs)-1])
		if err != nil {
			return 0, err
		}
		from = last + 1
	}
}

// announce wakes the waiters of the shards appended to, here and, through the notify subject, in
// the other processes sharing the cluster. The announcement is best effort: a lost one delays a
// remote SubscribeToShard reader until its next read.
func (s *Store) announce(id uint64, apps []*storage.Append) {
	msg := make([]byte, 8, 8+10+5*len(apps))
	putUint64(msg, s.origin)
	msg = appendUvarint(msg, id)
	for _, a := range apps {
		s.wake(a.Shard)
		msg = appendUvarint(msg, uint64(a.Shard.Shard))
	}
	if err := s.nc.Publish(s.notifySubject(), msg); err != nil {
		s.log.Debug("announce append", "err", err)
	}
}

// replies routes the acknowledgements of publishes to the Append that waits for each: the publish
// goes out under the stream's publish lock, the wait happens after it is released.
type replies struct {
	prefix string
	mu     sync.Mutex
	next   uint64
	wait   map[string]chan *nats.Msg

	drop atomic.Int32 // tests: how many of the next answers to lose, as a network might
}

func newReplies(nc *nats.Conn) (*replies, error) {
	r := &replies{prefix: nc.NewInbox() + ".", wait: make(map[string]chan *nats.Msg)}
	if _, err := nc.Subscribe(r.prefix+"*", r.deliver); err != nil {
		return nil, err
	}
	return r, nil
}

// expect returns a reply subject, the channel its answer arrives on, and a func that forgets it.
func (r *replies) expect() (string, <-chan *nats.Msg, func()) {
	ch := make(chan *nats.Msg, 1)
	r.mu.Lock()
	r.next++
	token := strconv.FormatUint(r.next, 36)
	r.wait[token] = ch
	r.mu.Unlock()
	return r.prefix + token, ch, func() {
		r.mu.Lock()
		delete(r.wait, token)
		r.mu.Unlock()
	}
}

func (r *replies) deliver(m *nats.Msg) {
	if len(m.Subject) <= len(r.prefix) {
		return
	}
	if r.drop.Load() > 0 && r.drop.Add(-1) >= 0 {
		return
	}
	token := m.Subject[len(r.prefix):]
	r.mu.Lock()
	ch := r.wait[token]
	delete(r.wait, token)
	r.mu.Unlock()
	if ch != nil {
		ch <- m
	}
}

func deadline(ctx context.Context) time.Time {
	d, ok := ctx.Deadline()
	if !ok {
		return time.Now().Add(DefaultAckTimeout)
	}
	return d
}
