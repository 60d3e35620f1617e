package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"kinesisd/internal/service/queue"
	"kinesisd/internal/service/stream"
	"kinesisd/internal/storage"
)

// A queue's state on a shard lives in the store; this process keeps the last version of it that it
// read or wrote (queueSlot), so that a receive or acknowledgement usually writes at once, by
// compare-and-set against that version, instead of reading first. A write that finds the version
// stale (another front-end wrote since) reads the state again and starts over. The slot's mutex makes
// this process's changes of one shard's state take turns instead of failing each other's
// compare-and-set. A conclusion drawn from the cache that would end a call with less than a fresh
// read could give (nothing visible, a handle not found) is checked against a fresh read first.

// queueHorizonLife is how long a shard's retention horizon, once looked up, is used again.
const queueHorizonLife = time.Second

// read loads the slot from the store. Hold sl.mu.
func (s *Service) readSlot(ctx context.Context, sl *queueSlot, key string) error {
	raw, version, err := s.store.GetMeta(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		raw, version, err = nil, 0, nil
	}
	if err != nil {
		return err
	}
	sl.set(raw, version)
	return nil
}

// slotHorizon returns the retention horizon of sh, looked up at most queueHorizonLife ago. Hold sl.mu.
func (s *Service) slotHorizon(ctx context.Context, sl *queueSlot, st *stream.Stream, sh *stream.Shard, now time.Time) (uint64, error) {
	if !sl.horizonAt.IsZero() && now.Sub(sl.horizonAt) < queueHorizonLife && !now.Before(sl.horizonAt) {
		return sl.horizon, nil
	}
	h, err := s.horizon(ctx, st, sh, now)
	if err != nil {
		return 0, err
	}
	sl.horizon, sl.horizonAt = h, now
	return h, nil
}

// shardState is a queue's state on one shard as a call sees it: decoded, its stored bytes and
// version (0: not stored yet).
type shardState struct {
	sh      *stream.Shard
	key     string
	state   *queue.Shard
	raw     []byte
	version uint64
}

// loadShardState returns a queue's state on sh from the slot (from the store when fresh, or the
// slot has none), or its initial state when none is stored.
func (s *Service) loadShardState(ctx context.Context, q *loadedQueue, st *stream.Stream, sh *stream.Shard, now time.Time, fresh bool) (*shardState, error) {
	ss := &shardState{sh: sh, key: queueShardKey(q.key, q.doc.ID, sh.Index)}
	sl := s.queues.slot(ss.key)
	if c := sl.seen.Load(); c != nil && !fresh {
		if err := s.fillState(ctx, ss, c.raw, c.version, q, st, now); err != nil {
			return nil, err
		}
		return ss, nil
	}
	sl.mu.Lock()
	defer sl.mu.Unlock()
	if err := s.readSlot(ctx, sl, ss.key); err != nil {
		return nil, err
	}
	if err := s.fillState(ctx, ss, sl.raw, sl.version, q, st, now); err != nil {
		return nil, err
	}
	return ss, nil
}

// fillState sets ss from a stored state (raw, version), or to the initial state where the queue's
// starting position puts it when raw is nil.
func (s *Service) fillState(ctx context.Context, ss *shardState, raw []byte, version uint64, q *loadedQueue, st *stream.Stream, now time.Time) error {
	ss.raw, ss.version = raw, version
	if raw != nil {
		state, err := queue.Decode(raw)
		if err != nil {
			return fmt.Errorf("%s: %w", ss.key, err)
		}
		ss.state = state
		return nil
	}
	if st == nil { // an acknowledgement or visibility change: no state, nothing in flight
		ss.state, ss.raw = &queue.Shard{}, nil
		return nil
	}
	sh := ss.sh
	var start uint64
	var err error
	switch q.doc.Start {
	case latest:
		off, ok := q.doc.Latest[sh.Index]
		start = max(off, sh.StartOffset)
		if !ok {
			start = sh.StartOffset // opened after the queue was created
		}
	case trimHorizon:
		start, err = s.horizon(ctx, st, sh, now)
	default:
		start, err = s.store.OffsetAtTime(ctx, st.Ref(sh.Index), maxTime(stream.Milli(q.doc.StartMilli), st.Cutoff(now)))
		start = max(start, sh.StartOffset)
	}
	if err != nil {
		return err
	}
	ss.state = &queue.Shard{Next: start}
	ss.raw = ss.state.Encode()
	return nil
}

// readThrough tells whether every record of closed shard ss has been delivered at least once.
func (ss *shardState) readThrough() bool {
	return ss.sh.Closed && ss.state.Next >= ss.sh.EndOffset
}

// changeState runs change on the state of ss under the slot's mutex and writes what it returns by
// compare-and-set, reading the state again and running change again after a conflict (at most
// queueCASAttempts times: then storage.ErrConflict). change gets the state decoded afresh each time
// and whether it was read from the store during this call; it returns the new stored form (nil or
// the same bytes: nothing to write), or retry to be run again on a fresh read.
func (s *Service) changeState(ctx context.Context, ss *shardState, q *loadedQueue, st *stream.Stream, now time.Time,
	change func(ss *shardState, sl *queueSlot, fresh bool) (raw []byte, retry bool, err error)) error {
	sl := s.queues.slot(ss.key)
	sl.mu.Lock()
	defer sl.mu.Unlock()
	fresh := false
	if !sl.loaded {
		if err := s.readSlot(ctx, sl, ss.key); err != nil {
			return err
		}
		fresh = true
	}
	for attempt := 0; ; attempt++ {
		if err := s.fillState(ctx, ss, sl.raw, sl.version, q, st, now); err != nil {
			return err
		}
		raw, retry, err := change(ss, sl, fresh)
		if err != nil {
			return err
		}
		if !retry && (raw == nil || string(raw) == string(ss.raw)) {
			return nil
		}
		if !retry {
			v, err := s.store.PutMeta(ctx, ss.key, raw, ss.version)
			if err == nil {
				sl.set(raw, v)
				return s.fillState(ctx, ss, raw, v, q, st, now)
			}
			if !errors.Is(err, storage.ErrConflict) {
				return err
			}
		}
		if attempt >= queueCASAttempts {
			return storage.ErrConflict
		}
		if err := s.readSlot(ctx, sl, ss.key); err != nil {
			return err
		}
		fresh = true
	}
}

// queueCASAttempts bounds the compare-and-set retries on one shard's state per call.
const queueCASAttempts = 32
