package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"kinesisd/internal/clock"
	"kinesisd/internal/storage"
)

// readOverhead is what nats-server counts per message beyond our record's Size when it applies a
// direct get's max_bytes (subject, stored headers, envelope), rounded up generously: Read asks for
// maxBytes plus this much per record so that one request usually does.
const readOverhead = 256

// Read implements storage.Store with batch direct gets ($JS.API.DIRECT.GET, next_by_subj): one
// request returns up to maxRecords messages of the shard's subject from the offset on. nats-server
// stops a batch once the bytes it sent reach max_bytes, counting subjects and headers too, so Read
// asks for a little more than maxBytes, applies the contract's own limit, and asks again in the rare
// case the server stopped first.
//
// In a cluster any replica that is nearly caught up answers direct gets, so a replica may not hold the
// last records acknowledged a moment ago (it never lacks one below a record it returns: replicas apply
// the log in order); where the replica's answer ends, getBatch asks the stream leader, so that a Read
// returns every record acknowledged before it began (leader.go).
func (s *Store) Read(ctx context.Context, ref storage.ShardRef, from uint64, maxRecords, maxBytes int) ([]storage.Record, error) {
	return s.read(ctx, ref, from, maxRecords, maxBytes, nil)
}

// read is Read; with ords not nil, it appends the ordinal of each record returned to *ords.
func (s *Store) read(ctx context.Context, ref storage.ShardRef, from uint64, maxRecords, maxBytes int, ords *[]uint64) ([]storage.Record, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.leave()
	if s.droppedHere(ref.StreamID) {
		// In a cluster a replica may still answer for a stream whose deletion it has not applied yet.
		return nil, nil
	}
	ctx, cancel := s.timeout(ctx)
	defer cancel()
	name, subj := s.streamName(ref.StreamID), s.shardSubject(ref)
	var out []storage.Record
	size := 0
	for len(out) < maxRecords {
		want := maxRecords - len(out)
		ask := max(maxBytes-size, 0) + min(want*readOverhead, 1<<20)
		msgs, more, err := s.getBatch(ctx, name, subj, from, want, ask)
		if err != nil {
			return nil, fmt.Errorf("read %v: %w", ref, err)
		}
		for _, m := range msgs {
			r, _, err := parseEnvelope(m.Data)
			if err != nil {
				return nil, fmt.Errorf("read %v: %w", ref, err)
			}
			if r.Offset, err = msgSeq(m); err != nil {
				return nil, fmt.Errorf("read %v: %w", ref, err)
			}
			if len(out) > 0 && size+r.Size() > maxBytes {
				return out, nil
			}
			out = append(out, r)
			if ords != nil {
				*ords = append(*ords, envelopeOrdinal(m.Data))
			}
			size += r.Size()
			from = r.Offset + 1
			if len(out) == maxRecords {
				return out, nil
			}
		}
		if len(msgs) == 0 || !more {
			break
		}
	}
	return out, nil
}

// NextOffset implements storage.Store: the stream's last sequence plus one, from the stream leader.
// Every record of the shard is at or below the last sequence, and every later one above it.
func (s *Store) NextOffset(ctx context.Context, ref storage.ShardRef) (uint64, error) {
	if err := s.enter(ctx); err != nil {
		return 0, err
	}
	defer s.leave()
	ctx, cancel := s.timeout(ctx)
	defer cancel()
	return s.nextOffset(ctx, ref)
}

func (s *Store) nextOffset(ctx context.Context, ref storage.ShardRef) (uint64, error) {
	var resp struct {
		State struct {
			LastSeq uint64 `json:"last_seq"`
		} `json:"state"`
	}
	err := s.api(ctx, "STREAM.INFO."+s.streamName(ref.StreamID), nil, &resp)
	if isNotFound(err) {
		// Not created yet (its first Append creates it) or dropped: JetStream sequences start at 1.
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("next offset %v: %w", ref, err)
	}
	return resp.State.LastSeq + 1, nil
}

