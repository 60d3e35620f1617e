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

// subscriptions are this process's open subscriptions, by the owner id of their lease (lease.go): the
// lease in the store decides which subscription holds a consumer's shard, across every front-end; the
// registry lets a takeover in this process end the subscription it displaced at once, and shutdown end
// them all. The zero value is ready to use.
type subscriptions struct {
	mu     sync.Mutex
	active map[string]*subHandle // by lease owner
	ended  chan struct{}         // closed by EndSubscriptions; made on first use
	closed bool                  // ended is closed
}

// subHandle is one open subscription's hold on its lease.
type subHandle struct {
	key       string        // the lease's metadata key
	owner     string        // the subscription's random id, which the lease names while it holds it
	version   uint64        // the lease document's version once written; only the subscription's goroutine uses it
	takenOver chan struct{} // closed when a later subscription in this process takes the lease over
}

// inUse is AWS's ResourceInUseException for a consumer and shard that already have a subscription.
func inUse(sub *subscriber, account string) error {
	return kerr.NewResourceInUse(fmt.Sprintf("Another active subscription exists for this consumer: %s:%s:%s:%s",
		account, sub.stream, shardID(sub.shard), sub.consumer))
}

// add registers h.
func (r *subscriptions) add(h *subHandle) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.active == nil {
		r.active = make(map[string]*subHandle)
	}
	r.active[h.owner] = h
}

// remove unregisters h, if it is still registered.
func (r *subscriptions) remove(h *subHandle) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.active[h.owner] == h {
		delete(r.active, h.owner)
	}
}

// takeOver tells the subscription of this process whose lease owner id is owner, if there is one, that
// its lease has been taken over; it is unregistered then, so that it is told once.
func (r *subscriptions) takeOver(owner string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if h := r.active[owner]; h != nil {
		delete(r.active, owner)
		close(h.takenOver)
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
// append notification, the heartbeat, the lifetime, the pacing timer, ctx, a takeover in this process,
// the lease check (a takeover through another front-end) and shutdown. At its end it releases h.
func (s *Service) events(ctx context.Context, sub *subscriber, h *subHandle, pos position) iter.Seq2[SubscribeToShardEvent, error] {
	return func(yield func(SubscribeToShardEvent, error) bool) {
		defer s.releaseLease(ctx, h)
		ended := s.subs.endedChan()
		check := time.NewTicker(s.leaseCheckInterval())
		defer check.Stop()
		life := time.NewTimer(s.cfg.SubscribeLifetime)
		defer life.Stop()
		beat := time.NewTimer(s.cfg.SubscribeHeartbeat)
		defer beat.Stop()
		pace := time.NewTimer(time.Hour)
		pace.Stop()
		defer pace.Stop()
		ref := storage.ShardRef{StreamID: sub.streamID, Shard: sub.shard}
		fd := s.feeds.acquire(ref)
		defer s.feeds.release(ref, fd)
		due := true              // an event is owed: the first at once, then one per heartbeat while idle
		var woke <-chan struct{} // the append notification that ended the last wait, if one did
		for {
			// Ask for the next append before reading, so that one landing during the read is not missed.
			appended := s.store.Wait(ref)
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
			// What ends the wait: pacing, when on, holds the next read back; otherwise more records or
			// an append; and the heartbeat.
			var again <-chan time.Time
			var beatC <-chan time.Time
			switch {
			case paced:
				again, appended = pace.C, nil
			case st.more:
				again, beatC = closedTimes, beat.C
			default:
				beatC = beat.C
			}
			woke = nil
			for {
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
				case <-check.C:
					// The lease is looked at on the clock, never per event; a lease still held goes
					// back to waiting without reading the shard.
					if err := s.leaseLost(ctx, sub, h); err != nil {
						if ctx.Err() == nil {
							yield(SubscribeToShardEvent{}, err)
						}
						return
					}
					continue
				case <-beatC:
					due = true
				case <-appended:
					woke = appended
				case <-again:
				}
				break
			}
		}
	}
}
