// Package edge_test drives kinesisd's HTTP edge over raw sockets: unreadable and slow bodies, the bound on request memory, request logs.
package edge_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/kinesistest"
	"kinesisd/internal/kinesistest/logtest"
	"kinesisd/internal/protocol"
	"kinesisd/internal/service"
	"kinesisd/internal/sigv4"
	"kinesisd/internal/storage/pebble"
)

// The test client's key (kinesistest.NewClient signs with it).
const (
	accessKey = "AKIAIOSFODNN7EXAMPLE"
	secretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// edge is an in-process kinesisd front: the service on the in-memory engine, the protocol handler built
// with opts, served over HTTP/1.1 and h2c on a loopback port as the server serves it.
type edge struct {
	addr   string
	client *kinesis.Client
	log    *logtest.Buffer
}

func startEdge(t *testing.T, opts protocol.Options) *edge {
	t.Helper()
	st, err := pebble.Open(pebble.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := service.New(t.Context(), service.Config{Store: st, Account: "000000000000", Region: "us-east-1", ShardLimit: 20})
	if err != nil {
		t.Fatal(err)
	}
	e := &edge{log: &logtest.Buffer{}}
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewJSONHandler(e.log, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{Handler: protocol.New(svc, opts), Protocols: &protocols, ReadHeaderTimeout: 30 * time.Second,
		ErrorLog: slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() {
		srv.Close()
		st.Close()
	})
	e.addr = ln.Addr().String()
	e.client = kinesistest.NewClient("http://" + e.addr)
	return e
}

// createStream creates an ACTIVE stream (the in-memory engine and no delay: at once).
func (e *edge) createStream(t *testing.T, name string) {
	t.Helper()
	if _, err := e.client.CreateStream(t.Context(), &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
}

// head is a raw request head for op, with a signature that passes the form check, and extra header
// lines (each ending in \r\n).
func (e *edge) head(op, extra string) string {
	now := time.Now().UTC()
	return "POST / HTTP/1.1\r\nHost: " + e.addr + "\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: Kinesis_20131202." + op +
		"\r\nX-Amz-Date: " + now.Format("20060102T150405Z") + "\r\nAuthorization: AWS4-HMAC-SHA256 Credential=" + accessKey + "/" +
		now.Format("20060102") + "/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcd\r\n" + extra + "\r\n"
}

func (e *edge) dial(t *testing.T) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// response reads one response from c; ok is false when the connection ended without one.
func response(t *testing.T, c net.Conn) (status int, body string, ok bool) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(60 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, err.Error(), false
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(b), true
}

// streamExists reports whether DescribeStreamSummary finds name.
func (e *edge) streamExists(t *testing.T, name string) bool {
	t.Helper()
	_, err := e.client.DescribeStreamSummary(t.Context(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
	var nf *types.ResourceNotFoundException
	if err != nil && !errors.As(err, &nf) {
		t.Fatal(err)
	}
	return err == nil
}

// A DeleteStream whose body cannot be read is never answered 200 and never deletes: 400
// SerializationException where a response can still be written, the connection closed otherwise.
func TestUnreadableBodyDeletesNothing(t *testing.T) {
	e := startEdge(t, protocol.Options{LogRequests: true})
	e.createStream(t, "kept")
	body := `{"StreamName":"kept"}`
	tests := []struct {
		name     string
		send     string
		close    func(*net.TCPConn) error
		response bool // a response can be read
	}{
		{"broken chunked", e.head("DeleteStream", "Transfer-Encoding: chunked\r\n") + "8\r\n" + body[:8] + "\r\nnot-hex\r\n" + body[8:], nil, true},
		{"short Content-Length, half-closed", e.head("DeleteStream", fmt.Sprintf("Content-Length: %d\r\n", len(body)+20)) + body, (*net.TCPConn).CloseWrite, true},
		{"short Content-Length, closed", e.head("DeleteStream", fmt.Sprintf("Content-Length: %d\r\n", len(body)+20)) + body, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := e.dial(t)
			io.WriteString(c, tc.send)
			if tc.close != nil {
				tc.close(c)
			}
			if !tc.response {
				before := len(e.log.Find(t, "request"))
				c.Close()
				e.waitLines(t, "request", before+1) // the handler is done with it
				if l := e.log.Find(t, "request")[before]; l["operation"] != "DeleteStream" || l["status"] == 200.0 {
					t.Errorf("request line %v, want a DeleteStream not answered 200", l)
				}
				if !e.streamExists(t, "kept") {
					t.Fatal("a DeleteStream whose body never arrived deleted the stream")
				}
				return
			}
			status, got, ok := response(t, c)
			if !ok || status != http.StatusBadRequest || got != `{"__type":"SerializationException"}` {
				t.Errorf("got %d %q (response %v), want 400 SerializationException", status, got, ok)
			}
			if !e.streamExists(t, "kept") {
				t.Fatal("the stream was deleted")
			}
		})
	}
}

// waitLines waits until the log has n lines of msg.
func (e *edge) waitLines(t *testing.T, msg string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for len(e.log.Find(t, msg)) < n {
		if time.Now().After(deadline) {
			t.Fatalf("fewer than %d %q lines", n, msg)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// metric reads one sample of GET /metrics.
func (e *edge) metric(t *testing.T, name string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + e.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("no %s in /metrics", name)
	return 0
}

// waitMetric waits until name reads want.
func (e *edge) waitMetric(t *testing.T, name string, want float64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := e.metric(t, name)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v, want %v", name, got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Bodies that stall below the largest legal size (16 MB declared, so that no header check can refuse
// them) hold no more request memory than the bound; those the bound admits are answered 400 at the
// read timeout, the others refused with InternalFailureException (500, retried by the SDKs) by then,
// and every byte is released.
func TestStalledBodiesStayWithinTheBound(t *testing.T) {
	const (
		bound    = 100 << 20 // large requests may take seven eighths: 87.5 MiB
		declared = 16_000_000
		conns    = 12
		timeout  = 3 * time.Second
	)
	e := startEdge(t, protocol.Options{MaxRequestMemory: bound, ReadTimeout: timeout})
	type result struct {
		status int
		body   string
	}
	results := make(chan result, conns)
	for range conns {
		c := e.dial(t)
		go func() {
			io.WriteString(c, e.head("PutRecords", fmt.Sprintf("Content-Length: %d\r\n", declared))+`{"StreamName":"s","Records":[{"PartitionKey":"k","Data":"`)
			c.Write(bytes.Repeat([]byte("QUJD"), 1<<20)) // 4 MB, then nothing
			status, body, _ := response(t, c)
			results <- result{status, body}
		}()
	}
	// Each reserves twice its Content-Length (body and decoded records): two fit in 87.5 MiB.
	e.waitMetric(t, "kinesisd_request_memory_bytes", 2*2*declared)
	if got := e.metric(t, "kinesisd_request_memory_bytes"); got > bound {
		t.Fatalf("%v bytes of request memory, over the bound", got)
	}
	counts := map[string]int{}
	for range conns {
		r := <-results
		switch {
		case r.status == http.StatusBadRequest && strings.Contains(r.body, "SerializationException"):
			counts["timed out"]++
		case r.status == http.StatusInternalServerError && strings.Contains(r.body, "InternalFailureException"):
			counts["refused"]++
		default:
			t.Errorf("unexpected answer %d %q", r.status, r.body)
		}
	}
	// The two admitted at once time out; the others are refused when their wait ends at the read
	// deadline (also those admitted at that instant as memory comes back: their time went waiting).
	if counts["timed out"] != 2 || counts["refused"] != conns-2 {
		t.Errorf("answers %v, want 2 timed out and %d refused", counts, conns-2)
	}
	e.waitMetric(t, "kinesisd_request_memory_bytes", 0)
}

// A body that stalls is answered at the read timeout over HTTP/2 too (the JavaScript SDK's protocol).
func TestSlowBodyOverHTTP2(t *testing.T) {
	const timeout = 500 * time.Millisecond
	e := startEdge(t, protocol.Options{ReadTimeout: timeout})
	e.createStream(t, "kept")
	pr, pw := io.Pipe()
	defer pw.Close()
	go io.WriteString(pw, `{"StreamName":"ke`)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://"+e.addr, pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = 1 << 20
	for k, v := range map[string]string{"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Kinesis_20131202.DeleteStream",
		"X-Amz-Date": "20260101T000000Z", "Authorization": "AWS4-HMAC-SHA256 Credential=" + accessKey + "/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcd"} {
		req.Header.Set(k, v)
	}
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	start := time.Now()
	resp, err := (&http.Client{Transport: &http.Transport{Protocols: &protocols}, Timeout: time.Minute}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "SerializationException") {
		t.Fatalf("got %s %d %s, want HTTP/2 400 SerializationException", resp.Proto, resp.StatusCode, body)
	}
	if time.Since(start) < timeout {
		t.Errorf("answered before the read timeout")
	}
	if !e.streamExists(t, "kept") {
		t.Fatal("the stream was deleted")
	}
}

// The request log (JSON handler) has one line per request with the fields users look for; a refused
// signature gets an INFO line with the access key and reason, also without the request log.
func TestRequestLogLines(t *testing.T) {
	auth := sigv4.NewVerifier(map[string]string{accessKey: secretKey}, "us-east-1", nil)
	e := startEdge(t, protocol.Options{Auth: auth, LogRequests: true})
	e.createStream(t, "orders")
	put, err := e.client.PutRecords(t.Context(), &kinesis.PutRecordsInput{StreamName: aws.String("orders"), Records: []types.PutRecordsRequestEntry{
		{PartitionKey: aws.String("a"), Data: []byte("12345")}, {PartitionKey: aws.String("b"), Data: []byte("678")},
	}})
	if err != nil || aws.ToInt32(put.FailedRecordCount) != 0 {
		t.Fatal(err)
	}
	_, err = e.client.DescribeStreamSummary(t.Context(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("missing")})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("DescribeStreamSummary of a missing stream: %v", err)
	}
	// A client of its own: one copied from e.client's options shares its signer, whose cache of derived
	// keys would sign with the right secret.
	wrong := kinesis.New(kinesis.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + e.addr), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(accessKey, "not the secret", "")})
	if _, err := wrong.ListStreams(t.Context(), &kinesis.ListStreamsInput{}); err == nil {
		t.Fatal("a wrong secret was accepted")
	}

	lines := e.log.Find(t, "request")
	byOp := map[string][]map[string]any{}
	for _, l := range lines {
		byOp[l["operation"].(string)] = append(byOp[l["operation"].(string)], l)
		for _, k := range []string{"time", "level", "request_id", "remote", "operation", "stream", "status", "error", "duration"} {
			if _, ok := l[k]; !ok {
				t.Errorf("request line without %s: %v", k, l)
			}
		}
	}
	if l := byOp["PutRecords"]; len(l) != 1 || l[0]["stream"] != "orders" || l[0]["status"] != 200.0 || l[0]["records"] != 2.0 || l[0]["bytes"] != 8.0 || l[0]["error"] != "" {
		t.Errorf("PutRecords lines %v", l)
	}
	if l := byOp["DescribeStreamSummary"]; len(l) != 1 || l[0]["stream"] != "missing" || l[0]["status"] != 400.0 || l[0]["error"] != "ResourceNotFoundException" {
		t.Errorf("DescribeStreamSummary lines %v", l)
	}
	refused := e.log.Find(t, "signature refused")
	var wrongSecret bool
	for _, l := range refused {
		if l["access_key"] == accessKey && l["error"] == "InvalidSignatureException" && l["level"] == "INFO" && l["reason"] != "" {
			wrongSecret = true
		}
		for k, v := range l {
			if s, ok := v.(string); ok && strings.Contains(s, "not the secret") {
				t.Errorf("%s logs the secret: %q", k, s)
			}
		}
	}
	if !wrongSecret {
		t.Errorf("no INFO line for the wrong secret: %v", refused)
	}
}
