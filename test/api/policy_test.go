package api_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"kinesisd/internal/config"
	"kinesisd/internal/kinesistest"
)

// Who may do what (issue 17): identity policies from -policies, the implicit allow of a principal
// without one in its own account, explicit denies, and another account's stream through its resource
// policy, over real sockets with the SDK signing as each principal.

// withPolicies is withAccounts (alice and bob of 111122223333, the root of 444455556666) and a
// -policies file: alice may write to and describe her account's streams, and may not read
// "restricted" even so; bob has no policy (anything in his account).
func withPolicies(t *testing.T) func(*config.Config) {
	t.Helper()
	accounts := withAccounts(t)
	path := filepath.Join(t.TempDir(), "policies.json")
	doc := `{"alice": {"Version": "2012-10-17", "Statement": [
		{"Effect": "Allow", "Action": ["kinesis:PutRecord", "kinesis:PutRecords", "kinesis:Describe*", "kinesis:List*"], "Resource": "*"},
		{"Effect": "Allow", "Action": ["kinesis:GetShardIterator", "kinesis:GetRecords"], "Resource": "arn:aws:kinesis:*:111122223333:stream/*"},
		{"Effect": "Deny", "Action": "kinesis:Get*", "Resource": "arn:aws:kinesis:*:111122223333:stream/restricted"}]}}`
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return func(c *config.Config) {
		accounts(c)
		c.Policies = path
	}
}

func TestIdentityPolicies(t *testing.T) {
	eachEngineWith(t, withPolicies(t), func(t *testing.T, s *kinesistest.Server) {
		ctx := t.Context()
		alice := clientAs(s, "AKIDALICE", "alice-secret", "us-east-1")
		bob := clientAs(s, "AKIDBOB", "bob-secret", "us-east-1")
		for _, name := range []string{"orders", "restricted"} {
			createStream(t, bob, name, 1) // bob has no policy: anything in his account
		}
		const aliceARN = "arn:aws:iam::111122223333:user/alice"
		_, err := alice.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("mine"), ShardCount: aws.Int32(1)})
		wantAPIError(t, err, "AccessDeniedException", 400, "User: "+aliceARN+" is not authorized to perform: kinesis:CreateStream on resource: "+
			"arn:aws:kinesis:us-east-1:111122223333:stream/mine because no identity-based policy allows the kinesis:CreateStream action")
		if streamNames(t, bob)[0] != "orders" || len(streamNames(t, alice)) != 2 {
			t.Fatal("ListStreams: alice's policy allows List*")
		}
		for _, name := range []string{"orders", "restricted"} {
			if _, err := alice.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(name), PartitionKey: aws.String("k"), Data: []byte("x")}); err != nil {
				t.Fatalf("alice's PutRecord to %s: %v", name, err)
			}
		}
		if recs := readRegion(t, s, bob, "orders", shard0); len(recs) != 1 {
			t.Fatalf("orders holds %d records, want alice's one", len(recs))
		}
		_, err = alice.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("restricted"), ShardId: aws.String(shard0),
			ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		wantAPIError(t, err, "AccessDeniedException", 400, "User: "+aliceARN+" is not authorized to perform: kinesis:GetShardIterator on resource: "+
			"arn:aws:kinesis:us-east-1:111122223333:stream/restricted with an explicit deny in an identity-based policy")
		if _, err := alice.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("orders"), ShardId: aws.String(shard0),
			ShardIteratorType: types.ShardIteratorTypeTrimHorizon}); err != nil {
			t.Errorf("alice's GetShardIterator on orders: %v", err)
		}
		_, err = alice.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("orders")})
		wantAPIError(t, err, "AccessDeniedException", 400, "User: "+aliceARN+" is not authorized to perform: kinesis:DeleteStream on resource: "+
			"arn:aws:kinesis:us-east-1:111122223333:stream/orders because no identity-based policy allows the kinesis:DeleteStream action")
		if len(streamNames(t, bob)) != 2 {
			t.Error("a refused DeleteStream deleted the stream")
		}
	})
}

func TestCrossAccountThroughResourcePolicy(t *testing.T) {
	eachEngineWith(t, withAccounts(t), func(t *testing.T, s *kinesistest.Server) {
		ctx := t.Context()
		bob := clientAs(s, "AKIDBOB", "bob-secret", "us-east-1")
		other := clientAs(s, "AKIDOTHER", "other-secret", "us-east-1")
		createStream(t, bob, "shared", 1)
		arn := "arn:aws:kinesis:us-east-1:111122223333:stream/shared"
		put := func() error {
			_, err := other.PutRecord(ctx, &kinesis.PutRecordInput{StreamARN: aws.String(arn), PartitionKey: aws.String("k"), Data: []byte("from 444455556666")})
			return err
		}
		wantAPIError(t, put(), "AccessDeniedException", 400, "User: arn:aws:iam::444455556666:root is not authorized to perform: kinesis:PutRecord on resource: "+
			arn+" because no resource-based policy allows the kinesis:PutRecord action")
		policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},` +
			`"Action":["kinesis:PutRecord","kinesis:DescribeStreamSummary"],"Resource":"` + arn + `"}]}`
		if _, err := bob.PutResourcePolicy(ctx, &kinesis.PutResourcePolicyInput{ResourceARN: aws.String(arn), Policy: aws.String(policy)}); err != nil {
			t.Fatal(err)
		}
		if err := put(); err != nil {
			t.Fatalf("PutRecord across accounts with the stream's policy allowing it: %v", err)
		}
		sum, err := other.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamARN: aws.String(arn)})
		if err != nil || *sum.StreamDescriptionSummary.StreamARN != arn {
			t.Fatalf("DescribeStreamSummary across accounts: %+v, %v", sum, err)
		}
		it, err := bob.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamARN: aws.String(arn), ShardId: aws.String(shard0),
			ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatal(err)
		}
		got, err := throttled(t, s, func() (*kinesis.GetRecordsOutput, error) {
			return bob.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
		})
		if err != nil || len(got.Records) != 1 || string(got.Records[0].Data) != "from 444455556666" {
			t.Fatalf("the owner reads %+v, %v; want the other account's one record", got, err)
		}
		_, err = other.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamARN: aws.String(arn)})
		wantAPIError(t, err, "AccessDeniedException", 400, "User: arn:aws:iam::444455556666:root is not authorized to perform: kinesis:DeleteStream on resource: "+
			arn+" because no resource-based policy allows the kinesis:DeleteStream action")
	})
}

// TestIdentityPoliciesOnKMS: -policies covers the KMS API too: alice's policy grants no kms:* action,
// so she may not use a key of her own account that bob (no policy) created, whose default key policy
// leaves the decision to the account's identity policies.
func TestIdentityPoliciesOnKMS(t *testing.T) {
	eachEngineWith(t, withKMS(t, withPolicies(t)), func(t *testing.T, s *kinesistest.Server) {
		bob := kmsClient(s, "AKIDBOB", "bob-secret", "us-east-1")
		alice := kmsClient(s, "AKIDALICE", "alice-secret", "us-east-1")
		key := createKMSKey(t, bob, nil)
		_, err := alice.DescribeKey(t.Context(), &kms.DescribeKeyInput{KeyId: key.Arn})
		wantAPIError(t, err, "AccessDeniedException", 400, "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: kms:DescribeKey on resource: "+
			*key.Arn+" because no identity-based policy allows the kms:DescribeKey action")
		if _, err := bob.DescribeKey(t.Context(), &kms.DescribeKeyInput{KeyId: key.Arn}); err != nil {
			t.Errorf("bob, without a policy: %v", err)
		}
	})
}
