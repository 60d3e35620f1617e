// Package ratelimit counts usage per key in fixed one-second windows of a clock, so that AWS's
// per-second limits hold exactly and tests drive them by moving a fake clock.
package ratelimit

import (
	"sync"
	"time"
)

// Windows holds one window per key. Lock it around Window and the use of what it returns.
type Windows struct {
	mu      sync.Mutex
	windows map[any]*Window
}

// Window is one key's usage in one second.
type Window struct {
	second int64
	Count  int
	Bytes  int
	// Until (ms): calls before this time are refused (reads after a large GetRecords); it is kept
	// across seconds.
	Until int64
}

// maxKeys is how many windows Windows keeps before it forgets those of past seconds.
const maxKeys = 100_000

// New returns empty Windows.
func New() *Windows { return &Windows{windows: make(map[any]*Window)} }

// Lock locks r.
func (r *Windows) Lock() { r.mu.Lock() }

// Unlock unlocks r.
func (r *Windows) Unlock() { r.mu.Unlock() }

// Window returns key's window for the second of now, reset if that second is new. The caller holds
// r's lock.
func (r *Windows) Window(key any, now time.Time) *Window {
	sec := now.Unix()
	w := r.windows[key]
	if w == nil {
		if len(r.windows) > maxKeys {
			r.sweep(sec)
		}
		w = &Window{second: sec}
		r.windows[key] = w
	}
	if w.second != sec {
		*w = Window{second: sec, Until: w.Until}
	}
	return w
}

// sweep forgets windows of past seconds, bounding memory when keys come and go.
func (r *Windows) sweep(sec int64) {
	for k, w := range r.windows {
		if w.second != sec && w.Until <= sec*1000 {
			delete(r.windows, k)
		}
	}
}
