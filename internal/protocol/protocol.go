// Package protocol is the HTTP edge: X-Amz-Target dispatch, content types, request ids and the one error writer.
package protocol

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"kinesisd/internal/bufpool"
	"kinesisd/internal/kerr"
	"kinesisd/internal/service"
	"kinesisd/internal/sigv4"
)

const (
	targetPrefix = "Kinesis_20131202."
	// maxBody bounds a request body: a 10 MiB PutRecords grows by a third in base64, plus JSON.
	maxBody = 16 << 20
	// DefaultReadTimeout is Options.ReadTimeout's default.
	DefaultReadTimeout = 60 * time.Second
)

// opFunc decodes a request body with c, runs one operation and returns its output (nil for none). With
// lg non-nil (the request will be logged) it fills lg with the stream the input names and the records
// and data bytes the operation wrote or read.
type opFunc func(ctx context.Context, c codec, body []byte, lg *callLog) (any, error)

// Handler serves the Kinesis API on POST and metrics on GET /metrics.
type Handler struct {
	ops         map[string]opFunc
	log         *slog.Logger
	metrics     *metrics
	bufs        bufpool.Pool    // request bodies, PutRecords' decoded data, encoded replies
	auth        *sigv4.Verifier // nil: signatures are only parsed, any credentials accepted
	readTimeout time.Duration   // <= 0: none
	mem         *budget         // request memory; nil: unbounded
	memWait     time.Duration   // how long a request waits for room in mem: memoryWait (tests shorten it)
	logRequests bool
	refusals    *logLimiter // lines about refused signatures, per access key
	memoryWarns *logLimiter // lines about requests larger than the memory bound
}

// Options configure a Handler; the zero value of each field is its default.
type Options struct {
	// Log receives the handler's messages; nil discards them.
	Log *slog.Logger
	// Auth, when set, verifies every API request's signature: the checks that need no body (key known,
	// scope, date, signed headers) before the body is read or memory reserved for it, the signature
	// itself once the body is read, before the operation runs. Nil accepts any complete signature.
	Auth *sigv4.Verifier
	// ReadTimeout bounds the time from a request's headers to the end of its body, a wait for request
	// memory included, on HTTP/1.1 and HTTP/2 alike; SubscribeToShard's event stream, written after, is
	// not bounded by it. A body that has not arrived in time is answered 400 SerializationException
	// (the connection is closed when nothing can be written). 0: DefaultReadTimeout; negative: none.
	ReadTimeout time.Duration
	// MaxRequestMemory bounds the bytes that all request bodies in flight may take together, counting
	// the decoded copy of the records of PutRecord and PutRecords (reserved as much again as the body):
	// reserved by Content-Length before the body is read (as it grows for a body of unknown length),
	// released once the operation has run. A request that does not fit waits up to 10 s (within its
	// read timeout) and is then refused with InternalFailureException (HTTP 500, which the AWS SDKs
	// retry); one that can never fit is refused at once. 0: DefaultMaxRequestMemory(0); negative: none.
	MaxRequestMemory int64
	// LogRequests logs one line per request at INFO (message "request"); without it the same lines are
	// logged at DEBUG, so a logger at debug level shows them too.
	LogRequests bool
}

// New returns the HTTP handler for svc.
func New(svc *service.Service, opts Options) *Handler {
	h := newHandler(opts)
	h.ops = operations(svc, &h.bufs, h.metrics)
	return h
}

// newHandler is a Handler without operations, configured by opts.
func newHandler(opts Options) *Handler {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	timeout := opts.ReadTimeout
	if timeout == 0 {
		timeout = DefaultReadTimeout
	}
	limit := opts.MaxRequestMemory
	if limit == 0 {
		limit = DefaultMaxRequestMemory(0)
	}
	h := &Handler{log: log, metrics: newMetrics(), auth: opts.Auth, readTimeout: timeout, mem: newBudget(limit), memWait: memoryWait,
		logRequests: opts.LogRequests, refusals: newLogLimiter(refusalLogInterval), memoryWarns: newLogLimiter(refusalLogInterval)}
	h.metrics.watchBudget(h.mem)
	return h
}

// Register adds c to the collectors GET /metrics serves (the storage engine's, for one).
func (h *Handler) Register(c prometheus.Collector) error { return h.metrics.reg.Register(c) }

