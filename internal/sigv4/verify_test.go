package sigv4

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"kinesisd/internal/clock"
)

var (
	signedAt = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	testKeys = map[string]string{"AKIDEXAMPLE": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "AKIDOTHER": "other"}
	good     = aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
)

// sdkCase is a request the SDK's signer signs (after prepare, with creds, region and time), then
// changed by tamper as it travels, and verified as the server receives it.
type sdkCase struct {
	name    string
	url     string
	body    string
	prepare func(*http.Request)
	creds   aws.Credentials
	region  string
	service string
	at      time.Time // signing time; zero: signedAt
	presign bool
	payload string // the payload hash the signer is given; "": the body's
	tamper  func(r *http.Request, body *string)
	kind    Kind   // 0: accepted
	message string // "": any message of that kind
}

func sdkCases() []sdkCase {
	kinesisTarget := func(r *http.Request) {
		r.Header.Set("X-Amz-Target", "Kinesis_20131202.PutRecords")
		r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	}
	return []sdkCase{
		{name: "put records", body: `{"StreamName":"s","Records":[]}`, prepare: kinesisTarget},
		{name: "empty body", prepare: kinesisTarget},
		{name: "extra headers", body: "{}", prepare: func(r *http.Request) {
			kinesisTarget(r)
			r.Header.Set("X-Custom", "  a   b \t c  ")
			r.Header.Add("X-Multi", "one")
			r.Header.Add("X-Multi", "two")
		}},
		{name: "query string", url: "http://127.0.0.1:4567/?b=2&a=1&a=0&sp=x%20y&e=&u=%E1%88%B4&plus=a+b", body: "{}", prepare: kinesisTarget},
		{name: "path", url: "http://127.0.0.1:4567/some/path-x_y.z~", body: "{}", prepare: kinesisTarget},
		{name: "content sha256 header", body: "{}", prepare: func(r *http.Request) {
			kinesisTarget(r)
			sum := sha256.Sum256([]byte("{}"))
			r.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
		}},
		{name: "unsigned payload", body: "{}", payload: "UNSIGNED-PAYLOAD", prepare: func(r *http.Request) {
			kinesisTarget(r)
			r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
		}, kind: Invalid, message: msgMismatch},
		{name: "content sha256 header of another body", body: `{"StreamName":"b"}`, payload: sha256Hex(`{"StreamName":"a"}`), prepare: func(r *http.Request) {
			kinesisTarget(r)
			r.Header.Set("X-Amz-Content-Sha256", sha256Hex(`{"StreamName":"a"}`))
		}, kind: Invalid, message: msgMismatch},
		{name: "unsigned header added after signing", body: "{}", prepare: kinesisTarget, tamper: func(r *http.Request, _ *string) {
			r.Header.Set("X-Added-Later", "1")
			r.Header.Set("User-Agent", "changed")
		}},
		{name: "presigned", presign: true, body: "{}", prepare: func(r *http.Request) {
			kinesisTarget(r)
			q := r.URL.Query()
			q.Set("X-Amz-Expires", "300")
			r.URL.RawQuery = q.Encode()
		}},
		{name: "presigned without expiry", presign: true, body: "{}", prepare: kinesisTarget},
		{name: "wrong secret", body: "{}", prepare: kinesisTarget, creds: aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wrong"},
			kind: Invalid, message: msgMismatch},
		{name: "other key's secret", body: "{}", prepare: kinesisTarget, creds: aws.Credentials{AccessKeyID: "AKIDOTHER", SecretAccessKey: good.SecretAccessKey},
			kind: Invalid, message: msgMismatch},
		{name: "unknown key", body: "{}", prepare: kinesisTarget, creds: aws.Credentials{AccessKeyID: "AKIDUNKNOWN", SecretAccessKey: "x"},
			kind: Unrecognized, message: msgUnrecognized},
		{name: "tampered body", body: `{"StreamName":"a"}`, prepare: kinesisTarget, tamper: func(_ *http.Request, body *string) { *body = `{"StreamName":"b"}` },
			kind: Invalid, message: msgMismatch},
		{name: "tampered signed header", body: "{}", prepare: kinesisTarget, tamper: func(r *http.Request, _ *string) {
			r.Header.Set("X-Amz-Target", "Kinesis_20131202.DeleteStream")
		}, kind: Invalid, message: msgMismatch},
		{name: "tampered host", body: "{}", prepare: kinesisTarget, tamper: func(r *http.Request, _ *string) { r.Host = "127.0.0.1:4568" },
			kind: Invalid, message: msgMismatch},
		{name: "tampered query", url: "http://127.0.0.1:4567/?a=1", body: "{}", prepare: kinesisTarget, tamper: func(r *http.Request, _ *string) {
			r.URL.RawQuery = "a=2"
		}, kind: Invalid, message: msgMismatch},
		{name: "tampered presigned", presign: true, body: `{"StreamName":"a"}`, prepare: kinesisTarget, tamper: func(_ *http.Request, body *string) {
			*body = `{"StreamName":"b"}`
		}, kind: Invalid, message: msgMismatch},
		{name: "tampered presigned query", presign: true, body: "{}", prepare: kinesisTarget, tamper: func(r *http.Request, _ *string) {
			q := r.URL.Query()
			q.Set("X-Amz-Target", "Kinesis_20131202.DeleteStream") // the signer moved X-Amz-* headers into the query
			r.URL.RawQuery = q.Encode()
		}, kind: Invalid, message: msgMismatch},
		{name: "host not signed", body: "{}", prepare: kinesisTarget, tamper: func(r *http.Request, _ *string) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "host;", "", 1))
		}, kind: Invalid, message: msgHostUnsigned},
		{name: "wrong region", body: "{}", prepare: kinesisTarget, region: "eu-west-1",
			kind: Invalid, message: "Credential should be scoped to a valid region, not 'eu-west-1'. "},
		{name: "wrong service", body: "{}", prepare: kinesisTarget, service: "dynamodb",
			kind: Invalid, message: "Credential should be scoped to correct service: 'kinesis'. "},
		{name: "wrong region and service", body: "{}", prepare: kinesisTarget, region: "eu-west-1", service: "dynamodb",
			kind: Invalid, message: "Credential should be scoped to a valid region, not 'eu-west-1'. Credential should be scoped to correct service: 'kinesis'. "},
		{name: "expired", body: "{}", prepare: kinesisTarget, at: signedAt.Add(-5*time.Minute - time.Second),
			kind: Invalid, message: "Signature expired: 20261125T115459Z is now earlier than 20261125T115500Z (20261125T120000Z - 5 min.)"},
		{name: "just within the past limit", body: "{}", prepare: kinesisTarget, at: signedAt.Add(-5 * time.Minute)},
		{name: "not yet current", body: "{}", prepare: kinesisTarget, at: signedAt.Add(5*time.Minute + time.Second),
			kind: Invalid, message: "Signature not yet current: 20261125T120501Z is still later than 20261125T120500Z (20261125T120000Z + 5 min.)"},
		{name: "presigned expired", presign: true, body: "{}", at: signedAt.Add(-301 * time.Second), prepare: func(r *http.Request) {
			q := r.URL.Query()
			q.Set("X-Amz-Expires", "300")
			r.URL.RawQuery = q.Encode()
		}, kind: Invalid, message: "Signature expired: 20261125T115459Z is now earlier than 20261125T115500Z (20261125T120000Z - 300 sec.)"},
		{name: "date header changed", body: "{}", prepare: kinesisTarget, tamper: func(r *http.Request, _ *string) {
			r.Header.Set("X-Amz-Date", "20261125T120001Z")
		}, kind: Invalid, message: msgMismatch},
		{name: "date not ISO", body: "{}", prepare: kinesisTarget, tamper: func(r *http.Request, _ *string) { r.Header.Set("X-Amz-Date", "2026") },
			kind: Incomplete, message: "Date must be in ISO-8601 'basic format'. Got '2026'. See http://en.wikipedia.org/wiki/ISO_8601"},
	}
}

