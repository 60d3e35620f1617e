package protocol

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

	"kinesisd/internal/kerr"
	"kinesisd/internal/service"
)

// TestErrorsThroughSDK writes every error code through the one error writer and decodes it with the
// AWS SDK for Go v2: modelled codes must become the SDK's own exception types, the protocol codes must
// keep their code and status.
func TestErrorsThroughSDK(t *testing.T) {
	modelled := map[string]func(error) bool{
		"AccessDeniedException":                  func(e error) bool { var x *types.AccessDeniedException; return errors.As(e, &x) },
		"DryRunOperationException":               func(e error) bool { var x *types.DryRunOperationException; return errors.As(e, &x) },
		"ExpiredIteratorException":               func(e error) bool { var x *types.ExpiredIteratorException; return errors.As(e, &x) },
		"ExpiredNextTokenException":              func(e error) bool { var x *types.ExpiredNextTokenException; return errors.As(e, &x) },
		"InternalFailureException":               func(e error) bool { var x *types.InternalFailureException; return errors.As(e, &x) },
		"InvalidArgumentException":               func(e error) bool { var x *types.InvalidArgumentException; return errors.As(e, &x) },
		"KMSAccessDeniedException":               func(e error) bool { var x *types.KMSAccessDeniedException; return errors.As(e, &x) },
		"KMSDisabledException":                   func(e error) bool { var x *types.KMSDisabledException; return errors.As(e, &x) },
		"KMSInvalidStateException":               func(e error) bool { var x *types.KMSInvalidStateException; return errors.As(e, &x) },
		"KMSNotFoundException":                   func(e error) bool { var x *types.KMSNotFoundException; return errors.As(e, &x) },
		"KMSOptInRequired":                       func(e error) bool { var x *types.KMSOptInRequired; return errors.As(e, &x) },
		"KMSThrottlingException":                 func(e error) bool { var x *types.KMSThrottlingException; return errors.As(e, &x) },
		"LimitExceededException":                 func(e error) bool { var x *types.LimitExceededException; return errors.As(e, &x) },
		"ProvisionedThroughputExceededException": func(e error) bool { var x *types.ProvisionedThroughputExceededException; return errors.As(e, &x) },
		"ResourceInUseException":                 func(e error) bool { var x *types.ResourceInUseException; return errors.As(e, &x) },
		"ResourceNotFoundException":              func(e error) bool { var x *types.ResourceNotFoundException; return errors.As(e, &x) },
		"ValidationException":                    func(e error) bool { var x *types.ValidationException; return errors.As(e, &x) },
	}
	for code, status := range codes {
		t.Run(code, func(t *testing.T) {
			want := newError(code, "the message of "+code)
			h := testHandler(Options{}, map[string]opFunc{"ListStreams": func(context.Context, string, *service.Service, codec, []byte, *callLog) (any, error) {
				return nil, want
			}})
			srv := httptest.NewServer(h)
			defer srv.Close()
			c := kinesis.New(kinesis.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1,
				Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")})
			_, err := c.ListStreams(t.Context(), &kinesis.ListStreamsInput{})
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != code {
				t.Fatalf("error %v, want code %s", err, code)
			}
			var re *awshttp.ResponseError
			if !errors.As(err, &re) || re.HTTPStatusCode() != status {
				t.Errorf("status %v, want %d", re, status)
			}
			if is, ok := modelled[code]; ok {
				if !is(err) {
					t.Errorf("%s did not decode into the SDK's type: %T", code, ae)
				}
				wantMsg := "the message of " + code
				if code == "InternalFailureException" {
					wantMsg = "" // nothing leaks
				}
				if ae.ErrorMessage() != wantMsg {
					t.Errorf("message %q, want %q", ae.ErrorMessage(), wantMsg)
				}
			}
		})
	}
}

// newError builds the kerr value for code through the generated constructors.
func newError(code, msg string) error {
	all := []kerr.Error{
		kerr.NewAccessDenied(msg), kerr.NewDryRunOperation(msg), kerr.NewExpiredIterator(msg), kerr.NewExpiredNextToken(msg),
		kerr.NewInternalFailure(msg), kerr.NewInvalidArgument(msg), kerr.NewKMSAccessDenied(msg), kerr.NewKMSDisabled(msg),
		kerr.NewKMSInvalidState(msg), kerr.NewKMSNotFound(msg), kerr.NewKMSOptInRequired(msg), kerr.NewKMSThrottling(msg),
		kerr.NewLimitExceeded(msg), kerr.NewProvisionedThroughputExceeded(msg), kerr.NewResourceInUse(msg), kerr.NewResourceNotFound(msg),
		kerr.NewValidation(msg), kerr.NewSerialization(msg), kerr.NewUnknownOperation(msg), kerr.NewMissingAuthenticationToken(msg),
		kerr.NewIncompleteSignature(msg), kerr.NewInvalidSignature(msg), kerr.NewUnrecognizedClient(msg),
	}
	for _, e := range all {
		if e.Code() == code {
			if code == "InternalFailureException" {
				return errors.New("disk on fire") // an unrecognised error becomes InternalFailure without detail
			}
			return e
		}
	}
	panic("no constructor for " + code)
}

// codes is every code with its status, from the kerr table.
var codes = func() map[string]int {
	m := map[string]int{}
	for _, c := range []string{"AccessDeniedException", "DryRunOperationException", "ExpiredIteratorException", "ExpiredNextTokenException",
		"InternalFailureException", "InvalidArgumentException", "KMSAccessDeniedException", "KMSDisabledException", "KMSInvalidStateException",
		"KMSNotFoundException", "KMSOptInRequired", "KMSThrottlingException", "LimitExceededException", "ProvisionedThroughputExceededException",
		"ResourceInUseException", "ResourceNotFoundException", "ValidationException", "SerializationException", "UnknownOperationException",
		"MissingAuthenticationTokenException", "IncompleteSignatureException", "InvalidSignatureException", "UnrecognizedClientException"} {
		s, ok := kerr.Status(c)
		if !ok {
			panic(c)
		}
		m[c] = s
	}
	return m
}()

// testHandler is a handler configured by opts that serves ops.
func testHandler(opts Options, ops map[string]opFunc) *Handler {
	h := newHandler(opts)
	h.ops = ops
	return h
}
