package protocol

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"kinesisd/internal/service"
	"kinesisd/internal/storage/pebble"
)

// failingWriter is a connection that breaks at once: every write fails.
type failingWriter struct{ h http.Header }

func (w *failingWriter) Header() http.Header       { return w.h }
func (w *failingWriter) WriteHeader(int)           {}
func (w *failingWriter) Write([]byte) (int, error) { return 0, errors.New("connection reset") }

// TestSubscribeReleasedWhenInitialResponseFails: a subscription whose initial response cannot be
// written lets go of its consumer's shard, so that the client's next SubscribeToShard, at once (inside
// the 5-second window), is not refused with ResourceInUseException.
func TestSubscribeReleasedWhenInitialResponseFails(t *testing.T) {
	st, err := pebble.Open(pebble.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := service.New(t.Context(), service.Config{Store: st, Account: "000000000000", Region: "us-east-1", ShardLimit: 10})
	if err != nil {
		t.Fatal(err)
	}
	h := New(svc, Options{})
	if w := serve(h, "CreateStream", []byte(`{"StreamName":"s","ShardCount":1}`)); w.Code != 200 {
		t.Fatalf("CreateStream: %d %s", w.Code, w.Body)
	}
	w := serve(h, "RegisterStreamConsumer", []byte(`{"StreamARN":"arn:aws:kinesis:us-east-1:000000000000:stream/s","ConsumerName":"c"}`))
	if w.Code != 200 {
		t.Fatalf("RegisterStreamConsumer: %d %s", w.Code, w.Body)
	}
	arn := w.Body.String()
	arn = arn[strings.Index(arn, `"ConsumerARN":"`)+len(`"ConsumerARN":"`):]
	arn = arn[:strings.IndexByte(arn, '"')]
	body := []byte(`{"ConsumerARN":"` + arn + `","ShardId":"shardId-000000000000","StartingPosition":{"Type":"LATEST"}}`)
	request := func(ctx context.Context) *http.Request {
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", "Kinesis_20131202.SubscribeToShard")
		req.Header.Set("X-Amz-Date", "20260101T000000Z")
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcd")
		return req
	}

	done := make(chan struct{})
	go func() {
		defer close(done)
		h.ServeHTTP(&failingWriter{h: http.Header{}}, request(t.Context()))
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a subscription whose connection broke did not end")
	}

	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, request(ctx))
	if rec.Code != 200 || !bytes.Contains(rec.Body.Bytes(), []byte("initial-response")) {
		t.Fatalf("the next SubscribeToShard at once: %d %q; want 200 and an initial-response", rec.Code, rec.Body.Bytes()[:min(rec.Body.Len(), 200)])
	}
}
