package protocol

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"kinesisd/internal/kerr"
	"kinesisd/internal/service"
	"kinesisd/internal/sigv4"

	"kinesisd/internal/kinesistest/logtest"
)

// edgeServer is a handler with test operations behind a real listener speaking HTTP/1.1 and h2c.
type edgeServer struct {
	h    *Handler
	srv  *httptest.Server
	addr string
	log  *logtest.Buffer
	ran  atomic.Int32  // operations that ran
	done chan struct{} // one value per request ServeHTTP has returned from
}

// startEdge serves ops (each also counted in ran) with opts; its log goes to a JSON buffer at level.
func startEdge(t *testing.T, opts Options, level slog.Level, ops map[string]opFunc) *edgeServer {
	t.Helper()
	e := &edgeServer{log: &logtest.Buffer{}, done: make(chan struct{}, 1000)}
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewJSONHandler(e.log, &slog.HandlerOptions{Level: level}))
	}
	counted := map[string]opFunc{}
	for name, f := range ops {
		counted[name] = func(ctx context.Context, op string, svc *service.Service, c codec, body []byte, lg *callLog) (any, error) {
			e.ran.Add(1)
			return f(ctx, op, svc, c, body, lg)
		}
	}
	e.h = testHandler(opts, counted)
	e.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() { e.done <- struct{}{} }()
		e.h.ServeHTTP(w, r)
	}))
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	e.srv.Config.Protocols = &protocols
	e.srv.Config.ErrorLog = slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	e.addr = e.srv.Listener.Addr().String()
	return e
}

// served waits until n more requests have been served.
func (e *edgeServer) served(t *testing.T, n int) {
	t.Helper()
	for range n {
		select {
		case <-e.done:
		case <-time.After(30 * time.Second):
			t.Fatal("the request was not served")
		}
	}
}

// noop is an operation that decodes nothing and answers {}.
func noop(context.Context, string, *service.Service, codec, []byte, *callLog) (any, error) {
	return struct{}{}, nil
}

// rawHeaders is a request head for op with the given extra header lines (Content-Length or
// Transfer-Encoding), signed as far as the form check goes.
func rawHeaders(addr, op, contentType, extra string) string {
	return "POST / HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: " + contentType + "\r\nX-Amz-Target: Kinesis_20131202." + op +
		"\r\nX-Amz-Date: 20260101T000000Z\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcd\r\n" +
		extra + "\r\n"
}

