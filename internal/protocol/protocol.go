// Package protocol is the HTTP edge: X-Amz-Target dispatch, content types, request ids and the one error writer.
package protocol

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"kinesisd/internal/bufpool"
	"kinesisd/internal/identity"
	"kinesisd/internal/kerr"
	"kinesisd/internal/kms"
	"kinesisd/internal/protocol/awsjson"
	"kinesisd/internal/service"
	"kinesisd/internal/sigv4"
)

const (
	// targetService is the service an X-Amz-Target names before its '.' and operation.
	targetService = "Kinesis_20131202"
	// maxBody bounds a request body: a 10 MiB PutRecords grows by a third in base64, plus JSON.
	maxBody = 16 << 20
	// DefaultReadTimeout is Options.ReadTimeout's default.
	DefaultReadTimeout = 60 * time.Second
)

// opFunc decodes a request body with c, has the service authorize the caller for operation op on what
// the input names (service.Service.Authorize, which may move it to the account owning a resource named
// by ARN), runs the operation on svc (the Service of the caller's account and region) and returns its
// output (nil for none). With lg non-nil (the request will be logged) it
// fills lg with the stream the input names and the records and data bytes the operation wrote or read.
type opFunc func(ctx context.Context, op string, svc *service.Service, c codec, body []byte, lg *callLog) (any, error)

// Handler serves the Kinesis API on POST and metrics on GET /metrics.
type Handler struct {
	svc         *service.Service // the default account and region's; nil in tests of the edge alone
	account     string           // the caller's account when the request does not name one
	region      string           // the caller's region when the request is not signed for a valid one
	keys        identity.Keys    // with -credentials: each key's account and principal
	keyring     *kms.Keyring     // the KMS API's (kms.go); nil: KMS calls are refused
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
	origins     corsPolicy  // the origins whose pages may read the answers
}

// Options configure a Handler; the zero value of each field is its default.
type Options struct {
	// Log receives the handler's messages; nil discards them.
	Log *slog.Logger
	// Auth, when set, verifies every API request's signature: the checks that need no body (key known,
	// scope, date, signed headers) before the body is read or memory reserved for it, the signature
	// itself once the body is read, before the operation runs. Nil accepts any complete signature.
	Auth *sigv4.Verifier
	// Account and Region are the caller's account and region when a request does not say, those of
	// the Service given to New (empty: 000000000000 and us-east-1, the Service's defaults too). A
	// request runs in the region its signature's credential scope names, when that is a valid region
	// name, and in the account of its access key.
	Account, Region string
	// Keys are the accepted keys with their accounts and principals (the credentials file of Auth).
	// Without Keys, an access key id of 12 digits is its own account (as LocalStack has it), and any
	// other key is Account's; the principal is then the account's root.
	Keys identity.Keys
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
	// CORSOrigins are the origins, besides this machine's (http://localhost, http://127.0.0.1 and
	// http://[::1] on any port), whose web pages may call the API and read its answers: an exact origin
	// (https://app.example.com), scheme://host:* for any port, or "*" for every origin. With Auth set
	// every origin is allowed, as on AWS: a page can do nothing without a key's secret.
	CORSOrigins []string
	// KMS is the keyring the KMS API (TrentService.* targets, kms.go) runs on; nil answers every KMS
	// call UnsupportedOperationException.
	KMS *kms.Keyring
}

// New returns the HTTP handler for svc, the Service of the default account and region: each request
// runs on svc.For(its caller's account, region).
func New(svc *service.Service, opts Options) *Handler {
	h := newHandler(opts)
	h.svc = svc
	h.ops = operations(&h.bufs, h.metrics)
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
	h := &Handler{account: cmp.Or(opts.Account, defaultAccount), region: cmp.Or(opts.Region, defaultRegion), keys: opts.Keys,
		log: log, metrics: newMetrics(), auth: opts.Auth, readTimeout: timeout, mem: newBudget(limit), memWait: memoryWait,
		logRequests: opts.LogRequests, refusals: newLogLimiter(refusalLogInterval), memoryWarns: newLogLimiter(refusalLogInterval),
		origins: newCORSPolicy(opts.CORSOrigins, opts.Auth != nil), keyring: opts.KMS}
	h.metrics.watchBudget(h.mem)
	return h
}

// Register adds c to the collectors GET /metrics serves (the storage engine's, for one).
func (h *Handler) Register(c prometheus.Collector) error { return h.metrics.reg.Register(c) }

