package stream

import "sync"

// Resharding closes shards and opens their children in one compare-and-set of the stream document,
// when the UPDATING that the request started ends (pending.go). A closed shard's EndOffset is its log's
// NextOffset when it closed, so no record may be appended to it after that read: writers hold their
// stream's gate shared from routing to the end of their Append (States.HoldWrites), and a change that
// closes shards holds it exclusively from reading the end offsets to saving the document
// (States.Reshard, States.ApplyDue). The gate is per process: front-ends sharing one distributed store
// do not see each other's gates. Against those the end is read with storage.Store.Seal, after which the
// store refuses the shard's records (a storage.SealedError) and the writer routes them again.

// gates hands out one write gate per stream name, for as long as someone holds or waits for it: the
// map holds the gates in use, never those of streams nobody writes to or reshards.
type gates struct {
	mu sync.Mutex
	m  map[string]*gate
}

type gate struct {
	sync.RWMutex
	users int // holders and waiters; guarded by gates.mu
}

// acquire returns the gate of name, counting the caller as a user until release.
func (g *gates) acquire(name string) *gate {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.m == nil {
		g.m = make(map[string]*gate)
	}
	gt := g.m[name]
	if gt == nil {
		gt = new(gate)
		g.m[name] = gt
	}
	gt.users++
	return gt
}

// release ends a use of name's gate (after unlocking it); the last user drops it from the map.
func (g *gates) release(name string, gt *gate) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if gt.users--; gt.users == 0 {
		delete(g.m, name)
	}
}

// len is the number of gates in use.
func (g *gates) len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.m)
}
