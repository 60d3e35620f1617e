package protocol

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
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
	m.reg.MustRegister(m.requests, m.errors, m.duration, m.records, m.bytes, m.subscriptions, m.memoryRefused,
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
}

// data returns op's record counters, made now so that they read 0 before the first record.
func (m *metrics) data(op string) dataCounter {
	return dataCounter{records: m.records.WithLabelValues(op), bytes: m.bytes.WithLabelValues(op)}
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
