package kms

import (
	"sync"
	"time"
)

// budget is the KMS call budget of every account: a token bucket per account, refilled at rate
// tokens per second up to one second's worth (at least one token).
type budget struct {
	rate  float64
	burst float64

	mu      sync.Mutex // guards buckets
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newBudget(rate float64) *budget {
	return &budget{rate: rate, burst: max(rate, 1), buckets: make(map[string]*bucket)}
}

// take spends one token of account's bucket at now, and reports false, spending nothing, when the
// bucket is empty.
func (b *budget) take(account string, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	bk, ok := b.buckets[account]
	if !ok {
		bk = &bucket{tokens: b.burst, last: now}
		b.buckets[account] = bk
	}
	if elapsed := now.Sub(bk.last); elapsed > 0 {
		bk.tokens = min(b.burst, bk.tokens+elapsed.Seconds()*b.rate)
		bk.last = now
	}
	if bk.tokens < 1 {
		return false
	}
	bk.tokens--
	return true
}
