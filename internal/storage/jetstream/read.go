package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

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
// In a cluster any replica that is nearly caught up answers direct gets, so a read may miss the last
// records acknowledged a moment ago (never a record below one it returns: replicas apply the log in
// order).
func (s *Store) Read(ctx context.Context, ref storage.ShardRef, from uint64, maxRecords, maxBytes int) ([]storage.Record, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.leave()
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

// api makes a JetStream API request ($JS.API.<subject>) and decodes the answer into resp (if not
// nil); an error answer is returned as a *jetstream.APIError.
func (s *Store) api(ctx context.Context, subject string, req, resp any) error {
	var body []byte
	if req != nil {
		var err error
		if body, err = json.Marshal(req); err != nil {
			return err
		}
	}
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
// stream does not exist).
func (s *Store) getOne(ctx context.Context, stream string, req directGet) (*nats.Msg, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	m, err := s.nc.RequestWithContext(ctx, "$JS.API.DIRECT.GET."+stream, body)
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

// next returns the first message of subject at or after seq, or nil.
func (s *Store) next(ctx context.Context, stream, subject string, seq uint64) (*nats.Msg, error) {
	return s.getOne(ctx, stream, directGet{Seq: max(seq, 1), NextFor: subject})
}

// last returns the last message of subject, or nil.
func (s *Store) last(ctx context.Context, stream, subject string) (*nats.Msg, error) {
	return s.getOne(ctx, stream, directGet{LastFor: subject})
}

// getBatch makes a batch direct get: up to batch messages of subject from seq on, until the bytes
// sent reach maxBytes. more reports whether the subject holds messages after the last one returned.
func (s *Store) getBatch(ctx context.Context, stream, subject string, seq uint64, batch, maxBytes int) (msgs []*nats.Msg, more bool, err error) {
	body, err := json.Marshal(directGet{Seq: max(seq, 1), NextFor: subject, Batch: batch, MaxBytes: max(maxBytes, 1)})
	if err != nil {
		return nil, false, err
	}
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
	for {
		m, err := sub.NextMsgWithContext(ctx)
		if errors.Is(err, nats.ErrNoResponders) { // no such stream
			return msgs, false, nil
		}
		if err != nil {
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
