package api_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/smithy-go"

	"kinesisd/internal/kinesistest"
)

// plain sends an unsigned request with the given headers.
func plain(t *testing.T, method, url string, headers map[string]string, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestAuthenticationErrors(t *testing.T) {
	s := kinesistest.Start(t, kinesistest.Engines[1], kinesistest.Options{})
	createStream(t, s.Client, "auth", 1)
	const json11 = "application/x-amz-json-1.1"
	full := "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcd"
	tests := []struct {
		name    string
		headers map[string]string
		query   string
		code    string
		message string
	}{
		{"no signature", map[string]string{}, "", "MissingAuthenticationTokenException", "Missing Authentication Token"},
		{"query without algorithm", map[string]string{}, "?X-Amz-Credential=a&X-Amz-Signature=b", "MissingAuthenticationTokenException", "Missing Authentication Token"},
		{"bare algorithm", map[string]string{"Authorization": "AWS4-HMAC-SHA256", "X-Amz-Date": "20260101T000000Z"}, "", "IncompleteSignatureException",
			"Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256"},
		{"no date", map[string]string{"Authorization": full}, "", "IncompleteSignatureException",
			"Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=" + full},
		{"incomplete query", map[string]string{}, "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a&X-Amz-Signature=b&X-Amz-Date=c", "IncompleteSignatureException",
			"AWS query-string parameters must include 'X-Amz-SignedHeaders'. Re-examine the query-string parameters."},
		{"header and query", map[string]string{"Authorization": full, "X-Amz-Date": "20260101T000000Z"}, "?X-Amz-Algorithm=AWS4-HMAC-SHA256", "InvalidSignatureException",
			"Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.headers["Content-Type"] = json11
			tt.headers["X-Amz-Target"] = "Kinesis_20131202.DescribeStreamSummary"
			status, hdr, body := plain(t, http.MethodPost, s.Endpoint+"/"+tt.query, tt.headers, `{"StreamName":"auth"}`)
			want := `{"__type":"` + tt.code + `","message":"` + strings.ReplaceAll(tt.message, "'", "'") + `"}`
			if status != 400 || body != want || hdr.Get("x-amzn-RequestId") == "" {
				t.Errorf("got %d %s\nwant 400 %s", status, body, want)
			}
		})
	}
	// Through the SDK: a client without credentials sends no signature.
	anon := kinesis.New(kinesis.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.Endpoint), Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1})
	_, err := anon.DescribeStreamSummary(t.Context(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("auth")})
	var ae smithy.APIError
	var re *awshttp.ResponseError
	if !errors.As(err, &ae) || ae.ErrorCode() != "MissingAuthenticationTokenException" || ae.ErrorMessage() != "Missing Authentication Token" ||
		!errors.As(err, &re) || re.HTTPStatusCode() != 400 {
		t.Errorf("anonymous SDK call: %v", err)
	}
}

func TestProtocolEdges(t *testing.T) {
	s := kinesistest.Start(t, kinesistest.Engines[1], kinesistest.Options{})
	signed := map[string]string{"Authorization": "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=abcd", "X-Amz-Date": "20260101T000000Z"}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range signed {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name     string
		method   string
		headers  map[string]string
		body     string
		status   int
		wantBody string
		wantCT   string
	}{
		{"GET is refused", http.MethodGet, with(map[string]string{"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Kinesis_20131202.ListStreams"}), "",
			403, "<AccessDeniedException>\n  <Message>Unable to determine service/operation name to be authorized</Message>\n</AccessDeniedException>\n", ""},
		{"plain JSON gets the coral envelope", http.MethodPost, with(map[string]string{"Content-Type": "application/json", "X-Amz-Target": "Kinesis_20131202.ListStreams"}), "{}",
			404, `{"Output":{"__type":"com.amazon.coral.service#UnknownOperationException"},"Version":"1.0"}`, "application/json"},
		{"plain JSON that is not JSON", http.MethodPost, with(map[string]string{"Content-Type": "application/json"}), "nope",
			400, `{"Output":{"__type":"com.amazon.coral.service#SerializationException"},"Version":"1.0"}`, "application/json"},
		{"unknown content type", http.MethodPost, with(map[string]string{"Content-Type": "text/plain", "X-Amz-Target": "Kinesis_20131202.ListStreams"}), "{}",
			404, "<UnknownOperationException/>\n", ""},
		{"content type with parameters", http.MethodPost, with(map[string]string{"Content-Type": "  application/x-amz-json-1.1 ; charset=utf-8", "X-Amz-Target": "Kinesis_20131202.ListStreams"}), "{}",
			200, `{"StreamNames":[],"HasMoreStreams":false,"StreamSummaries":[]}`, "application/x-amz-json-1.1"},
		{"unknown operation before auth", http.MethodPost, map[string]string{"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Kinesis_20131202.ListStream"}, "{}",
			400, `{"__type":"UnknownOperationException"}`, "application/x-amz-json-1.1"},
		{"empty body", http.MethodPost, with(map[string]string{"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Kinesis_20131202.ListStreams"}), "",
			400, `{"__type":"SerializationException"}`, "application/x-amz-json-1.1"},
		{"empty body before the content type", http.MethodPost, with(map[string]string{"Content-Type": "text/plain", "X-Amz-Target": "Kinesis_20131202.ListStreams"}), "",
			400, "\xbff__typevSerializationException\xff", "application/x-amz-cbor-1.1"},
		{"unparseable body before the signature", http.MethodPost, map[string]string{"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Kinesis_20131202.ListStreams"}, "nope",
			400, `{"__type":"SerializationException"}`, "application/x-amz-json-1.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, hdr, body := plain(t, tt.method, s.Endpoint+"/", tt.headers, tt.body)
			if status != tt.status || body != tt.wantBody || hdr.Get("Content-Type") != tt.wantCT {
				t.Errorf("got %d %q (%s)\nwant %d %q (%s)", status, body, hdr.Get("Content-Type"), tt.status, tt.wantBody, tt.wantCT)
			}
			if hdr.Get("x-amzn-RequestId") == "" || hdr.Get("x-amz-id-2") == "" {
				t.Error("missing request id headers")
			}
		})
	}
}
