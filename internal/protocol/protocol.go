// Package protocol is the HTTP edge: X-Amz-Target dispatch, content types, request ids and the one error writer.
package protocol

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"kinesisd/internal/kerr"
	"kinesisd/internal/protocol/awsjson"
	"kinesisd/internal/service"
)

const (
	targetPrefix = "Kinesis_20131202."
	// maxBody bounds a request body: a 10 MiB PutRecords grows by a third in base64, plus JSON.
	maxBody = 16 << 20
)

// opFunc decodes a request body, runs one operation and returns its output (nil for none).
type opFunc func(ctx context.Context, body []byte) (any, error)

// Handler serves the Kinesis API on POST and metrics on GET /metrics.
type Handler struct {
	ops     map[string]opFunc
	log     *slog.Logger
	metrics *metrics
}

// New returns the HTTP handler for svc.
func New(svc *service.Service, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{ops: operations(svc), log: log, metrics: newMetrics()}
}

// ServeHTTP answers one request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == "/metrics" {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		h.metrics.write(w)
		return
	}
	reqID := uuid.NewString()
	hdr := w.Header()
	hdr.Set("x-amzn-RequestId", reqID)
	hdr.Set("x-amz-id-2", extendedID())

	target := r.Header.Get("X-Amz-Target")
	opName, hasPrefix := strings.CutPrefix(target, targetPrefix)
	op := h.ops[opName]
	if !hasPrefix || op == nil {
		h.metrics.request("unknown", r.Proto)
		h.writeError(w, "unknown", reqID, kerr.NewUnknownOperation(""))
		return
	}
	h.metrics.request(opName, r.Proto)
	if r.Method != http.MethodPost {
		h.writeError(w, opName, reqID, kerr.NewUnknownOperation(""))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.writeError(w, opName, reqID, kerr.NewSerialization("Request body is too large."))
			return
		}
		h.log.Debug("read request body", "request_id", reqID, "err", err)
		return
	}
	out, err := op(r.Context(), body)
	if err != nil {
		h.writeError(w, opName, reqID, err)
		return
	}
	resp, err := awsjson.Encode(out)
	if err != nil {
		h.writeError(w, opName, reqID, err)
		return
	}
	hdr.Set("Content-Type", awsjson.ContentType)
	w.Write(resp)
}

// writeError is the one place errors become responses: a kerr.Error as AWS writes it, anything else
// logged with the request id and answered as InternalFailureException without detail.
func (h *Handler) writeError(w http.ResponseWriter, op, reqID string, err error) {
	var ke kerr.Error
	if !errors.As(err, &ke) {
		h.log.Error("internal failure", "request_id", reqID, "operation", op, "err", err)
		ke = kerr.NewInternalFailure("")
	}
	h.metrics.error(op, ke.Code())
	hdr := w.Header()
	hdr.Set("Content-Type", awsjson.ContentType)
	hdr.Set("X-Amzn-ErrorType", ke.Code())
	w.WriteHeader(ke.HTTPStatus())
	w.Write(awsjson.EncodeError(ke.Code(), ke.Message()))
}

func extendedID() string {
	var b [48]byte
	rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}
