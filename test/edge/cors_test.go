package edge_test

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kinesisd/internal/config"
	"kinesisd/internal/kinesistest"
	"kinesisd/internal/protocol"
	"kinesisd/internal/sigv4"
)

// What the JavaScript SDK's preflight asks for (its signed headers).
const sdkHeaders = "amz-sdk-invocation-id,amz-sdk-request,authorization,content-type,x-amz-content-sha256,x-amz-date,x-amz-target,x-amz-user-agent"

// preflight is a browser's OPTIONS before a call from origin, with nothing else a call has.
func preflight(origin string) call {
	return call{method: "OPTIONS", extra: "Origin: " + origin + "\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: " + sdkHeaders + "\r\n"}
}

// preflightAnswer is AWS's answer to a preflight: 200, empty, the request's method and headers echoed,
// Max-Age 172800, no x-amz-id-2 and no Expose-Headers. allow is Access-Control-Allow-Origin.
func preflightAnswer(allow, vary string) want {
	return want{200, "", map[string]string{
		"Access-Control-Allow-Origin": allow, "Access-Control-Allow-Methods": "POST", "Access-Control-Allow-Headers": sdkHeaders,
		"Access-Control-Max-Age": "172800", "Access-Control-Expose-Headers": "", "x-amz-id-2": "", "Vary": vary,
		"Access-Control-Allow-Private-Network": "", "Content-Type": "",
	}}
}

const exposed = "x-amzn-RequestId,x-amzn-ErrorType,x-amz-request-id,x-amz-id-2,x-amzn-ErrorMessage,Date"

// withOrigin is c sent from a page of origin.
func withOrigin(c call, origin string) call {
	c.extra += "Origin: " + origin + "\r\n"
	return c
}

// TestCORSWithoutCredentials: without -credentials, pages of this machine (http://localhost,
// http://127.0.0.1 and http://[::1] on any port) and of -cors-origins get AWS's CORS answers, their
// origin echoed; every other origin gets no CORS header, and its preflight is refused as any OPTIONS.
func TestCORSWithoutCredentials(t *testing.T) {
	e := startEdge(t, protocol.Options{CORSOrigins: []string{"https://app.example.com", "http://dev.example:*"}})
	listStreams := call{target: "Kinesis_20131202.ListStreams", ct: json11, body: "{}", auth: "form"}
	allowed := []string{"http://localhost:3000", "http://localhost", "http://127.0.0.1:8080", "http://[::1]:5173", "HTTP://LOCALHOST:3000",
		"https://app.example.com", "http://dev.example:8000", "http://dev.example"}
	refused := []string{"http://evil.example", "https://localhost:3000", "http://localhost.evil.example:3000", "http://127.0.0.2:3000",
		"http://localhost:abc", "null", "https://app.example.com:8443", "http://app.example.com", "https://dev.example:8000", "file://"}
	for _, origin := range allowed {
		t.Run("allowed "+origin, func(t *testing.T) {
			send(t, e.addr, "", preflight(origin)).check(t, preflightAnswer(origin, "Origin"))
			send(t, e.addr, "", withOrigin(listStreams, origin)).check(t, want{200, `{"StreamNames":[],"HasMoreStreams":false,"StreamSummaries":[]}`,
				map[string]string{"Access-Control-Allow-Origin": origin, "Access-Control-Expose-Headers": exposed, "Vary": "Origin", "Content-Type": json11}})
		})
	}
	for _, origin := range refused {
		t.Run("refused "+origin, func(t *testing.T) {
			noCORS := map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Expose-Headers": "", "Access-Control-Max-Age": "",
				"Access-Control-Allow-Methods": "", "Access-Control-Allow-Headers": "", "Content-Type": ""}
			send(t, e.addr, "", preflight(origin)).check(t, want{403, accessDeniedXML, noCORS})
			noCORS["Content-Type"] = json11
			send(t, e.addr, "", withOrigin(listStreams, origin)).check(t, want{200, `{"StreamNames":[],"HasMoreStreams":false,"StreamSummaries":[]}`, noCORS})
		})
	}
}

// TestCORSAsAWS: the preflight is answered before any other rule (no signature, no target, any path),
// echoing only what the browser asked for; the other answers to an allowed origin carry the CORS
// headers whatever their rule (here with -credentials, where every origin is allowed with "*", as AWS).
func TestCORSAsAWS(t *testing.T) {
	auth := sigv4.NewVerifier(map[string]string{accessKey: secretKey}, "us-east-1", nil)
	e := startEdge(t, protocol.Options{Auth: auth})
	origin := "https://whatever.example"
	send(t, e.addr, "", preflight(origin)).check(t, preflightAnswer("*", ""))
	send(t, e.addr, "", call{method: "OPTIONS", path: "/any/path?x=1", extra: "Origin: whatever\r\n"}).check(t, want{200, "", map[string]string{
		"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "", "Access-Control-Allow-Headers": "",
		"Access-Control-Max-Age": "172800", "x-amz-id-2": "", "Vary": "",
	}})
	send(t, e.addr, "", call{method: "OPTIONS", extra: "Origin: http://a.example\r\nAccess-Control-Request-Headers: a, b, c\r\nAccess-Control-Request-Method: d\r\n" +
		"Access-Control-Request-Private-Network: true\r\n"}).check(t, want{200, "", map[string]string{
		"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Headers": "a, b, c", "Access-Control-Allow-Methods": "d",
		"Access-Control-Allow-Private-Network": "true", "Access-Control-Max-Age": "172800",
	}})

	cors := func(w want) want {
		w.header["Access-Control-Allow-Origin"] = "*"
		w.header["Access-Control-Expose-Headers"] = exposed
		w.header["Access-Control-Max-Age"] = ""
		w.header["Vary"] = ""
		return w
	}
	for _, tt := range []struct {
		name string
		call call
		want want
	}{
		{"GET", call{method: "GET"}, xmlAnswer(403, accessDeniedXML)},
		{"empty body", call{target: "Kinesis_20131202.ListStreams", ct: json11}, errAnswer(json11, "SerializationException", serialJSON)},
		{"no Content-Type", call{target: "Kinesis_20131202.ListStreams", body: "{}"}, xmlAnswer(404, unknownXML)},
		{"no signature", call{target: "Kinesis_20131202.ListStreams", ct: json11, body: "{}"}, errAnswer(json11, "MissingAuthenticationTokenException", missingTokenJSON)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			send(t, e.addr, "", withOrigin(tt.call, origin)).check(t, cors(tt.want))
		})
	}
}

