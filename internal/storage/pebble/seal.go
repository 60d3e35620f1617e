package pebble

import (
	"context"
	"fmt"

	"kinesisd/internal/storage"
)

// Seal implements storage.Store. Under the shard's lock the log stops assigning offsets at its next
// one, which becomes its end; appends that had claimed spans below it are waited for, so that each
// has committed (and is visible) or failed when Seal returns. The end is kept on disk, synced, so a
// restart keeps the log sealed. One process owns a Pebble store, so the shard's lock orders every
// writer against the seal.
func (s *Store) Seal(ctx context.Context, ref storage.ShardRef) (uint64, error) {
	if err := s.enter(ctx); err != nil {
		return 0, err
	}
	defer s.leave()
	sh, err := s.lockShard(ref)
	if err != nil {
		return 0, fmt.Errorf("seal: %w", err)
	}
	if !sh.sealed {
		sh.sealed, sh.end = true, sh.next
	}
	end, synced := sh.end, sh.synced
	sh.mu.Unlock()
	if !synced {
		if err := s.apply(func() error { return s.db.Set(sealKey(ref), encodeU64(end), s.wopts) }); err != nil {
			return 0, fmt.Errorf("seal: %w", err)
		}
		sh.mu.Lock()
		sh.synced = true
		sh.mu.Unlock()
	}
	for {
		wake := sh.waitChan() // before the look, so that an advance in between is not missed
		sh.mu.Lock()
		done := sh.visibleLocked() >= end
		sh.mu.Unlock()
		if done {
			return end, nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return 0, fmt.Errorf("seal: %w", ctx.Err())
		}
	}
}
