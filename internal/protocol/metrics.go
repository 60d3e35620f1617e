package protocol

import (
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"kinesisd/internal/service"
)

// durationBuckets are the upper bounds, in seconds, of kinesisd_request_duration_seconds: from half a
// millisecond (a cached describe) to ten seconds (a write stalled behind the disk).
var durationBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// metrics is the handler's Prometheus instrumentation, on a registry of its own (several servers may
// run in one process): requests, errors, durations and records by operation, open subscriptions, and
// the Go runtime and process collectors. GET /metrics serves the registry.
type metrics struct {
	reg           *prometheus.Registry
	requests      *prometheus.CounterVec   // kinesisd_http_requests_total{operation,proto}
	errors        *prometheus.CounterVec   // kinesisd_errors_total{operation,code}
	duration      *prometheus.HistogramVec // kinesisd_request_duration_seconds{operation}
	records       *prometheus.CounterVec   // kinesisd_records_total{operation}
	bytes         *prometheus.CounterVec   // kinesisd_record_bytes_total{operation}
	subscriptions prometheus.Gauge         // kinesisd_subscriptions_open
	subscribed    dataCounter              // the records SubscribeToShard delivered
	memoryRefused prometheus.Counter       // kinesisd_request_memory_refused_total
	streams       *streamCounters          // kinesisd_stream_records_total{stream}, kinesisd_stream_record_bytes_total{stream}
	handler       http.Handler
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kinesisd_http_requests_total", Help: "API requests by operation and HTTP protocol.",
		}, []string{"operation", "proto"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kinesisd_errors_total", Help: "API errors by operation and error code.",
		}, []string{"operation", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kinesisd_request_duration_seconds",
			Help:    "Time from a request's arrival to its response, by operation (SubscribeToShard: to the initial response).",
			Buckets: durationBuckets,
		}, []string{"operation"}),
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kinesisd_records_total",
			Help: "Records written (PutRecord, PutRecords: successful records only), returned (GetRecords) and delivered (SubscribeToShard).",
		}, []string{"operation"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kinesisd_record_bytes_total",
			Help: "Data bytes of the records counted in kinesisd_records_total (partition keys excluded).",
		}, []string{"operation"}),
		subscriptions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kinesisd_subscriptions_open", Help: "SubscribeToShard event streams open now.",
		}),
	}
	m.memoryRefused = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "kinesisd_request_memory_refused_total",
		Help: "Requests refused (InternalFailureException) because the bound on request memory had no room for their body.",
	})
	m.streams = newStreamCounters(streamLabelLimit)
	m.reg.MustRegister(m.requests, m.errors, m.duration, m.records, m.bytes, m.subscriptions, m.memoryRefused,
		m.streams.records, m.streams.bytes,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.subscribed = m.data("SubscribeToShard")
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return m
}

// watchBudget exports the request memory reserved in b as kinesisd_request_memory_bytes (and its
// bound as kinesisd_request_memory_limit_bytes; none when b is nil, unbounded).
func (m *metrics) watchBudget(b *budget) {
	if b == nil {
		return
	}
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "kinesisd_request_memory_bytes",
			Help: "Request memory reserved now: bodies in flight and the decoded copies of their records.",
		}, func() float64 { return float64(b.inUse()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "kinesisd_request_memory_limit_bytes", Help: "The bound on request memory (-max-request-memory).",
		}, func() float64 { return float64(b.size) }),
	)
}

func (m *metrics) error(op, code string) {
	m.errors.WithLabelValues(op, code).Inc()
}

// dataCounter counts the records and data bytes of one operation (kinesisd_records_total and
// kinesisd_record_bytes_total): an Add on each per call.
type dataCounter struct {
	records, bytes prometheus.Counter
	streams        *streamCounters // for addStream
}

// data returns op's record counters, made now so that they read 0 before the first record.
func (m *metrics) data(op string) dataCounter {
	return dataCounter{records: m.records.WithLabelValues(op), bytes: m.bytes.WithLabelValues(op), streams: m.streams}
}

