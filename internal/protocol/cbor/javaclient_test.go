package cbor_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	fxcbor "github.com/fxamacker/cbor/v2"
)

// A client that speaks CBOR as the AWS SDK for Java v2 does: requests written as Jackson writes them
// (indefinite-length maps and arrays, members in order, blobs as byte strings, timestamps as tag 1 +
// epoch milliseconds), signed with SigV4, POSTed with Content-Type application/x-amz-cbor-1.1; replies
// read into typed structures, timestamps as tag 1 + milliseconds.

// obj is a structure: its members in order, written as an indefinite-length map.
type obj []member

type member struct {
	name  string
	value any
}

// list is written as an indefinite-length array.
type list []any

// floatMillis is a timestamp written as tag 1 holding a float of milliseconds.
type floatMillis float64

// jackson writes v with fxamacker/cbor's stream encoder the way Jackson's CBORGenerator does.
func jackson(v any) []byte {
	var buf bytes.Buffer
	enc := fxcbor.NewEncoder(&buf)
	var write func(v any) error
	write = func(v any) error {
		switch v := v.(type) {
		case obj:
			if err := enc.StartIndefiniteMap(); err != nil {
				return err
			}
			for _, m := range v {
				if err := enc.Encode(m.name); err != nil {
					return err
				}
				if err := write(m.value); err != nil {
					return err
				}
			}
			return enc.EndIndefinite()
		case list:
			if err := enc.StartIndefiniteArray(); err != nil {
				return err
			}
			for _, x := range v {
				if err := write(x); err != nil {
					return err
				}
			}
			return enc.EndIndefinite()
		case time.Time:
			return enc.Encode(fxcbor.Tag{Number: 1, Content: v.UnixMilli()})
		case floatMillis:
			return enc.Encode(fxcbor.Tag{Number: 1, Content: float64(v)})
		}
		return enc.Encode(v) // string: text; []byte: byte string; integers in shortest form; bool
	}
	if err := write(v); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// javaTime is a timestamp as the Java SDK reads it from CBOR: tag 1 holding epoch milliseconds.
type javaTime struct{ ms int64 }

func (j *javaTime) UnmarshalCBOR(b []byte) error {
	var tag fxcbor.RawTag
	if err := fxcbor.Unmarshal(b, &tag); err != nil {
		return err
	}
	if tag.Number != 1 {
		return fmt.Errorf("timestamp under tag %d, want 1", tag.Number)
	}
	return fxcbor.Unmarshal(tag.Content, &j.ms)
}

func (j javaTime) Time() time.Time { return time.UnixMilli(j.ms).UTC() }

// reply is one HTTP answer.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// decode reads a 200 reply's body into v, checking its shape and content type first.
func (r reply) decode(t *testing.T, v any) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, diag(r.body))
	}
	if ct := r.header.Get("Content-Type"); ct != "application/x-amz-cbor-1.1" {
		t.Fatalf("Content-Type %q", ct)
	}
	jacksonShaped(t, r.body)
	if err := fxcbor.Unmarshal(r.body, v); err != nil {
		t.Fatalf("read %T from %s: %v", v, diag(r.body), err)
	}
}

// wantError checks r is a CBOR error reply with code, status and message.
func (r reply) wantError(t *testing.T, code string, status int, message string) {
	t.Helper()
	if r.status != status || r.header.Get("Content-Type") != "application/x-amz-cbor-1.1" || r.header.Get("X-Amzn-ErrorType") != code ||
		r.header.Get("x-amzn-RequestId") == "" {
		t.Errorf("status %d, headers %v, want %d %s", r.status, r.header, status, code)
	}
	jacksonShaped(t, r.body)
	var m map[string]string
	if err := fxcbor.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("error body %s: %v", diag(r.body), err)
	}
	if m["__type"] != code || m["message"] != message {
		t.Errorf("error %q %q\nwant  %q %q", m["__type"], m["message"], code, message)
	}
}

type javaClient struct {
	endpoint string
	http     *http.Client
}

func newJavaClient(endpoint string) *javaClient {
	return &javaClient{endpoint: endpoint, http: &http.Client{Timeout: time.Minute}}
}

// call sends v (an obj, or raw bytes as they are) to operation op.
func (c *javaClient) call(t *testing.T, op string, v any) reply {
	t.Helper()
	resp := c.send(t, op, v)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

// send is call without reading the reply: the caller reads and closes its body.
func (c *javaClient) send(t *testing.T, op string, v any) *http.Response {
	t.Helper()
	body, ok := v.([]byte)
	if !ok {
		body = jackson(v)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, c.endpoint+"/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-cbor-1.1")
	req.Header.Set("X-Amz-Target", "Kinesis_20131202."+op)
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "kinesis", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func diag(b []byte) string {
	s, err := fxcbor.Diagnose(b)
	if err != nil {
		return fmt.Sprintf("% x (%v)", b, err)
	}
	return s
}

// token is one head of a CBOR stream with a string's payload.
type token struct {
	major, info byte
	raw         []byte
}

func (k token) text() string { return string(k.raw[len(k.raw)-k.payload():]) }

func (k token) payload() int {
	if k.major != 2 && k.major != 3 || k.info == 31 {
		return 0
	}
	return int(arg(k.raw))
}

func arg(raw []byte) uint64 {
	info := raw[0] & 0x1f
	if info < 24 {
		return uint64(info)
	}
	var n uint64
	for _, c := range raw[1 : 1+1<<(info-24)] {
		n = n<<8 | uint64(c)
	}
	return n
}

// tokens splits a CBOR stream into its heads, flat; it fails on anything it cannot split.
func tokens(b []byte) ([]token, error) {
	var out []token
	for len(b) > 0 {
		major, info := b[0]>>5, b[0]&0x1f
		n := 1
		switch {
		case info < 24, info == 31:
		case info <= 27:
			n += 1 << (info - 24)
		default:
			return nil, fmt.Errorf("reserved head %#x", b[0])
		}
		if len(b) < n {
			return nil, io.ErrUnexpectedEOF
		}
		k := token{major: major, info: info, raw: b[:n]}
		if p := k.payload(); p > 0 {
			if len(b) < n+p {
				return nil, io.ErrUnexpectedEOF
			}
			k.raw = b[:n+p]
		}
		out = append(out, k)
		b = b[len(k.raw):]
	}
	return out, nil
}

// jacksonShaped checks b is written as Jackson (and AWS) write: every map and array of indefinite
// length, every string definite.
func jacksonShaped(t *testing.T, b []byte) {
	t.Helper()
	toks, err := tokens(b)
	if err != nil {
		t.Fatalf("%v in % x", err, b)
	}
	for _, k := range toks {
		if (k.major == 4 || k.major == 5) && k.info != 31 {
			t.Errorf("definite-length %s in %s", map[byte]string{4: "array", 5: "map"}[k.major], diag(b))
		}
		if (k.major == 2 || k.major == 3) && k.info == 31 {
			t.Errorf("indefinite-length string in %s", diag(b))
		}
	}
}
