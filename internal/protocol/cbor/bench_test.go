// Package cbor_test checks the CBOR codec from outside: fixtures replayed and read by an independent decoder.
package cbor_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"kinesisd/internal/config"
	"kinesisd/internal/protocol"
	"kinesisd/internal/protocol/awsjson"
	"kinesisd/internal/protocol/cbor"
	"kinesisd/internal/service"
	"kinesisd/internal/storage/pebble"
)

// BenchmarkPutRecords sends PutRecords of 500 records of 1 KiB to the in-process handler (no socket)
// over the in-memory engine, as JSON and as CBOR, and reports records/s. Timings are for the note, not
// assertions: run with go test -run '^$' -bench PutRecords ./internal/protocol/cbor/.
func BenchmarkPutRecords(b *testing.B) {
	const records, size = 500, 1024
	bodies := putRecordsBodies()
	for _, bb := range bodies {
		b.Run(bb.name, func(b *testing.B) {
			h := benchHandler(b)
			call := func(op, ct string, body []byte) *httptest.ResponseRecorder {
				req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
				req.Header.Set("Content-Type", ct)
				req.Header.Set("X-Amz-Target", "Kinesis_20131202."+op)
				req.Header.Set("X-Amz-Date", "20260101T000000Z")
				req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcd")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				return w
			}
			if w := call("CreateStream", "application/x-amz-json-1.1", []byte(`{"StreamName":"bench","ShardCount":4}`)); w.Code != 200 {
				b.Fatalf("CreateStream: %d %s", w.Code, w.Body)
			}
			b.SetBytes(int64(records * size))
			b.ResetTimer()
			for b.Loop() {
				if w := call("PutRecords", bb.contentType, bb.body); w.Code != 200 {
					b.Fatalf("PutRecords: %d %s", w.Code, w.Body)
				}
			}
			b.ReportMetric(float64(records*b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// BenchmarkPutRecordsCodec is the codec's share alone: decode the 500-record request, encode a 500-entry
// reply, JSON (with its PutRecords fast path) against CBOR.
func BenchmarkPutRecordsCodec(b *testing.B) {
	bodies := putRecordsBodies()
	out := &service.PutRecordsOutput{Records: make([]service.PutRecordsResultEntry, 500), EncryptionType: "NONE"}
	for i := range out.Records {
		out.Records[i] = service.PutRecordsResultEntry{SequenceNumber: fixtureSeq, ShardId: "shardId-000000000001"}
	}
	c := cbor.New()
	for _, bb := range bodies {
		b.Run(bb.name, func(b *testing.B) {
			b.SetBytes(int64(len(bb.body)))
			for b.Loop() {
				var in service.PutRecordsInput
				var err error
				if bb.name == "json" {
					if err = awsjson.DecodePutRecords(bb.body, &in, nil, nil); err == nil {
						_, err = awsjson.Encode(out)
					}
				} else if err = c.Decode(bb.body, &in); err == nil {
					_, err = c.Encode(out)
				}
				if err != nil || len(in.Records) != 500 {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(500*b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

type benchBody struct {
	name, contentType string
	body              []byte
}

// putRecordsBodies is one PutRecords request of 500 records of 1 KiB, as JSON and as CBOR.
func putRecordsBodies() []benchBody {
	data := bytes.Repeat([]byte{0xa5}, 1024)
	var js strings.Builder
	js.WriteString(`{"StreamName":"bench","Records":[`)
	var entries list
	for i := range 500 {
		if i > 0 {
			js.WriteByte(',')
		}
		fmt.Fprintf(&js, `{"Data":"%s","PartitionKey":"pk-%d"}`, base64.StdEncoding.EncodeToString(data), i)
		entries = append(entries, obj{{"Data", data}, {"PartitionKey", fmt.Sprintf("pk-%d", i)}})
	}
	js.WriteString(`]}`)
	return []benchBody{
		{"json", "application/x-amz-json-1.1", []byte(js.String())},
		{"cbor", "application/x-amz-cbor-1.1", jackson(obj{{"Records", entries}, {"StreamName", "bench"}})},
	}
}

// benchHandler wires the protocol handler over the in-memory engine as the server does.
func benchHandler(b *testing.B) http.Handler {
	cfg, err := config.Load(nil, func(string) string { return "" })
	if err != nil {
		b.Fatal(err)
	}
	st, err := pebble.Open(pebble.Options{InMemory: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	svc, err := service.New(context.Background(), service.Config{
		Store: st, Account: cfg.AccountID, Region: cfg.Region, ShardLimit: cfg.ShardLimit, OnDemandWindow: cfg.OnDemandWindow,
	})
	if err != nil {
		b.Fatal(err)
	}
	return protocol.New(svc, protocol.Options{})
}