// ServeHTTP answers one request, checking in AWS's order: method, content type, operation,
// authentication, body, then the operation itself (validation, then action). A panic below it is
// logged at ERROR and answered 500 InternalFailureException (the connection aborted when the response
// had started).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == "/metrics" {
		h.metrics.handler.ServeHTTP(w, r)
		return
	}
	x := &exchange{ResponseWriter: w, start: time.Now(), reqID: uuid.NewString()}
	hdr := w.Header()
	hdr.Set("x-amzn-RequestId", x.reqID)
	hdr.Set("x-amz-id-2", extendedID())

	opName, _ := strings.CutPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	op := h.ops[opName]
	if op == nil {
		opName = "unknown"
	}
	x.op = opName
	x.logging = h.logRequests || h.log.Enabled(r.Context(), slog.LevelDebug)
	h.metrics.request(opName, r.Proto)
	defer h.finish(x, r)
	if r.Method != http.MethodPost {
		writeXML(x, http.StatusForbidden, "<AccessDeniedException>\n  <Message>Unable to determine service/operation name to be authorized</Message>\n</AccessDeniedException>\n")
		return
	}
	ct := contentType(r.Header.Get("Content-Type"))
	c := codecs[ct]
	switch {
	case ct == "application/json":
		// AWS answers plain JSON with a coral envelope, status 200, whatever the operation.
		h.writeCoral(x, r)
		return
	case c == nil:
		writeXML(x, http.StatusNotFound, "<UnknownOperationException/>\n")
		return
	}
	x.codec = c
	if op == nil {
		h.writeError(x, c, kerr.NewUnknownOperation(""))
		return
	}
	a, pending, err := h.authenticate(r)
	if err != nil {
		h.refused(x, r, a, err)
		h.writeError(x, c, err)
		return
	}
	body, err := h.readBody(x, r, recordCarrying[opName])
	if err != nil {
		h.bodyError(x, c, r, err)
		return
	}
	if pending != nil { // the signature itself covers the body: checked once it is read, before anything runs
		if err := pending.Verify(body); err != nil {
			h.bufs.Put(body)
			err = authError(err)
			h.refused(x, r, a, err)
			h.writeError(x, c, err)
			return
		}
	}
	var lg *callLog
	if x.logging {
		lg = &x.call
	}
	out, err := op(r.Context(), c, body, lg)
	h.bufs.Put(body) // decoded inputs never point into the body (every codec copies)
	h.mem.release(x.held)
	x.held = 0
	if err != nil {
		h.writeError(x, c, err)
		return
	}
	if sub, ok := out.(*subscription); ok { // SubscribeToShard: an event stream
		x.streamed = true
		h.stream(x, c, sub, func() { h.metrics.observe(opName, x.start) })
		return
	}
	resp, done := out.(encoded)
	if !done {
		if resp, err = c.encode(out); err != nil {
			h.writeError(x, c, err)
			return
		}
	}
	hdr.Set("Content-Type", c.contentType())
	x.Write(resp)
	if done {
		h.bufs.Put(resp) // Write copied it (or sent it)
	}
}

// recordCarrying is the memory a request reserves per byte of its body, by operation: PutRecord and
// PutRecords decode their records into a copy as large as the body at most (CBOR; three quarters of it
// in base64 JSON), every other input decodes into a few small strings.
var recordCarrying = map[string]int64{"PutRecord": 2, "PutRecords": 2}

// errBodyTooLarge is a declared body over maxBody, refused before it is read.
var errBodyTooLarge = errors.New("request body too large")

