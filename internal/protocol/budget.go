package protocol

import (
	"context"
	"errors"
	"sync"
	"time"
)

const (
	// memoryWait is the longest a request waits for room in the request-memory bound before it is
	// refused with InternalFailureException (HTTP 500, which the AWS SDKs retry with backoff). A waiting
	// request holds no memory of its own: its body stays in the client's socket until it is admitted.
	// Measured on this 2-core machine, the on-disk engine takes about 0.8 s per 10 MiB PutRecords, so
	// 24 such calls at once finish in about 20 s whatever the bound; 10 s admits most of such a burst
	// and refuses the rest in time for the SDK's own retries.
	memoryWait = 10 * time.Second
	// smallRequest is the largest reservation that may use the bound's last eighth (smallShare): large
	// bodies that stall cannot shut out control-plane calls and small writes.
	smallRequest = 1 << 20
)

var (
	errMemoryBusy     = errors.New("request memory bound reached")
	errMemoryTooLarge = errors.New("request needs more memory than the bound")
)

// DefaultMaxRequestMemory is the bound on request memory (Options.MaxRequestMemory) that goes with a
// Go memory limit of memoryLimitMiB (-memory-limit): half of it, so that the request bodies in flight
// and their decoded copies leave the other half to the service, the storage engine's Go-side buffers
// and the garbage collector's headroom, and at least 64 MiB, so that two of the largest legal requests
// (a 16 MiB body and its decoded records) fit together. Without a memory limit (0), 256 MiB.
func DefaultMaxRequestMemory(memoryLimitMiB int) int64 {
	if memoryLimitMiB <= 0 {
		return 256 << 20
	}
	return max(int64(memoryLimitMiB)<<20/2, 64<<20)
}

// budget is a weighted semaphore over the bytes of request memory: bodies and their decoded copies.
// Reservations are granted in arrival order, except that one of at most smallRequest bytes is granted
// at once whenever it fits, even past waiting large ones (it leaves soon). Large reservations may take
// at most size - size/8 together; the last eighth is kept for small ones. A nil *budget is unbounded.
type budget struct {
	size int64

	mu      sync.Mutex
	used    int64
	waiters []*memWaiter // in arrival order
}

type memWaiter struct {
	n     int64
	ready chan struct{} // closed once granted
}

func newBudget(size int64) *budget {
	if size <= 0 {
		return nil
	}
	return &budget{size: size}
}

// limit is how much of the bound reservations of n bytes may take together.
func (b *budget) limit(n int64) int64 {
	if n <= smallRequest {
		return b.size
	}
	return b.size - b.size/8
}

// acquire reserves n bytes, waiting up to wait (and while ctx lasts) for room. It fails at once with
// errMemoryTooLarge when n can never fit, and with errMemoryBusy when the wait ends without room.
func (b *budget) acquire(ctx context.Context, n int64, wait time.Duration) error {
	_, err := b.acquireQueued(ctx, n, wait)
	return err
}

// acquireQueued is acquire, also reporting whether the reservation had to wait its turn.
func (b *budget) acquireQueued(ctx context.Context, n int64, wait time.Duration) (queued bool, err error) {
	if b == nil || n <= 0 {
		return false, nil
	}
	if n > b.limit(n) {
		return false, errMemoryTooLarge
	}
	b.mu.Lock()
	if b.used+n <= b.limit(n) && (len(b.waiters) == 0 || n <= smallRequest) {
		b.used += n
		b.mu.Unlock()
		return false, nil
	}
	w := &memWaiter{n: n, ready: make(chan struct{})}
	b.waiters = append(b.waiters, w)
	b.mu.Unlock()

	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-w.ready:
		return true, nil
	case <-ctx.Done():
	case <-t.C:
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case <-w.ready: // granted meanwhile: give it back
		b.used -= n
		b.grantLocked()
	default:
		for i, x := range b.waiters {
			if x == w {
				b.waiters = append(b.waiters[:i], b.waiters[i+1:]...)
				break
			}
		}
		b.grantLocked() // a large waiter that left may have held back smaller ones behind it
	}
	return true, errMemoryBusy
}

// release gives back n bytes acquired before.
func (b *budget) release(n int64) {
	if b == nil || n <= 0 {
		return
	}
	b.mu.Lock()
	b.used -= n
	if b.used < 0 {
		b.mu.Unlock()
		panic("protocol: request memory released more than acquired")
	}
	b.grantLocked()
	b.mu.Unlock()
}

// grantLocked grants waiting reservations in arrival order while the first one fits, then the small
// ones behind it that fit.
func (b *budget) grantLocked() {
	for len(b.waiters) > 0 {
		w := b.waiters[0]
		if b.used+w.n > b.limit(w.n) {
			break
		}
		b.used += w.n
		close(w.ready)
		b.waiters[0] = nil
		b.waiters = b.waiters[1:]
	}
	kept := b.waiters[:0]
	for _, w := range b.waiters {
		if w.n <= smallRequest && b.used+w.n <= b.size {
			b.used += w.n
			close(w.ready)
			continue
		}
		kept = append(kept, w)
	}
	clear(b.waiters[len(kept):])
	b.waiters = kept
}

// inUse is the bytes reserved now.
func (b *budget) inUse() int64 {
	if b == nil {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// waiting is the number of reservations waiting now.
func (b *budget) waiting() int {
	if b == nil {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.waiters)
}