// signed returns the request of tc as the server receives it (written to the wire and read back:
// Host in r.Host, the body apart) and its body.
func (tc sdkCase) signed(t testing.TB) (*http.Request, []byte) {
	t.Helper()
	url := tc.url
	if url == "" {
		url = "http://127.0.0.1:4567/"
	}
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(tc.body))
	if err != nil {
		t.Fatal(err)
	}
	if tc.prepare != nil {
		tc.prepare(req)
	}
	creds, region, service, at := tc.creds, tc.region, tc.service, tc.at
	if creds.AccessKeyID == "" {
		creds = good
	}
	if region == "" {
		region = "us-east-1"
	}
	if service == "" {
		service = "kinesis"
	}
	if at.IsZero() {
		at = signedAt
	}
	sum := sha256.Sum256([]byte(tc.body))
	payload := hex.EncodeToString(sum[:])
	if tc.payload != "" {
		payload = tc.payload
	}
	if tc.presign {
		uri, hdr, err := v4.NewSigner().PresignHTTP(context.Background(), creds, req, payload, service, region, at)
		if err != nil {
			t.Fatal(err)
		}
		req, err = http.NewRequest(http.MethodPost, uri, strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header = hdr
	} else if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, payload, service, region, at); err != nil {
		t.Fatal(err)
	}
	var wire bytes.Buffer
	if err := req.Write(&wire); err != nil {
		t.Fatal(err)
	}
	r, err := http.ReadRequest(bufio.NewReader(&wire))
	if err != nil {
		t.Fatal(err)
	}
	body := tc.body
	if tc.tamper != nil {
		tc.tamper(r, &body)
	}
	return r, []byte(body)
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// verify parses and verifies the signature of r with body, as the handler does for a Kinesis request:
// Parse, Check, then Pending.Verify once the body is read.
func verify(v *Verifier, r *http.Request, body []byte) error { return verifyFor(v, r, body, "kinesis") }