// dial opens a raw connection to e.
func (e *edgeServer) dial(t *testing.T) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// readResponse reads one response from c, within a generous deadline.
func readResponse(t *testing.T, c net.Conn) (*http.Response, string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no response: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

// An unreadable body is answered 400 SerializationException in the request's codec, the connection
// closed after it, and the operation never runs.
func TestUnreadableBody(t *testing.T) {
	tests := []struct {
		name, contentType, head, body string
		halfClose                     bool
		want                          string
	}{
		{"broken chunked", "application/x-amz-json-1.1", "Transfer-Encoding: chunked\r\n", "5\r\n{\"Str\r\nzz\r\n", false,
			`{"__type":"SerializationException"}`},
		{"broken chunked, CBOR", "application/x-amz-cbor-1.1", "Transfer-Encoding: chunked\r\n", "2\r\n\xbf\xff\r\nnot a size\r\n", false,
			"\xbff__typevSerializationException\xff"},
		{"short Content-Length, half-closed", "application/x-amz-json-1.1", "Content-Length: 100\r\n", `{"StreamName":"s"`, true,
			`{"__type":"SerializationException"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := startEdge(t, Options{}, slog.LevelInfo, map[string]opFunc{"DeleteStream": noop})
			c := e.dial(t)
			io.WriteString(c, rawHeaders(e.addr, "DeleteStream", tc.contentType, tc.head)+tc.body)
			if tc.halfClose {
				c.CloseWrite()
			}
			resp, body := readResponse(t, c)
			if resp.StatusCode != http.StatusBadRequest || body != tc.want || resp.Header.Get("X-Amzn-ErrorType") != "SerializationException" {
				t.Errorf("got %d %q (%s), want 400 %q", resp.StatusCode, body, resp.Header.Get("X-Amzn-ErrorType"), tc.want)
			}
			if resp.Header.Get("x-amzn-RequestId") == "" || !resp.Close {
				t.Errorf("request id %q, close %v: want a request id and the connection closed", resp.Header.Get("x-amzn-RequestId"), resp.Close)
			}
			e.served(t, 1)
			if n := e.ran.Load(); n != 0 {
				t.Errorf("the operation ran %d times", n)
			}
		})
	}
	t.Run("closed before Content-Length", func(t *testing.T) {
		e := startEdge(t, Options{}, slog.LevelInfo, map[string]opFunc{"DeleteStream": noop})
		c := e.dial(t)
		io.WriteString(c, rawHeaders(e.addr, "DeleteStream", "application/x-amz-json-1.1", "Content-Length: 100\r\n")+`{"StreamName":"s"`)
		c.Close()
		e.served(t, 1)
		if n := e.ran.Load(); n != 0 {
			t.Errorf("the operation ran %d times", n)
		}
		if got := e.h.mem.inUse(); got != 0 {
			t.Errorf("%d bytes of request memory still held", got)
		}
	})
}

// h2cClient speaks HTTP/2 with prior knowledge, as the JavaScript SDK v3 does.
func h2cClient() *http.Client {
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: &protocols}, Timeout: 30 * time.Second}
}

// newRequest is a form-signed API request for op with body.
func newRequest(t *testing.T, url, op string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "Kinesis_20131202."+op)
	req.Header.Set("X-Amz-Date", "20260101T000000Z")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcd")
	return req
}

// A body that stalls is answered 400 once the read timeout has passed, on HTTP/1.1 and HTTP/2, its
// memory released, the operation not run.
func TestReadTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	t.Run("HTTP/1.1", func(t *testing.T) {
		e := startEdge(t, Options{ReadTimeout: timeout}, slog.LevelInfo, map[string]opFunc{"PutRecords": noop})
		c := e.dial(t)
		start := time.Now()
		io.WriteString(c, rawHeaders(e.addr, "PutRecords", "application/x-amz-json-1.1", "Content-Length: 1000000\r\n")+`{"StreamName":"s","Records":[`)
		resp, body := readResponse(t, c)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "SerializationException") {
			t.Errorf("got %d %s, want 400 SerializationException", resp.StatusCode, body)
		}
		if elapsed := time.Since(start); elapsed < timeout {
			t.Errorf("answered after %s, before the read timeout", elapsed)
		}
		e.served(t, 1)
		if e.ran.Load() != 0 || e.h.mem.inUse() != 0 {
			t.Errorf("ran %d, memory held %d", e.ran.Load(), e.h.mem.inUse())
		}
	})
	t.Run("HTTP/2", func(t *testing.T) {
		e := startEdge(t, Options{ReadTimeout: timeout}, slog.LevelInfo, map[string]opFunc{"PutRecords": noop})
		pr, pw := io.Pipe()
		defer pw.Close()
		go io.WriteString(pw, `{"StreamName":"s","Records":[`) // then nothing
		req := newRequest(t, e.srv.URL, "PutRecords", pr)
		req.ContentLength = 1000000
		start := time.Now()
		resp, err := h2cClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != 2 || resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "SerializationException") {
			t.Errorf("got %s %d %s, want HTTP/2 400 SerializationException", resp.Proto, resp.StatusCode, body)
		}
		if elapsed := time.Since(start); elapsed < timeout {
			t.Errorf("answered after %s, before the read timeout", elapsed)
		}
		e.served(t, 1)
		if e.ran.Load() != 0 || e.h.mem.inUse() != 0 {
			t.Errorf("ran %d, memory held %d", e.ran.Load(), e.h.mem.inUse())
		}
	})
}

// slowSubscription is SubscribeToShard answering an event stream whose one event comes well after the
// read timeout: the stream must not be cut by it (nor its context cancelled by net/http's background
// read on HTTP/1.1).
func slowSubscription(after time.Duration) opFunc {
	return func(ctx context.Context, op string, svc *service.Service, c codec, body []byte, lg *callLog) (any, error) {
		events := func(yield func(service.SubscribeToShardEvent, error) bool) {
			select {
			case <-time.After(after):
				seq := "49590338271490256608559692538361571095921575989136588898"
				yield(service.SubscribeToShardEvent{Records: []service.Record{}, ContinuationSequenceNumber: &seq}, nil)
			case <-ctx.Done():
				yield(service.SubscribeToShardEvent{}, kerr.NewResourceInUse("context cancelled under the stream"))
			}
		}
		return &subscription{initial: &service.SubscribeToShardOutput{}, events: iter.Seq2[service.SubscribeToShardEvent, error](events)}, nil
	}
}

func TestReadTimeoutSparesSubscriptions(t *testing.T) {
	const timeout = 200 * time.Millisecond
	for _, proto := range []string{"HTTP/1.1", "HTTP/2"} {
		t.Run(proto, func(t *testing.T) {
			e := startEdge(t, Options{ReadTimeout: timeout}, slog.LevelInfo, map[string]opFunc{"SubscribeToShard": slowSubscription(4 * timeout)})
			client := &http.Client{Timeout: 30 * time.Second}
			if proto == "HTTP/2" {
				client = h2cClient()
			}
			resp, err := client.Do(newRequest(t, e.srv.URL, "SubscribeToShard", strings.NewReader(`{}`)))
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || (resp.ProtoMajor == 2) != (proto == "HTTP/2") {
				t.Fatalf("%s stream: %v", resp.Proto, err)
			}
			if !bytes.Contains(body, []byte("SubscribeToShardEvent")) || bytes.Contains(body, []byte("ResourceInUseException")) {
				t.Errorf("the stream did not carry its late event: %q", body)
			}
		})
	}
}

// Stalled bodies never take more request memory than the bound: those that do not fit wait without
// reading, and are refused with a retryable InternalFailureException when the wait ends.
func TestMemoryBound(t *testing.T) {
	const mib = 1 << 20
	t.Run("stalled bodies", func(t *testing.T) {
		e := startEdge(t, Options{MaxRequestMemory: 8 * mib}, slog.LevelInfo, map[string]opFunc{"PutRecords": noop})
		e.h.memWait = time.Hour
		var conns []*net.TCPConn
		for range 10 { // each reserves 2 MiB (body and decoded records); large ones may take 7 MiB
			c := e.dial(t)
			io.WriteString(c, rawHeaders(e.addr, "PutRecords", "application/x-amz-json-1.1", fmt.Sprintf("Content-Length: %d\r\n", mib))+
				`{"StreamName":"s","Records":[{"PartitionKey":"k","Data":"`+strings.Repeat("A", 512<<10))
			conns = append(conns, c)
		}
		waitWaiting(t, e.h.mem, 7)
		if got := e.h.mem.inUse(); got != 6*mib {
			t.Fatalf("%d bytes reserved, want %d", got, 6*mib)
		}
		for _, c := range conns {
			c.Close()
		}
		e.served(t, 10)
		if e.h.mem.inUse() != 0 || e.h.mem.waiting() != 0 || e.ran.Load() != 0 {
			t.Fatalf("after the clients left: in use %d, waiting %d, ran %d", e.h.mem.inUse(), e.h.mem.waiting(), e.ran.Load())
		}
	})
	t.Run("refused after the wait", func(t *testing.T) {
		// The refusal is answered at once; the handler then reads the rest of the body into nothing, until
		// the read timeout for these clients that send none.
		e := startEdge(t, Options{MaxRequestMemory: 8 * mib, ReadTimeout: 2 * time.Second}, slog.LevelInfo, map[string]opFunc{"PutRecords": noop})
		e.h.memWait = 100 * time.Millisecond
		hog := e.dial(t)
		io.WriteString(hog, rawHeaders(e.addr, "PutRecords", "application/x-amz-json-1.1", fmt.Sprintf("Content-Length: %d\r\n", 3*mib)))
		deadline := time.Now().Add(10 * time.Second)
		for e.h.mem.inUse() != 6*mib {
			if time.Now().After(deadline) {
				t.Fatal("the first request did not reserve its memory")
			}
			time.Sleep(time.Millisecond)
		}
		c := e.dial(t)
		io.WriteString(c, rawHeaders(e.addr, "PutRecords", "application/x-amz-json-1.1", fmt.Sprintf("Content-Length: %d\r\n", mib)))
		resp, body := readResponse(t, c)
		if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(body, `"__type":"InternalFailureException"`) {
			t.Errorf("got %d %s, want 500 InternalFailureException", resp.StatusCode, body)
		}
		e.served(t, 1)
		if e.ran.Load() != 0 {
			t.Error("the refused operation ran")
		}
	})
	t.Run("larger than the bound, at once", func(t *testing.T) {
		e := startEdge(t, Options{MaxRequestMemory: 8 * mib, ReadTimeout: time.Hour}, slog.LevelInfo, map[string]opFunc{"PutRecords": noop})
		e.h.memWait = time.Hour
		c := e.dial(t)
		io.WriteString(c, rawHeaders(e.addr, "PutRecords", "application/x-amz-json-1.1", fmt.Sprintf("Content-Length: %d\r\n", 4*mib)))
		resp, body := readResponse(t, c) // within the hour: at once
		if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(body, "InternalFailureException") {
			t.Errorf("got %d %s, want 500 InternalFailureException", resp.StatusCode, body)
		}
		if len(e.log.Find(t, "request refused: larger than the request memory bound")) != 1 {
			t.Error("no WARN line about the request over the bound")
		}
	})
}

// signedHead is a header-signed request head for key, dated now, with a junk signature.
func signedHead(addr, key, contentLength string) string {
	now := time.Now().UTC()
	return "POST / HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: Kinesis_20131202.PutRecords\r\n" +
		"X-Amz-Date: " + now.Format("20060102T150405Z") + "\r\nAuthorization: AWS4-HMAC-SHA256 Credential=" + key + "/" + now.Format("20060102") +
		"/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=0123456789abcdef\r\nContent-Length: " + contentLength + "\r\n\r\n"
}

// With -credentials, what needs no body is checked before it is read or memory reserved for it; a
// refused signature is logged at INFO with the access key and reason, at most once per key per interval.
func TestAuthBeforeBody(t *testing.T) {
	auth := sigv4.NewVerifier(map[string]string{"AKIDKNOWN": "the secret"}, "us-east-1", nil)
	e := startEdge(t, Options{Auth: auth}, slog.LevelInfo, map[string]opFunc{"PutRecords": noop})
	e.h.memWait = time.Hour
	for range 2 { // the second refusal of the same key is not logged
		c := e.dial(t)
		io.WriteString(c, signedHead(e.addr, "AKIDUNKNOWN", "16000000")) // and no body at all
		resp, body := readResponse(t, c)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "UnrecognizedClientException") {
			t.Errorf("got %d %s, want 400 UnrecognizedClientException", resp.StatusCode, body)
		}
		e.served(t, 1)
	}
	if e.h.mem.inUse() != 0 || e.ran.Load() != 0 {
		t.Errorf("memory %d, ran %d", e.h.mem.inUse(), e.ran.Load())
	}
	// A known key with a wrong signature: the body is needed, read, then refused.
	c := e.dial(t)
	io.WriteString(c, signedHead(e.addr, "AKIDKNOWN", "2")+"{}")
	resp, body := readResponse(t, c)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "InvalidSignatureException") {
		t.Errorf("got %d %s, want 400 InvalidSignatureException", resp.StatusCode, body)
	}
	e.served(t, 1)
	lines := e.log.Find(t, "signature refused")
	if len(lines) != 2 {
		t.Fatalf("%d signature lines, want one per key: %v", len(lines), lines)
	}
	for i, want := range []struct{ key, code string }{{"AKIDUNKNOWN", "UnrecognizedClientException"}, {"AKIDKNOWN", "InvalidSignatureException"}} {
		l := lines[i]
		if l["level"] != "INFO" || l["access_key"] != want.key || l["error"] != want.code || l["reason"] == "" || l["request_id"] == "" {
			t.Errorf("line %v, want INFO with access_key %s, error %s, a reason and a request id", l, want.key, want.code)
		}
		for k, v := range l {
			if s, ok := v.(string); ok && (strings.Contains(s, "the secret") || strings.Contains(s, "0123456789abcdef")) {
				t.Errorf("%s logs the secret or the signature: %q", k, s)
			}
		}
	}
}

func TestLogLimiter(t *testing.T) {
	now := time.Unix(1e9, 0)
	l := newLogLimiter(10 * time.Second)
	l.now = func() time.Time { return now }
	check := func(key string, wantOK bool, wantHeld int) {
		t.Helper()
		if ok, held := l.allow(key); ok != wantOK || held != wantHeld {
			t.Fatalf("allow(%q) = %v, %d; want %v, %d", key, ok, held, wantOK, wantHeld)
		}
	}
	check("a", true, 0)
	check("a", false, 0)
	check("a", false, 0)
	check("b", true, 0)
	now = now.Add(10 * time.Second)
	check("a", true, 2)
	check("a", false, 0)
	for i := range maxLimiterKeys { // the map stays bounded
		l.allow(fmt.Sprint("k", i))
	}
	if len(l.keys) > maxLimiterKeys+1 {
		t.Fatalf("%d keys kept", len(l.keys))
	}
}

// A panic is logged at ERROR with the request id, operation and stack, and answered 500; once the
// response has started, the connection is aborted instead.
func TestPanic(t *testing.T) {
	e := startEdge(t, Options{}, slog.LevelDebug, map[string]opFunc{
		"ListStreams": func(context.Context, string, *service.Service, codec, []byte, *callLog) (any, error) {
			panic("disk on fire")
		},
		"SubscribeToShard": func(context.Context, string, *service.Service, codec, []byte, *callLog) (any, error) {
			events := func(yield func(service.SubscribeToShardEvent, error) bool) { panic("mid-stream") }
			return &subscription{initial: &service.SubscribeToShardOutput{}, events: events}, nil
		},
	})
	resp, err := http.DefaultClient.Do(newRequest(t, e.srv.URL, "ListStreams", strings.NewReader("{}")))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	id := resp.Header.Get("x-amzn-RequestId")
	if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(string(body), `"__type":"InternalFailureException"`) {
		t.Errorf("got %d %s, want 500 InternalFailureException", resp.StatusCode, body)
	}
	e.served(t, 1)
	resp, err = http.DefaultClient.Do(newRequest(t, e.srv.URL, "SubscribeToShard", strings.NewReader("{}")))
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Error("a stream whose handler panicked ended cleanly")
	}
	e.served(t, 1)
	lines := e.log.Find(t, "panic serving request")
	if len(lines) != 2 {
		t.Fatalf("%d panic lines, want 2", len(lines))
	}
	if l := lines[0]; l["level"] != "ERROR" || l["request_id"] != id || l["operation"] != "ListStreams" ||
		!strings.Contains(l["stack"].(string), "edge_test.go") || l["panic"] != "disk on fire" {
		t.Errorf("panic line %v", l)
	}
	if l := lines[1]; l["operation"] != "SubscribeToShard" || l["panic"] != "mid-stream" {
		t.Errorf("panic line %v", l)
	}
}

// The request line carries the request id sent back, the remote address, operation, stream, status,
// error code, records and bytes (data operations) and duration; at INFO with LogRequests, at DEBUG
// without, and not at all on a logger above debug.
func TestRequestLog(t *testing.T) {
	ops := map[string]opFunc{
		"PutRecords": func(_ context.Context, _ string, _ *service.Service, c codec, body []byte, lg *callLog) (any, error) {
			if lg != nil {
				lg.stream = "orders"
				lg.add(3, 300)
			}
			return struct{}{}, nil
		},
		"DescribeStream": call(func(*service.Service, context.Context, *service.DescribeStreamInput) (*service.DescribeStreamOutput, error) {
			return nil, kerr.StreamNotFound("missing", "000000000000")
		}),
	}
	tests := []struct {
		name      string
		opts      Options
		level     slog.Level
		wantLevel string
	}{
		{"LogRequests", Options{LogRequests: true}, slog.LevelInfo, "INFO"},
		{"debug level", Options{}, slog.LevelDebug, "DEBUG"},
		{"neither", Options{}, slog.LevelInfo, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := startEdge(t, tc.opts, tc.level, ops)
			var ids []string
			for _, r := range []struct{ op, body string }{
				{"PutRecords", `{}`},
				{"DescribeStream", `{"StreamARN":"arn:aws:kinesis:us-east-1:000000000000:stream/missing"}`},
			} {
				resp, err := http.DefaultClient.Do(newRequest(t, e.srv.URL, r.op, strings.NewReader(r.body)))
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				ids = append(ids, resp.Header.Get("x-amzn-RequestId"))
				e.served(t, 1)
			}
			lines := e.log.Find(t, "request")
			if tc.wantLevel == "" {
				if len(lines) != 0 {
					t.Fatalf("request lines without LogRequests or debug: %v", lines)
				}
				return
			}
			if len(lines) != 2 {
				t.Fatalf("%d request lines, want 2", len(lines))
			}
			put, describe := lines[0], lines[1]
			want := map[string]any{"level": tc.wantLevel, "request_id": ids[0], "operation": "PutRecords", "stream": "orders",
				"status": 200.0, "error": "", "records": 3.0, "bytes": 300.0}
			for k, v := range want {
				if put[k] != v {
					t.Errorf("PutRecords line %s = %v, want %v", k, put[k], v)
				}
			}
			if _, ok := put["duration"].(float64); !ok || !strings.HasPrefix(put["remote"].(string), "127.0.0.1:") {
				t.Errorf("PutRecords line duration %v remote %v", put["duration"], put["remote"])
			}
			want = map[string]any{"request_id": ids[1], "operation": "DescribeStream", "stream": "missing",
				"status": 400.0, "error": "ResourceNotFoundException"}
			for k, v := range want {
				if describe[k] != v {
					t.Errorf("DescribeStream line %s = %v, want %v", k, describe[k], v)
				}
			}
			if _, ok := describe["records"]; ok {
				t.Errorf("records on a control-plane line: %v", describe)
			}
		})
	}
}

func TestStreamOf(t *testing.T) {
	name, arn, consumer := "orders", "arn:aws:kinesis:us-east-1:000000000000:stream/clicks",
		"arn:aws:kinesis:us-east-1:000000000000:stream/audit/consumer/app:1700000000"
	tests := []struct {
		in   any
		want string
	}{
		{&service.PutRecordsInput{StreamRef: service.StreamRef{StreamName: &name}}, "orders"},
		{&service.PutRecordsInput{StreamRef: service.StreamRef{StreamARN: &arn}}, "clicks"},
		{&service.SubscribeToShardInput{ConsumerARN: &consumer}, "audit"},
		{&service.GetRecordsInput{}, ""},
		{&service.ListStreamsInput{}, ""},
	}
	for _, tc := range tests {
		if got := streamOf(tc.in, streamFields(reflectType(tc.in))); got != tc.want {
			t.Errorf("streamOf(%T) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := streamFromARN("not an arn"); got != "" {
		t.Errorf("streamFromARN(junk) = %q", got)
	}
}

func reflectType(in any) reflect.Type { return reflect.TypeOf(in).Elem() }
