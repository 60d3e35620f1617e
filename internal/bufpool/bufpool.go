// Package bufpool recycles the large byte buffers of the request path (bodies, decoded blobs, encoded replies) by size class.
package bufpool

import (
	"math/bits"
	"sync"
)

const (
	// minShift: buffers up to 4 KiB are not pooled; allocating them is cheaper than the pool.
	minShift = 12
	// maxShift: buffers over 64 MiB are not pooled, so that one huge request does not stay resident.
	maxShift = 26
	// steps is the number of size classes per power of two: a buffer is at most 25% larger than
	// asked for (a PutRecords body of 5.6 MB gets 6 MiB, not 8).
	steps = 4
)

// Pool hands out buffers of at least a requested capacity and takes them back. Its zero value is ready
// and it is safe for concurrent use. Pooled memory is given back to the runtime over two garbage
// collections when unused (sync.Pool), so a burst of large requests does not pin memory for ever.
//
// Why: a PutRecords of 500 × 1 KiB is a 700 KB body and 512 KB of decoded data, a GetRecords reply up
// to 14 MB. Allocated fresh, each is zeroed by the runtime (memclr) and feeds the garbage collector
// a gigabyte a second at full load; recycled, neither.
type Pool struct {
	classes [(maxShift - minShift) * steps]sync.Pool // of *[]byte with cap exactly classSize(i)
}

// class returns the size class of the smallest class size holding n bytes, and that size; -1 when n
// is outside the pooled range. Class sizes between 2^k and 2^(k+1) are 2^k·(1+j/steps), j = 1..steps.
func class(n int) (int, int) {
	if n <= 1<<minShift || n > 1<<maxShift {
		return -1, 0
	}
	k := bits.Len(uint(n-1)) - 1 // 2^k < n <= 2^(k+1)
	step := 1 << (k - 2)         // steps == 4
	j := (n + step - 1) / step   // 5..8 steps of 2^(k-2)
	return (k-minShift)*steps + j - steps - 1, j * step
}

// Get returns a buffer of length 0 and capacity at least n. Its contents are unspecified.
func (p *Pool) Get(n int) []byte {
	c, size := class(n)
	if c < 0 {
		return make([]byte, 0, n)
	}
	if b, ok := p.classes[c].Get().(*[]byte); ok {
		return (*b)[:0]
	}
	return make([]byte, 0, size)
}

// Put gives b back for reuse. The caller must not use b (or any slice of it) afterwards. Buffers that
// did not come from Get with a pooled size (cap not a class size) are dropped.
func (p *Pool) Put(b []byte) {
	c, size := class(cap(b))
	if c < 0 || cap(b) != size {
		return
	}
	b = b[:0]
	p.classes[c].Put(&b)
}
