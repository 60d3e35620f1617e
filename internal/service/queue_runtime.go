package service

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// queueRuntime is what this process keeps for queues: a channel per queue that long polls wait on,
// closed when a change in this process may have made records visible (a visibility set to 0, a
// restore). Appends wake polls through the store (storage.Store.Wait), and timers the deadlines.
type queueRuntime struct {
	mu    sync.Mutex
	wake  map[string]chan struct{}
	slots map[string]*queueSlot // queue_state.go
	names sync.Map              // ARN id → queue name, as the index documents say (ids never change)
}

// waiter returns the channel that the next notify of key closes.
func (r *queueRuntime) waiter(key string) <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.wake == nil {
		r.wake = make(map[string]chan struct{})
	}
	c := r.wake[key]
	if c == nil {
		c = make(chan struct{})
		r.wake[key] = c
	}
	return c
}

// notify wakes the polls waiting on key.
func (r *queueRuntime) notify(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c := r.wake[key]; c != nil {
		close(c)
		delete(r.wake, key)
	}
}

// queueSlot is this process's copy of one queue state document. Its mutex is held across one
// read-modify-write of the state and never with another slot's.
type queueSlot struct {
	mu        sync.Mutex
	loaded    bool   // raw and version are the store's as last read or written here
	raw       []byte // nil: the document does not exist (version 0)
	version   uint64
	horizon   uint64 // the shard's retention horizon, looked up at horizonAt
	horizonAt time.Time
	// seen is raw and version for readers that only look (a receive choosing its shards), so that
	// they need not wait for mu while a write is under way; set with them, under mu.
	seen atomic.Pointer[slotCopy]
}

// slotCopy is a queueSlot's raw and version at one moment.
type slotCopy struct {
	raw     []byte
	version uint64
}

// set records raw and version as the store's. Hold sl.mu.
func (sl *queueSlot) set(raw []byte, version uint64) {
	sl.raw, sl.version, sl.loaded = raw, version, true
	sl.seen.Store(&slotCopy{raw: raw, version: version})
}

// slot returns the slot of the state stored under key.
func (r *queueRuntime) slot(key string) *queueSlot {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.slots == nil {
		r.slots = make(map[string]*queueSlot)
	}
	sl := r.slots[key]
	if sl == nil {
		sl = &queueSlot{}
		r.slots[key] = sl
	}
	return sl
}

// forget drops the slots of the keys under prefix (a deleted queue's).
func (r *queueRuntime) forget(prefix string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k := range r.slots {
		if strings.HasPrefix(k, prefix) {
			delete(r.slots, k)
		}
	}
}