// ServeHTTP answers one request. GET /metrics is served first, then STS Query requests (sts.go) and
// KMS requests (kms.go); every other request is a Kinesis API request, checked in AWS's order:
//
//  1. CORS: a request from an allowed Origin gets AWS's CORS headers, and its OPTIONS preflight is
//     answered 200 here, before anything else.
//  2. A method other than POST: 403 AccessDeniedException, in XML.
//  3. An empty body: 400 SerializationException (UnknownOperationException when the target is not an
//     operation), in JSON for AWS JSON 1.1 and in CBOR for any other Content-Type.
//  4. A Content-Type other than AWS JSON 1.1, CBOR 1.1 or application/json: 403 AccessDeniedException
//     in XML when the target lacks a service or an operation, else 404 <UnknownOperationException/>.
//  5. A body that does not parse: 400 SerializationException in the request's format;
//     application/json goes no further (a coral envelope: 400 for such a body, 404 otherwise).
//  6. An unknown service or operation: 400 UnknownOperationException in the request's format.
//  7. The signature's presence and form (with Options.Auth, the signature itself).
//  8. The operation: its input's types, validation, then the action, on the Service of the caller's
//     account and region (the caller, identity.CallerFrom, in its context).
//
// With Options.Auth, the signature checks that need no body (key known, scope, date, signed headers)
// come after step 4, before the body is read or memory reserved for it, so that a stranger cannot
// make the server buffer bodies. Steps 5 to 7 need the whole body only on their error paths: a
// well-formed request pays no second parse. A panic below it is logged at ERROR and answered 500
// InternalFailureException (the connection aborted when the response had started).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == "/metrics" {
		h.metrics.handler.ServeHTTP(w, r)
		return
	}
	if isSTS(r) {
		h.serveSTS(w, r)
		return
	}
	if isKMS(r) {
		h.serveKMS(w, r)
		return
	}
	x, t := h.begin(w, r)
	defer h.finish(x, r)
	c, body, ok := h.admit(x, r, t)
	if !ok {
		return
	}
	var lg *callLog
	if x.logging {
		lg = &x.call
	}
	out, err := t.op(identity.WithCaller(r.Context(), x.caller), t.name, h.scope(x.caller), c, body, lg)
	if err != nil && isSerialization(err) && !c.parses(body) {
		err = kerr.NewSerialization("") // malformed: AWS says no more than the exception's name
	}
	// No input decoded from the body is used after the operation: CBOR PutRecords' data points into it
	// until then, every other input is a copy.
	h.bufs.Put(body)
	h.mem.release(x.held)
	x.held = 0
	if err != nil {
		h.writeError(x, c, err)
		return
	}
	if sub, ok := out.(*subscription); ok { // SubscribeToShard: an event stream
		x.streamed = true
		h.stream(x, c, sub, func() { h.metrics.observe(x.op, x.start) })
		return
	}
	if g, ok := out.(getRecordsReply); ok {
		w.Header().Set("Content-Type", c.contentType())
		buf, err := c.writeGetRecords(x, h.bufs.Get(getRecordsPiece), g.out)
		h.bufs.Put(buf)
		if err != nil {
			// The client went away. The records' memory is left to the garbage collector: an HTTP/2
			// stream reset while a write waits may leave a DATA frame that still points at a record's
			// Data (CBOR writes large ones directly).
			h.log.Debug("GetRecords reply not written", "err", err)
		} else {
			g.out.Release() // the reply is written, copied out: the records' memory goes back to the engine
		}
		return
	}
	resp, done := out.(encoded)
	if !done {
		if resp, err = c.encode(out); err != nil {
			h.writeError(x, c, err)
			return
		}
	}
	w.Header().Set("Content-Type", c.contentType())
	x.Write(resp)
	if done {
		h.bufs.Put(resp) // Write copied it (or sent it)
	}
}

