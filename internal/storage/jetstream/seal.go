package jetstream

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"kinesisd/internal/clock"
	"kinesisd/internal/storage"
)

// Sealing a shard against writers in every process.
//
// Seal publishes a seal message, naming the shard, on the incarnation's seal subject P.rec.N.seal
// (inside the stream's subjects, so it is ordered with the records); its stream sequence is the
// shard's end. JetStream stores messages in one order, so each record of the shard is stored either
// before the seal (below the end) or after it. A writer cannot know which before its acknowledgement
// arrives, so after every acknowledged Append it asks the stream leader for the seal messages it has
// not seen yet (normally none: one small request per Append), and a shard whose seal precedes its
// records is reported in a *storage.SealedError: those records lie past the end, where no reader
// looks. The leader applied every message below an acknowledged one before acknowledging it, so its
// answer holds every seal ordered before the Append's records.
//
// A shard sealed twice (two front-ends applying the same resharding) may have two seal messages; its
// end is the first.
//
// This is not JetStream's own "sealed" stream flag, which would seal every shard of the stream and
// stop MaxAge expiry (DESIGN.md §5 rules it out): the JetStream stream stays as it is, the shard is
// closed in the stream document, and the seal message only orders the shard's writers.

// sealSubject is the subject of incarnation id's seal messages.
func (s *Store) sealSubject(id uint64) string { return s.subjectPrefix(id) + "seal" }

// Seal implements storage.Store.
func (s *Store) Seal(ctx context.Context, ref storage.ShardRef) (uint64, error) {
	if err := s.enter(ctx); err != nil {
		return 0, err
	}
	defer s.leave()
	ctx, cancel := s.timeout(ctx)
	defer cancel()
	st, err := s.stream(ref.StreamID)
	if err != nil {
		return 0, err
	}
	if err := s.ensureStream(ctx, st); err != nil {
		return 0, fmt.Errorf("seal %v: %w", ref, err)
	}
	if end, ok, err := s.sealOf(ctx, st, ref.Shard); err != nil || ok {
		return end, err
	}
	msg := &nats.Msg{Subject: s.sealSubject(ref.StreamID), Data: []byte(strconv.FormatUint(uint64(ref.Shard), 10))}
	id := "seal-" + strconv.FormatUint(uint64(ref.Shard), 10)
	for backoff := 10 * time.Millisecond; ; backoff = min(2*backoff, 500*time.Millisecond) {
		_, err = s.js.PublishMsg(ctx, msg, jetstream.WithMsgID(id))
		if err == nil || !sealRetryable(err) {
			break
		}
		if serr := clock.Sleep(ctx, backoff); serr != nil {
			return 0, fmt.Errorf("seal %v: %w (%w)", ref, err, serr)
		}
	}
	if err != nil {
		return 0, fmt.Errorf("seal %v: %w", ref, err)
	}
	end, ok, err := s.sealOf(ctx, st, ref.Shard)
	if err == nil && !ok {
		err = errors.New("the seal message is not there after its acknowledgement")
	}
	if err != nil {
		return 0, fmt.Errorf("seal %v: %w", ref, err)
	}
	return end, nil
}

// sealRetryable tells whether a failed publish of a seal message is worth another attempt (with the
// same message id, so that it is stored once).
func sealRetryable(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		switch {
		case apiErr.ErrorCode == errCodeDupInProcess, apiErr.ErrorCode == errCodeNotLeader, apiErr.Code == 503, apiErr.Code == 429:
			return true
		}
	}
	return transient(err) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrNoResponders)
}

// sealOf returns the end of shard if it is sealed, after learning of the seals published since the
// last look.
func (s *Store) sealOf(ctx context.Context, st *streamState, shard uint32) (uint64, bool, error) {
	if err := s.learnSeals(ctx, st); err != nil {
		return 0, false, err
	}
	st.sealMu.Lock()
	defer st.sealMu.Unlock()
	end, ok := st.seals[shard]
	return end, ok, nil
}

// learnSeals reads the seal messages of st stored after the last one it knows, from the stream leader
// (or the only server).
func (s *Store) learnSeals(ctx context.Context, st *streamState) error {
	st.sealMu.Lock()
	from := st.sealSeen + 1
	st.sealMu.Unlock()
	subj := s.sealSubject(st.id)
	for {
		m, err := s.fromLeader(ctx, st.name, directGet{Seq: from, NextFor: subj})
		if err != nil {
			return fmt.Errorf("read seals: %w", err)
		}
		if m == nil {
			return nil
		}
		seq, err := msgSeq(m)
		if err != nil {
			return err
		}
		shard, err := strconv.ParseUint(string(m.Data), 10, 32)
		if err != nil {
			return fmt.Errorf("seal message %d: %q: %w", seq, m.Data, err)
		}
		st.sealMu.Lock()
		if _, ok := st.seals[uint32(shard)]; !ok {
			st.seals[uint32(shard)] = seq
		}
		st.sealSeen = max(st.sealSeen, seq)
		st.sealMu.Unlock()
		from = seq + 1
	}
}

// checkSeals returns a *storage.SealedError naming the shards of apps whose records an acknowledged
// Append stored after the shard's seal, or nil.
func (s *Store) checkSeals(ctx context.Context, st *streamState, apps []*storage.Append) error {
	if err := s.learnSeals(ctx, st); err != nil {
		return fmt.Errorf("stored, but could not tell whether after a seal: %w", err)
	}
	st.sealMu.Lock()
	defer st.sealMu.Unlock()
	if len(st.seals) == 0 {
		return nil
	}
	var sealed []storage.ShardRef
	for _, a := range apps {
		end, ok := st.seals[a.Shard.Shard]
		if ok && len(a.Records) > 0 && a.Records[len(a.Records)-1].Offset >= end {
			sealed = append(sealed, a.Shard)
		}
	}
	if len(sealed) == 0 {
		return nil
	}
	return &storage.SealedError{Shards: sealed}
}
