package sigv4

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// The SDK's signer is the oracle: what it signs must parse, with the right parts.
func TestParseSDKSigned(t *testing.T) {
	req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:4567/", strings.NewReader("{}"))
	req.Header.Set("X-Amz-Target", "Kinesis_20131202.ListStreams")
	creds := aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret"}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", "kinesis", "eu-west-1", time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	a, err := Parse(req.Header, req.URL.Query())
	if err != nil {
		t.Fatal(err)
	}
	if a.AccessKeyID != "AKIDEXAMPLE" || a.Date != "20261125" || a.Region != "eu-west-1" || a.Service != "kinesis" || len(a.Signature) != 64 || a.Query {
		t.Errorf("parsed %+v", a)
	}
	presigned, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:4567/", nil)
	uri, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds, presigned, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "kinesis", "us-east-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(uri)
	if a, err := Parse(http.Header{}, u.Query()); err != nil || !a.Query || a.AccessKeyID != "AKIDEXAMPLE" {
		t.Errorf("presigned: %+v %v", a, err)
	}
}

func TestParseProblems(t *testing.T) {
	hdr := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	full := "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcd"
	tests := []struct {
		name    string
		h       http.Header
		q       url.Values
		kind    Kind
		message string
	}{
		{"nothing", hdr(), url.Values{}, Missing, "Missing Authentication Token"},
		{"both", hdr("Authorization", full, "X-Amz-Date", "20260101T000000Z"), url.Values{"X-Amz-Algorithm": {"AWS4-HMAC-SHA256"}}, Both,
			"Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."},
		{"no date", hdr("Authorization", full), url.Values{}, Incomplete,
			"Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=" + full},
		{"bare algorithm", hdr("Authorization", "AWS4-HMAC-SHA256", "X-Amz-Date", "20260101T000000Z"), url.Values{}, Incomplete,
			"Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256"},
		{"no signature", hdr("Authorization", "AWS4-HMAC-SHA256 Credential=a/b/c/d/e, SignedHeaders=host", "Date", "x"), url.Values{}, Incomplete,
			"Authorization header requires 'Signature' parameter. Authorization=AWS4-HMAC-SHA256 Credential=a/b/c/d/e, SignedHeaders=host"},
		{"query missing parts", hdr(), url.Values{"X-Amz-Algorithm": {"AWS4-HMAC-SHA256"}, "X-Amz-Date": {"x"}}, Incomplete,
			"AWS query-string parameters must include 'X-Amz-Credential'. AWS query-string parameters must include 'X-Amz-Signature'. AWS query-string parameters must include 'X-Amz-SignedHeaders'. Re-examine the query-string parameters."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.h, tt.q)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if e.Kind != tt.kind || e.Message != tt.message {
				t.Errorf("got %d %q\nwant %d %q", e.Kind, e.Message, tt.kind, tt.message)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcd", "20260101T000000Z")
	f.Add("AWS4-HMAC-SHA256", "")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, authorization, date string) {
		h := http.Header{}
		if authorization != "" {
			h.Set("Authorization", authorization)
		}
		if date != "" {
			h.Set("X-Amz-Date", date)
		}
		a, err := Parse(h, url.Values{})
		if (a == nil) == (err == nil) {
			t.Fatalf("Parse returned %v and %v", a, err)
		}
	})
}
