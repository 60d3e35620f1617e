package service

import (
	"context"
	"fmt"
	"iter"
	"sync"
	"time"

	"kinesisd/internal/kerr"
	"kinesisd/internal/storage"
)

// subKey names one consumer's subscription to one shard.
type subKey struct {
	streamID uint64
	consumer string
	created  int64 // the consumer registration's creation second
	shard    uint32
}

// subscriptions are the open subscriptions, at most one per consumer and shard (AWS's rule). The zero
// value is ready to use.
type subscriptions struct {
	mu     sync.Mutex
	active map[subKey]*subHandle
	ended  chan struct{} // closed by EndSubscriptions; made on first use
	closed bool          // ended is closed
}

// subHandle is one open subscription in the registry.
type subHandle struct {
	started   time.Time     // service clock: the 5-second rule counts from here
	takenOver chan struct{} // closed when a later subscription takes the consumer and shard over
}

// inUse is AWS's ResourceInUseException for a consumer and shard that already have a subscription.
func inUse(sub *subscriber, account string) error {
	return kerr.NewResourceInUse(fmt.Sprintf("Another active subscription exists for this consumer: %s:%s:%s:%s",
		account, sub.stream, shardID(sub.shard), sub.consumer))
}

// acquire registers a subscription for sub at now. Within window of the current one's start it is
// refused; after that the new one takes over and the current one is told to end.
func (r *subscriptions) acquire(sub *subscriber, now time.Time, window time.Duration, account string) (*subHandle, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.active == nil {
		r.active = make(map[subKey]*subHandle)
	}
	if old := r.active[sub.key]; old != nil {
		if now.Sub(old.started) < window {
			return nil, inUse(sub, account)
		}
		close(old.takenOver)
	}
	h := &subHandle{started: now, takenOver: make(chan struct{})}
	r.active[sub.key] = h
	return h, nil
}

// release removes h if it is still the registered subscription of key.
func (r *subscriptions) release(key subKey, h *subHandle) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.active[key] == h {
		delete(r.active, key)
	}
}

// endedChan is closed once EndSubscriptions has been called.
func (r *subscriptions) endedChan() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended == nil {
		r.ended = make(chan struct{})
	}
	return r.ended
}

// EndSubscriptions ends every open subscription cleanly, as their lifetime's end does (clients
// resubscribe). The server calls it when it shuts down, so that shutting down never waits for them.
func (s *Service) EndSubscriptions() {
	r := &s.subs
	r.endedChan()
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed {
		r.closed = true
		close(r.ended)
	}
}

// closedTimes is a channel that is always ready: "read again at once".
var closedTimes = func() <-chan time.Time {
	c := make(chan time.Time)
	close(c)
	return c
}()

// events is the event loop of one subscription, starting at pos. It runs in the caller's
// goroutine (the HTTP handler's) and owns nothing else but its timers; it waits only on the shard's
// append notification, the heartbeat, the lifetime, the pacing timer, ctx, a takeover and shutdown.
func (s *Service) events(ctx context.Context, sub *subscriber, h *subHandle, pos position) iter.Seq2[SubscribeToShardEvent, error] {
	return func(yield func(SubscribeToShardEvent, error) bool) {
		defer s.subs.release(sub.key, h)
		ended := s.subs.endedChan()
		life := time.NewTimer(s.cfg.SubscribeLifetime)
		defer life.Stop()
		beat := time.NewTimer(s.cfg.SubscribeHeartbeat)
		defer beat.Stop()
		pace := time.NewTimer(time.Hour)
		pace.Stop()
		defer pace.Stop()
		notifier := s.notifier()
		var poll *time.Timer
		if notifier == nil {
			poll = time.NewTimer(subscribePoll)
			defer poll.Stop()
		}
		ref := storage.ShardRef{StreamID: sub.streamID, Shard: sub.shard}
		fd := s.feeds.acquire(ref)
		defer s.feeds.release(ref, fd)
		due := true              // an event is owed: the first at once, then one per heartbeat while idle
		var woke <-chan struct{} // the append notification that ended the last wait, if one did
		for {
			// Ask for the next append before reading, so that one landing during the read is not missed.
			var appended <-chan struct{}
			if notifier != nil {
				appended = notifier.Wait(ref)
			}
			st, err := s.step(ctx, sub, fd, &pos, woke)
			if err != nil {
				if ctx.Err() == nil {
					yield(SubscribeToShardEvent{}, err)
				}
				return
			}
			paced := false
			if len(st.event.Records) > 0 || st.end || due {
				if !yield(st.event, nil) {
					return
				}
				if st.end {
					return
				}
				due = false
				beat.Reset(s.cfg.SubscribeHeartbeat)
				if s.cfg.ThroughputLimits && st.bytes > 0 {
					pace.Reset(time.Duration(st.bytes) * time.Second / subscribeReadRate)
					paced = true
				}
			}
			// What ends the wait: pacing, when on, holds the next read back; otherwise more records,
			// an append or (without a notifier) the poll interval; and the heartbeat.
			var again <-chan time.Time
			var beatC <-chan time.Time
			switch {
			case paced:
				again, appended = pace.C, nil
			case st.more:
				again, beatC = closedTimes, beat.C
			case notifier == nil:
				poll.Reset(subscribePoll)
				again, beatC = poll.C, beat.C
			default:
				beatC = beat.C
			}
			woke = nil
			select {
			case <-ctx.Done():
				return
			case <-ended:
				return
			case <-life.C:
				return
			case <-h.takenOver:
				yield(SubscribeToShardEvent{}, inUse(sub, s.cfg.Account))
				return
			case <-beatC:
				due = true
			case <-appended:
				woke = appended
			case <-again:
			}
		}
	}
}
