package protocol

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	fxcbor "github.com/fxamacker/cbor/v2"

	"kinesisd/internal/service"
)

// TestErrorsOverCBOR writes every error code through the one error writer to a CBOR request: the
// status and headers of the JSON reply, the body a CBOR map of __type and message. The same handler
// answers a JSON request in JSON.
func TestErrorsOverCBOR(t *testing.T) {
	for code, status := range codes {
		t.Run(code, func(t *testing.T) {
			want := newError(code, "the message of "+code)
			h := testHandler(Options{}, map[string]opFunc{"ListStreams": func(context.Context, string, *service.Service, codec, []byte, *callLog) (any, error) {
				return nil, want
			}})
			srv := httptest.NewServer(h)
			defer srv.Close()
			for ct, input := range map[string]string{"application/x-amz-cbor-1.1": "\xbf\xff", "application/x-amz-json-1.1": "{}"} {
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, strings.NewReader(input))
				req.Header.Set("Content-Type", ct)
				req.Header.Set("X-Amz-Target", "Kinesis_20131202.ListStreams")
				req.Header.Set("X-Amz-Date", "20260101T000000Z")
				req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcd")
				resp, err := srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != status || resp.Header.Get("Content-Type") != ct || resp.Header.Get("X-Amzn-ErrorType") != code ||
					resp.Header.Get("x-amzn-RequestId") == "" || resp.Header.Get("x-amz-id-2") == "" {
					t.Errorf("%s: %d %v", ct, resp.StatusCode, resp.Header)
				}
				if ct != "application/x-amz-cbor-1.1" {
					if !strings.HasPrefix(string(body), `{"__type":"`+code+`"`) {
						t.Errorf("JSON request answered with % x", body)
					}
					continue
				}
				var m map[string]string
				if err := fxcbor.Unmarshal(body, &m); err != nil || body[0] != 0xbf || m["__type"] != code {
					t.Fatalf("% x: %v %v", body, m, err)
				}
				wantMsg := "the message of " + code
				if code == "InternalFailureException" {
					wantMsg = "" // nothing leaks
				}
				if m["message"] != wantMsg {
					t.Errorf("message %q, want %q", m["message"], wantMsg)
				}
			}
		})
	}
}