// readBody reads the request body, at most maxBody bytes, into a pooled buffer sized from
// Content-Length (the caller puts it back). io.ReadAll would start at 512 bytes and grow: a 700 KB
// PutRecords body would be copied a dozen times into fresh, zeroed buffers.
//
// Before reading, it reserves perByte (1 when 0) bytes of request memory per body byte in h.mem, by
// Content-Length, or as the buffer grows when the length is unknown; x.held says how much (the caller
// releases it). The read, the wait for memory included, must end by h.readTimeout after the request
// started: a connection read deadline (HTTP/1.1) or the stream's (HTTP/2), set here and cleared once
// the body is read, so that a long response (SubscribeToShard) is not cut by it and net/http's
// background read on an HTTP/1.1 connection does not fire it later (Go 1.26's net/http also clears it
// when that read starts, at the body's end; HTTP/2 has no such clearing). After a failed read the deadline
// stays: whatever net/http then tries to read of the body fails at once, and the connection closes.
func (h *Handler) readBody(x *exchange, r *http.Request, perByte int64) ([]byte, error) {
	if perByte <= 0 {
		perByte = 1
	}
	if r.ContentLength > maxBody {
		return nil, errBodyTooLarge
	}
	if r.ContentLength == 0 {
		return nil, nil
	}
	rc := http.NewResponseController(x.ResponseWriter)
	deadline := time.Time{}
	if h.readTimeout > 0 {
		deadline = x.start.Add(h.readTimeout)
		rc.SetReadDeadline(deadline) // an error: a writer without deadlines (tests), read unbounded
	}
	reserve := func(n int64) error {
		wait := h.memWait
		if !deadline.IsZero() {
			wait = min(wait, time.Until(deadline))
		}
		queued, err := h.mem.acquireQueued(r.Context(), perByte*n, wait)
		x.queued = x.queued || queued
		if err != nil {
			return err
		}
		x.held += perByte * n
		return nil
	}
	rd := http.MaxBytesReader(x.ResponseWriter, r.Body, maxBody)
	n := int(r.ContentLength)
	if r.ContentLength < 0 {
		n = 4 << 10 // unknown: grown below, each growth reserved first
	}
	if err := reserve(int64(n)); err != nil {
		return nil, err
	}
	buf := h.bufs.Get(n + 1) // room to read io.EOF without growing
	for {
		if len(buf) == cap(buf) {
			if err := reserve(int64(cap(buf))); err != nil {
				h.bufs.Put(buf)
				return nil, err
			}
			grown := append(h.bufs.Get(2*cap(buf)), buf...)
			h.bufs.Put(buf)
			buf = grown
		}
		m, err := rd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err == io.EOF {
			if !deadline.IsZero() {
				rc.SetReadDeadline(time.Time{})
			}
			return buf, nil
		}
		if err != nil {
			h.bufs.Put(buf)
			return nil, err
		}
	}
}

// bodyError answers a request whose body could not be had: 413 for one over maxBody (as AWS's front
// end does), InternalFailureException (500, retried by the SDKs) when request memory is short (or a
// body that waited its turn for it then ran out of read time), and
// SerializationException (400, AWS's answer to a body it cannot decode) when it could not be read
// (broken chunked encoding, a client that closed before its Content-Length, the read timeout). The
// operation never runs; an HTTP/1.1 connection is closed after the answer, its framing being lost.
func (h *Handler) bodyError(x *exchange, c codec, r *http.Request, err error) {
	var tooBig *http.MaxBytesError
	switch {
	case errors.Is(err, errBodyTooLarge) || errors.As(err, &tooBig):
		writeXML(x, http.StatusRequestEntityTooLarge, "")
	case errors.Is(err, errMemoryTooLarge):
		h.metrics.memoryRefused.Inc()
		if ok, held := h.memoryWarns.allow(""); ok {
			h.log.Warn("request refused: larger than the request memory bound", "request_id", x.reqID, "operation", x.op,
				"content_length", r.ContentLength, "bound", h.mem.size, "suppressed", held)
		}
		h.refuseUnread(x, c, r, kerr.NewInternalFailure("The request needs more memory than the server's bound on request memory allows; it was not processed."))
	case errors.Is(err, errMemoryBusy) || x.queued && errors.Is(err, os.ErrDeadlineExceeded):
		// A body that ran out of time after waiting its turn for memory is the server's delay, not the
		// client's: refused retryably too.
		h.metrics.memoryRefused.Inc()
		h.refuseUnread(x, c, r, kerr.NewInternalFailure("The server is at its bound on request memory; the request was not processed. Retry it."))
	default:
		h.log.Debug("read request body", "request_id", x.reqID, "operation", x.op, "err", err)
		if r.ProtoMajor == 1 {
			x.Header().Set("Connection", "close")
		}
		h.writeError(x, c, kerr.NewSerialization(""))
	}
}

