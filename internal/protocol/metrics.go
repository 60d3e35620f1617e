package protocol

import (
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
)

// metrics counts requests by operation and HTTP protocol version, shown at GET /metrics in the
// Prometheus text format.
type metrics struct {
	mu       sync.RWMutex
	requests map[requestKey]*atomic.Int64
	errors   map[errorKey]*atomic.Int64
}

type requestKey struct{ op, proto string }
type errorKey struct{ op, code string }

func newMetrics() *metrics {
	return &metrics{requests: make(map[requestKey]*atomic.Int64), errors: make(map[errorKey]*atomic.Int64)}
}

func counter[K comparable](mu *sync.RWMutex, m map[K]*atomic.Int64, k K) *atomic.Int64 {
	mu.RLock()
	c := m[k]
	mu.RUnlock()
	if c != nil {
		return c
	}
	mu.Lock()
	defer mu.Unlock()
	if c = m[k]; c == nil {
		c = new(atomic.Int64)
		m[k] = c
	}
	return c
}

func (m *metrics) request(op, proto string) {
	counter(&m.mu, m.requests, requestKey{op, proto}).Add(1)
}

func (m *metrics) error(op, code string) {
	counter(&m.mu, m.errors, errorKey{op, code}).Add(1)
}

func (m *metrics) write(w io.Writer) {
	m.mu.RLock()
	var lines []string
	for k, c := range m.requests {
		lines = append(lines, fmt.Sprintf("kinesisd_http_requests_total{operation=%q,proto=%q} %d\n", k.op, k.proto, c.Load()))
	}
	var errLines []string
	for k, c := range m.errors {
		errLines = append(errLines, fmt.Sprintf("kinesisd_errors_total{operation=%q,code=%q} %d\n", k.op, k.code, c.Load()))
	}
	m.mu.RUnlock()
	slices.Sort(lines)
	slices.Sort(errLines)
	io.WriteString(w, "# HELP kinesisd_http_requests_total API requests by operation and HTTP protocol.\n# TYPE kinesisd_http_requests_total counter\n")
	for _, l := range lines {
		io.WriteString(w, l)
	}
	io.WriteString(w, "# HELP kinesisd_errors_total API errors by operation and error code.\n# TYPE kinesisd_errors_total counter\n")
	for _, l := range errLines {
		io.WriteString(w, l)
	}
}
