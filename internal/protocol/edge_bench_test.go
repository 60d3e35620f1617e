//go:build unix

package protocol

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	fxcbor "github.com/fxamacker/cbor/v2"

	"kinesisd/internal/protocol/awsjson"
	"kinesisd/internal/protocol/cbor"
	"kinesisd/internal/service"
	"kinesisd/internal/storage"
	"kinesisd/internal/storage/pebble"
)

// edgeStore is the in-memory engine for metadata with records that cost nothing: Append numbers them
// and drops them, Read returns the same 10,000 records of 1 KiB from any offset. What is left of a
// PutRecords or GetRecords is the edge and the service: request read, decoding, routing, reply.
type edgeStore struct {
	storage.Store
	mu   sync.Mutex
	next uint64
	recs []storage.Record
}

func (s *edgeStore) Append(_ context.Context, appends []storage.Append) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range appends {
		for i := range a.Records {
			a.Records[i].Offset = s.next
			s.next++
		}
	}
	return nil
}

func (s *edgeStore) Read(_ context.Context, _ storage.ShardRef, from uint64, maxRecords, _ int) ([]storage.Record, error) {
	recs := make([]storage.Record, min(maxRecords, len(s.recs)))
	copy(recs, s.recs)
	for i := range recs {
		recs[i].Offset = from + uint64(i)
	}
	return recs, nil
}

func (s *edgeStore) NextOffset(context.Context, storage.ShardRef) (uint64, error) {
	return 1 << 40, nil
}

// edgeHandler is a handler over an edgeStore with a stream "bench" of 4 shards.
func edgeHandler(b *testing.B) *Handler {
	st, err := pebble.Open(pebble.Options{InMemory: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	es := &edgeStore{Store: st, recs: make([]storage.Record, 10000)}
	data := bytes.Repeat([]byte{0xa5}, 1024)
	for i := range es.recs {
		es.recs[i] = storage.Record{ArrivalMilli: 1767225600000 + int64(i), PartitionKey: fmt.Sprintf("pk-%012d", i), Data: data}
	}
	svc, err := service.New(context.Background(), service.Config{Store: es, Account: "000000000000", Region: "us-east-1", ShardLimit: 10})
	if err != nil {
		b.Fatal(err)
	}
	h := New(svc, Options{})
	if w := serve(h, "CreateStream", []byte(`{"StreamName":"bench","ShardCount":4}`)); w.Code != 200 {
		b.Fatalf("CreateStream: %d %s", w.Code, w.Body)
	}
	return h
}

// discard is a ResponseWriter that keeps the status and the bytes' count only: a GetRecords reply of
// 14 MB into an httptest.ResponseRecorder would cost more than writing it.
type discard struct {
	hdr    http.Header
	status int
	n      int
}

func (d *discard) Header() http.Header         { return d.hdr }
func (d *discard) WriteHeader(code int)        { d.status = code }
func (d *discard) Write(b []byte) (int, error) { d.n += len(b); return len(b), nil }

// serveCT serves one request of content type ct into a discard.
func serveCT(h http.Handler, op, ct string, body []byte) *discard {
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	req.Header.Set("X-Amz-Target", "Kinesis_20131202."+op)
	req.Header.Set("X-Amz-Date", "20260101T000000Z")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcd")
	w := &discard{hdr: http.Header{}, status: 200}
	h.ServeHTTP(w, req)
	return w
}

// BenchmarkEdgePutRecords is PutRecords of 500 records × 1 KiB (16-byte partition keys, as `kinesisd
// bench` sends them) through the handler over an edgeStore, in JSON and CBOR: the server's cost per
// record outside the engine. Timings are for the note, never assertions.
func BenchmarkEdgePutRecords(b *testing.B) {
	const records, size = 500, 1024
	data := bytes.Repeat([]byte{0xa5}, size)
	var js strings.Builder
	js.WriteString(`{"StreamName":"bench","Records":[`)
	type entry struct {
		Data         []byte
		PartitionKey string
	}
	entries := make([]entry, records)
	for i := range records {
		if i > 0 {
			js.WriteByte(',')
		}
		key := fmt.Sprintf("%016x", uint64(i)*0x9e3779b97f4a7c15)
		fmt.Fprintf(&js, `{"Data":"%s","PartitionKey":"%s"}`, base64.StdEncoding.EncodeToString(data), key)
		entries[i] = entry{data, key}
	}
	js.WriteString(`]}`)
	cb, err := fxcbor.Marshal(struct {
		StreamName string
		Records    []entry
	}{"bench", entries})
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name, ct string
		body     []byte
	}{{"json", awsjson.ContentType, []byte(js.String())}, {"cbor", cbor.ContentType, cb}} {
		b.Run(tc.name, func(b *testing.B) {
			h := edgeHandler(b)
			b.SetBytes(records * size)
			b.ReportAllocs()
			cpu := cpuTime()
			for b.Loop() {
				if w := serveCT(h, "PutRecords", tc.ct, tc.body); w.status != 200 {
					b.Fatalf("PutRecords: %d", w.status)
				}
			}
			reportPerRecord(b, records, cpu)
		})
	}
}

// BenchmarkEdgeGetRecords is GetRecords of 10,000 records × 1 KiB through the handler over an
// edgeStore, in JSON and CBOR: the read-back's cost per record outside the engine.
func BenchmarkEdgeGetRecords(b *testing.B) {
	const records = 10000
	for _, name := range []string{"json", "cbor"} {
		b.Run(name, func(b *testing.B) {
			h := edgeHandler(b)
			w := serve(h, "GetShardIterator", []byte(`{"StreamName":"bench","ShardId":"shardId-000000000001","ShardIteratorType":"TRIM_HORIZON"}`))
			var it struct{ ShardIterator string }
			if err := json.Unmarshal(w.Body.Bytes(), &it); w.Code != 200 || err != nil {
				b.Fatalf("GetShardIterator: %d %s", w.Code, w.Body)
			}
			ct, body := awsjson.ContentType, []byte(fmt.Sprintf(`{"ShardIterator":%q,"Limit":%d}`, it.ShardIterator, records))
			if name == "cbor" {
				ct, body = cbor.ContentType, must(fxcbor.Marshal(map[string]any{"ShardIterator": it.ShardIterator, "Limit": records}))
			}
			b.SetBytes(records * 1024)
			b.ReportAllocs()
			cpu := cpuTime()
			for b.Loop() {
				if w := serveCT(h, "GetRecords", ct, body); w.status != 200 || w.n < records*1024 {
					b.Fatalf("GetRecords: %d, %d bytes", w.status, w.n)
				}
			}
			reportPerRecord(b, records, cpu)
		})
	}
}

// cpuTime is the CPU time the process has used, garbage collection included.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportPerRecord reports the time and the CPU time (since cpu, a cpuTime) per record of b's calls of
// records each: the CPU time is the figure to compare on a machine shared with other work.
func reportPerRecord(b *testing.B, records int, cpu time.Duration) {
	n := float64(records * b.N)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/record")
	b.ReportMetric(float64((cpuTime()-cpu).Nanoseconds())/n, "cpu-ns/record")
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