// Trim implements storage.Store: a purge of the shard's subject below the sequence. JetStream keeps
// the stream's last sequence through purges, so offsets are never reused.
func (s *Store) Trim(ctx context.Context, ref storage.ShardRef, before uint64) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.leave()
	if before <= 1 {
		return nil // sequences start at 1
	}
	ctx, cancel := s.timeout(ctx)
	defer cancel()
	req := struct {
		Filter string `json:"filter"`
		Seq    uint64 `json:"seq"`
	}{s.shardSubject(ref), before}
	if err := s.keepFloor(ctx, ref, before); err != nil {
		return fmt.Errorf("trim %v before %d: %w", ref, before, err)
	}
	err := s.api(ctx, "STREAM.PURGE."+s.streamName(ref.StreamID), req, nil)
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("trim %v before %d: %w", ref, before, err)
	}
	return nil
}

// DropStream implements storage.Store: it deletes the incarnation's JetStream stream. This process
// will not re-create it should an Append for it still be under way.
func (s *Store) DropStream(ctx context.Context, id uint64) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.leave()
	s.streamsMu.Lock()
	s.dropped[id] = true
	delete(s.streams, id)
	s.streamsMu.Unlock()
	ctx, cancel := s.timeout(ctx)
	defer cancel()
	err := s.api(ctx, "STREAM.DELETE."+s.streamName(id), nil, nil)
	s.wakeStream(id)
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("drop stream %d: %w", id, err)
	}
	return nil
}

// droppedHere tells whether this process dropped incarnation id.
func (s *Store) droppedHere(id uint64) bool {
	s.streamsMu.Lock()
	defer s.streamsMu.Unlock()
	return s.dropped[id]
}

// api makes a JetStream API request ($JS.API.<subject>) and decodes the answer into resp (if not
// nil); an error answer is returned as a *jetstream.APIError. The requests it makes are idempotent
// (info, message get, purge below a sequence, delete), so an attempt that got no answer is made again:
// in a cluster, a request that reaches the servers while a stream's leader is changing may be answered
// by none of them (a message get sent while a stream just created has no leader yet, for one).
// Attempts wait 250 ms, then 500 ms, 1 s… up to 8 s, within ctx; a "not available for now" answer
// (503: no leader yet) is retried the same way.
func (s *Store) api(ctx context.Context, subject string, req, resp any) error {
	var body []byte
	if req != nil {
		var err error
		if body, err = json.Marshal(req); err != nil {
			return err
		}
	}
	wait := firstAttemptWait
	for attempt := 1; ; attempt++ {
		err := s.apiOnce(ctx, subject, body, resp, wait)
		if err == nil || ctx.Err() != nil || !apiRetryable(err) {
			return err
		}
		s.log.Debug("JetStream API request not answered; trying again", "subject", subject, "attempt", attempt, "err", err)
		if err := clock.Sleep(ctx, 20*time.Millisecond); err != nil {
			return fmt.Errorf("%s: %w", subject, err)
		}
		wait = min(2*wait, maxAttemptWait)
	}
}

func (s *Store) apiOnce(ctx context.Context, subject string, body []byte, resp any, wait time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	m, err := s.nc.RequestWithContext(ctx, "$JS.API."+subject, body)
	if err != nil {
		return err
	}
	var answer struct {
		Error *jetstream.APIError `json:"error,omitempty"`
	}
	if err := json.Unmarshal(m.Data, &answer); err != nil {
		return fmt.Errorf("bad answer to %s: %w", subject, err)
	}
	if answer.Error != nil {
		return answer.Error
	}
	if resp != nil {
		return json.Unmarshal(m.Data, resp)
	}
	return nil
}

// apiRetryable reports whether a JetStream API request that failed with err is worth making again.
func apiRetryable(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return apiErr.Code == 503 || apiErr.ErrorCode == errCodeNotLeader
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) || errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, jetstream.ErrNoStreamResponse)
}

func isNotFound(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == errCodeStreamNotFound
}

// directGet is the body of a $JS.API.DIRECT.GET request.
type directGet struct {
	Seq      uint64 `json:"seq,omitempty"`
	NextFor  string `json:"next_by_subj,omitempty"`
	LastFor  string `json:"last_by_subj,omitempty"`
	Batch    int    `json:"batch,omitempty"`
	MaxBytes int    `json:"max_bytes,omitempty"`
}

