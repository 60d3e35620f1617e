package protocol

import (
	"errors"
	"net/http"
	"net/url"
	"os"
	"strings"

	"kinesisd/internal/identity"
	"kinesisd/internal/sigv4"
)

// STS, as far as clients pointed at one endpoint for every service need it: GetCallerIdentity in the
// AWS Query protocol (a form-encoded POST body, or the query string of a GET, such as the presigned
// URLs Kubernetes authenticators pass around), answered in STS's XML. The SDKs speak only this
// protocol to STS (its model lists no other).
const (
	stsVersion        = "2011-06-15"
	stsNamespace      = "https://sts.amazonaws.com/doc/2011-06-15/"
	formContentType   = "application/x-www-form-urlencoded"
	stsRedirect       = "https://aws.amazon.com/iam" // where AWS sends a request without an Action
	stsNoVersion      = "NO_VERSION_SPECIFIED"
	msgMissingToken   = "Request is missing Authentication Token"
	msgMalformedQuery = "The query string contains a syntax error."
)

// xmlText escapes XML text content as AWS does: &, < and > only (quotes stay as they are).
var xmlText = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// isSTS reports whether r is an STS Query request: no X-Amz-Target, and a form-encoded POST or an
// Action in the query string.
func isSTS(r *http.Request) bool {
	if r.Header.Get("X-Amz-Target") != "" {
		return false
	}
	if r.URL.Query().Has("Action") {
		return r.Method == http.MethodGet || r.Method == http.MethodPost
	}
	return r.Method == http.MethodPost && contentType(r.Header.Get("Content-Type")) == formContentType
}

// stsError is an error in STS's Query protocol.
type stsError struct {
	status        int
	code, message string
}

// serveSTS answers an STS Query request, before the Kinesis API's order of checks: the signature's
// presence and form (with Options.Auth, everything about it that needs no body, for service sts),
// the body (the signature over it, with Options.Auth), then the action: GetCallerIdentity answers the
// caller's account, ARN and user id; any other action or version is InvalidAction; no action at all is
// redirected, as AWS does.
func (h *Handler) serveSTS(w http.ResponseWriter, r *http.Request) {
	x := h.newExchange(w, r, "STS")
	defer h.finish(x, r)
	a, err := sigv4.Parse(r.Header, r.URL.Query())
	var pending *sigv4.Pending
	if err == nil && h.auth != nil {
		pending, err = h.auth.Check(r, a, "sts")
	}
	if err != nil {
		h.refusedSTS(x, r, a, err)
		return
	}
	var body []byte
	if r.Method == http.MethodPost {
		body, err = h.readBody(x, r, 1)
		if err != nil {
			h.stsBodyError(x, r, err)
			return
		}
		defer h.bufs.Put(body)
	}
	if pending != nil {
		if err := pending.Verify(body); err != nil {
			h.refusedSTS(x, r, a, err)
			return
		}
	}
	params, err := stsParams(r, body)
	if err != nil {
		h.writeSTSError(x, stsError{http.StatusNotFound, "MalformedQueryString", msgMalformedQuery})
		return
	}
	actions, ok := params["Action"]
	if !ok {
		x.op = "unknown"
		loc := stsRedirect
		if r.Method == http.MethodGet && r.URL.RawQuery != "" {
			loc += "?" + r.URL.RawQuery
		}
		x.Header().Set("Location", loc)
		x.WriteHeader(http.StatusFound)
		return
	}
	version := stsNoVersion
	if v, ok := params["Version"]; ok {
		version = v[0]
	}
	if actions[0] != "GetCallerIdentity" || version != stsVersion {
		x.op = "unknown"
		h.writeSTSError(x, stsError{http.StatusBadRequest, "InvalidAction",
			"Could not find operation " + truncate(actions[0], 256) + " for version " + truncate(version, 64)})
		return
	}
	x.op = "GetCallerIdentity"
	x.caller = h.callerOf(r, a)
	var b strings.Builder
	b.WriteString(`<GetCallerIdentityResponse xmlns="` + stsNamespace + `">` + "\n  <GetCallerIdentityResult>\n")
	for _, f := range [...][2]string{{"Arn", x.caller.Principal}, {"UserId", identity.UserID(x.caller.Principal)}, {"Account", x.caller.Account}} {
		b.WriteString("    <" + f[0] + ">" + xmlText.Replace(f[1]) + "</" + f[0] + ">\n")
	}
	b.WriteString("  </GetCallerIdentityResult>\n  <ResponseMetadata>\n    <RequestId>" + x.reqID +
		"</RequestId>\n  </ResponseMetadata>\n</GetCallerIdentityResponse>\n")
	x.Header().Set("Content-Type", "text/xml")
	x.Write([]byte(b.String()))
}