// admit applies the rules before the operation (ServeHTTP's steps 1 to 7) and answers a request that
// fails one. A request that passes them all is returned with its codec and body (a pooled buffer the
// caller puts back) for the operation t.op; ok is false when it was answered.
func (h *Handler) admit(x *exchange, r *http.Request, t target) (c codec, body []byte, ok bool) {
	if origin := r.Header.Get("Origin"); origin != "" && h.cors(x, r, origin) {
		return nil, nil, false // a preflight, answered
	}
	x.Header().Set("x-amz-id-2", extendedID())
	if r.Method != http.MethodPost {
		h.writeXML(x, http.StatusForbidden, "AccessDeniedException", accessDeniedXML)
		return nil, nil, false
	}
	ct := contentType(r.Header.Get("Content-Type"))
	empty, err := h.bodyEmpty(x, r)
	if err != nil {
		h.bodyError(x, codecOf(ct), r, err)
		return nil, nil, false
	}
	if empty {
		ec := cborCodec
		if ct == awsjson.ContentType {
			ec = jsonCodec
		}
		x.codec = ec
		var e error = kerr.NewSerialization("")
		if t.op == nil {
			e = kerr.NewUnknownOperation("")
		}
		h.writeError(x, ec, e)
		return nil, nil, false
	}
	c = codecs[ct]
	coral := ct == coralContentType
	switch {
	case c == nil && !coral && (t.service == "" || t.name == ""):
		h.writeXML(x, http.StatusForbidden, "AccessDeniedException", accessDeniedXML)
		return nil, nil, false
	case c == nil && !coral:
		h.writeXML(x, http.StatusNotFound, "UnknownOperationException", "<UnknownOperationException/>\n")
		return nil, nil, false
	case coral:
		c = jsonCodec // for what is answered before the envelope: a refused signature, an unreadable body
	}
	x.codec = c
	a, pending, authErr := h.authenticate(r)
	if authErr != nil && h.auth != nil { // before the body: strangers get nothing buffered
		h.refused(x, r, a, authErr)
		h.writeError(x, c, authErr)
		return nil, nil, false
	}
	perByte := int64(1)
	if t.op != nil && !coral {
		perByte = recordCarrying[t.name]
	}
	body, err = h.readBody(x, r, perByte)
	if err != nil {
		h.bodyError(x, c, r, err)
		return nil, nil, false
	}
	if coral {
		h.writeCoral(x, jsonCodec.parses(body))
		h.bufs.Put(body)
		return nil, nil, false
	}
	if t.op == nil {
		var e error = kerr.NewUnknownOperation("")
		if !c.parses(body) {
			e = kerr.NewSerialization("")
		}
		h.bufs.Put(body)
		h.writeError(x, c, e)
		return nil, nil, false
	}
	if !c.composite(body) { // a scalar, or not c at all: known from the first byte
		h.bufs.Put(body)
		h.writeError(x, c, kerr.NewSerialization(""))
		return nil, nil, false
	}
	if authErr == nil && pending != nil { // the signature itself covers the body
		authErr = authError(pending.Verify(body))
	}
	if authErr != nil {
		if !c.parses(body) { // AWS parses the body before it looks at the signature
			authErr = kerr.NewSerialization("")
		} else {
			h.refused(x, r, a, authErr)
		}
		h.bufs.Put(body)
		h.writeError(x, c, authErr)
		return nil, nil, false
	}
	x.caller = h.callerOf(r, a)
	return c, body, true
}

const (
	defaultAccount = "000000000000"
	defaultRegion  = "us-east-1"
)

// accountKey is an access key id that names its account: 12 digits.
var accountKey = regexp.MustCompile(`^[0-9]{12}$`)

// callerOf is who sent r, whose signature (nil: none) passed the checks: the region its credential
// scope names when that is a valid region name, else h.region; the account and principal of its key
// in h.keys; without keys, the account its key id names when that is 12 digits, else h.account, and
// the account's root.
func (h *Handler) callerOf(r *http.Request, a *sigv4.Auth) identity.Caller {
	c := identity.Caller{Account: h.account, Region: h.region, SecureTransport: r.TLS != nil}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		c.SourceIP = host
	}
	if a == nil {
		c.Principal = identity.RootARN(c.Account)
		return c
	}
	c.AccessKeyID = a.AccessKeyID
	if sigv4.ValidRegion(a.Region) {
		c.Region = a.Region
	}
	if k, ok := h.keys[a.AccessKeyID]; ok {
		c.Account, c.Principal = k.Account, k.ARN()
		return c
	}
	if h.keys == nil && accountKey.MatchString(a.AccessKeyID) {
		c.Account = a.AccessKeyID
	}
	c.Principal = identity.RootARN(c.Account)
	return c
}

// scope is the Service of c's account and region (nil when the handler has no Service: tests of the
// edge alone).
func (h *Handler) scope(c identity.Caller) *service.Service {
	if h.svc == nil {
		return nil
	}
	return h.svc.For(c.Account, c.Region)
}

// accessDeniedXML is AWS's answer to a request it cannot tie to an operation.
var accessDeniedXML = xmlError("AccessDeniedException", "Unable to determine service/operation name to be authorized")