// refuseUnread answers err to a request whose body was not read (or not all of it). On HTTP/1.1 it
// answers first, then reads the rest of the body into nothing (no memory kept, until the read
// deadline): a server that closes a connection with unread bytes in it resets it, and a client still
// sending its body then sees "connection reset" instead of the answer. HTTP/2 ends the stream instead.
func (h *Handler) refuseUnread(x *exchange, c codec, r *http.Request, err error) {
	rc := http.NewResponseController(x.ResponseWriter)
	if r.ProtoMajor != 1 || rc.EnableFullDuplex() != nil {
		h.writeError(x, c, err)
		return
	}
	h.writeError(x, c, err)
	rc.Flush()
	io.CopyN(io.Discard, r.Body, maxBody+1)
}

// contentType is the media type of a Content-Type header: up to any ';', trimmed.
func contentType(v string) string {
	v, _, _ = strings.Cut(v, ";")
	return strings.TrimSpace(v)
}

// authenticate checks the request's SigV4 signature is present and complete and, with a verifier,
// everything about it but the signature over the body, which the returned Pending checks. It returns
// the signature as parsed (nil when it could not be) for the log of refusals.
func (h *Handler) authenticate(r *http.Request) (*sigv4.Auth, *sigv4.Pending, error) {
	a, err := sigv4.Parse(r.Header, r.URL.Query())
	if err != nil || h.auth == nil {
		return a, nil, authError(err)
	}
	p, err := h.auth.Check(r, a)
	return a, p, authError(err)
}

// authError maps a sigv4 error to AWS's exception; other errors (and nil) pass unchanged.
func authError(err error) error {
	var e *sigv4.Error
	if !errors.As(err, &e) {
		return err
	}
	switch e.Kind {
	case sigv4.Missing:
		return kerr.NewMissingAuthenticationToken(e.Message)
	case sigv4.Incomplete:
		return kerr.NewIncompleteSignature(e.Message)
	case sigv4.Unrecognized:
		return kerr.NewUnrecognizedClient(e.Message)
	default:
		return kerr.NewInvalidSignature(e.Message)
	}
}

// writeCoral answers an application/json request as AWS does: status 200 and an envelope naming
// SerializationException for a body that is not a JSON object, UnknownOperationException otherwise. A
// body that cannot be read is answered as in bodyError, never 200.
func (h *Handler) writeCoral(x *exchange, r *http.Request) {
	body, err := h.readBody(x, r, 1)
	if err != nil {
		h.bodyError(x, jsonCodec, r, err)
		return
	}
	var obj map[string]any
	resp := `{"Output":{"__type":"com.amazon.coral.service#UnknownOperationException","message":null},"Version":"1.0"}`
	if json.Unmarshal(body, &obj) != nil {
		resp = `{"Output":{"__type":"com.amazon.coral.service#SerializationException","Message":null},"Version":"1.0"}`
	}
	h.bufs.Put(body)
	h.mem.release(x.held)
	x.held = 0
	x.Header().Set("Content-Type", "application/json")
	io.WriteString(x, resp)
}

// writeXML writes the bodies AWS sends outside the JSON protocol, without a Content-Type.
func writeXML(w http.ResponseWriter, status int, body string) {
	w.Header()["Content-Type"] = nil // no sniffed type either
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// writeError is the one place errors become responses: a kerr.Error as AWS writes it, anything else
// logged with the request id and answered as InternalFailureException without detail.
func (h *Handler) writeError(x *exchange, c codec, err error) {
	var ke kerr.Error
	if !errors.As(err, &ke) {
		h.log.Error("internal failure", "request_id", x.reqID, "operation", x.op, "err", err)
		ke = kerr.NewInternalFailure("")
	}
	x.code = ke.Code()
	h.metrics.error(x.op, ke.Code())
	body := c.encodeError(ke.Code(), ke.Message())
	hdr := x.Header()
	hdr.Set("Content-Type", c.contentType())
	hdr.Set("X-Amzn-ErrorType", ke.Code())
	hdr.Set("Content-Length", strconv.Itoa(len(body))) // complete to the client even while a body is drained after it
	x.WriteHeader(ke.HTTPStatus())
	x.Write(body)
}

func extendedID() string {
	var b [64]byte
	rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}