// addStream counts n records of size data bytes written to the stream ref names, in the operation's
// counters and in the stream's (kinesisd_stream_records_total).
func (d dataCounter) addStream(ref service.StreamRef, n, size int) {
	d.add(n, size)
	if n > 0 && d.streams != nil {
		d.streams.add(streamName(ref), n, size)
	}
}

// streamName is the name of the stream ref names, by name or by ARN (after "stream/").
func streamName(ref service.StreamRef) string {
	if ref.StreamName != nil {
		return *ref.StreamName
	}
	if ref.StreamARN != nil {
		if _, name, ok := strings.Cut(*ref.StreamARN, ":stream/"); ok {
			return name
		}
	}
	return ""
}

const (
	// streamLabelLimit bounds the stream label of kinesisd_stream_records_total: the first this many
	// streams written to get a label of their own, the later ones share otherStreams, so that a client
	// creating streams without end cannot grow /metrics without end.
	streamLabelLimit = 100
	// otherStreams is the label of the streams past streamLabelLimit: the parentheses are not allowed
	// in a stream name, so it is never a stream's own.
	otherStreams = "(other)"
)

// streamCounters are the records and data bytes written (PutRecord, PutRecords) by stream name, for
// /metrics and the console's rates (Handler.StreamCounts). Names are not told apart by account or
// region. It is safe for concurrent use.
type streamCounters struct {
	records, bytes *prometheus.CounterVec
	limit          int
	byName         sync.Map // stream name or otherStreams → *streamCount
	mu             sync.Mutex
	labelled       int // names with a label of their own (mu)
}

// streamCount is one label's counters, and their totals for StreamCounts.
type streamCount struct {
	records, bytes prometheus.Counter
	n, size        atomic.Uint64
}

func newStreamCounters(limit int) *streamCounters {
	return &streamCounters{
		limit: limit,
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kinesisd_stream_records_total",
			Help: "Records written (PutRecord, PutRecords: successful records only) by stream name; streams past the first 100 share the label (other).",
		}, []string{"stream"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kinesisd_stream_record_bytes_total",
			Help: "Data bytes of the records counted in kinesisd_stream_records_total.",
		}, []string{"stream"}),
	}
}

// counter returns the counters of name's label: its own while fewer than limit names have one,
// otherStreams' after.
func (c *streamCounters) counter(name string) *streamCount {
	if v, ok := c.byName.Load(name); ok {
		return v.(*streamCount)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.byName.Load(name); ok {
		return v.(*streamCount)
	}
	label := name
	if c.labelled >= c.limit {
		label = otherStreams
		if v, ok := c.byName.Load(label); ok {
			return v.(*streamCount)
		}
	} else {
		c.labelled++
	}
	sc := &streamCount{records: c.records.WithLabelValues(label), bytes: c.bytes.WithLabelValues(label)}
	c.byName.Store(label, sc)
	return sc
}

func (c *streamCounters) add(name string, n, size int) {
	sc := c.counter(name)
	sc.records.Add(float64(n))
	sc.bytes.Add(float64(size))
	sc.n.Add(uint64(n))
	sc.size.Add(uint64(size))
}

// StreamCount is the records and data bytes written to a stream since the server started.
type StreamCount struct {
	Records, Bytes uint64
}

// StreamCounts returns the records and bytes written so far by stream label: a stream's name, or
// "(other)" for the streams past the first 100 (kinesisd_stream_records_total's labels).
func (h *Handler) StreamCounts() map[string]StreamCount {
	out := map[string]StreamCount{}
	h.metrics.streams.byName.Range(func(k, v any) bool {
		sc := v.(*streamCount)
		out[k.(string)] = StreamCount{Records: sc.n.Load(), Bytes: sc.size.Load()}
		return true
	})
	return out
}

// add counts n records of size data bytes.
func (d dataCounter) add(n, size int) {
	if n > 0 {
		d.records.Add(float64(n))
		d.bytes.Add(float64(size))
	}
}

// request counts a request of operation op over HTTP protocol proto.
func (m *metrics) request(op, proto string) {
	m.requests.WithLabelValues(op, proto).Inc()
}

// observe records the time since start in op's duration histogram.
func (m *metrics) observe(op string, start time.Time) {
	m.duration.WithLabelValues(op).Observe(time.Since(start).Seconds())
}
