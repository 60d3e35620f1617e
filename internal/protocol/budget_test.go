package protocol

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestDefaultMaxRequestMemory(t *testing.T) {
	tests := []struct {
		memoryLimitMiB int
		want           int64
	}{
		{0, 256 << 20}, // no memory limit
		{192, 96 << 20},
		{128, 64 << 20},    // the default -memory-limit
		{100, 64 << 20},    // at least 64 MiB
		{1024, 512 << 20},  // half
		{-1, 256 << 20},    // as none
		{4096, 2048 << 20}, // half, however large
		{128, 64 << 20},    // half is the floor exactly
		{130, (130 << 20) / 2},
	}
	for _, tc := range tests {
		if got := DefaultMaxRequestMemory(tc.memoryLimitMiB); got != tc.want {
			t.Errorf("DefaultMaxRequestMemory(%d) = %d, want %d", tc.memoryLimitMiB, got, tc.want)
		}
	}
}

// acquireAsync starts b.acquire(n) and returns the channel its result arrives on.
func acquireAsync(ctx context.Context, b *budget, n int64, wait time.Duration) <-chan error {
	done := make(chan error, 1)
	go func() { done <- b.acquire(ctx, n, wait) }()
	return done
}

// waitWaiting waits until b has n reservations waiting.
func waitWaiting(t *testing.T, b *budget, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for b.waiting() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d waiting, want %d", b.waiting(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestBudget(t *testing.T) {
	const mib = 1 << 20
	t.Run("grants in order as memory is released", func(t *testing.T) {
		b := newBudget(64 * mib) // large ones may take 56 MiB together
		if err := b.acquire(t.Context(), 40*mib, time.Minute); err != nil {
			t.Fatal(err)
		}
		first := acquireAsync(t.Context(), b, 30*mib, time.Minute)
		waitWaiting(t, b, 1)
		second := acquireAsync(t.Context(), b, 10*mib, time.Minute) // would fit, but waits its turn
		waitWaiting(t, b, 2)
		b.release(40 * mib)
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		if err := <-second; err != nil {
			t.Fatal(err)
		}
		if got := b.inUse(); got != 40*mib {
			t.Fatalf("in use %d, want %d", got, 40*mib)
		}
		b.release(30 * mib)
		b.release(10 * mib)
		if got := b.inUse(); got != 0 {
			t.Fatalf("in use %d after every release", got)
		}
	})
	t.Run("small requests pass waiting large ones and use the reserved eighth", func(t *testing.T) {
		b := newBudget(64 * mib)
		if err := b.acquire(t.Context(), 56*mib, time.Minute); err != nil {
			t.Fatal(err)
		}
		large := acquireAsync(t.Context(), b, 2*mib, time.Minute)
		waitWaiting(t, b, 1)
		for range 7 { // 7 MiB of small requests in the last eighth
			if err := b.acquire(t.Context(), mib, time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		if got := b.inUse(); got != 63*mib {
			t.Fatalf("in use %d, want %d", got, 63*mib)
		}
		b.release(56 * mib)
		if err := <-large; err != nil {
			t.Fatal(err)
		}
	})
	t.Run("larger than the bound is refused at once", func(t *testing.T) {
		b := newBudget(64 * mib)
		start := time.Now()
		if err := b.acquire(t.Context(), 57*mib, time.Hour); !errors.Is(err, errMemoryTooLarge) {
			t.Fatalf("err %v, want errMemoryTooLarge", err)
		}
		if time.Since(start) > time.Second || b.waiting() != 0 || b.inUse() != 0 {
			t.Fatal("a request larger than the bound waited or holds memory")
		}
	})
	t.Run("a wait that ends refuses and leaves nothing held", func(t *testing.T) {
		b := newBudget(64 * mib)
		if err := b.acquire(t.Context(), 50*mib, time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := b.acquire(t.Context(), 10*mib, 20*time.Millisecond); !errors.Is(err, errMemoryBusy) {
			t.Fatalf("err %v, want errMemoryBusy", err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := acquireAsync(ctx, b, 10*mib, time.Hour)
		waitWaiting(t, b, 1)
		cancel()
		if err := <-done; !errors.Is(err, errMemoryBusy) {
			t.Fatalf("err %v after cancel, want errMemoryBusy", err)
		}
		if b.waiting() != 0 || b.inUse() != 50*mib {
			t.Fatalf("waiting %d, in use %d after the refusals", b.waiting(), b.inUse())
		}
	})
	t.Run("nil is unbounded", func(t *testing.T) {
		var b *budget = newBudget(-1)
		if err := b.acquire(t.Context(), 1<<40, 0); err != nil {
			t.Fatal(err)
		}
		b.release(1 << 40)
	})
}
