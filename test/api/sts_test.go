package api_test

import (
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"kinesisd/internal/kinesistest"
)

// stsClient is an STS client of the Go SDK for s's endpoint, signing with id and secret for region.
func stsClient(s *kinesistest.Server, id, secret, region string) *sts.Client {
	return sts.New(sts.Options{
		Region:           region,
		BaseEndpoint:     aws.String(s.Endpoint),
		Credentials:      credentials.NewStaticCredentialsProvider(id, secret, ""),
		RetryMaxAttempts: 1,
		HTTPClient:       &http.Client{Timeout: time.Minute},
	})
}

// wantCaller checks GetCallerIdentity through c answers account, arn and userID (a pattern).
func wantCaller(t *testing.T, c *sts.Client, account, arn, userID string) {
	t.Helper()
	out, err := c.GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity: %v", err)
	}
	if aws.ToString(out.Account) != account || aws.ToString(out.Arn) != arn || !regexp.MustCompile("^"+userID+"$").MatchString(aws.ToString(out.UserId)) {
		t.Errorf("GetCallerIdentity: Account %q, Arn %q, UserId %q; want %q, %q, %s",
			aws.ToString(out.Account), aws.ToString(out.Arn), aws.ToString(out.UserId), account, arn, userID)
	}
}

// TestSTSGetCallerIdentity: the Go SDK's STS client, pointed at the API port, learns the account and
// ARN of its key: without -credentials, the account root of -account-id or of a 12-digit key id.
func TestSTSGetCallerIdentity(t *testing.T) {
	s := kinesistest.Start(t, kinesistest.RunEngines()[0], kinesistest.Options{})
	wantCaller(t, stsClient(s, testKeyID, testSecret, "us-east-1"), "000000000000", "arn:aws:iam::000000000000:root", "000000000000")
	wantCaller(t, stsClient(s, "111122223333", "any secret", "eu-west-1"), "111122223333", "arn:aws:iam::111122223333:root", "111122223333")
}

// TestSTSGetCallerIdentityCredentials: with -credentials, GetCallerIdentity answers the account and
// principal of the key's line (a user ARN with an IAM user id, or the account root), must be signed
// for sts with a listed key, and is refused with the Query protocol's codes otherwise.
func TestSTSGetCallerIdentityCredentials(t *testing.T) {
	s := kinesistest.Start(t, kinesistest.RunEngines()[0], kinesistest.Options{Configure: withAccounts(t)})
	wantCaller(t, stsClient(s, "AKIDALICE", "alice-secret", "eu-west-1"), "111122223333", "arn:aws:iam::111122223333:user/alice", "AIDA[A-Z2-7]{17}")
	wantCaller(t, stsClient(s, "AKIDOTHER", "other-secret", "ap-southeast-2"), "444455556666", "arn:aws:iam::444455556666:root", "444455556666")
	wantCaller(t, stsClient(s, testKeyID, testSecret, "us-east-1"), "000000000000", "arn:aws:iam::000000000000:root", "000000000000")

	_, err := stsClient(s, "AKIDALICE", "bob-secret", "us-east-1").GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
	wantAPIError(t, err, "SignatureDoesNotMatch", 403, msgSignatureMismatch)
	_, err = stsClient(s, "AKIDNOBODY", "x", "us-east-1").GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
	wantAPIError(t, err, "InvalidClientTokenId", 403, msgUnknownKey)
}

// TestSTSUnsupportedAction: an STS action other than GetCallerIdentity is AWS's InvalidAction.
func TestSTSUnsupportedAction(t *testing.T) {
	s := kinesistest.Start(t, kinesistest.RunEngines()[0], kinesistest.Options{})
	_, err := stsClient(s, testKeyID, testSecret, "us-east-1").AssumeRole(t.Context(), &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::000000000000:role/reader"), RoleSessionName: aws.String("test"),
	})
	wantAPIError(t, err, "InvalidAction", 400, "Could not find operation AssumeRole for version 2011-06-15")
}