// coralContentType is plain JSON, which AWS answers with a coral envelope and never runs.
const coralContentType = "application/json"

// target is a request's X-Amz-Target: service and operation around the first '.', and the
// operation's handler when the service is Kinesis's and the operation one of its own (else nil).
type target struct {
	service, name string
	op            opFunc
}

// begin starts an API request's exchange: its request id, its operation for the metrics and the log,
// and whether a request line will be written. The caller defers h.finish(x, r).
func (h *Handler) begin(w http.ResponseWriter, r *http.Request) (*exchange, target) {
	var t target
	t.service, t.name, _ = strings.Cut(r.Header.Get("X-Amz-Target"), ".")
	if t.service == targetService {
		t.op = h.ops[t.name]
	}
	op := t.name
	if t.op == nil {
		op = "unknown"
	}
	x := h.newExchange(w, r, op)
	h.metrics.request(x.op, r.Proto)
	x.counted = true
	return x, t
}

// newExchange starts the exchange of a request of operation op: its request id, and whether a request
// line will be written. The request is counted in the metrics by finish unless x.counted.
func (h *Handler) newExchange(w http.ResponseWriter, r *http.Request, op string) *exchange {
	x := &exchange{ResponseWriter: w, start: time.Now(), reqID: uuid.NewString(), op: op}
	w.Header().Set("x-amzn-RequestId", x.reqID)
	x.logging = h.logRequests || h.log.Enabled(r.Context(), slog.LevelDebug)
	return x
}

// isSerialization reports whether err is a SerializationException.
func isSerialization(err error) bool {
	var ke kerr.Error
	return errors.As(err, &ke) && ke.Code() == kerr.NewSerialization("").Code()
}

// codecOf is the codec of a Content-Type, AWS JSON 1.1 for one that has none.
func codecOf(ct string) codec {
	if c := codecs[ct]; c != nil {
		return c
	}
	return jsonCodec
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
	deadline := h.readDeadline(x)
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

// readDeadline sets the request's read deadline, h.readTimeout after it started, once (on later calls
// it only returns it); zero when there is none.
func (h *Handler) readDeadline(x *exchange) time.Time {
	if h.readTimeout <= 0 || !x.deadline.IsZero() {
		return x.deadline
	}
	x.deadline = x.start.Add(h.readTimeout)
	http.NewResponseController(x.ResponseWriter).SetReadDeadline(x.deadline) // an error: a writer without deadlines (tests), read unbounded
	return x.deadline
}

// bodyEmpty reports whether the request has no body, without reading it when its length is declared.
// A body of unknown length (chunked) is read for one byte, under the read deadline, and that byte put
// back in front of the rest for readBody.
func (h *Handler) bodyEmpty(x *exchange, r *http.Request) (bool, error) {
	switch {
	case r.ContentLength > 0:
		return false, nil
	case r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody:
		return true, nil
	}
	h.readDeadline(x)
	var b [1]byte
	n, err := io.ReadFull(r.Body, b[:])
	switch {
	case n == 1:
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(b[:]), r.Body), r.Body}
		return false, nil
	case err == io.EOF:
		if !x.deadline.IsZero() {
			http.NewResponseController(x.ResponseWriter).SetReadDeadline(time.Time{})
		}
		return true, nil
	}
	return false, err
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
	p, err := h.auth.Check(r, a, "kinesis")
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

// writeCoral answers an application/json request, which AWS never runs, with a coral envelope: 404
// UnknownOperationException for a body that parses, 400 SerializationException for one that does not.
func (h *Handler) writeCoral(x *exchange, parses bool) {
	code, status := "UnknownOperationException", http.StatusNotFound
	if !parses {
		code, status = "SerializationException", http.StatusBadRequest
	}
	x.code = code
	h.metrics.error(x.op, code)
	x.Header().Set("Content-Type", coralContentType)
	x.WriteHeader(status)
	io.WriteString(x, `{"Output":{"__type":"com.amazon.coral.service#`+code+`"},"Version":"1.0"}`)
}

// writeXML writes the bodies AWS sends outside the JSON protocol, without a Content-Type; code is the
// error they carry, for the metrics and the request log.
func (h *Handler) writeXML(x *exchange, status int, code, body string) {
	if code != "" {
		x.code = code
		h.metrics.error(x.op, code)
	}
	writeXML(x, status, body)
}

// writeXML writes body with status and no Content-Type (not even a sniffed one).
func writeXML(w http.ResponseWriter, status int, body string) {
	w.Header()["Content-Type"] = nil
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
