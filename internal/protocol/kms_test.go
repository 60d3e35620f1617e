package protocol

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"kinesisd/internal/sigv4"
)

// kmsRequest is a KMS request for target (TrentService.<op>) with body, signed for service with key
// and secret unless service is "".
func kmsRequest(t *testing.T, method, target, contentType, body, service string) *http.Request {
	t.Helper()
	r := httptest.NewRequest(method, "http://127.0.0.1:4567/", strings.NewReader(body))
	r.Header.Set("X-Amz-Target", target)
	r.Header.Set("Content-Type", contentType)
	if service != "" {
		sum := sha256.Sum256([]byte(body))
		creds := aws.Credentials{AccessKeyID: "AKIDKNOWN", SecretAccessKey: "the secret"}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hex.EncodeToString(sum[:]), service, "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// TestKMSEdge: KMS requests are answered before the Kinesis rules, in their own order: the method,
// the Content-Type, the signature's form (with -credentials, for service kms), an unknown operation,
// the body, then the keyring (without one: UnsupportedOperationException); errors in KMS's JSON shape.
func TestKMSEdge(t *testing.T) {
	const json11 = "application/x-amz-json-1.1"
	auth := sigv4.NewVerifier(map[string]string{"AKIDKNOWN": "the secret"}, "", nil)
	tests := []struct {
		name                       string
		auth                       *sigv4.Verifier
		method, target, ct, body   string
		service                    string // signed for it; "" unsigned
		status                     int
		code, message, contentType string
	}{
		{"GET", nil, "GET", "TrentService.ListKeys", json11, "", "kms", 403, "AccessDeniedException", "", ""},
		{"plain JSON", nil, "POST", "TrentService.ListKeys", "application/json", "{}", "kms", 404, "UnknownOperationException", "", ""},
		{"CBOR", nil, "POST", "TrentService.ListKeys", "application/x-amz-cbor-1.1", "{}", "kms", 404, "UnknownOperationException", "", ""},
		{"unsigned", nil, "POST", "TrentService.ListKeys", json11, "{}", "", 400, "MissingAuthenticationTokenException", "", json11},
		{"unknown operation", nil, "POST", "TrentService.Encrypt", json11, "{}", "kms", 400, "UnknownOperationException", "", json11},
		{"unknown operation, unsigned", nil, "POST", "TrentService.Encrypt", json11, "{}", "", 400, "UnknownOperationException", "", json11},
		{"malformed body", nil, "POST", "TrentService.ListKeys", json11, "{", "kms", 400, "SerializationException", "", json11},
		{"empty body", nil, "POST", "TrentService.ListKeys", json11, "", "kms", 400, "SerializationException", "", json11},
		{"no keyring", nil, "POST", "TrentService.ListKeys", json11, "{}", "kms", 400, "UnsupportedOperationException", errKMSOff.msg, json11},
		{"signed for kinesis", auth, "POST", "TrentService.ListKeys", json11, "{}", "kinesis", 400, "InvalidSignatureException",
			"Credential should be scoped to correct service: 'kms'. ", json11},
		{"signed for kms", auth, "POST", "TrentService.ListKeys", json11, "{}", "kms", 400, "UnsupportedOperationException", errKMSOff.msg, json11},
		{"credentials, unsigned", auth, "POST", "TrentService.ListKeys", json11, "{}", "", 400, "MissingAuthenticationTokenException", "", json11},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHandler(Options{Auth: tt.auth})
			w := httptest.NewRecorder()
			h.ServeHTTP(w, kmsRequest(t, tt.method, tt.target, tt.ct, tt.body, tt.service))
			body := w.Body.String()
			if w.Code != tt.status || !strings.Contains(body, tt.code) {
				t.Fatalf("got %d %s, want %d %s", w.Code, body, tt.status, tt.code)
			}
			if tt.contentType == "" {
				return // an XML answer, as for Kinesis
			}
			if got := w.Header().Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type %q, want %q", got, tt.contentType)
			}
			if got := w.Header().Get("X-Amzn-ErrorType"); got != tt.code {
				t.Errorf("X-Amzn-ErrorType %q, want %q", got, tt.code)
			}
			var e map[string]string
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
				t.Fatalf("error body %s: %v", body, err)
			}
			if e["__type"] != tt.code || tt.message != "" && !strings.HasPrefix(e["message"], tt.message) {
				t.Errorf("error body %s, want __type %s and message %q", body, tt.code, tt.message)
			}
		})
	}
}

// epochSeconds writes KMS's timestamps as AWS JSON 1.1 does: seconds, milliseconds as a fraction.
func TestKMSEpochSeconds(t *testing.T) {
	for _, tt := range []struct {
		ms   int64
		want string
	}{{1733425478123, "1733425478.123"}, {1733425478000, "1733425478"}, {1733425478100, "1733425478.1"}} {
		b, err := json.Marshal(epochSeconds(time.UnixMilli(tt.ms)))
		if err != nil || string(b) != tt.want {
			t.Errorf("%d ms: %s, %v; want %s", tt.ms, b, err, tt.want)
		}
	}
}
