package service

import (
	"kinesisd/internal/kms"
	"sync"
)

// The data keys this process has unwrapped, per stream incarnation (recordkeys.go uses them).

// dataKeys caches the data keys this process has unwrapped.
type dataKeys struct {
	mu sync.Mutex
	m  map[dataKeyRef]*kms.DataKey
}

type dataKeyRef struct {
	stream uint64 // incarnation
	id     string
}

func (c *dataKeys) get(ref dataKeyRef) *kms.DataKey {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[ref]
}

func (c *dataKeys) put(ref dataKeyRef, dk *kms.DataKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[dataKeyRef]*kms.DataKey)
	}
	c.m[ref] = dk
}

// forget drops the data keys of a stream incarnation that is gone.
func (c *dataKeys) forget(streamID uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for ref := range c.m {
		if ref.stream == streamID {
			delete(c.m, ref)
		}
	}
}
