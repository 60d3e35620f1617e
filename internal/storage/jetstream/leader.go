package jetstream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Reads that see every acknowledged record.
//
// Direct gets (read.go) are answered by any replica of a stream that is nearly caught up, the nearest
// first, and a follower applies the log a little after the leader acknowledged it: under load, a read
// through one front-end may miss a record another front-end, or the same one, has just had
// acknowledged. Worse, a follower that restarted serves direct gets once it is 90% caught up, and a
// reader of a closed shard that took its short answer for the shard's end would skip to the children.
// So where a direct get's answer ends, the engine asks the stream leader (which acknowledged every
// stored record, and which JetStream's non-direct message get, $JS.API.STREAM.MSG.GET, reaches) for
// the next message of the subject: none means the answer was complete; one means the replica was
// behind, and reading goes on from there. The leader is asked once per read that reaches the end of
// a shard, and once per record while a replica is behind. With one replica there is nothing to ask.

// leaderMsg is the leader's answer to a message get.
type leaderMsg struct {
	Message *struct {
		Subject string `json:"subject"`
		Seq     uint64 `json:"seq"`
		Header  []byte `json:"hdrs,omitempty"`
		Data    []byte `json:"data,omitempty"`
	} `json:"message"`
}

// errCodeNoMessage is JSNoMessageFoundErr.
const errCodeNoMessage = 10037

// leaderGet asks the stream leader for the message req selects (seq with next_by_subj, or
// last_by_subj), returned as a direct get returns it; nil when there is none or no stream.
func (s *Store) leaderGet(ctx context.Context, stream string, req directGet) (*nats.Msg, error) {
	var resp leaderMsg
	err := s.api(ctx, "STREAM.MSG.GET."+stream, req, &resp)
	var apiErr *jetstream.APIError
	switch {
	case isNotFound(err):
		return nil, nil
	case errors.As(err, &apiErr) && apiErr.ErrorCode == errCodeNoMessage:
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("message get from the stream leader: %w", err)
	case resp.Message == nil:
		return nil, errors.New("message get from the stream leader: empty answer")
	}
	m := &nats.Msg{Subject: resp.Message.Subject, Data: resp.Message.Data, Header: parseHeader(resp.Message.Header)}
	m.Header.Set("Nats-Sequence", strconv.FormatUint(resp.Message.Seq, 10))
	return m, nil
}

// parseHeader decodes a stored message's NATS header block ("NATS/1.0\r\nKey: value\r\n…").
func parseHeader(raw []byte) nats.Header {
	h := nats.Header{}
	lines := bytes.Split(raw, []byte("\r\n"))
	for _, l := range lines[min(1, len(lines)):] {
		k, v, ok := strings.Cut(string(l), ":")
		if ok && k != "" {
			h.Add(k, strings.TrimSpace(v))
		}
	}
	return h
}

// getBatch is directBatch made complete: when the replica that answered has nothing more (or
// nothing), the stream leader is asked for the next message of the subject, which is added with more
// set when there is one.
func (s *Store) getBatch(ctx context.Context, stream, subject string, seq uint64, batch, maxBytes int) ([]*nats.Msg, bool, error) {
	msgs, more, err := s.directBatch(ctx, stream, subject, seq, batch, maxBytes)
	if err != nil || more || s.replicas == 1 || len(msgs) == batch {
		return msgs, more, err
	}
	from := seq
	if len(msgs) > 0 {
		last, err := msgSeq(msgs[len(msgs)-1])
		if err != nil {
			return nil, false, err
		}
		from = last + 1
	}
	m, err := s.leaderGet(ctx, stream, directGet{Seq: max(from, 1), NextFor: subject})
	if err != nil || m == nil {
		return msgs, false, err
	}
	return append(msgs, m), true, nil
}

// next returns the first message of subject at or after seq, or nil.
func (s *Store) next(ctx context.Context, stream, subject string, seq uint64) (*nats.Msg, error) {
	req := directGet{Seq: max(seq, 1), NextFor: subject}
	m, err := s.getOne(ctx, stream, req)
	if err != nil || m != nil || s.replicas == 1 {
		return m, err
	}
	return s.leaderGet(ctx, stream, req)
}

// last returns the last message of subject, or nil: from the stream leader when there are replicas,
// since a replica's last message may be an older one.
func (s *Store) last(ctx context.Context, stream, subject string) (*nats.Msg, error) {
	return s.fromLeader(ctx, stream, directGet{LastFor: subject})
}

// fromLeader returns the message req selects as the stream leader sees it, or nil: through the
// stream leader when there are replicas, by a direct get from the only server otherwise.
func (s *Store) fromLeader(ctx context.Context, stream string, req directGet) (*nats.Msg, error) {
	if s.replicas == 1 {
		return s.getOne(ctx, stream, req)
	}
	return s.leaderGet(ctx, stream, req)
}
