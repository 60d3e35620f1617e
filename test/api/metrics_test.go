package api_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"kinesisd/internal/kinesistest"
)

// families is a scrape of GET /metrics, parsed.
type families map[string]*dto.MetricFamily

// scrape reads and parses the server's GET /metrics.
func scrape(t *testing.T, s *kinesistest.Server) families {
	t.Helper()
	resp, err := http.Get(s.Endpoint + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// metric returns the sample of family name whose labels are exactly labels (name=value pairs), or
// nil.
func (f families) metric(name string, labels ...string) *dto.Metric {
	fam := f[name]
	if fam == nil {
		return nil
	}
next:
	for _, m := range fam.Metric {
		if len(m.Label) != len(labels)/2 {
			continue
		}
		for _, l := range m.Label {
			found := false
			for i := 0; i+1 < len(labels); i += 2 {
				if labels[i] == l.GetName() && labels[i+1] == l.GetValue() {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		return m
	}
	return nil
}

// value is the value of a counter or gauge sample, -1 when it is absent.
func (f families) value(name string, labels ...string) float64 {
	m := f.metric(name, labels...)
	switch {
	case m == nil:
		return -1
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	}
	return -1
}

// want checks a counter or gauge sample's value.
func (f families) want(t *testing.T, v float64, name string, labels ...string) {
	t.Helper()
	if got := f.value(name, labels...); got != v {
		t.Errorf("%s%v = %v, want %v", name, labels, got, v)
	}
}

// histogramCount is the sample count of a histogram, -1 when it is absent.
func (f families) histogramCount(name string, labels ...string) int64 {
	m := f.metric(name, labels...)
	if m == nil || m.Histogram == nil {
		return -1
	}
	return int64(m.Histogram.GetSampleCount())
}

// pollMetric scrapes until the sample is v, for up to 10 seconds, and fails otherwise.
func pollMetric(t *testing.T, s *kinesistest.Server, v float64, name string, labels ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var got float64
	for time.Now().Before(deadline) {
		if got = scrape(t, s).value(name, labels...); got == v {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s%v = %v after 10s, want %v", name, labels, got, v)
}

// TestMetrics writes records with PutRecords, reads them back with GetRecords and through
// SubscribeToShard, fails one request, and checks what GET /metrics reports of it all.
func TestMetrics(t *testing.T) {
	eachEngineWith(t, withSubscribe(5*time.Minute, 200*time.Millisecond), func(t *testing.T, s *kinesistest.Server) {
		createStream(t, s.Client, "m", 1)
		calls := []int{10, 10, 7}
		var n, size int
		for call, count := range calls {
			entries := make([]types.PutRecordsRequestEntry, count)
			for i := range entries {
				data := []byte(fmt.Sprintf("record %d of call %d%*s", i, call, i*13, ""))
				entries[i] = types.PutRecordsRequestEntry{Data: data, PartitionKey: aws.String("k")}
				n, size = n+1, size+len(data)
			}
			out, err := s.Client.PutRecords(t.Context(), &kinesis.PutRecordsInput{StreamName: aws.String("m"), Records: entries})
			if err != nil || aws.ToInt32(out.FailedRecordCount) != 0 {
				t.Fatalf("PutRecords: %v, %d failed", err, aws.ToInt32(out.FailedRecordCount))
			}
		}
		if got := readShard(t, s, "m", shard0); len(got) != n {
			t.Fatalf("read %d records, want %d", len(got), n)
		}
		_, err := s.Client.DescribeStreamSummary(t.Context(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("missing")})
		wantAPIError(t, err, "ResourceNotFoundException", 400, "")

		f := scrape(t, s)
		f.want(t, float64(n), "kinesisd_records_total", "operation", "PutRecords")
		f.want(t, float64(size), "kinesisd_record_bytes_total", "operation", "PutRecords")
		f.want(t, float64(n), "kinesisd_records_total", "operation", "GetRecords")
		f.want(t, float64(size), "kinesisd_record_bytes_total", "operation", "GetRecords")
		f.want(t, 0, "kinesisd_records_total", "operation", "SubscribeToShard")
		f.want(t, 1, "kinesisd_errors_total", "operation", "DescribeStreamSummary", "code", "ResourceNotFoundException")
		if got := f.histogramCount("kinesisd_request_duration_seconds", "operation", "PutRecords"); got != int64(len(calls)) {
			t.Errorf("kinesisd_request_duration_seconds{operation=PutRecords} count %d, want %d", got, len(calls))
		}
		var proto string
		for _, m := range f["kinesisd_http_requests_total"].GetMetric() {
			for _, l := range m.Label {
				if l.GetName() == "proto" && m.Counter.GetValue() > 0 {
					proto = l.GetValue()
				}
			}
		}
		f.want(t, float64(len(calls)), "kinesisd_http_requests_total", "operation", "PutRecords", "proto", proto)
		if f.value("go_goroutines") <= 0 {
			t.Errorf("go_goroutines = %v", f.value("go_goroutines"))
		}
		if f.value("process_resident_memory_bytes") <= 0 {
			t.Errorf("process_resident_memory_bytes = %v", f.value("process_resident_memory_bytes"))
		}
		f.want(t, 0, "kinesisd_subscriptions_open")
		if s.NATS == nil { // the Pebble engine reports its storage figures
			if v := f.value("kinesisd_storage_disk_bytes"); v <= 0 {
				t.Errorf("kinesisd_storage_disk_bytes = %v", v)
			}
			for _, name := range []string{"kinesisd_storage_wal_bytes", "kinesisd_storage_memtable_bytes", "kinesisd_storage_l0_files", "kinesisd_storage_compaction_debt_bytes"} {
				if v := f.value(name); v < 0 {
					t.Errorf("%s absent", name)
				}
			}
		} else if f.value("kinesisd_storage_disk_bytes") != -1 {
			t.Error("kinesisd_storage_disk_bytes on an engine without storage figures")
		}

		arn := *register(t, s.Client, "m", "c").ConsumerARN
		sub := mustSubscribe(t, s, arn, types.StartingPosition{Type: types.ShardIteratorTypeTrimHorizon})
		f = scrape(t, s)
		f.want(t, 1, "kinesisd_subscriptions_open")
		if got := f.histogramCount("kinesisd_request_duration_seconds", "operation", "SubscribeToShard"); got != 1 {
			t.Errorf("kinesisd_request_duration_seconds{operation=SubscribeToShard} count %d, want 1", got)
		}
		sub.collect(n)
		pollMetric(t, s, float64(n), "kinesisd_records_total", "operation", "SubscribeToShard")
		scrape(t, s).want(t, float64(size), "kinesisd_record_bytes_total", "operation", "SubscribeToShard")
		sub.Stream.Close()
		pollMetric(t, s, 0, "kinesisd_subscriptions_open")
	})
}
