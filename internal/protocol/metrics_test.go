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

// TestStreamLabelCap checks kinesisd_stream_records_total's stream label: each of the first limit
// streams written to has its own, every later one shares "(other)", by name or by ARN alike.
func TestStreamLabelCap(t *testing.T) {
	name := func(s string) service.StreamRef { return service.StreamRef{StreamName: &s} }
	arn := func(s string) service.StreamRef {
		a := "arn:aws:kinesis:us-east-1:000000000000:stream/" + s
		return service.StreamRef{StreamARN: &a}
	}
	m := newMetrics()
	m.streams.limit = 3
	d := dataCounter{records: m.records.WithLabelValues("PutRecords"), bytes: m.bytes.WithLabelValues("PutRecords"), streams: m.streams}
	writes := []struct {
		ref     service.StreamRef
		n, size int
	}{
		{name("a"), 2, 20}, {arn("b"), 1, 5}, {name("c"), 1, 1}, {name("d"), 4, 40}, {arn("e"), 1, 2},
		{arn("a"), 1, 10}, {name("d"), 0, 0},
	}
	for _, w := range writes {
		d.addStream(w.ref, w.n, w.size)
	}
	h := &Handler{metrics: m}
	got := h.StreamCounts()
	want := map[string]StreamCount{
		"a": {3, 30}, "b": {1, 5}, "c": {1, 1}, otherStreams: {5, 42},
	}
	if len(got) != len(want) {
		t.Errorf("labels %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %+v, want %+v", k, got[k], v)
		}
	}
	fams, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := map[string]float64{}
	for _, f := range fams {
		for _, s := range f.GetMetric() {
			if f.GetName() == "kinesisd_stream_records_total" || f.GetName() == "kinesisd_stream_record_bytes_total" {
				series[f.GetName()+"/"+s.GetLabel()[0].GetValue()] = s.GetCounter().GetValue()
			}
		}
	}
	if len(series) != 2*len(want) {
		t.Errorf("series %v, want %d", series, 2*len(want))
	}
	for k, v := range want {
		if got := series["kinesisd_stream_records_total/"+k]; got != float64(v.Records) {
			t.Errorf("kinesisd_stream_records_total{stream=%q} = %v, want %d", k, got, v.Records)
		}
		if got := series["kinesisd_stream_record_bytes_total/"+k]; got != float64(v.Bytes) {
			t.Errorf("kinesisd_stream_record_bytes_total{stream=%q} = %v, want %d", k, got, v.Bytes)
		}
	}
}