// hostRefusal is the answer to a request whose Host is not a loopback name, in XML (AWS's shape before
// the protocol is known) or, for an AWS JSON 1.1 request, in JSON.
func hostRefusal(host string, jsonCT bool) want {
	msg := "Host '" + host + "' is not a loopback name: this server listens on a loopback address without -credentials " +
		"and answers only requests addressed to localhost, 127.0.0.1 or [::1] (DNS rebinding protection)."
	if jsonCT {
		b, _ := json.Marshal(map[string]string{"__type": "AccessDeniedException", "message": msg})
		return errAnswer(json11, "AccessDeniedException", string(b))
	}
	return xmlAnswer(403, "<AccessDeniedException>\n  <Message>"+strings.ReplaceAll(msg, "'", "&#39;")+"</Message>\n</AccessDeniedException>\n")
}

// TestLoopbackHost: a server on a loopback address without -credentials answers only requests whose
// Host is a loopback name (DNS rebinding: a page of a name an attacker points at 127.0.0.1 would be
// its own origin), before CORS, the API and the admin requests; /health and /metrics are answered
// first. -cors-origins reaches the API's CORS answers.
func TestLoopbackHost(t *testing.T) {
	s := kinesistest.Start(t, kinesistest.Engines[1], kinesistest.Options{Configure: func(c *config.Config) {
		c.CORSOrigins = []string{"https://app.example.com"}
	}})
	addr := s.Addr()
	_, port, _ := net.SplitHostPort(addr)
	listStreams := call{target: "Kinesis_20131202.ListStreams", ct: json11, body: "{}", auth: "form"}
	ok := want{200, `{"StreamNames":[],"HasMoreStreams":false,"StreamSummaries":[]}`, map[string]string{"Content-Type": json11}}
	for _, host := range []string{addr, "localhost:" + port, "LOCALHOST.:" + port, "127.0.0.2:" + port, "[::1]:" + port, "localhost"} {
		t.Run("allowed "+host, func(t *testing.T) {
			send(t, addr, host, listStreams).check(t, ok)
		})
	}
	for _, host := range []string{"evil.example:" + port, "evil.example", "localhost.evil.example:" + port, "127.0.0.1.nip.io:" + port, "0.0.0.0:" + port, "[::]:" + port} {
		t.Run("refused "+host, func(t *testing.T) {
			send(t, addr, host, listStreams).check(t, hostRefusal(host, true))
			send(t, addr, host, call{method: "GET"}).check(t, hostRefusal(host, false))
			send(t, addr, host, preflight("http://localhost:3000")).check(t, hostRefusal(host, false))
			send(t, addr, host, call{path: "/admin/backup", ct: "application/json", body: `{"dir":"/tmp/x"}`}).check(t, hostRefusal(host, false))
		})
	}
	t.Run("health and metrics first", func(t *testing.T) {
		for _, path := range []string{"/health", "/metrics"} {
			if a := send(t, addr, "evil.example", call{method: "GET", path: path}); a.status != 200 {
				t.Errorf("GET %s: %d %s", path, a.status, a.body)
			}
		}
	})
	t.Run("-cors-origins", func(t *testing.T) {
		send(t, addr, "", preflight("https://app.example.com")).check(t, preflightAnswer("https://app.example.com", "Origin"))
		send(t, addr, "", preflight("https://other.example.com")).check(t, xmlAnswer(403, accessDeniedXML))
	})
}

// TestAnyHostWithCredentials: with -credentials the Host rule is off (a page cannot sign its requests)
// and every origin gets "*".
func TestAnyHostWithCredentials(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials")
	if err := os.WriteFile(path, []byte(accessKey+" "+secretKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := kinesistest.Start(t, kinesistest.Engines[1], kinesistest.Options{Configure: func(c *config.Config) { c.Credentials = path }})
	send(t, s.Addr(), "evil.example", call{target: "Kinesis_20131202.ListStreams", ct: json11, body: "{}"}).
		check(t, errAnswer(json11, "MissingAuthenticationTokenException", missingTokenJSON))
	send(t, s.Addr(), "evil.example", preflight("https://whatever.example")).check(t, preflightAnswer("*", ""))
	if a := send(t, s.Addr(), "evil.example", call{method: "GET", path: "/metrics"}); a.status != http.StatusOK {
		t.Errorf("GET /metrics: %d", a.status)
	}
}
