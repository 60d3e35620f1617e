package kms

import (
	"errors"
	"fmt"

	"kinesisd/internal/kerr"
)

// Error is a refusal as KMS answers it: its error code (the "__type" of the JSON answer), its HTTP
// status and its message. It satisfies kerr.Error, so the edge writes it like any AWS error.
// Inspect it with errors.As and Code.
type Error struct {
	code   string
	status int
	msg    string
}

// Error codes of KMS this package returns.
const (
	CodeNotFound             = "NotFoundException"
	CodeDisabled             = "DisabledException"
	CodeInvalidState         = "KMSInvalidStateException"
	CodeAlreadyExists        = "AlreadyExistsException"
	CodeInvalidArn           = "InvalidArnException"
	CodeValidation           = "ValidationException"
	CodeLimitExceeded        = "LimitExceededException"
	CodeNotAuthorized        = "NotAuthorizedException"
	CodeAccessDenied         = "AccessDeniedException"
	CodeThrottling           = "ThrottlingException"
	CodeOptInRequired        = "OptInRequired"
	CodeInvalidCiphertext    = "InvalidCiphertextException"
	CodeIncorrectKey         = "IncorrectKeyException"
	CodeInvalidMarker        = "InvalidMarkerException"
	CodeTag                  = "TagException"
	CodeMalformedPolicy      = "MalformedPolicyDocumentException"
	CodeUnsupportedOperation = "UnsupportedOperationException"
)

func (e *Error) Error() string { return e.code + ": " + e.msg }

// Code returns KMS's error code, e.g. "NotFoundException".
func (e *Error) Code() string { return e.code }

// HTTPStatus returns the HTTP status KMS answers the error with.
func (e *Error) HTTPStatus() int { return e.status }

// Message returns KMS's message for the error.
func (e *Error) Message() string { return e.msg }

var _ kerr.Error = (*Error)(nil)

func newErr(code, msg string) *Error {
	return &Error{code: code, status: 400, msg: msg}
}

// keyNotFound: "Key 'arn:aws:kms:us-east-1:111122223333:key/…' does not exist" (as AWS writes it, no
// final period).
func keyNotFound(arn string) *Error {
	return newErr(CodeNotFound, fmt.Sprintf("Key '%s' does not exist", arn))
}

// aliasNotFound: "Alias arn:aws:kms:us-east-1:111122223333:alias/x is not found." (AWS names the alias
// by its ARN).
func aliasNotFound(arn string) *Error {
	return newErr(CodeNotFound, fmt.Sprintf("Alias %s is not found.", arn))
}

// invalidKeyID: a key reference that is neither a key id, a key ARN, an alias name nor an alias ARN.
func invalidKeyID(ref string) *Error { return newErr(CodeNotFound, "Invalid keyId "+ref) }

// invalidArnRegion: a key or alias ARN of another region than the request's.
func invalidArnRegion(region string) *Error { return newErr(CodeNotFound, "Invalid arn "+region) }

// invalidArn: an "arn:" string that is not a KMS key or alias ARN.
func invalidArn(ref string) *Error { return newErr(CodeInvalidArn, "Invalid arn "+ref) }

func disabled(arn string) *Error { return newErr(CodeDisabled, arn+" is disabled.") }

func pendingDeletion(arn string) *Error { return newErr(CodeInvalidState, arn+" is pending deletion.") }

func notPendingDeletion(arn string) *Error {
	return newErr(CodeInvalidState, arn+" is not pending deletion.")
}

// AccessDenied returns KMS's refusal of action on keyARN to principal, as IAM words it: with
// explicit true, "… with an explicit deny in a resource-based policy", otherwise "… because no
// resource-based policy allows the <action> action".
func AccessDenied(principal, action, keyARN string, explicit bool) *Error {
	why := "because no resource-based policy allows the " + action + " action"
	if explicit {
		why = "with an explicit deny in a resource-based policy"
	}
	return newErr(CodeAccessDenied, fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s %s", principal, action, keyARN, why))
}

// Denied is KMS's AccessDeniedException with message, for a refusal decided elsewhere (Config.Authorize
// evaluating an identity policy).
func Denied(message string) *Error { return newErr(CodeAccessDenied, message) }

// throttled is KMS's answer over the request quota (the message AWS documents for ThrottlingException).
func throttled() *Error {
	return newErr(CodeThrottling, "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.")
}

// optInRequired is AWS's answer to an account without a subscription to the service (HTTP 403).
func optInRequired() *Error {
	return &Error{code: CodeOptInRequired, status: 403, msg: "The AWS Access Key Id needs a subscription for the service"}
}

// validation returns a ValidationException in the model-validation shape:
// "1 validation error detected: Value 'v' at 'field' failed to satisfy constraint: c".
func validation(value, field, constraint string) *Error {
	return newErr(CodeValidation, fmt.Sprintf("1 validation error detected: Value %s at '%s' failed to satisfy constraint: %s", value, field, constraint))
}

// KinesisError maps an error of this package to the error Kinesis answers for it: NotFoundException
// → KMSNotFoundException, DisabledException → KMSDisabledException, KMSInvalidStateException →
// KMSInvalidStateException, AccessDeniedException → KMSAccessDeniedException, ThrottlingException
// → KMSThrottlingException, OptInRequired → KMSOptInRequired, each with KMS's message, as Kinesis
// passes it on. A key reference KMS cannot parse (InvalidArnException, ValidationException) is a key
// Kinesis cannot find (KMSNotFoundException); a stored data key that no longer opens
// (InvalidCiphertextException, IncorrectKeyException) is KMSInvalidStateException. Errors that are
// not *Error (the store failing) are returned as they are.
func KinesisError(err error) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	switch e.code {
	case CodeNotFound:
		return kerr.NewKMSNotFound(e.msg)
	case CodeDisabled:
		return kerr.NewKMSDisabled(e.msg)
	case CodeInvalidState:
		return kerr.NewKMSInvalidState(e.msg)
	case CodeAccessDenied:
		return kerr.NewKMSAccessDenied(e.msg)
	case CodeThrottling:
		return kerr.NewKMSThrottling(e.msg)
	case CodeOptInRequired:
		return kerr.NewKMSOptInRequired(e.msg)
	case CodeInvalidArn, CodeValidation:
		// Kinesis validates the KeyId it is given before KMS sees it; a reference KMS cannot even
		// parse is a key Kinesis cannot find.
		return kerr.NewKMSNotFound(e.msg)
	case CodeInvalidCiphertext, CodeIncorrectKey:
		// A stored data key that no longer opens: Kinesis has no better word for it.
		return kerr.NewKMSInvalidState("The ciphertext of the stream's data key is invalid for its KMS key.")
	}
	return kerr.NewKMSInvalidState(e.msg)
}
