package edge_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"kinesisd/internal/identity"
	"kinesisd/internal/protocol"
	"kinesisd/internal/sigv4"
)

// The request line names the caller: the account and principal of the access key, the region the
// request is signed for.
func TestRequestLogCaller(t *testing.T) {
	keys := identity.Keys{accessKey: {Secret: secretKey, Account: "111122223333", Principal: "alice"}}
	e := startEdge(t, protocol.Options{Auth: sigv4.NewVerifier(keys.Secrets(), "", nil), Keys: keys, LogRequests: true})
	c := kinesis.New(kinesis.Options{Region: "eu-west-1", BaseEndpoint: aws.String("http://" + e.addr), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(accessKey, secretKey, "")})
	if _, err := c.ListStreams(t.Context(), &kinesis.ListStreamsInput{}); err != nil {
		t.Fatal(err)
	}
	lines := e.log.Find(t, "request")
	if len(lines) != 1 {
		t.Fatalf("request lines %v", lines)
	}
	l := lines[0]
	if l["account"] != "111122223333" || l["region"] != "eu-west-1" || l["principal"] != "arn:aws:iam::111122223333:user/alice" {
		t.Errorf("request line %v: want account 111122223333, region eu-west-1, alice's ARN", l)
	}
}

// stsCall is one STS request over a socket: method, query string, form body, and how it is signed.
type stsCall struct {
	method, query, body string
	sign                bool   // signed by the SDK's signer (else unsigned)
	secret              string // "" : the right one
	service             string // "" : sts
}

// do sends c to e and returns the status, Content-Type, Location and body of the answer.
func (c stsCall) do(t *testing.T, e *edge) (int, string, string, string) {
	t.Helper()
	u := "http://" + e.addr + "/"
	if c.query != "" {
		u += "?" + c.query
	}
	req, err := http.NewRequestWithContext(t.Context(), c.method, u, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	if c.body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	}
	if c.sign {
		sum := sha256.Sum256([]byte(c.body))
		creds := aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey}
		if c.secret != "" {
			creds.SecretAccessKey = c.secret
		}
		service := c.service
		if service == "" {
			service = "sts"
		}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), service, "eu-west-1", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Location"), string(b)
}

// STS Query requests on the API port: GetCallerIdentity in a form body or a GET's query string,
// AWS's InvalidAction for any other action or version, the redirect of a request without an action,
// and the Query protocol's signature errors, in STS's XML.
func TestSTSQuery(t *testing.T) {
	keys := identity.Keys{accessKey: {Secret: secretKey, Account: "111122223333", Principal: "alice"}}
	open := startEdge(t, protocol.Options{LogRequests: true})
	signed := startEdge(t, protocol.Options{Auth: sigv4.NewVerifier(keys.Secrets(), "", nil), Keys: keys, LogRequests: true})
	const gci = "Action=GetCallerIdentity&Version=2011-06-15"
	rootAnswer := "<Arn>arn:aws:iam::000000000000:root</Arn>\n    <UserId>000000000000</UserId>\n    <Account>000000000000</Account>"
	errorXML := func(code, message string) string {
		return "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n  <Error>\n    <Type>Sender</Type>\n    <Code>" + code +
			"</Code>\n    <Message>" + message + "</Message>\n  </Error>\n  <RequestId>"
	}
	tests := []struct {
		name     string
		e        *edge
		call     stsCall
		status   int
		contains string
		location string
	}{
		{"POST form", open, stsCall{method: "POST", body: gci, sign: true}, 200, rootAnswer, ""},
		{"GET query", open, stsCall{method: "GET", query: gci, sign: true}, 200, rootAnswer, ""},
		{"first Action wins", open, stsCall{method: "POST", body: gci + "&Action=AssumeRole", sign: true}, 200, rootAnswer, ""},
		{"unknown parameter", open, stsCall{method: "POST", body: gci + "&Unknown=x", sign: true}, 200, rootAnswer, ""},
		{"user", signed, stsCall{method: "POST", body: gci, sign: true}, 200, "<Arn>arn:aws:iam::111122223333:user/alice</Arn>\n    <UserId>AIDA", ""},
		{"other action", open, stsCall{method: "POST", body: "Action=AssumeRole&Version=2011-06-15&RoleArn=x", sign: true}, 400,
			errorXML("InvalidAction", "Could not find operation AssumeRole for version 2011-06-15"), ""},
		{"escaped action", open, stsCall{method: "POST", body: "Action=%3Cx%3E&Version=2011-06-15", sign: true}, 400,
			errorXML("InvalidAction", "Could not find operation &lt;x&gt; for version 2011-06-15"), ""},
		{"no version", open, stsCall{method: "POST", body: "Action=GetCallerIdentity", sign: true}, 400,
			errorXML("InvalidAction", "Could not find operation GetCallerIdentity for version NO_VERSION_SPECIFIED"), ""},
		{"other version", open, stsCall{method: "POST", body: "Action=GetCallerIdentity&Version=2000-01-01", sign: true}, 400,
			errorXML("InvalidAction", "Could not find operation GetCallerIdentity for version 2000-01-01"), ""},
		{"no action", open, stsCall{method: "POST", body: "Version=2011-06-15", sign: true}, 302, "", "https://aws.amazon.com/iam"},
		{"unsigned", open, stsCall{method: "POST", body: gci}, 403, errorXML("MissingAuthenticationToken", "Request is missing Authentication Token"), ""},
		{"wrong secret", signed, stsCall{method: "POST", body: gci, sign: true, secret: "nope"}, 403, errorXML("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."), ""},
		{"signed for kinesis", signed, stsCall{method: "POST", body: gci, sign: true, service: "kinesis"}, 403,
			errorXML("SignatureDoesNotMatch", "Credential should be scoped to correct service: 'sts'. "), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, ct, loc, body := tt.call.do(t, tt.e)
			if status != tt.status || !strings.Contains(body, tt.contains) || loc != tt.location {
				t.Fatalf("got %d %q (Location %q), want %d containing %q (Location %q)", status, body, loc, tt.status, tt.contains, tt.location)
			}
			if status != 302 && ct != "text/xml" {
				t.Errorf("Content-Type %q, want text/xml", ct)
			}
		})
	}
	lines := signed.log.Find(t, "request")
	var found bool
	for _, l := range lines {
		if l["operation"] == "GetCallerIdentity" && l["status"] == 200.0 && l["principal"] == "arn:aws:iam::111122223333:user/alice" && l["region"] == "eu-west-1" {
			found = true
		}
	}
	if !found {
		t.Errorf("no request line for GetCallerIdentity naming alice in eu-west-1: %v", lines)
	}
}