// stsParams are the request's Query parameters: a form-encoded body's, then the query string's (the
// first value of a name is the one that counts).
func stsParams(r *http.Request, body []byte) (url.Values, error) {
	params := url.Values{}
	if len(body) > 0 && contentType(r.Header.Get("Content-Type")) == formContentType {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, err
		}
		params = form
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	for k, vs := range query {
		params[k] = append(params[k], vs...)
	}
	return params, nil
}

// refusedSTS answers a request whose signature is refused (err from sigv4), with the Query protocol's
// codes for it, and logs it as refused signatures are.
func (h *Handler) refusedSTS(x *exchange, r *http.Request, a *sigv4.Auth, err error) {
	h.refused(x, r, a, authError(err))
	var e *sigv4.Error
	if !errors.As(err, &e) {
		h.writeSTSError(x, stsError{http.StatusInternalServerError, "InternalFailure", ""})
		return
	}
	switch e.Kind {
	case sigv4.Missing:
		h.writeSTSError(x, stsError{http.StatusForbidden, "MissingAuthenticationToken", msgMissingToken})
	case sigv4.Incomplete:
		h.writeSTSError(x, stsError{http.StatusBadRequest, "IncompleteSignature", e.Message})
	case sigv4.Unrecognized:
		h.writeSTSError(x, stsError{http.StatusForbidden, "InvalidClientTokenId", e.Message})
	default:
		h.writeSTSError(x, stsError{http.StatusForbidden, "SignatureDoesNotMatch", e.Message})
	}
}

// stsBodyError answers an STS request whose body could not be read: 413 for one over the size bound,
// 500 when request memory is short, else 400 (the connection closed after it on HTTP/1.1).
func (h *Handler) stsBodyError(x *exchange, r *http.Request, err error) {
	var tooBig *http.MaxBytesError
	switch {
	case errors.Is(err, errBodyTooLarge) || errors.As(err, &tooBig):
		writeXML(x, http.StatusRequestEntityTooLarge, "")
	case errors.Is(err, errMemoryTooLarge) || errors.Is(err, errMemoryBusy) || x.queued && errors.Is(err, os.ErrDeadlineExceeded):
		h.metrics.memoryRefused.Inc()
		h.writeSTSError(x, stsError{http.StatusInternalServerError, "InternalFailure", "The server is at its bound on request memory; the request was not processed. Retry it."})
	default:
		if r.ProtoMajor == 1 {
			x.Header().Set("Connection", "close")
		}
		h.writeSTSError(x, stsError{http.StatusBadRequest, "MalformedQueryString", msgMalformedQuery})
	}
}

// writeSTSError writes e in the Query protocol's XML error shape, as STS does.
func (h *Handler) writeSTSError(x *exchange, e stsError) {
	x.code = e.code
	h.metrics.error(x.op, e.code)
	kind := "Sender"
	if e.status >= 500 {
		kind = "Receiver"
	}
	var b strings.Builder
	b.WriteString(`<ErrorResponse xmlns="` + stsNamespace + `">` + "\n  <Error>\n    <Type>" + kind + "</Type>\n    <Code>" + e.code + "</Code>\n    <Message>")
	b.WriteString(xmlText.Replace(e.message))
	b.WriteString("</Message>\n  </Error>\n  <RequestId>" + x.reqID + "</RequestId>\n</ErrorResponse>\n")
	x.Header().Set("Content-Type", "text/xml")
	x.WriteHeader(e.status)
	x.Write([]byte(b.String()))
}
