package storagetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"kinesisd/internal/storage"
)

// Acked is a record whose Append returned nil, with the shard it went to and the offset it got.
type Acked struct {
	Shard  storage.ShardRef
	Record storage.Record
}

// Load appends to a store from several goroutines, remembering every acknowledged record. It is the
// write side of a crash test: take Acked, crash the engine (or its machine), reopen, and ask Lost.
type Load struct {
	mu      sync.Mutex
	cond    sync.Cond
	acked   []Acked
	errs    []error
	stopped bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// StartLoad starts workers goroutines, each appending calls of 1–3 records to one or two of shards,
// with data unique across the load, until Stop, or until about limit records were appended if limit > 0
// (a bounded load makes a crash after it deterministic: nothing is in flight).
func StartLoad(t *testing.T, s storage.Store, shards []storage.ShardRef, workers, limit int) *Load {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	l := &Load{cancel: cancel}
	l.cond.L = &l.mu
	t.Cleanup(func() { l.Stop() })
	var started atomic.Int64 // records whose Append has begun
	for w := range workers {
		l.wg.Go(func() {
			for call := 0; ctx.Err() == nil; call++ {
				if limit > 0 && started.Load() >= int64(limit) {
					return
				}
				var apps []storage.Append
				for i := range 1 + call%2 {
					rs := make([]storage.Record, 1+(w+call)%3)
					started.Add(int64(len(rs)))
					for j := range rs {
						rs[j] = rec(fmt.Sprintf("load w%d c%d a%d r%d ", w, call, i, j), 64+j*37, int64(call))
					}
					apps = append(apps, storage.Append{Shard: shards[(w+call+i)%len(shards)], Records: rs})
				}
				err := s.Append(ctx, apps)
				l.mu.Lock()
				switch {
				case err == nil:
					for _, a := range apps {
						for _, r := range a.Records {
							l.acked = append(l.acked, Acked{Shard: a.Shard, Record: r})
						}
					}
				case ctx.Err() == nil:
					l.errs = append(l.errs, err)
				}
				l.cond.Broadcast()
				l.mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	return l
}

// WaitAcked blocks until at least n records were acknowledged, a worker failed (then it returns the
// error), or the load was stopped.
func (l *Load) WaitAcked(n int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.acked) < n && len(l.errs) == 0 && !l.stopped {
		l.cond.Wait()
	}
	return errors.Join(l.errs...)
}

// Acked returns the records acknowledged so far. Take it before the crash: every record in it had its
// Append return before the crash began.
func (l *Load) Acked() []Acked {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Acked(nil), l.acked...)
}

// Stop stops the workers and waits for them; it returns what they failed with, if anything.
func (l *Load) Stop() error {
	l.cancel()
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stopped = true
	l.cond.Broadcast()
	return errors.Join(l.errs...)
}

// Lost returns the acknowledged records that s does not hold exactly once, at their offset, with their
// arrival time, partition key and data: the records a crash lost (or duplicated, or moved). Records
// that s holds but were never acknowledged are fine: their Append was in flight.
func Lost(ctx context.Context, s storage.Store, acked []Acked) ([]Acked, error) {
	stored := map[storage.ShardRef]map[uint64]storage.Record{}
	copies := map[string]int{} // data → how many times it is stored, over every shard read
	for _, a := range acked {
		if stored[a.Shard] != nil {
			continue
		}
		byOffset := map[uint64]storage.Record{}
		for from := uint64(0); ; {
			rs, err := s.Read(ctx, a.Shard, from, 1000, 1<<30)
			if err != nil {
				return nil, fmt.Errorf("read shard %v: %w", a.Shard, err)
			}
			if len(rs) == 0 {
				break
			}
			for _, r := range rs {
				byOffset[r.Offset] = r
				copies[string(r.Data)]++
			}
			from = rs[len(rs)-1].Offset + 1
		}
		stored[a.Shard] = byOffset
	}
	var lost []Acked
	for _, a := range acked {
		got, ok := stored[a.Shard][a.Record.Offset]
		if !ok || !sameRecord(got, a.Record) || copies[string(a.Record.Data)] != 1 {
			lost = append(lost, a)
		}
	}
	return lost, nil
}
