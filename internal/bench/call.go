package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// wire sends PutRecords and GetRecords with the bench's own codec: bodies it built, signed with the
// SDK's SigV4 signer, over one connection of its own (HTTP/1.1 keep-alive, or h2c with -h2c). One
// goroutine uses a wire at a time.
type wire struct {
	client *http.Client
	url    string
	region string
	creds  aws.Credentials
	signer *v4.Signer
	resp   []byte // the last response body, reused
}

func newWire(opts options, creds aws.Credentials) *wire {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DisableCompression = true
	var p http.Protocols
	if opts.h2c {
		p.SetUnencryptedHTTP2(true) // prior knowledge on http://
		p.SetHTTP2(true)            // and h2 on https://
	} else {
		p.SetHTTP1(true)
	}
	tr.Protocols = &p
	return &wire{
		client: &http.Client{Transport: tr, Timeout: time.Minute},
		url:    baseURL(opts),
		region: opts.region,
		creds:  creds,
		signer: v4.NewSigner(),
	}
}

// baseURL is the -endpoint, or AWS's endpoint for -region.
func baseURL(opts options) string {
	if opts.endpoint != "" {
		return strings.TrimSuffix(opts.endpoint, "/") + "/"
	}
	if strings.HasPrefix(opts.region, "cn-") {
		return "https://kinesis." + opts.region + ".amazonaws.com.cn/"
	}
	return "https://kinesis." + opts.region + ".amazonaws.com/"
}

// close drops the wire's connection.
func (w *wire) close() { w.client.CloseIdleConnections() }

// apiError is an error response: the server's code and message.
type apiError struct {
	status    int
	code, msg string
}

func (e *apiError) Error() string       { return fmt.Sprintf("HTTP %d %s: %s", e.status, e.code, e.msg) }
func (e *apiError) HTTPStatusCode() int { return e.status }

// sendError is a request that got no complete response.
type sendError struct{ err error }

func (e *sendError) Error() string { return "send request: " + e.err.Error() }
func (e *sendError) Unwrap() error { return e.err }

// post sends the Kinesis operation op with body and returns the response body, which is valid until
// the next post. An error response is an *apiError.
func (w *wire) post(ctx context.Context, op string, body []byte) ([]byte, error) {
	return w.postAs(ctx, op, body, contentJSON)
}

// The request content types: the JSON of most SDKs, the CBOR of the Java SDK (-cbor).
const (
	contentJSON = "application/x-amz-json-1.1"
	contentCBOR = "application/x-amz-cbor-1.1"
)

// postAs is post with the body in contentType; the response comes in the same.
func (w *wire) postAs(ctx context.Context, op string, body []byte, contentType string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-Amz-Target", "Kinesis_20131202."+op)
	sum := sha256.Sum256(body) // SHA-NI makes this ~1 ms per 2 MB; the signature needs it
	if err := w.signer.SignHTTP(ctx, w.creds, req, hex.EncodeToString(sum[:]), "kinesis", w.region, time.Now()); err != nil {
		return nil, fmt.Errorf("sign %s: %w", op, err)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return nil, &sendError{err}
	}
	defer resp.Body.Close()
	if w.resp, err = readBody(resp.Body, resp.ContentLength, w.resp[:0]); err != nil {
		return nil, &sendError{err}
	}
	if resp.StatusCode != http.StatusOK {
		code, msg := parseError(resp.Header.Get("X-Amzn-ErrorType"), w.resp)
		if code == "" {
			code = fmt.Sprintf("HTTP%d", resp.StatusCode)
			msg = string(w.resp[:min(len(w.resp), 200)])
		}
		return nil, &apiError{status: resp.StatusCode, code: code, msg: msg}
	}
	return w.resp, nil
}

// readBody reads a response body into buf. With a Content-Length it reads into a buffer of exactly
// that size: a GetRecords response of 10,000 records is 14 MB, and growing by doubling (as
// bytes.Buffer does, even when the size is right, to see the EOF) would hold twice that per shard.
func readBody(r io.Reader, contentLength int64, buf []byte) ([]byte, error) {
	buf = buf[:0]
	if contentLength >= 0 {
		buf = slices.Grow(buf, int(contentLength))[:contentLength]
		_, err := io.ReadFull(r, buf)
		return buf, err
	}
	for {
		buf = slices.Grow(buf, 32<<10)
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// classify names a failed call, by the own codec or the SDK: the AWS error code when the server
// answered with one, else Timeout, RequestSendError (the request did not reach the server, or no
// response came back), DeserializationError (a response that could not be read) or ClientError.
func classify(err error) (code, msg string) {
	var we *apiError
	var apiErr smithy.APIError
	var netErr net.Error
	switch {
	case errors.As(err, &we):
		return we.code, we.msg
	case errors.As(err, &apiErr):
		return apiErr.ErrorCode(), apiErr.ErrorMessage()
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "Timeout", err.Error()
	case errors.As(err, new(*sendError)), errors.As(err, new(*smithyhttp.RequestSendError)):
		return "RequestSendError", err.Error()
	case errors.Is(err, errSyntax), errors.As(err, new(*smithy.DeserializationError)):
		return "DeserializationError", err.Error()
	default:
		return "ClientError", err.Error()
	}
}

// throttled reports whether err is the server asking to slow down.
func throttled(err error) bool {
	code, _ := classify(err)
	switch code {
	case "ProvisionedThroughputExceededException", "LimitExceededException", "ThrottlingException":
		return true
	}
	return false
}
