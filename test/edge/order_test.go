package edge_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"kinesisd/internal/protocol"
	"kinesisd/internal/sigv4"
)

// The bodies AWS answers, as recorded against it (kinesalite's tests) and given in issue 16.
const (
	accessDeniedXML  = "<AccessDeniedException>\n  <Message>Unable to determine service/operation name to be authorized</Message>\n</AccessDeniedException>\n"
	unknownXML       = "<UnknownOperationException/>\n"
	serialJSON       = `{"__type":"SerializationException"}`
	unknownJSON      = `{"__type":"UnknownOperationException"}`
	serialCBOR       = "\xbff__typevSerializationException\xff"
	unknownCBOR      = "\xbff__typex\x19UnknownOperationException\xff"
	coralSerial      = `{"Output":{"__type":"com.amazon.coral.service#SerializationException"},"Version":"1.0"}`
	coralUnknown     = `{"Output":{"__type":"com.amazon.coral.service#UnknownOperationException"},"Version":"1.0"}`
	missingTokenJSON = `{"__type":"MissingAuthenticationTokenException","message":"Missing Authentication Token"}`
	missingTokenCBOR = "\xbff__typex#MissingAuthenticationTokenExceptiongmessagex\x1cMissing Authentication Token\xff"

	json11 = "application/x-amz-json-1.1"
	cbor11 = "application/x-amz-cbor-1.1"
)

// call is one raw API request.
type call struct {
	method  string // POST when empty
	path    string // / when empty
	target  string // the whole X-Amz-Target; none when empty
	ct      string // Content-Type; none when empty
	body    string
	chunked bool   // the body in chunks, of unknown length
	auth    string // "" none; "form": a signature that passes the form check; else the Authorization header
	key     string // the access key of a "form" signature (accessKey when empty)
	extra   string // more header lines, each ending in \r\n
}

// raw is the request as bytes on the wire, for host.
func (c call) raw(host string) string {
	method, path := c.method, c.path
	if method == "" {
		method = http.MethodPost
	}
	if path == "" {
		path = "/"
	}
	var b strings.Builder
	b.WriteString(method + " " + path + " HTTP/1.1\r\nHost: " + host + "\r\n")
	if c.target != "" {
		b.WriteString("X-Amz-Target: " + c.target + "\r\n")
	}
	if c.ct != "" {
		b.WriteString("Content-Type: " + c.ct + "\r\n")
	}
	switch c.auth {
	case "":
	case "form":
		key := c.key
		if key == "" {
			key = accessKey
		}
		now := time.Now().UTC()
		b.WriteString("X-Amz-Date: " + now.Format("20060102T150405Z") + "\r\nAuthorization: AWS4-HMAC-SHA256 Credential=" + key + "/" +
			now.Format("20060102") + "/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcd\r\n")
	default:
		b.WriteString("Authorization: " + c.auth + "\r\n")
	}
	b.WriteString(c.extra)
	if c.chunked {
		b.WriteString("Transfer-Encoding: chunked\r\n\r\n")
		if c.body != "" {
			b.WriteString(strconv.FormatInt(int64(len(c.body)), 16) + "\r\n" + c.body + "\r\n")
		}
		b.WriteString("0\r\n\r\n")
		return b.String()
	}
	b.WriteString("Content-Length: " + strconv.Itoa(len(c.body)) + "\r\n\r\n" + c.body)
	return b.String()
}

// answer is one response as read off the socket.
type answer struct {
	status int
	header http.Header
	body   string
}

// send writes c to addr with Host host (addr when empty) over a new connection and reads the response.
func send(t *testing.T, addr, host string, c call) answer {
	t.Helper()
	if host == "" {
		host = addr
	}
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	if _, err := io.WriteString(conn, c.raw(host)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no response: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, string(b)}
}

// want is what a response must be: its status and exact body, and headers that must have exactly a
// value ("" for a header that must be absent).
type want struct {
	status int
	body   string
	header map[string]string
}

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// check compares a with w, and checks the request ids every API answer carries (x-amz-id-2 but on a
// preflight, and a Content-Length that is the body's).
func (a answer) check(t *testing.T, w want) {
	t.Helper()
	if a.status != w.status || a.body != w.body {
		t.Errorf("got %d %q\nwant %d %q", a.status, a.body, w.status, w.body)
	}
	for k, v := range w.header {
		if got := strings.Join(a.header.Values(k), ", "); got != v {
			t.Errorf("header %s: %q, want %q", k, got, v)
		}
	}
	if !uuidPattern.MatchString(a.header.Get("x-amzn-RequestId")) {
		t.Errorf("x-amzn-RequestId %q is not a UUID", a.header.Get("x-amzn-RequestId"))
	}
	if _, preflight := w.header["Access-Control-Max-Age"]; !preflight && a.header.Get("x-amz-id-2") == "" {
		t.Error("no x-amz-id-2")
	}
	if cl := a.header.Get("Content-Length"); cl != strconv.Itoa(len(a.body)) {
		t.Errorf("Content-Length %q for a body of %d bytes", cl, len(a.body))
	}
}

