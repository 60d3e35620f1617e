package storage

import (
	"context"
	"sync"
)

// Gate admits an engine's operations until the engine closes. Each operation holds it shared for its
// whole length and Close holds it exclusively, so that closing waits for the operations in flight and
// every later one fails with ErrClosed. The zero value is open.
type Gate struct {
	mu     sync.RWMutex
	closed bool
}

// Enter admits an operation, to be paired with Leave. It fails with ErrClosed once the gate is closed,
// or with ctx's error when ctx is done.
func (g *Gate) Enter(ctx context.Context) error {
	g.mu.RLock()
	if g.closed {
		g.mu.RUnlock()
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		g.mu.RUnlock()
		return err
	}
	return nil
}

// Leave ends an operation that Enter admitted.
func (g *Gate) Leave() { g.mu.RUnlock() }

// Close waits for the operations in flight, closes the gate and runs release while no operation can
// start, returning its error. Closing a closed gate returns ErrClosed and does not call release.
func (g *Gate) Close(release func() error) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return ErrClosed
	}
	g.closed = true
	return release()
}
