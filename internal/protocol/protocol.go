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
)

// opFunc decodes a request body with c, runs one operation and returns its output (nil for none).
type opFunc func(ctx context.Context, c codec, body []byte) (any, error)

// Handler serves the Kinesis API on POST and metrics on GET /metrics.
type Handler struct {
	ops     map[string]opFunc
	log     *slog.Logger
	metrics *metrics
	bufs    bufpool.Pool    // request bodies, PutRecords' decoded data, encoded replies
	auth    *sigv4.Verifier // nil: signatures are only parsed, any credentials accepted
}

// New returns the HTTP handler for svc. With auth set, every API request must carry a signature
// auth accepts; with nil, any complete signature is accepted.
func New(svc *service.Service, log *slog.Logger, auth *sigv4.Verifier) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{log: log, metrics: newMetrics(), auth: auth}
	h.ops = operations(svc, &h.bufs, h.metrics)
	return h
}

// Register adds c to the collectors GET /metrics serves (the storage engine's, for one).
func (h *Handler) Register(c prometheus.Collector) error { return h.metrics.reg.Register(c) }

// ServeHTTP answers one request, checking in AWS's order: method, content type, operation,
// authentication, body, then the operation itself (validation, then action).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == "/metrics" {
		h.metrics.handler.ServeHTTP(w, r)
		return
	}
	start := time.Now()
	reqID := uuid.NewString()
	hdr := w.Header()
	hdr.Set("x-amzn-RequestId", reqID)
	hdr.Set("x-amz-id-2", extendedID())

	opName, _ := strings.CutPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	op := h.ops[opName]
	if op == nil {
		opName = "unknown"
	}
	h.metrics.request(opName, r.Proto)
	streamed := false // SubscribeToShard observes its duration at its initial response
	defer func() {
		if !streamed {
			h.metrics.observe(opName, start)
		}
	}()
	if r.Method != http.MethodPost {
		writeXML(w, http.StatusForbidden, "<AccessDeniedException>\n  <Message>Unable to determine service/operation name to be authorized</Message>\n</AccessDeniedException>\n")
		return
	}
	ct := contentType(r.Header.Get("Content-Type"))
	c := codecs[ct]
	switch {
	case ct == "application/json":
		// AWS answers plain JSON with a coral envelope, status 200, whatever the operation.
		h.writeCoral(w, r)
		return
	case c == nil:
		writeXML(w, http.StatusNotFound, "<UnknownOperationException/>\n")
		return
	}
	if op == nil {
		h.writeError(w, c, opName, reqID, kerr.NewUnknownOperation(""))
		return
	}
	pending, err := h.authenticate(r)
	if err != nil {
		h.writeError(w, c, opName, reqID, err)
		return
	}
	body, err := h.readBody(w, r)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeXML(w, http.StatusRequestEntityTooLarge, "")
			return
		}
		h.log.Debug("read request body", "request_id", reqID, "err", err)
		return
	}
	if pending != nil { // the signature itself covers the body: checked once it is read, before anything runs
		if err := pending.Verify(body); err != nil {
			h.bufs.Put(body)
			h.writeError(w, c, opName, reqID, authError(err))
			return
		}
	}
	out, err := op(r.Context(), c, body)
	h.bufs.Put(body) // decoded inputs never point into the body (every codec copies)
	if err != nil {
		h.writeError(w, c, opName, reqID, err)
		return
	}
	if sub, ok := out.(*subscription); ok { // SubscribeToShard: an event stream
		streamed = true
		h.stream(w, c, opName, reqID, sub, func() { h.metrics.observe(opName, start) })
		return
	}
	resp, done := out.(encoded)
	if !done {
		if resp, err = c.encode(out); err != nil {
			h.writeError(w, c, opName, reqID, err)
			return
		}
	}
	hdr.Set("Content-Type", c.contentType())
	w.Write(resp)
	if done {
		h.bufs.Put(resp) // Write copied it (or sent it)
	}
}

// readBody reads the request body, at most maxBody bytes, into a pooled buffer sized from
// Content-Length (the caller puts it back). io.ReadAll would start at 512 bytes and grow: a 700 KB
// PutRecords body would be copied a dozen times into fresh, zeroed buffers.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	rd := http.MaxBytesReader(w, r.Body, maxBody)
	n := int(r.ContentLength)
	if r.ContentLength < 0 || r.ContentLength > maxBody {
		n = 4 << 10 // unknown (or too large: MaxBytesReader answers)
	}
	buf := h.bufs.Get(n + 1) // room to read io.EOF without growing
	for {
		if len(buf) == cap(buf) {
			grown := append(h.bufs.Get(2*cap(buf)), buf...)
			h.bufs.Put(buf)
			buf = grown
		}
		m, err := rd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			h.bufs.Put(buf)
			return nil, err
		}
	}
}

// contentType is the media type of a Content-Type header: up to any ';', trimmed.
func contentType(v string) string {
	v, _, _ = strings.Cut(v, ";")
	return strings.TrimSpace(v)
}

// authenticate checks the request's SigV4 signature is present and complete and, with a verifier,
// everything about it but the signature over the body, which the returned Pending checks.
func (h *Handler) authenticate(r *http.Request) (*sigv4.Pending, error) {
	a, err := sigv4.Parse(r.Header, r.URL.Query())
	if err != nil || h.auth == nil {
		return nil, authError(err)
	}
	p, err := h.auth.Check(r, a)
	return p, authError(err)
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
// SerializationException for a body that is not a JSON object, UnknownOperationException otherwise.
func (h *Handler) writeCoral(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var obj map[string]any
	resp := `{"Output":{"__type":"com.amazon.coral.service#UnknownOperationException","message":null},"Version":"1.0"}`
	if json.Unmarshal(body, &obj) != nil {
		resp = `{"Output":{"__type":"com.amazon.coral.service#SerializationException","Message":null},"Version":"1.0"}`
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, resp)
}

// writeXML writes the bodies AWS sends outside the JSON protocol, without a Content-Type.
func writeXML(w http.ResponseWriter, status int, body string) {
	w.Header()["Content-Type"] = nil // no sniffed type either
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// writeError is the one place errors become responses: a kerr.Error as AWS writes it, anything else
// logged with the request id and answered as InternalFailureException without detail.
func (h *Handler) writeError(w http.ResponseWriter, c codec, op, reqID string, err error) {
	var ke kerr.Error
	if !errors.As(err, &ke) {
		h.log.Error("internal failure", "request_id", reqID, "operation", op, "err", err)
		ke = kerr.NewInternalFailure("")
	}
	h.metrics.error(op, ke.Code())
	hdr := w.Header()
	hdr.Set("Content-Type", c.contentType())
	hdr.Set("X-Amzn-ErrorType", ke.Code())
	w.WriteHeader(ke.HTTPStatus())
	w.Write(c.encodeError(ke.Code(), ke.Message()))
}

func extendedID() string {
	var b [64]byte
	rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}