// The shapes of the answers: an XML one has no Content-Type, a JSON or CBOR error names its code in
// X-Amzn-ErrorType, a coral envelope does not.
func xmlAnswer(status int, body string) want {
	return want{status, body, map[string]string{"Content-Type": "", "X-Amzn-ErrorType": ""}}
}

func errAnswer(ct, code, body string) want {
	return want{http.StatusBadRequest, body, map[string]string{"Content-Type": ct, "X-Amzn-ErrorType": code}}
}

func coralAnswer(status int, body string) want {
	return want{status, body, map[string]string{"Content-Type": "application/json", "X-Amzn-ErrorType": ""}}
}

// TestOrderOfChecks: without -credentials every rule of AWS's order, each case failing the rule under
// test and every later one (no signature, an unknown operation, a body that does not parse, where the
// rule allows), so that the answer shows which rule came first.
func TestOrderOfChecks(t *testing.T) {
	e := startEdge(t, protocol.Options{})
	const list = "Kinesis_20131202.ListStreams"
	tests := []struct {
		name string
		call call
		want want
	}{
		// 1. A method other than POST, whatever else the request has or lacks.
		{"GET /", call{method: "GET"}, xmlAnswer(403, accessDeniedXML)},
		{"GET of a complete request", call{method: "GET", target: list, ct: json11, body: "{}", auth: "form"}, xmlAnswer(403, accessDeniedXML)},
		{"PUT with an empty body", call{method: "PUT", target: list, ct: json11}, xmlAnswer(403, accessDeniedXML)},
		{"OPTIONS without Origin", call{method: "OPTIONS", target: list, ct: json11, body: "{}"}, xmlAnswer(403, accessDeniedXML)},
		{"DELETE", call{method: "DELETE", body: "nope"}, xmlAnswer(403, accessDeniedXML)},

		// 2. An empty body: JSON for AWS JSON 1.1, CBOR for any other Content-Type; Serialization for an
		// operation, UnknownOperation for anything else.
		{"empty, JSON", call{target: list, ct: json11}, errAnswer(json11, "SerializationException", serialJSON)},
		{"empty, JSON, chunked", call{target: list, ct: json11, chunked: true}, errAnswer(json11, "SerializationException", serialJSON)},
		{"empty, JSON, unknown operation", call{target: "Kinesis_20131202.ListStream", ct: json11}, errAnswer(json11, "UnknownOperationException", unknownJSON)},
		{"empty, JSON, other service", call{target: "Kinesis_20131203.ListStreams", ct: json11}, errAnswer(json11, "UnknownOperationException", unknownJSON)},
		{"empty, JSON, no target", call{ct: json11}, errAnswer(json11, "UnknownOperationException", unknownJSON)},
		{"empty, CBOR", call{target: list, ct: cbor11}, errAnswer(cbor11, "SerializationException", serialCBOR)},
		{"empty, no Content-Type", call{target: list}, errAnswer(cbor11, "SerializationException", serialCBOR)},
		{"empty, no Content-Type, no target", call{}, errAnswer(cbor11, "UnknownOperationException", unknownCBOR)},
		{"empty, text/plain, unknown operation", call{target: "Kinesis_20131202.Nope", ct: "text/plain"}, errAnswer(cbor11, "UnknownOperationException", unknownCBOR)},
		{"empty, application/json", call{target: list, ct: "application/json"}, errAnswer(cbor11, "SerializationException", serialCBOR)},
		{"empty, JSON 1.0", call{target: list, ct: "application/x-amz-json-1.0"}, errAnswer(cbor11, "SerializationException", serialCBOR)},

		// 3. A Content-Type that is none of AWS JSON 1.1, CBOR 1.1 and application/json, before the body
		// is looked at: AccessDenied when the target lacks a service or an operation, else 404.
		{"no Content-Type", call{target: list, body: "{}"}, xmlAnswer(404, unknownXML)},
		{"JSON 1.0", call{target: list, ct: "application/x-amz-json-1.0", body: "{}"}, xmlAnswer(404, unknownXML)},
		{"text/plain, unknown operation, garbage", call{target: "Foo.Bar", ct: "text/plain", body: "hello"}, xmlAnswer(404, unknownXML)},
		{"no Content-Type, no target", call{body: "{}"}, xmlAnswer(403, accessDeniedXML)},
		{"text/plain, target without a service", call{target: "ListStreams", ct: "text/plain", body: "{}"}, xmlAnswer(403, accessDeniedXML)},
		{"text/plain, target without an operation", call{target: "Kinesis_20131202.", ct: "text/plain", body: "{}"}, xmlAnswer(403, accessDeniedXML)},
		{"text/plain, chunked", call{target: list, ct: "text/plain", body: "{}", chunked: true}, xmlAnswer(404, unknownXML)},

		// 4. A body that does not parse, before the operation and the signature; application/json ends
		// here whatever its body.
		{"not JSON", call{target: list, ct: json11, body: "hello"}, errAnswer(json11, "SerializationException", serialJSON)},
		{"a JSON number", call{target: list, ct: json11, body: "5"}, errAnswer(json11, "SerializationException", serialJSON)},
		{"JSON null", call{target: list, ct: json11, body: "null"}, errAnswer(json11, "SerializationException", serialJSON)},
		{"truncated JSON", call{target: "Kinesis_20131202.PutRecords", ct: json11, body: `{"StreamName":"s","Records":[`}, errAnswer(json11, "SerializationException", serialJSON)},
		{"JSON and more", call{target: list, ct: json11, body: "{} {}"}, errAnswer(json11, "SerializationException", serialJSON)},
		{"not JSON, chunked", call{target: list, ct: json11, body: "hello", chunked: true}, errAnswer(json11, "SerializationException", serialJSON)},
		{"not JSON, unknown operation", call{target: "Kinesis_20131202.Nope", ct: json11, body: "hello"}, errAnswer(json11, "SerializationException", serialJSON)},
		{"not JSON, no target", call{ct: json11, body: "hello"}, errAnswer(json11, "SerializationException", serialJSON)},
		{"not CBOR", call{target: list, ct: cbor11, body: "\x01"}, errAnswer(cbor11, "SerializationException", serialCBOR)},
		{"truncated CBOR", call{target: list, ct: cbor11, body: "\xbfcabc"}, errAnswer(cbor11, "SerializationException", serialCBOR)},
		{"not CBOR, unknown operation", call{target: "Kinesis_20131202.Nope", ct: cbor11, body: "{}"}, errAnswer(cbor11, "SerializationException", serialCBOR)},
		{"application/json, not JSON", call{target: list, ct: "application/json", body: "hello"}, coralAnswer(400, coralSerial)},
		{"application/json, a JSON string", call{ct: "application/json", body: `"s"`}, coralAnswer(400, coralSerial)},
		{"application/json, an object", call{target: list, ct: "application/json", body: "{}", auth: "form"}, coralAnswer(404, coralUnknown)},
		{"application/json, a list, no target", call{ct: "application/json", body: "[]"}, coralAnswer(404, coralUnknown)},
		{"application/json; charset", call{target: list, ct: "application/json; charset=utf-8", body: "{}"}, coralAnswer(404, coralUnknown)},

		// 5. An unknown service or operation, before the signature.
		{"unknown operation", call{target: "Kinesis_20131202.ListStream", ct: json11, body: "{}"}, errAnswer(json11, "UnknownOperationException", unknownJSON)},
		{"other service", call{target: "DynamoDB_20120810.ListTables", ct: json11, body: "{}"}, errAnswer(json11, "UnknownOperationException", unknownJSON)},
		{"no target", call{ct: json11, body: "{}"}, errAnswer(json11, "UnknownOperationException", unknownJSON)},
		{"target without an operation", call{target: "Kinesis_20131202", ct: json11, body: "[]"}, errAnswer(json11, "UnknownOperationException", unknownJSON)},
		{"unknown operation, CBOR", call{target: "Kinesis_20131202.Nope", ct: cbor11, body: "\xbf\xff"}, errAnswer(cbor11, "UnknownOperationException", unknownCBOR)},

		// 6. The signature's presence and form.
		{"no signature", call{target: list, ct: json11, body: "{}"}, errAnswer(json11, "MissingAuthenticationTokenException", missingTokenJSON)},
		{"no signature, CBOR", call{target: list, ct: cbor11, body: "\xbf\xff"}, errAnswer(cbor11, "MissingAuthenticationTokenException", missingTokenCBOR)},
		{"incomplete signature", call{target: list, ct: json11, body: "{}", auth: "X"}, errAnswer(json11, "IncompleteSignatureException",
			`{"__type":"IncompleteSignatureException","message":"Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. `+
				`Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=X"}`)},
		{"no signature, wrong member type", call{target: "Kinesis_20131202.DescribeStreamSummary", ct: json11, body: `{"StreamName":5}`},
			errAnswer(json11, "MissingAuthenticationTokenException", missingTokenJSON)},

		// 7. Then the operation: its input's types (SerializationException with the service's words),
		// validation, the action.
		{"wrong member type", call{target: "Kinesis_20131202.DescribeStreamSummary", ct: json11, body: `{"StreamName":5}`, auth: "form"}, errAnswer(json11, "SerializationException",
			`{"__type":"SerializationException","Message":"class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String"}`)},
		{"validation", call{target: "Kinesis_20131202.DescribeStreamSummary", ct: json11, body: `{"StreamName":""}`, auth: "form"}, errAnswer(json11, "ValidationException",
			`{"__type":"ValidationException","message":"2 validation errors detected: Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; `+
				`Value '' at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1"}`)},
		{"ListStreams", call{target: list, ct: json11, body: "{}", auth: "form"}, want{200,
			`{"StreamNames":[],"HasMoreStreams":false,"StreamSummaries":[]}`, map[string]string{"Content-Type": json11, "X-Amzn-ErrorType": ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			send(t, e.addr, "", tt.call).check(t, tt.want)
		})
	}
}

// TestOrderWithCredentials: with -credentials, the signature checks that need no body come right after
// the Content-Type, before the body is read: a stranger's request is refused without its body whatever
// the body or target; the rules before it, and those after it for a known key, keep AWS's order.
func TestOrderWithCredentials(t *testing.T) {
	auth := sigv4.NewVerifier(map[string]string{accessKey: secretKey}, "us-east-1", nil)
	e := startEdge(t, protocol.Options{Auth: auth})
	const list = "Kinesis_20131202.ListStreams"
	unknownKey := `{"__type":"UnrecognizedClientException","message":"The security token included in the request is invalid."}`
	mismatch := `{"__type":"InvalidSignatureException","message":"The request signature we calculated does not match the signature you provided. ` +
		`Check your AWS Secret Access Key and signing method. Consult the service documentation for details."}`
	tests := []struct {
		name string
		call call
		want want
	}{
		{"GET", call{method: "GET", target: list, ct: json11, body: "{}"}, xmlAnswer(403, accessDeniedXML)},
		{"empty body, unknown key", call{target: list, ct: json11, auth: "form", key: "AKIDUNKNOWN"}, errAnswer(json11, "SerializationException", serialJSON)},
		{"bad Content-Type, no signature", call{target: list, ct: "text/plain", body: "{}"}, xmlAnswer(404, unknownXML)},
		// Before the body: what a stranger sends is not read.
		{"not JSON, no signature", call{target: list, ct: json11, body: "hello"}, errAnswer(json11, "MissingAuthenticationTokenException", missingTokenJSON)},
		{"unknown operation, no signature", call{target: "Kinesis_20131202.Nope", ct: json11, body: "{}"}, errAnswer(json11, "MissingAuthenticationTokenException", missingTokenJSON)},
		{"application/json, no signature", call{target: list, ct: "application/json", body: "{}"}, errAnswer(json11, "MissingAuthenticationTokenException", missingTokenJSON)},
		{"unknown operation, unknown key", call{target: "Kinesis_20131202.Nope", ct: json11, body: "{}", auth: "form", key: "AKIDUNKNOWN"}, errAnswer(json11, "UnrecognizedClientException", unknownKey)},
		// A known key: the body is read, and parsed before the signature over it is checked.
		{"not JSON, known key", call{target: list, ct: json11, body: "hello", auth: "form"}, errAnswer(json11, "SerializationException", serialJSON)},
		{"truncated JSON, known key", call{target: list, ct: json11, body: `{"a":`, auth: "form"}, errAnswer(json11, "SerializationException", serialJSON)},
		{"unknown operation, known key", call{target: "Kinesis_20131202.Nope", ct: json11, body: "{}", auth: "form"}, errAnswer(json11, "UnknownOperationException", unknownJSON)},
		{"application/json, known key", call{target: list, ct: "application/json", body: "{}", auth: "form"}, coralAnswer(404, coralUnknown)},
		{"wrong signature", call{target: list, ct: json11, body: "{}", auth: "form"}, errAnswer(json11, "InvalidSignatureException", mismatch)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			send(t, e.addr, "", tt.call).check(t, tt.want)
		})
	}
}