// getOne returns the message a single direct get selects, or nil when there is none (also when the
// stream does not exist). An attempt that gets no answer is made again (see directBatch).
func (s *Store) getOne(ctx context.Context, stream string, req directGet) (*nats.Msg, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	var m *nats.Msg
	for wait := firstAttemptWait; ; wait = min(2*wait, maxAttemptWait) {
		actx, cancel := context.WithTimeout(ctx, wait)
		m, err = s.nc.RequestWithContext(actx, "$JS.API.DIRECT.GET."+stream, body)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			break
		}
	}
	if errors.Is(err, nats.ErrNoResponders) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("direct get: %w", err)
	}
	switch status := m.Header.Get("Status"); status {
	case "":
		return m, nil
	case "404":
		return nil, nil
	default:
		return nil, fmt.Errorf("direct get: status %s %s", status, m.Header.Get("Description"))
	}
}

// How long an attempt of a direct get or JetStream API request waits for its (first) answer before
// the request is made again: first, then twice as long each time, up to the maximum.
const (
	firstAttemptWait = 250 * time.Millisecond
	maxAttemptWait   = 8 * time.Second
)

// errNoAnswer is a direct get that got no first answer in time.
var errNoAnswer = errors.New("no answer")

// directBatch makes a batch direct get: up to batch messages of subject from seq on, until the bytes
// sent reach maxBytes. more reports whether the replica that answered holds messages of the subject
// after the last one returned.
//
// A direct get may go unanswered: sent while a stream is being deleted, or while the interest of a
// replica that just stopped serving is still known to the other servers, it reaches no one, and no
// "no responders" status comes back either. So an attempt that has no first answer after 250 ms is
// made again (then 500 ms, 1 s… up to 8 s, within ctx); once a replica has started answering, the rest
// of its batch is waited for as long as ctx allows.
func (s *Store) directBatch(ctx context.Context, stream, subject string, seq uint64, batch, maxBytes int) ([]*nats.Msg, bool, error) {
	body, err := json.Marshal(directGet{Seq: max(seq, 1), NextFor: subject, Batch: batch, MaxBytes: max(maxBytes, 1)})
	if err != nil {
		return nil, false, err
	}
	for wait := firstAttemptWait; ; wait = min(2*wait, maxAttemptWait) {
		msgs, more, err := s.directBatchOnce(ctx, stream, body, wait)
		if !errors.Is(err, errNoAnswer) || ctx.Err() != nil {
			return msgs, more, err
		}
	}
}

func (s *Store) directBatchOnce(ctx context.Context, stream string, body []byte, wait time.Duration) (msgs []*nats.Msg, more bool, err error) {
	inbox := s.nc.NewInbox()
	sub, err := s.nc.SubscribeSync(inbox)
	if err != nil {
		return nil, false, err
	}
	defer sub.Unsubscribe()
	if err := sub.SetPendingLimits(-1, -1); err != nil {
		return nil, false, err
	}
	if err := s.nc.PublishRequest("$JS.API.DIRECT.GET."+stream, inbox, body); err != nil {
		return nil, false, fmt.Errorf("direct get: %w", err)
	}
	first, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for {
		next := ctx
		if msgs == nil {
			next = first
		}
		m, err := sub.NextMsgWithContext(next)
		if errors.Is(err, nats.ErrNoResponders) { // no such stream
			return msgs, false, nil
		}
		if err != nil {
			if msgs == nil && first.Err() != nil && ctx.Err() == nil {
				return nil, false, errNoAnswer
			}
			return nil, false, fmt.Errorf("direct get: %w", err)
		}
		switch status := m.Header.Get("Status"); status {
		case "":
			msgs = append(msgs, m)
		case "204": // end of batch
			pending, _ := strconv.ParseUint(m.Header.Get("Nats-Num-Pending"), 10, 64)
			return msgs, pending > 0, nil
		case "404", "503": // nothing there; no such stream
			return msgs, false, nil
		default:
			return nil, false, fmt.Errorf("direct get: status %s %s", status, m.Header.Get("Description"))
		}
	}
}

// msgSeq is the stream sequence of a message from a direct get.
func msgSeq(m *nats.Msg) (uint64, error) {
	seq, err := strconv.ParseUint(m.Header.Get("Nats-Sequence"), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("direct get answer without a sequence: %w", err)
	}
	return seq, nil
}

// isNoResponders reports whether m is the server's "no responders" status: nothing listens on the
// subject published to, for a stream subject that its stream does not exist.
func isNoResponders(m *nats.Msg) bool {
	return len(m.Data) == 0 && m.Header.Get("Status") == "503"
}
