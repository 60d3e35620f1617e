package protocol

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"kinesisd/internal/service"
	"kinesisd/internal/storage/pebble"
)

// BenchmarkPutRecordsDurable is the server's PutRecords path without the socket: JSON requests of 500
// records × 1 KiB over 4 shards from 8 goroutines into the handler, on the durable on-disk engine, as
// `kinesisd bench` loads the server. Run with -benchmem: allocations per request are what the pooled
// buffers and the fast codec are for. Timings are for the note, never assertions.
func BenchmarkPutRecordsDurable(b *testing.B) {
	const records, size, goroutines = 500, 1024, 8
	st, err := pebble.Open(pebble.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	svc, err := service.New(context.Background(), service.Config{Store: st, Account: "000000000000", Region: "us-east-1", ShardLimit: 10})
	if err != nil {
		b.Fatal(err)
	}
	h := New(svc, Options{})
	if w := serve(h, "CreateStream", []byte(`{"StreamName":"bench","ShardCount":4}`)); w.Code != 200 {
		b.Fatalf("CreateStream: %d %s", w.Code, w.Body)
	}
	data := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xa5}, size))
	var js strings.Builder
	js.WriteString(`{"StreamName":"bench","Records":[`)
	for i := range records {
		if i > 0 {
			js.WriteByte(',')
		}
		fmt.Fprintf(&js, `{"Data":"%s","PartitionKey":"pk-%d"}`, data, i)
	}
	js.WriteString(`]}`)
	body := []byte(js.String())

	b.SetBytes(records * size)
	b.ReportAllocs()
	b.SetParallelism(max(1, goroutines/runtime.GOMAXPROCS(0))) // RunParallel starts GOMAXPROCS × this many
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if w := serve(h, "PutRecords", body); w.Code != 200 {
				b.Errorf("PutRecords: %d %s", w.Code, w.Body)
				return
			}
		}
	})
	b.ReportMetric(float64(records*b.N)/b.Elapsed().Seconds(), "records/s")
}

// serve serves one signed-looking AWS JSON request in process.
func serve(h http.Handler, op string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "Kinesis_20131202."+op)
	req.Header.Set("X-Amz-Date", "20260101T000000Z")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcd")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}