// verifyFor is verify for a request to service.
func verifyFor(v *Verifier, r *http.Request, body []byte, service string) error {
	a, err := Parse(r.Header, r.URL.Query())
	if err != nil {
		return err
	}
	p, err := v.Check(r, a, service)
	if err != nil {
		return err
	}
	return p.Verify(body)
}

func newTestVerifier(at time.Time) *Verifier {
	return NewVerifier(testKeys, "us-east-1", clock.NewFake(at))
}

func checkErr(t *testing.T, err error, kind Kind, message string) {
	t.Helper()
	if kind == 0 {
		if err != nil {
			t.Fatalf("refused: %v", err)
		}
		return
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want a *Error of kind %d", err, kind)
	}
	if e.Kind != kind || (message != "" && e.Message != message) {
		t.Errorf("got %d %q\nwant %d %q", e.Kind, e.Message, kind, message)
	}
}

// The SDK's signer is the oracle: what it signs with a listed key verifies, and every change to a
// signed part, or a wrong key, scope or time, is refused with AWS's message.
func TestVerifySDKSigned(t *testing.T) {
	v := newTestVerifier(signedAt)
	for _, tc := range sdkCases() {
		t.Run(tc.name, func(t *testing.T) {
			r, body := tc.signed(t)
			checkErr(t, verify(v, r, body), tc.kind, tc.message)
			// Twice: the second takes the signing key from the cache.
			checkErr(t, verify(v, r, body), tc.kind, tc.message)
		})
	}
}

// The published AWS SigV4 test suite (testdata/aws-signing-test-suite/README.md): each request
// verifies, and fails once its signature is changed.
func TestVerifyAWSTestSuite(t *testing.T) {
	files, err := filepath.Glob("testdata/aws-signing-test-suite/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test suite files: %v", err)
	}
	at := time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)
	v := NewVerifier(map[string]string{"AKIDEXAMPLE": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}, "us-east-1", clock.NewFake(at))
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
			if err != nil {
				t.Fatal(err)
			}
			if err := verifyFor(v, r, nil, "service"); err != nil {
				t.Fatalf("refused: %v", err)
			}
			// One signature digit changed (in the header or the query) must be refused.
			if a := r.Header.Get("Authorization"); a != "" {
				r.Header.Set("Authorization", flipLast(a))
			} else {
				q := r.URL.Query()
				q.Set("X-Amz-Signature", flipLast(q.Get("X-Amz-Signature")))
				r.URL.RawQuery = q.Encode()
			}
			checkErr(t, verifyFor(v, r, nil, "service"), Invalid, msgMismatch)
		})
	}
}

// A Verifier for every region takes any region of AWS's shape, and the service the request is for.
func TestVerifyAnyRegion(t *testing.T) {
	v := NewVerifier(testKeys, "", clock.NewFake(signedAt))
	tests := []struct {
		name, region, service, want string // want: the service the request is for
		kind                        Kind
		message                     string
	}{
		{name: "us-west-2", region: "us-west-2", want: "kinesis"},
		{name: "eu-west-1", region: "eu-west-1", want: "kinesis"},
		{name: "gov cloud", region: "us-gov-west-1", want: "kinesis"},
		{name: "sts", region: "eu-central-1", service: "sts", want: "sts"},
		{name: "kms", region: "ap-southeast-2", service: "kms", want: "kms"},
		{name: "not a region", region: "moon", want: "kinesis", kind: Invalid, message: "Credential should be scoped to a valid region, not 'moon'. "},
		{name: "kinesis scope for sts", region: "us-east-1", want: "sts", kind: Invalid, message: "Credential should be scoped to correct service: 'sts'. "},
		{name: "sts scope for kinesis", region: "us-east-1", service: "sts", want: "kinesis", kind: Invalid, message: "Credential should be scoped to correct service: 'kinesis'. "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc := sdkCase{body: "{}", region: tt.region, service: tt.service}
			r, body := tc.signed(t)
			checkErr(t, verifyFor(v, r, body, tt.want), tt.kind, tt.message)
		})
	}
}

