package protocol

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"kinesisd/internal/identity"
	"kinesisd/internal/kerr"
	"kinesisd/internal/kms"
	"kinesisd/internal/protocol/awsjson"
	"kinesisd/internal/sigv4"
)

// KMS: the keyring's API on the API port, as the AWS SDKs' KMS clients and `aws kms` speak it: AWS
// JSON 1.1 with X-Amz-Target TrentService.<Op>, each operation routed to the kms.Keyring method of the
// same name (kms_ops.go), the caller worked out from the signature as for Kinesis. Answers carry
// KMS's member names, epoch-seconds dates and base64 blobs; errors KMS's JSON shape
// ({"__type":"NotFoundException","message":"…"}, the one error writer's).

// kmsTargetService is the service an X-Amz-Target of the KMS API names.
const kmsTargetService = "TrentService"

// isKMS reports whether r is a KMS API request: its X-Amz-Target names TrentService.
func isKMS(r *http.Request) bool {
	service, _, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
	return service == kmsTargetService
}

// kmsError is a refusal the edge itself makes in KMS's words (the keyring makes its own, kms.Error).
type kmsError struct {
	code   string
	status int
	msg    string
}

func (e *kmsError) Error() string   { return e.code + ": " + e.msg }
func (e *kmsError) Code() string    { return e.code }
func (e *kmsError) HTTPStatus() int { return e.status }
func (e *kmsError) Message() string { return e.msg }

var _ kerr.Error = (*kmsError)(nil)

// errKMSOff answers every KMS operation of a server without a keyring (NATS JetStream without
// -kms-master-key-file).
var errKMSOff = &kmsError{code: kms.CodeUnsupportedOperation, status: http.StatusBadRequest,
	msg: "KMS is off on this server: on NATS JetStream start every front-end with the same -kms-master-key-file"}

// serveKMS answers a KMS API request, before the Kinesis API's order of checks: CORS as for Kinesis;
// a method other than POST (403 AccessDeniedException, XML); a Content-Type other than AWS JSON 1.1
// (404 <UnknownOperationException/>); with Options.Auth, the signature checks that need no body, for
// service kms; the body (under the read timeout and the request-memory bound); an unknown operation
// (400 UnknownOperationException); a body that is not a JSON object (400 SerializationException); the
// signature (its presence, and with Options.Auth the signature over the body); then the operation on
// the keyring, as the caller of the signature (errKMSOff without a keyring).
func (h *Handler) serveKMS(w http.ResponseWriter, r *http.Request) {
	_, name, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
	op := kmsOps[name]
	label := name
	if op == nil {
		label = "unknown"
	}
	x := h.newExchange(w, r, label)
	defer h.finish(x, r)
	x.codec = jsonCodec
	if origin := r.Header.Get("Origin"); origin != "" && h.cors(x, r, origin) {
		return // a preflight, answered
	}
	if r.Method != http.MethodPost {
		h.writeXML(x, http.StatusForbidden, "AccessDeniedException", accessDeniedXML)
		return
	}
	if contentType(r.Header.Get("Content-Type")) != awsjson.ContentType {
		h.writeXML(x, http.StatusNotFound, "UnknownOperationException", "<UnknownOperationException/>\n")
		return
	}
	a, err := sigv4.Parse(r.Header, r.URL.Query())
	authErr := authError(err)
	var pending *sigv4.Pending
	if err == nil && h.auth != nil {
		pending, err = h.auth.Check(r, a, "kms")
		authErr = authError(err)
	}
	if authErr != nil && h.auth != nil { // before the body: strangers get nothing buffered
		h.refused(x, r, a, authErr)
		h.writeError(x, jsonCodec, authErr)
		return
	}
	body, err := h.readBody(x, r, 1)
	if err != nil {
		h.bodyError(x, jsonCodec, r, err)
		return
	}
	defer h.bufs.Put(body) // decoding copies what it keeps
	switch {
	case op == nil && jsonCodec.parses(body):
		h.writeError(x, jsonCodec, kerr.NewUnknownOperation(""))
		return
	case op == nil || !jsonCodec.parses(body): // a list parses, and fails decodeKMS
		h.writeError(x, jsonCodec, kerr.NewSerialization(""))
		return
	}
	if authErr == nil && pending != nil { // the signature itself covers the body
		authErr = authError(pending.Verify(body))
	}
	if authErr != nil {
		h.refused(x, r, a, authErr)
		h.writeError(x, jsonCodec, authErr)
		return
	}
	x.caller = h.callerOf(r, a)
	if h.keyring == nil {
		h.writeError(x, jsonCodec, errKMSOff)
		return
	}
	caller := kms.Caller{Account: x.caller.Account, Region: x.caller.Region, Principal: x.caller.Principal}
	out, err := op(identity.WithCaller(r.Context(), x.caller), h.keyring, caller, body)
	if err != nil {
		h.writeError(x, jsonCodec, err)
		return
	}
	x.Header().Set("Content-Type", awsjson.ContentType)
	if out == nil { // an operation without output: an empty body, as KMS answers
		x.Header().Set("Content-Length", "0")
		x.WriteHeader(http.StatusOK)
		return
	}
	resp, err := json.Marshal(out)
	if err != nil {
		h.writeError(x, jsonCodec, err)
		return
	}
	x.Write(resp)
}

// kmsOp decodes a KMS operation's input from body and runs it on k as c.
type kmsOp func(ctx context.Context, k *kms.Keyring, c kms.Caller, body []byte) (any, error)

// decodeKMS decodes a KMS input: members by name, unknown members ignored; a member of the wrong type
// is a SerializationException, as AWS answers it.
func decodeKMS(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return kerr.NewSerialization("")
	}
	return nil
}

// epochSeconds is a KMS timestamp on the wire: seconds since the epoch, with milliseconds as a
// fraction (1733425478.123), as AWS JSON 1.1 writes timestamps.
type epochSeconds time.Time

func (t epochSeconds) MarshalJSON() ([]byte, error) {
	ms := time.Time(t).UnixMilli()
	return strconv.AppendFloat(nil, float64(ms)/1000, 'f', -1, 64), nil
}

// epochOrNil is t on the wire, or nil (the member left out) when t is zero.
func epochOrNil(t time.Time) *epochSeconds {
	if t.IsZero() {
		return nil
	}
	e := epochSeconds(t)
	return &e
}
