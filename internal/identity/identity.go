// Package identity is who made a request: the caller's account, region and principal, carried in its context.
//
// The HTTP edge works the caller out from the request's signature (the credential scope's region, the
// access key's account and principal) and runs the operation in the caller's account and region; the
// service may read it back (CallerFrom) to evaluate policies.
package identity

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"strings"
)

// Caller is the identity a request was made with.
type Caller struct {
	Account         string // 12 digits
	Region          string // the region the request is signed for, or the server's default
	Principal       string // ARN: arn:aws:iam::ACCOUNT:root or arn:aws:iam::ACCOUNT:user/NAME
	AccessKeyID     string // as the signature names it; "" for an unsigned request
	SourceIP        string // the client's address, without the port (aws:SourceIp)
	SecureTransport bool   // the request came over TLS (aws:SecureTransport)
}

type callerKey struct{}

// WithCaller returns ctx carrying c.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller ctx carries, false when it carries none.
func CallerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}

// RootARN is the ARN of account's root user.
func RootARN(account string) string { return "arn:aws:iam::" + account + ":root" }

// UserARN is the ARN of the IAM user name in account.
func UserARN(account, name string) string { return "arn:aws:iam::" + account + ":user/" + name }

// PrincipalARN is the ARN of a principal of the credentials file: the user name in account, or the
// account's root when name is "".
func PrincipalARN(account, name string) string {
	if name == "" {
		return RootARN(account)
	}
	return UserARN(account, name)
}

// UserID is the unique id GetCallerIdentity reports for a principal ARN: the account id for an account's
// root (as AWS answers it), else an IAM user id (AIDA and 17 characters) derived from the ARN, so that
// it is the same on every start and every front-end.
func UserID(principal string) string {
	account, rest, ok := strings.Cut(strings.TrimPrefix(principal, "arn:aws:iam::"), ":")
	if !ok || rest == "root" {
		return account
	}
	sum := sha256.Sum256([]byte(principal))
	return "AIDA" + base32.StdEncoding.EncodeToString(sum[:])[:17]
}
