package protocol

import (
	"encoding/xml"
	"net"
	"net/http"
	"strings"

	"kinesisd/internal/kerr"
)

// exposeHeaders is AWS's Access-Control-Expose-Headers: the response headers a page may read.
const exposeHeaders = "x-amzn-RequestId,x-amzn-ErrorType,x-amz-request-id,x-amz-id-2,x-amzn-ErrorMessage,Date"

// loopbackOrigins are the origins allowed without -credentials besides Options.CORSOrigins: pages
// served from this machine, on any port.
var loopbackOrigins = []string{"http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"}

// corsPolicy decides which origins' pages may read the API's answers. AWS allows every origin ("*"),
// since every request is signed; a server that accepts any signature must not let any web page its
// user visits read and delete their streams.
type corsPolicy struct {
	any     bool            // every origin: answered "*"
	exact   map[string]bool // origins allowed as written (lower case)
	anyPort map[string]bool // scheme://host of the entries scheme://host:*, on any port or none
}

// newCORSPolicy allows every origin when signed (signatures are verified), else the loopback origins
// and origins: exact origins (https://app.example.com), scheme://host:* for any port, or "*".
func newCORSPolicy(origins []string, signed bool) corsPolicy {
	p := corsPolicy{any: signed, exact: map[string]bool{}, anyPort: map[string]bool{}}
	for _, o := range append(append([]string(nil), loopbackOrigins...), origins...) {
		o = strings.ToLower(strings.TrimSpace(o))
		switch {
		case o == "*":
			p.any = true
		case strings.HasSuffix(o, ":*"):
			p.anyPort[strings.TrimSuffix(o, ":*")] = true
		case o != "":
			p.exact[strings.TrimSuffix(o, "/")] = true
		}
	}
	return p
}

// allow returns the Access-Control-Allow-Origin value for origin, and whether it is allowed.
func (p corsPolicy) allow(origin string) (string, bool) {
	if p.any {
		return "*", true
	}
	o := strings.ToLower(origin)
	if p.exact[o] {
		return origin, true
	}
	base, port, hasPort := splitOrigin(o)
	if p.anyPort[base] && (!hasPort || digits(port)) {
		return origin, true
	}
	return "", false
}

// splitOrigin cuts an origin's port off: "http://[::1]:3000" is "http://[::1]" and "3000".
func splitOrigin(o string) (base, port string, hasPort bool) {
	scheme := strings.Index(o, "://")
	i := strings.LastIndexByte(o, ':')
	if scheme < 0 || i <= scheme || strings.Contains(o[i:], "]") {
		return o, "", false
	}
	return o[:i], o[i+1:], true
}

func digits(s string) bool {
	if s == "" || len(s) > 5 {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// cors adds the CORS headers AWS sends to a request from an allowed origin, and answers its
// preflight: an OPTIONS request is answered 200 with an empty body (and no x-amz-id-2, as AWS), echoing
// the method and headers the browser asked for; it reports whether it answered. A request from an
// origin not allowed gets no CORS headers and goes on to the other rules (its preflight is then
// refused as any OPTIONS is), so that the browser keeps the page from the answer.
func (h *Handler) cors(x *exchange, r *http.Request, origin string) bool {
	allow, ok := h.origins.allow(origin)
	if !ok {
		return false
	}
	hdr := x.Header()
	hdr.Set("Access-Control-Allow-Origin", allow)
	if allow != "*" {
		hdr.Add("Vary", "Origin")
	}
	if r.Method != http.MethodOptions {
		hdr.Set("Access-Control-Expose-Headers", exposeHeaders)
		return false
	}
	if v := r.Header.Get("Access-Control-Request-Headers"); v != "" {
		hdr.Set("Access-Control-Allow-Headers", v)
	}
	if v := r.Header.Get("Access-Control-Request-Method"); v != "" {
		hdr.Set("Access-Control-Allow-Methods", v)
	}
	// Chrome asks before a public page calls a loopback address; an origin allowed here may.
	if r.Header.Get("Access-Control-Request-Private-Network") == "true" {
		hdr.Set("Access-Control-Allow-Private-Network", "true")
	}
	hdr.Set("Access-Control-Max-Age", "172800")
	hdr.Set("Content-Length", "0")
	x.WriteHeader(http.StatusOK)
	return true
}

// LoopbackHost reports whether host (a Host header, with or without a port) names this machine's
// loopback interface: localhost, or an address of 127.0.0.0/8 or ::1. An empty Host (HTTP/1.0) is
// taken as loopback: browsers always send one.
func LoopbackHost(host string) bool {
	if host == "" {
		return true
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// RefuseHost answers a request whose Host is not a loopback name, sent to a loopback port of a server
// without -credentials (DNS rebinding: a web page whose name an attacker points at 127.0.0.1 would
// otherwise reach the API as its own origin): AccessDeniedException, in the request's format when its
// Content-Type is AWS JSON 1.1 or CBOR (HTTP 400, as AWS answers a call IAM refuses; the SDKs decode it
// into their AccessDeniedException), otherwise as the XML HTTP 403 AWS answers before it knows the
// protocol.
func (h *Handler) RefuseHost(w http.ResponseWriter, r *http.Request) {
	x, _ := h.begin(w, r)
	defer h.finish(x, r)
	x.Header().Set("x-amz-id-2", extendedID())
	msg := "Host '" + truncate(r.Host, 256) + "' is not a loopback name: this server listens on a loopback address " +
		"without -credentials and answers only requests addressed to localhost, 127.0.0.1 or [::1] (DNS rebinding protection)."
	if c := codecs[contentType(r.Header.Get("Content-Type"))]; c != nil {
		x.codec = c
		h.writeError(x, c, kerr.NewAccessDenied(msg))
		return
	}
	var esc strings.Builder
	xml.EscapeText(&esc, []byte(msg))
	h.writeXML(x, http.StatusForbidden, "AccessDeniedException", xmlError("AccessDeniedException", esc.String()))
}

// xmlError is AWS's XML error body.
func xmlError(code, escapedMessage string) string {
	return "<" + code + ">\n  <Message>" + escapedMessage + "</Message>\n</" + code + ">\n"
}