func TestValidRegion(t *testing.T) {
	for _, r := range []string{"us-east-1", "eu-west-1", "us-gov-west-1", "cn-north-1", "ap-southeast-3", "us-isob-east-1", "eusc-de-east-1", "il-central-1"} {
		if !ValidRegion(r) {
			t.Errorf("%s refused", r)
		}
	}
	for _, r := range []string{"", "moon", "us-east", "US-EAST-1", "us_east_1", "us-east-1a", "aws-global", "us-east-1/x", "u-east-1"} {
		if ValidRegion(r) {
			t.Errorf("%q accepted", r)
		}
	}
}

// The JavaScript SDK v3 signs HTTP/2's :authority pseudo-header rather than host: its value is
// r.Host, and it counts as the signed host.
func TestCanonicalAuthority(t *testing.T) {
	r, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:4567/", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("X-Amz-Date", "20261125T120000Z")
	a := &Auth{SignedHeaders: []string{":authority", "x-amz-date"}}
	want := "POST\n/\n\n:authority:127.0.0.1:4567\nx-amz-date:20261125T120000Z\n\n:authority;x-amz-date\nUNSIGNED-PAYLOAD"
	if got := CanonicalRequest(r, a, "UNSIGNED-PAYLOAD"); got != want {
		t.Errorf("canonical request\n%s\nwant\n%s", got, want)
	}
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/us-east-1/kinesis/aws4_request, SignedHeaders=:authority;x-amz-date, Signature=00")
	checkErr(t, verify(newTestVerifier(signedAt), r, nil), Invalid, msgMismatch) // not msgHostUnsigned
}

func flipLast(s string) string {
	last := s[len(s)-1]
	if last == '0' {
		return s[:len(s)-1] + "1"
	}
	return s[:len(s)-1] + "0"
}

// FuzzVerify feeds the verifier requests built from the table's signed ones with their parts
// changed: it must not panic, and must refuse what the signature does not cover.
func FuzzVerify(f *testing.F) {
	for _, tc := range sdkCases() {
		r, body := tc.signed(f)
		f.Add(r.URL.RawQuery, r.Header.Get("Authorization"), r.Header.Get("X-Amz-Date"), r.Header.Get("X-Amz-Target"), string(body))
	}
	v := newTestVerifier(signedAt)
	f.Fuzz(func(t *testing.T, query, authorization, date, target, body string) {
		r, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:4567/", nil)
		if err != nil {
			t.Fatal(err)
		}
		r.URL.RawQuery = query
		for k, val := range map[string]string{"Authorization": authorization, "X-Amz-Date": date, "X-Amz-Target": target} {
			if val != "" {
				r.Header.Set(k, val)
			}
		}
		err = verify(v, r, []byte(body))
		var e *Error
		if err != nil && !errors.As(err, &e) {
			t.Fatalf("err %v is not a *Error", err)
		}
	})
}

// BenchmarkVerifyPutRecords500 is the cost of verifying a PutRecords of 500 records of 100 bytes:
// one SHA-256 of the body, the canonical request and the HMACs (the signing key is cached).
func BenchmarkVerifyPutRecords500(b *testing.B) {
	var body strings.Builder
	body.WriteString(`{"StreamName":"bench","Records":[`)
	data := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("x"), 100))
	for i := range 500 {
		if i > 0 {
			body.WriteByte(',')
		}
		fmt.Fprintf(&body, `{"Data":%q,"PartitionKey":"key-%d"}`, data, i)
	}
	tc := sdkCase{body: body.String(), prepare: func(r *http.Request) {
		r.Header.Set("X-Amz-Target", "Kinesis_20131202.PutRecords")
		r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	}}
	r, raw := tc.signed(b)
	v := newTestVerifier(signedAt)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if err := verify(v, r, raw); err != nil {
			b.Fatal(err)
		}
	}
}
