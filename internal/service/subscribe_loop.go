package service

import (
	"context"
	"iter"
	"time"

	"kinesisd/internal/storage"
)

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
