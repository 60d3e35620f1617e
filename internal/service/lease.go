package service

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"kinesisd/internal/service/stream"
	"kinesisd/internal/storage"
)

// Subscription leases: AWS's one subscription per consumer and shard holds across every front-end of
// a store, so the subscription that has a consumer's shard is named in a metadata document, the lease,
// changed only by compare-and-set. A subscription writes its lease when it starts (acquireLease),
// refused while another's is younger than the takeover window; it checks now and then that the lease
// still names it (leaseLost) and ends when it does not; it deletes the lease when it ends if the lease
// is still its own (releaseLease). A front-end that dies leaves its leases behind: the next subscription
// after the window takes them over, as it would a live one. Leases go with their consumer's
// deregistration and their stream's purge (dropLeases).

const (
	// leaseCheckEvery is how often an open subscription checks that its lease is still its own, so that
	// one taken over through another front-end ends within about that long. It is shortened to the
	// takeover window when that is shorter (tests).
	leaseCheckEvery = 500 * time.Millisecond
	// leaseCheckMin is the shortest interval between two checks, whatever the window.
	leaseCheckMin = 10 * time.Millisecond
	// leaseReleaseTimeout bounds the deletion of a lease at a subscription's end, which runs after the
	// request's context may have ended.
	leaseReleaseTimeout = 10 * time.Second
)

// leaseDoc is a lease as stored: the subscription that holds it and when it started (service clock,
// Unix milliseconds).
type leaseDoc struct {
	Owner        string `json:"owner"`
	StartedMilli int64  `json:"started"`
}

// leaseKey is the metadata key of the lease of k.
func (s *Service) leaseKey(k subKey) string {
	return fmt.Sprintf("%s%d", consumerLeasePrefix(s.cfg.Account, k.streamID, k.consumer, k.created), k.shard)
}

// newLeaseOwner returns a random subscription id.
func newLeaseOwner() string {
	return rand.Text()
}

// readLease returns the lease stored under key and its version, or nil and 0 when there is none.
func (s *Service) readLease(ctx context.Context, key string) (*leaseDoc, uint64, error) {
	raw, version, err := s.store.GetMeta(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("load lease %s: %w", key, err)
	}
	var d leaseDoc
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, 0, fmt.Errorf("decode lease %s: %w", key, err)
	}
	return &d, version, nil
}

// acquireLease takes the lease of sub's consumer and shard for a subscription starting at now. While
// the current holder started less than the takeover window ago it is refused (ResourceInUseException);
// otherwise the lease becomes the new subscription's, and a holder in this process is told at once
// (the others find out at their next check).
func (s *Service) acquireLease(ctx context.Context, sub *subscriber, now time.Time) (*subHandle, error) {
	h := &subHandle{key: s.leaseKey(sub.key), owner: newLeaseOwner(), takenOver: make(chan struct{})}
	raw, err := json.Marshal(leaseDoc{Owner: h.owner, StartedMilli: now.UnixMilli()})
	if err != nil {
		return nil, internal("encode lease", err)
	}
	// Registered before the lease is written, so that a takeover right after the write finds it.
	s.subs.add(h)
	for {
		cur, version, err := s.readLease(ctx, h.key)
		if err != nil {
			s.subs.remove(h)
			return nil, internal("subscribe to shard", err)
		}
		if cur != nil && now.Sub(stream.Milli(cur.StartedMilli)) < s.cfg.SubscribeTakeover {
			s.subs.remove(h)
			return nil, inUse(sub, s.cfg.Account)
		}
		h.version, err = s.store.PutMeta(ctx, h.key, raw, version)
		if errors.Is(err, storage.ErrConflict) {
			continue // another subscription got in first: decide again against its lease
		}
		if err != nil {
			s.subs.remove(h)
			return nil, internal("subscribe to shard", fmt.Errorf("save lease %s: %w", h.key, err))
		}
		if cur != nil {
			s.subs.takeOver(cur.Owner)
		}
		return h, nil
	}
}

// leaseCheckInterval is how often an open subscription checks its lease.
func (s *Service) leaseCheckInterval() time.Duration {
	return max(min(leaseCheckEvery, s.cfg.SubscribeTakeover), leaseCheckMin)
}

// leaseLost checks that h's lease still names it. It returns nil while it does (or while the lease
// cannot be read); otherwise the error the subscription ends with: ResourceNotFoundException when its consumer or stream is gone (their leases
// go with them), else ResourceInUseException (another subscription took over).
func (s *Service) leaseLost(ctx context.Context, sub *subscriber, h *subHandle) error {
	cur, _, err := s.readLease(ctx, h.key)
	if err != nil {
		// The store's trouble, not the lease's: the next check tries again (and the subscription's own
		// reads end it if the store stays away).
		if ctx.Err() == nil {
			s.log.Warn("check subscription lease", "key", h.key, "err", err)
		}
		return nil
	}
	if cur != nil && cur.Owner == h.owner {
		return nil
	}
	st, err := s.streams.Load(ctx, sub.stream)
	if err != nil {
		return internal("subscribe to shard", err)
	}
	if _, err := s.checkSubscription(st, sub); err != nil {
		return err
	}
	return inUse(sub, s.cfg.Account)
}

// releaseLease ends h's hold: it leaves the registry, and its lease is deleted if it is still h's (a
// lease taken over, or dropped with its consumer, is left as it is). It runs at the subscription's end,
// after ctx may have ended, so the deletion runs on a context of its own.
func (s *Service) releaseLease(ctx context.Context, h *subHandle) {
	s.subs.remove(h)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), leaseReleaseTimeout)
	defer cancel()
	err := s.store.DeleteMeta(ctx, h.key, h.version)
	if err != nil && !errors.Is(err, storage.ErrConflict) && !errors.Is(err, storage.ErrNotFound) {
		s.log.Warn("release subscription lease", "key", h.key, "err", err)
	}
}
