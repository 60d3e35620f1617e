package protocol

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkRequestLine is the cost of one request line (Options.LogRequests) through slog's JSON and
// text handlers into io.Discard, to set against a 500-record PutRecords' milliseconds. Timings are for
// the note, never assertions.
func BenchmarkRequestLine(b *testing.B) {
	for _, tc := range []struct {
		name    string
		handler slog.Handler
	}{
		{"json", slog.NewJSONHandler(io.Discard, nil)},
		{"text", slog.NewTextHandler(io.Discard, nil)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			h := newHandler(Options{Log: slog.New(tc.handler), LogRequests: true})
			r := httptest.NewRequest("POST", "/", nil)
			x := &exchange{start: time.Now(), reqID: "4f4e8a4c-2b8e-4c7a-9d0e-1a2b3c4d5e6f", op: "PutRecords", status: 200,
				call: callLog{stream: "bench", records: 500, bytes: 512000}}
			b.ReportAllocs()
			for b.Loop() {
				h.logRequest(x, r)
			}
		})
	}
}
