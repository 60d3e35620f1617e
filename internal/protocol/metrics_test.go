package protocol

import (
	"testing"
	"time"

	"kinesisd/internal/service"
)

// BenchmarkRequestMetrics is the metrics work of one PutRecords request of 500 records, from parallel
// goroutines: its request counter, its duration and its records and bytes (the data size summed over
// the records, an Add on each counter). Timings are for the note, never assertions.
func BenchmarkRequestMetrics(b *testing.B) {
	m := newMetrics()
	written := m.data("PutRecords")
	in := &service.PutRecordsInput{Records: make([]service.PutRecordsRequestEntry, 500)}
	for i := range in.Records {
		in.Records[i].Data = make([]byte, 1024)
	}
	out := &service.PutRecordsOutput{Records: make([]service.PutRecordsResultEntry, 500)}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			start := time.Now()
			m.request("PutRecords", "HTTP/1.1")
			countPut(written, nil, in, out)
			m.observe("PutRecords", start)
		}
	})
}
