package cluster_test

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go"

	"kinesisd/internal/config"
	"kinesisd/internal/kinesistest"
	"kinesisd/internal/storage/jetstream/natstest"
)

// TestClusterEncryptionAndPolicies (issue 17): two front-ends over one 3-node cluster share the KMS
// keyring (the same master key) and the policies: a stream encrypted through A is read in the clear
// through B, a key disabled through B stops A's writes at once and enabling it lets them go on, and
// an identity policy refuses the same call through either front-end.
func TestClusterEncryptionAndPolicies(t *testing.T) {
	natstest.SkipUnlessCluster(t)
	dir := t.TempDir()
	creds, policies := filepath.Join(dir, "credentials"), filepath.Join(dir, "policies.json")
	must(t, os.WriteFile(creds, []byte("AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\nAKIDALICE alice-secret 000000000000 alice\n"), 0o600))
	must(t, os.WriteFile(policies, []byte(`{"alice": {"Version": "2012-10-17", "Statement": [
		{"Effect": "Allow", "Action": ["kinesis:PutRecord", "kms:GenerateDataKey"], "Resource": "*"}]}}`), 0o600))
	configure := func(c *config.Config) {
		c.ThroughputLimits = false
		c.Credentials, c.Policies = creds, policies
	}
	a := kinesistest.Start(t, kinesistest.JetStream3, kinesistest.Options{Configure: configure})
	b := kinesistest.Start(t, kinesistest.JetStream3, kinesistest.Options{Configure: configure, NATSURL: a.NATSURL(), Clock: a.Clock})
	ctx := t.Context()
	keysA, keysB := kmsOf(a.Endpoint, "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"), kmsOf(b.Endpoint, "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	key, err := keysA.CreateKey(ctx, &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("sealed"), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	waitActive(t, b.Client, "sealed")
	if _, err := a.Client.StartStreamEncryption(ctx, &kinesis.StartStreamEncryptionInput{StreamName: aws.String("sealed"),
		EncryptionType: types.EncryptionTypeKms, KeyId: key.KeyMetadata.Arn}); err != nil {
		t.Fatal(err)
	}
	waitActive(t, a.Client, "sealed")
	put := func(c *kinesis.Client, data string) error {
		_, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("sealed"), PartitionKey: aws.String("k"), Data: []byte(data)})
		return err
	}
	must(t, put(a.Client, "one"))
	recs, _ := drain(t, b.Client, iterator(t, b.Client, &kinesis.GetShardIteratorInput{StreamName: aws.String("sealed"),
		ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon}))
	if len(recs) != 1 || string(recs[0].Data) != "one" || recs[0].EncryptionType != types.EncryptionTypeKms {
		t.Fatalf("through B: %+v, want the record written through A, in the clear, KMS", recs)
	}
	if _, err := keysB.DisableKey(ctx, &kms.DisableKeyInput{KeyId: key.KeyMetadata.KeyId}); err != nil {
		t.Fatal(err)
	}
	if err := put(a.Client, "refused"); errorCode(err) != "KMSDisabledException" {
		t.Fatalf("PutRecord through A with the key disabled through B: %v, want KMSDisabledException", err)
	}
	if _, err := keysB.EnableKey(ctx, &kms.EnableKeyInput{KeyId: key.KeyMetadata.KeyId}); err != nil {
		t.Fatal(err)
	}
	must(t, put(a.Client, "two"))

	// alice may put records (an encrypted stream's need kms:GenerateDataKey too, as on AWS), through
	// either front-end, and nothing else.
	for _, fe := range []*kinesistest.Server{a, b} {
		alice := kinesisOf(fe, "AKIDALICE", "alice-secret")
		must(t, put(alice, "alice"))
		_, err := alice.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("sealed")})
		if errorCode(err) != "AccessDeniedException" {
			t.Errorf("alice's DescribeStreamSummary: %v, want AccessDeniedException", err)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func kmsOf(endpoint, id, secret string) *kms.Client {
	return kms.New(kms.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, ""), HTTPClient: &http.Client{Timeout: time.Minute}})
}

func kinesisOf(s *kinesistest.Server, id, secret string) *kinesis.Client {
	o := s.Client.Options()
	o.HTTPSignerV4, o.AuthSchemes = nil, nil
	o.Credentials = credentials.NewStaticCredentialsProvider(id, secret, "")
	return kinesis.New(o)
}
