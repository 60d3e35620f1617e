package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"kinesisd/internal/config"
	"kinesisd/internal/kinesistest"
	"kinesisd/internal/server"
	"kinesisd/internal/storage/jetstream/natstest"
)

// kmsDay is -kms-deletion-day in these tests: ScheduleKeyDeletion's 7-day minimum passes in 0.7 s.
const kmsDay = 100 * time.Millisecond

// Accounts of 12-digit access keys (without -credentials, such a key is its own account).
const (
	ownerAccount = "111122223333"
	otherAccount = "444455556666"
)

// kmsClient is a KMS client of the Go SDK for s's endpoint, signing with id and secret for region.
func kmsClient(s *kinesistest.Server, id, secret, region string) *kms.Client {
	return kms.New(kms.Options{
		Region:           region,
		BaseEndpoint:     aws.String(s.Endpoint),
		Credentials:      credentials.NewStaticCredentialsProvider(id, secret, ""),
		RetryMaxAttempts: 1,
		HTTPClient:       &http.Client{Timeout: time.Minute},
	})
}

// withKMS is the configuration of the KMS tests: a master key file (so that every engine, NATS
// JetStream included, has a keyring that survives a restart), a short -kms-deletion-day, no
// per-shard limits (the tests read often), then more changes from more.
func withKMS(t *testing.T, more ...func(*config.Config)) func(*config.Config) {
	t.Helper()
	master := filepath.Join(t.TempDir(), "kms-master-key")
	return func(c *config.Config) {
		c.KMSMasterKeyFile = master
		c.KMSDeletionDay = kmsDay
		c.ThroughputLimits = false
		for _, f := range more {
			f(c)
		}
	}
}

// createKMSKey creates a key through c and returns its metadata.
func createKMSKey(t *testing.T, c *kms.Client, in *kms.CreateKeyInput) *kmstypes.KeyMetadata {
	t.Helper()
	if in == nil {
		in = &kms.CreateKeyInput{}
	}
	out, err := c.CreateKey(t.Context(), in)
	if err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	return out.KeyMetadata
}

// describeKey describes the key ref names through c.
func describeKey(t *testing.T, c *kms.Client, ref string) *kmstypes.KeyMetadata {
	t.Helper()
	out, err := c.DescribeKey(t.Context(), &kms.DescribeKeyInput{KeyId: aws.String(ref)})
	if err != nil {
		t.Fatalf("DescribeKey %s: %v", ref, err)
	}
	return out.KeyMetadata
}

// TestKMSKeys: the Go SDK's KMS client against kinesisd: keys and aliases created, described and
// listed, disabled and enabled, scheduled for deletion and back, data keys generated and decrypted,
// and KMS's errors with its messages.
func TestKMSKeys(t *testing.T) {
	eachEngineWith(t, withKMS(t), func(t *testing.T, s *kinesistest.Server) {
		ctx := t.Context()
		c := kmsClient(s, ownerAccount, "secret", "us-east-1")
		before := serverNow(s)
		m := createKMSKey(t, c, &kms.CreateKeyInput{Description: aws.String("orders key"), Tags: []kmstypes.Tag{{TagKey: aws.String("team"), TagValue: aws.String("orders")}}})
		arn := "arn:aws:kms:us-east-1:" + ownerAccount + ":key/" + aws.ToString(m.KeyId)
		if aws.ToString(m.Arn) != arn || aws.ToString(m.AWSAccountId) != ownerAccount || !m.Enabled || m.KeyState != kmstypes.KeyStateEnabled ||
			m.KeyManager != kmstypes.KeyManagerTypeCustomer || m.KeySpec != kmstypes.KeySpecSymmetricDefault || m.KeyUsage != kmstypes.KeyUsageTypeEncryptDecrypt ||
			m.Origin != kmstypes.OriginTypeAwsKms || aws.ToString(m.Description) != "orders key" || m.DeletionDate != nil ||
			!slices.Equal(m.EncryptionAlgorithms, []kmstypes.EncryptionAlgorithmSpec{kmstypes.EncryptionAlgorithmSpecSymmetricDefault}) {
			t.Errorf("CreateKey: %+v", *m)
		}
		if m.CreationDate == nil || !sameServerTime(s, *m.CreationDate, before) {
			t.Errorf("CreationDate %v, want the server's time %v", m.CreationDate, before)
		}
		id := aws.ToString(m.KeyId)

		if _, err := c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/orders"), TargetKeyId: aws.String(id)}); err != nil {
			t.Fatalf("CreateAlias: %v", err)
		}
		for _, ref := range []string{id, arn, "alias/orders", "arn:aws:kms:us-east-1:" + ownerAccount + ":alias/orders"} {
			if got := describeKey(t, c, ref); aws.ToString(got.KeyId) != id || aws.ToString(got.Arn) != arn {
				t.Errorf("DescribeKey %s: key %s", ref, aws.ToString(got.KeyId))
			}
		}
		keys, err := c.ListKeys(ctx, &kms.ListKeysInput{})
		if err != nil || len(keys.Keys) != 1 || aws.ToString(keys.Keys[0].KeyId) != id || aws.ToString(keys.Keys[0].KeyArn) != arn || keys.Truncated {
			t.Errorf("ListKeys: %+v, %v", keys, err)
		}
		aliases, err := c.ListAliases(ctx, &kms.ListAliasesInput{})
		if err != nil {
			t.Fatalf("ListAliases: %v", err)
		}
		var names []string
		for _, a := range aliases.Aliases {
			names = append(names, aws.ToString(a.AliasName))
			if aws.ToString(a.AliasName) == "alias/orders" && (aws.ToString(a.TargetKeyId) != id || a.CreationDate == nil ||
				aws.ToString(a.AliasArn) != "arn:aws:kms:us-east-1:"+ownerAccount+":alias/orders") {
				t.Errorf("ListAliases: alias/orders is %+v", a)
			}
		}
		if !slices.Equal(names, []string{"alias/aws/kinesis", "alias/orders"}) {
			t.Errorf("ListAliases: %v, want alias/aws/kinesis and alias/orders", names)
		}

		// Disable and enable.
		if _, err := c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String("alias/orders")}); err != nil {
			t.Fatalf("DisableKey: %v", err)
		}
		if got := describeKey(t, c, id); got.Enabled || got.KeyState != kmstypes.KeyStateDisabled {
			t.Errorf("disabled key: Enabled %t, KeyState %s", got.Enabled, got.KeyState)
		}
		_, err = c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(id), KeySpec: kmstypes.DataKeySpecAes256})
		wantAPIError(t, err, "DisabledException", 400, arn+" is disabled.")
		if _, err := c.EnableKey(ctx, &kms.EnableKeyInput{KeyId: aws.String(id)}); err != nil {
			t.Fatalf("EnableKey: %v", err)
		}
		if got := describeKey(t, c, id); !got.Enabled || got.KeyState != kmstypes.KeyStateEnabled {
			t.Errorf("enabled key: Enabled %t, KeyState %s", got.Enabled, got.KeyState)
		}

		// A data key round trip.
		dk, err := c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String("alias/orders"), KeySpec: kmstypes.DataKeySpecAes256,
			EncryptionContext: map[string]string{"purpose": "test"}})
		if err != nil || len(dk.Plaintext) != 32 || aws.ToString(dk.KeyId) != arn || len(dk.CiphertextBlob) == 0 {
			t.Fatalf("GenerateDataKey: %+v, %v", dk, err)
		}
		plain, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: dk.CiphertextBlob, EncryptionContext: map[string]string{"purpose": "test"}})
		if err != nil || !bytes.Equal(plain.Plaintext, dk.Plaintext) || aws.ToString(plain.KeyId) != arn ||
			plain.EncryptionAlgorithm != kmstypes.EncryptionAlgorithmSpecSymmetricDefault {
			t.Fatalf("Decrypt: %+v, %v", plain, err)
		}
		_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: dk.CiphertextBlob, EncryptionContext: map[string]string{"purpose": "other"}})
		wantAPIError(t, err, "InvalidCiphertextException", 400, "")

		// The key policy.
		policy, err := c.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: aws.String(id)})
		if err != nil || !strings.Contains(aws.ToString(policy.Policy), `"AWS" : "arn:aws:iam::`+ownerAccount+`:root"`) || aws.ToString(policy.PolicyName) != "default" {
			t.Errorf("GetKeyPolicy: %+v, %v", policy, err)
		}

		// Deletion scheduled, refused while pending, cancelled (the key is then Disabled, as on AWS).
		_, err = c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(id), PendingWindowInDays: aws.Int32(3)})
		wantAPIError(t, err, "ValidationException", 400, "1 validation error detected: Value '3' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value greater than or equal to 7")
		at := serverNow(s)
		sched, err := c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(id), PendingWindowInDays: aws.Int32(7)})
		if err != nil || aws.ToString(sched.KeyId) != arn || sched.KeyState != kmstypes.KeyStatePendingDeletion || aws.ToInt32(sched.PendingWindowInDays) != 7 ||
			sched.DeletionDate == nil || !sameServerTime(s, *sched.DeletionDate, at.Add(7*kmsDay)) {
			t.Fatalf("ScheduleKeyDeletion: %+v, %v", sched, err)
		}
		if got := describeKey(t, c, id); got.KeyState != kmstypes.KeyStatePendingDeletion || got.DeletionDate == nil || aws.ToInt32(got.PendingDeletionWindowInDays) != 7 {
			t.Errorf("pending key: %+v", *got)
		}
		_, err = c.EnableKey(ctx, &kms.EnableKeyInput{KeyId: aws.String(id)})
		wantAPIError(t, err, "KMSInvalidStateException", 400, arn+" is pending deletion.")
		cancel, err := c.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: aws.String(id)})
		if err != nil || aws.ToString(cancel.KeyId) != arn {
			t.Fatalf("CancelKeyDeletion: %+v, %v", cancel, err)
		}
		if got := describeKey(t, c, id); got.KeyState != kmstypes.KeyStateDisabled || got.DeletionDate != nil {
			t.Errorf("cancelled key: %+v", *got)
		}
		_, err = c.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: aws.String(id)})
		wantAPIError(t, err, "KMSInvalidStateException", 400, arn+" is not pending deletion.")

		// Errors with KMS's messages.
		missing := "0b5c3a1e-1111-4222-8333-944445555666"
		_, err = c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(missing)})
		wantAPIError(t, err, "NotFoundException", 400, "Key 'arn:aws:kms:us-east-1:"+ownerAccount+":key/"+missing+"' does not exist")
		_, err = c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/nope")})
		wantAPIError(t, err, "NotFoundException", 400, "Alias arn:aws:kms:us-east-1:"+ownerAccount+":alias/nope is not found.")
		_, err = c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/orders"), TargetKeyId: aws.String(id)})
		wantAPIError(t, err, "AlreadyExistsException", 400, "An alias with the name arn:aws:kms:us-east-1:"+ownerAccount+":alias/orders already exists")
		_, err = c.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: kmstypes.KeySpecRsa2048, KeyUsage: kmstypes.KeyUsageTypeSignVerify})
		wantPrefix(t, err, "UnsupportedOperationException", "kinesisd keeps only symmetric encryption keys")
		_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(id), Plaintext: []byte("x")})
		wantAPIError(t, err, "UnknownOperationException", 400, "")
		if _, err := c.DeleteAlias(ctx, &kms.DeleteAliasInput{AliasName: aws.String("alias/orders")}); err != nil {
			t.Fatalf("DeleteAlias: %v", err)
		}
		_, err = c.DeleteAlias(ctx, &kms.DeleteAliasInput{AliasName: aws.String("alias/orders")})
		wantAPIError(t, err, "NotFoundException", 400, "Alias arn:aws:kms:us-east-1:"+ownerAccount+":alias/orders is not found.")

		// Keys live per account and region.
		_, err = kmsClient(s, otherAccount, "secret", "us-east-1").DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})
		wantAPIError(t, err, "NotFoundException", 400, "Key 'arn:aws:kms:us-east-1:"+otherAccount+":key/"+id+"' does not exist")
		west, err := kmsClient(s, ownerAccount, "secret", "us-west-2").ListKeys(ctx, &kms.ListKeysInput{})
		if err != nil || len(west.Keys) != 0 {
			t.Errorf("ListKeys in us-west-2: %+v, %v", west, err)
		}

		// A scheduled key is deleted once its window has passed: its aliases go with it.
		if _, err := c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/doomed"), TargetKeyId: aws.String(id)}); err != nil {
			t.Fatalf("CreateAlias: %v", err)
		}
		if _, err := c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(id), PendingWindowInDays: aws.Int32(7)}); err != nil {
			t.Fatalf("ScheduleKeyDeletion: %v", err)
		}
		elapse(t, s, 7*kmsDay+50*time.Millisecond)
		_, err = c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})
		wantAPIError(t, err, "NotFoundException", 400, "Key '"+arn+"' does not exist")
		_, err = c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/doomed")})
		wantAPIError(t, err, "NotFoundException", 400, "Alias arn:aws:kms:us-east-1:"+ownerAccount+":alias/doomed is not found.")
	})
}

// TestKMSMasterKeyRequiredOnJetStream: on NATS JetStream the front-ends must share one master key, so
// the server does not start without -kms-master-key-file, and says why.
func TestKMSMasterKeyRequiredOnJetStream(t *testing.T) {
	skipOnBinary(t, "the binary runs on Pebble")
	nats := natstest.Start(t, t.TempDir(), natstest.Options{})
	cfg, err := config.Load([]string{"-listen", "127.0.0.1:0", "-store", nats.ClientURL()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := server.Start(t.Context(), cfg, nil, nil)
	if err == nil {
		s.Close(t.Context())
		t.Fatal("started on NATS JetStream without -kms-master-key-file")
	}
	if !strings.Contains(err.Error(), "-kms-master-key-file: required with NATS JetStream") {
		t.Errorf("start refused with %q, want it to name -kms-master-key-file", err)
	}
}

// TestKMSCredentials: with -credentials, KMS calls are signed for service kms with a listed key, and
// run as the key's account and principal.
func TestKMSCredentials(t *testing.T) {
	s := kinesistest.Start(t, kinesistest.RunEngines()[0], kinesistest.Options{Configure: withKMS(t, withAccounts(t))})
	m := createKMSKey(t, kmsClient(s, "AKIDALICE", "alice-secret", "eu-west-1"), nil)
	if aws.ToString(m.AWSAccountId) != "111122223333" || !strings.HasPrefix(aws.ToString(m.Arn), "arn:aws:kms:eu-west-1:111122223333:key/") {
		t.Errorf("CreateKey as alice: %+v", *m)
	}
	describeKey(t, kmsClient(s, "AKIDBOB", "bob-secret", "eu-west-1"), aws.ToString(m.KeyId)) // same account
	_, err := kmsClient(s, "AKIDALICE", "bob-secret", "eu-west-1").ListKeys(t.Context(), &kms.ListKeysInput{})
	wantAPIError(t, err, "InvalidSignatureException", 400, msgSignatureMismatch)
	_, err = kmsClient(s, "AKIDNOBODY", "x", "eu-west-1").ListKeys(t.Context(), &kms.ListKeysInput{})
	wantAPIError(t, err, "UnrecognizedClientException", 400, msgUnknownKey)
}

// encryptedStream creates stream name through c, starts its encryption under keyRef and waits until
// it is ACTIVE again.
func encryptedStream(t *testing.T, c *kinesis.Client, name, keyRef string) {
	t.Helper()
	createStream(t, c, name, 1)
	waitActive(t, c, name)
	_, err := c.StartStreamEncryption(t.Context(), &kinesis.StartStreamEncryptionInput{StreamName: aws.String(name),
		EncryptionType: types.EncryptionTypeKms, KeyId: aws.String(keyRef)})
	if err != nil {
		t.Fatalf("StartStreamEncryption %s with %s: %v", name, keyRef, err)
	}
	waitActive(t, c, name)
}

// waitActive waits until stream name is ACTIVE (kinesisd's delays are 0 here: a few polls at most).
func waitActive(t *testing.T, c *kinesis.Client, name string) *types.StreamDescriptionSummary {
	t.Helper()
	for range 500 {
		out, err := c.DescribeStreamSummary(t.Context(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
		if err != nil {
			t.Fatalf("DescribeStreamSummary %s: %v", name, err)
		}
		if out.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive {
			return out.StreamDescriptionSummary
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("stream %s never became ACTIVE", name)
	return nil
}

// putOne writes one record with data to stream through c and checks it was stored encrypted.
func putOne(t *testing.T, c *kinesis.Client, stream, data string) {
	t.Helper()
	out, err := c.PutRecord(t.Context(), &kinesis.PutRecordInput{StreamName: aws.String(stream), PartitionKey: aws.String("k"), Data: []byte(data)})
	if err != nil {
		t.Fatalf("PutRecord %s: %v", stream, err)
	}
	if out.EncryptionType != types.EncryptionTypeKms {
		t.Errorf("PutRecord %s: EncryptionType %q, want KMS", stream, out.EncryptionType)
	}
}

// trimHorizon is a TRIM_HORIZON iterator of stream's first shard through c.
func trimHorizon(t *testing.T, c *kinesis.Client, stream string) string {
	t.Helper()
	it, err := c.GetShardIterator(t.Context(), &kinesis.GetShardIteratorInput{StreamName: aws.String(stream),
		ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	if err != nil {
		t.Fatalf("GetShardIterator %s: %v", stream, err)
	}
	return aws.ToString(it.ShardIterator)
}

// readData reads stream's first shard through c and returns its records' data, checking each is
// marked KMS-encrypted.
func readData(t *testing.T, c *kinesis.Client, stream string) []string {
	t.Helper()
	iter := trimHorizon(t, c, stream)
	var got []string
	for range 100 {
		out, err := c.GetRecords(t.Context(), &kinesis.GetRecordsInput{ShardIterator: aws.String(iter)})
		if err != nil {
			t.Fatalf("GetRecords %s: %v", stream, err)
		}
		for _, r := range out.Records {
			got = append(got, string(r.Data))
			if r.EncryptionType != types.EncryptionTypeKms {
				t.Errorf("record %q of %s: EncryptionType %q, want KMS", r.Data, stream, r.EncryptionType)
			}
		}
		if len(out.Records) == 0 || out.NextShardIterator == nil {
			return got
		}
		iter = aws.ToString(out.NextShardIterator)
	}
	return got
}

// wantKMSRefusals checks that PutRecord, PutRecords and GetRecords on stream through c are each
// refused with code and message, and write nothing.
func wantKMSRefusals(t *testing.T, c *kinesis.Client, stream, code, message string) {
	t.Helper()
	iter := trimHorizon(t, c, stream)
	_, err := c.PutRecord(t.Context(), &kinesis.PutRecordInput{StreamName: aws.String(stream), PartitionKey: aws.String("k"), Data: []byte("refused")})
	wantAPIError(t, err, code, 400, message)
	_, err = c.PutRecords(t.Context(), &kinesis.PutRecordsInput{StreamName: aws.String(stream),
		Records: []types.PutRecordsRequestEntry{{PartitionKey: aws.String("k"), Data: []byte("refused")}}})
	wantAPIError(t, err, code, 400, message)
	_, err = c.GetRecords(t.Context(), &kinesis.GetRecordsInput{ShardIterator: aws.String(iter)})
	wantAPIError(t, err, code, 400, message)
}

// TestKMSStreamEncryption: a stream encrypted under a key of the KMS API (by key id, key ARN, alias and
// alias/aws/kinesis) stores and reads records with EncryptionType KMS; a disabled key, a key pending
// deletion and a deleted key refuse PutRecord, PutRecords and GetRecords with Kinesis's KMS
// exceptions at once, and the stream works again, with every record, once the key is usable again.
func TestKMSStreamEncryption(t *testing.T) {
	eachEngineWith(t, withKMS(t), func(t *testing.T, s *kinesistest.Server) {
		ctx := t.Context()
		kc := kmsClient(s, ownerAccount, "secret", "us-east-1")
		c := clientAs(s, ownerAccount, "secret", "us-east-1")
		m := createKMSKey(t, kc, nil)
		id, arn := aws.ToString(m.KeyId), aws.ToString(m.Arn)
		if _, err := kc.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/streams"), TargetKeyId: aws.String(id)}); err != nil {
			t.Fatalf("CreateAlias: %v", err)
		}
		refs := map[string]string{"by-id": id, "by-arn": arn, "by-alias": "alias/streams", "by-managed": "alias/aws/kinesis"}
		for name, ref := range refs {
			encryptedStream(t, c, name, ref)
			sum := waitActive(t, c, name)
			if sum.EncryptionType != types.EncryptionTypeKms || aws.ToString(sum.KeyId) != ref {
				t.Errorf("%s: EncryptionType %s, KeyId %s; want KMS, %s", name, sum.EncryptionType, aws.ToString(sum.KeyId), ref)
			}
			putOne(t, c, name, "first "+name)
			if got := readData(t, c, name); !slices.Equal(got, []string{"first " + name}) {
				t.Errorf("%s: read %q", name, got)
			}
		}
		managed := describeKey(t, kc, "alias/aws/kinesis")
		if managed.KeyManager != kmstypes.KeyManagerTypeAws || aws.ToString(managed.KeyId) == id {
			t.Errorf("alias/aws/kinesis: %+v", *managed)
		}

		// Disabled: KMSDisabledException on every use, at once; enabled again, all is there.
		if _, err := kc.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(id)}); err != nil {
			t.Fatalf("DisableKey: %v", err)
		}
		for _, name := range []string{"by-id", "by-arn", "by-alias"} {
			wantKMSRefusals(t, c, name, "KMSDisabledException", arn+" is disabled.")
		}
		putOne(t, c, "by-managed", "second by-managed") // another key: unaffected
		if _, err := kc.EnableKey(ctx, &kms.EnableKeyInput{KeyId: aws.String(id)}); err != nil {
			t.Fatalf("EnableKey: %v", err)
		}
		putOne(t, c, "by-id", "second by-id")

		// Pending deletion: KMSInvalidStateException; cancelled and enabled again, all is there.
		if _, err := kc.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(arn), PendingWindowInDays: aws.Int32(30)}); err != nil {
			t.Fatalf("ScheduleKeyDeletion: %v", err)
		}
		for _, name := range []string{"by-id", "by-arn", "by-alias"} {
			wantKMSRefusals(t, c, name, "KMSInvalidStateException", arn+" is pending deletion.")
		}
		if _, err := kc.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: aws.String(id)}); err != nil {
			t.Fatalf("CancelKeyDeletion: %v", err)
		}
		wantKMSRefusals(t, c, "by-id", "KMSDisabledException", arn+" is disabled.") // cancelled means Disabled
		if _, err := kc.EnableKey(ctx, &kms.EnableKeyInput{KeyId: aws.String(id)}); err != nil {
			t.Fatalf("EnableKey: %v", err)
		}
		putOne(t, c, "by-alias", "second by-alias")
		want := map[string][]string{
			"by-id": {"first by-id", "second by-id"}, "by-arn": {"first by-arn"},
			"by-alias": {"first by-alias", "second by-alias"}, "by-managed": {"first by-managed", "second by-managed"},
		}
		for name, w := range want {
			if got := readData(t, c, name); !slices.Equal(got, w) {
				t.Errorf("%s after recovery: %q, want %q", name, got, w)
			}
		}

		// Deleted (its window passed): KMSNotFoundException.
		if _, err := kc.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(id), PendingWindowInDays: aws.Int32(7)}); err != nil {
			t.Fatalf("ScheduleKeyDeletion: %v", err)
		}
		elapse(t, s, 7*kmsDay+50*time.Millisecond)
		wantKMSRefusals(t, c, "by-arn", "KMSNotFoundException", "Key '"+arn+"' does not exist")
		_, err := c.StartStreamEncryption(ctx, &kinesis.StartStreamEncryptionInput{StreamName: aws.String("by-managed"),
			EncryptionType: types.EncryptionTypeKms, KeyId: aws.String("alias/streams")})
		wantAPIError(t, err, "KMSNotFoundException", 400, "Alias arn:aws:kms:us-east-1:"+ownerAccount+":alias/streams is not found.")
		if got := readData(t, c, "by-managed"); len(got) != 2 {
			t.Errorf("by-managed after another key's deletion: %q", got)
		}
	})
}

// TestKMSCrossAccount: a stream of one account encrypted under another account's key, which its key
// policy lets that account use; a key policy that denies the account refuses PutRecord, PutRecords
// and GetRecords with KMSAccessDeniedException, and the old policy restores them, records intact.
func TestKMSCrossAccount(t *testing.T) {
	eachEngineWith(t, withKMS(t), func(t *testing.T, s *kinesistest.Server) {
		ctx := t.Context()
		owner := kmsClient(s, ownerAccount, "secret", "us-east-1")
		c := clientAs(s, otherAccount, "secret", "us-east-1")
		allow := `{"Version":"2012-10-17","Statement":[
			{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + ownerAccount + `:root"},"Action":"kms:*","Resource":"*"},
			{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + otherAccount + `:root"},"Action":["kms:GenerateDataKey*","kms:Decrypt","kms:DescribeKey"],"Resource":"*"}]}`
		deny := `{"Version":"2012-10-17","Statement":[
			{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + ownerAccount + `:root"},"Action":"kms:*","Resource":"*"},
			{"Effect":"Deny","Principal":{"AWS":"` + otherAccount + `"},"Action":"kms:*","Resource":"*"}]}`
		m := createKMSKey(t, owner, &kms.CreateKeyInput{Policy: aws.String(allow)})
		arn := aws.ToString(m.Arn)

		// Without the key policy's Allow, another account cannot use the key.
		plain := createKMSKey(t, owner, nil)
		createStream(t, c, "refused", 1)
		waitActive(t, c, "refused")
		_, err := c.StartStreamEncryption(ctx, &kinesis.StartStreamEncryptionInput{StreamName: aws.String("refused"),
			EncryptionType: types.EncryptionTypeKms, KeyId: plain.Arn})
		wantAPIError(t, err, "KMSAccessDeniedException", 400, "User: arn:aws:iam::"+otherAccount+":root is not authorized to perform: kms:GenerateDataKey on resource: "+
			aws.ToString(plain.Arn)+" because no resource-based policy allows the kms:GenerateDataKey action")

		encryptedStream(t, c, "shared", arn)
		putOne(t, c, "shared", "before")
		if _, err := owner.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: m.KeyId, Policy: aws.String(deny)}); err != nil {
			t.Fatalf("PutKeyPolicy: %v", err)
		}
		iter := trimHorizon(t, c, "shared")
		denied := func(action string) string {
			return "User: arn:aws:iam::" + otherAccount + ":root is not authorized to perform: " + action + " on resource: " + arn + " with an explicit deny in a resource-based policy"
		}
		_, err = c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("shared"), PartitionKey: aws.String("k"), Data: []byte("refused")})
		wantAPIError(t, err, "KMSAccessDeniedException", 400, denied("kms:GenerateDataKey"))
		_, err = c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("shared"),
			Records: []types.PutRecordsRequestEntry{{PartitionKey: aws.String("k"), Data: []byte("refused")}}})
		wantAPIError(t, err, "KMSAccessDeniedException", 400, denied("kms:GenerateDataKey"))
		_, err = c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String(iter)})
		wantAPIError(t, err, "KMSAccessDeniedException", 400, denied("kms:Decrypt"))
		// The owner still uses its key.
		if _, err := owner.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: m.KeyId, NumberOfBytes: aws.Int32(16)}); err != nil {
			t.Errorf("GenerateDataKey by the owner: %v", err)
		}

		if _, err := owner.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: m.KeyId, Policy: aws.String(allow)}); err != nil {
			t.Fatalf("PutKeyPolicy: %v", err)
		}
		putOne(t, c, "shared", "after")
		if got := readData(t, c, "shared"); !slices.Equal(got, []string{"before", "after"}) {
			t.Errorf("shared after recovery: %q", got)
		}
	})
}

// TestKMSRestartErrors: KMSOptInRequired for an account listed in -kms-opt-out, and
// KMSThrottlingException past -kms-rate, on PutRecord, PutRecords and GetRecords of streams encrypted
// before a restart (so that no data key is cached); then, back to the defaults, every record is there.
func TestKMSRestartErrors(t *testing.T) {
	for _, e := range kinesistest.RunEngines() {
		t.Run(e.Name, func(t *testing.T) {
			if e.InMemory {
				t.Skip("in memory: a restart keeps nothing")
			}
			ctx := context.Background()
			dir := t.TempDir()
			configure := withKMS(t)
			s := kinesistest.Start(t, e, kinesistest.Options{Dir: dir, Configure: configure})
			clk := s.Clock
			owner := clientAs(s, ownerAccount, "secret", "us-east-1")
			other := clientAs(s, otherAccount, "secret", "us-east-1")
			streams := []string{"t1", "t2", "t3", "t4"}
			for _, name := range streams {
				encryptedStream(t, owner, name, "alias/aws/kinesis")
				putOne(t, owner, name, "first "+name)
			}
			encryptedStream(t, other, "opted", "alias/aws/kinesis")
			putOne(t, other, "opted", "first opted")
			if err := s.Close(ctx); err != nil {
				t.Fatal(err)
			}

			// Restarted: data keys must be opened again, one call of KMS each.
			s = kinesistest.Start(t, e, kinesistest.Options{Dir: dir, Clock: clk, Configure: withKMS(t, func(c *config.Config) {
				c.KMSMasterKeyFile = s.Config.KMSMasterKeyFile
				c.KMSOptOut = []string{otherAccount}
				c.KMSRate = 1
			})})
			owner = clientAs(s, ownerAccount, "secret", "us-east-1")
			other = clientAs(s, otherAccount, "secret", "us-east-1")
			wantKMSRefusals(t, other, "opted", "KMSOptInRequired", "The AWS Access Key Id needs a subscription for the service")

			iters := map[string]string{}
			for _, name := range streams {
				iters[name] = trimHorizon(t, owner, name)
			}
			// One call a second, a whole one at first: t1's data key takes it, and the three
			// calls right after find none left (against the binary they must come within a second).
			putOne(t, owner, "t1", "second t1")
			throttledMsg := "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls."
			_, err := owner.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("t2"), PartitionKey: aws.String("k"), Data: []byte("refused")})
			wantAPIError(t, err, "KMSThrottlingException", 400, throttledMsg)
			_, err = owner.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("t3"),
				Records: []types.PutRecordsRequestEntry{{PartitionKey: aws.String("k"), Data: []byte("refused")}}})
			wantAPIError(t, err, "KMSThrottlingException", 400, throttledMsg)
			_, err = owner.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String(iters["t4"])})
			wantAPIError(t, err, "KMSThrottlingException", 400, throttledMsg)
			// A second later there is room for one more.
			elapse(t, s, 1100*time.Millisecond)
			putOne(t, owner, "t2", "second t2")
			if err := s.Close(ctx); err != nil {
				t.Fatal(err)
			}

			// Back to the defaults: every record acknowledged is there, none of the refused ones.
			s = kinesistest.Start(t, e, kinesistest.Options{Dir: dir, Clock: clk, Configure: func(c *config.Config) {
				configure(c)
				c.KMSMasterKeyFile = s.Config.KMSMasterKeyFile
			}})
			owner = clientAs(s, ownerAccount, "secret", "us-east-1")
			other = clientAs(s, otherAccount, "secret", "us-east-1")
			want := map[string][]string{"t1": {"first t1", "second t1"}, "t2": {"first t2", "second t2"}, "t3": {"first t3"}, "t4": {"first t4"}}
			for name, w := range want {
				if got := readData(t, owner, name); !slices.Equal(got, w) {
					t.Errorf("%s: %q, want %q", name, got, w)
				}
			}
			putOne(t, other, "opted", "second opted")
			if got := readData(t, other, "opted"); !slices.Equal(got, []string{"first opted", "second opted"}) {
				t.Errorf("opted: %q", got)
			}
		})
	}
}

// TestKMSEncryptedAtRest: the files of the data directory (tables, write-ahead log, everything) never
// hold a record of a KMS-encrypted stream in the clear, while a record of an unencrypted stream is
// found in them (so that the search is known to see records).
func TestKMSEncryptedAtRest(t *testing.T) {
	e := kinesistest.RunEngines()[0] // Pebble on disk (or the binary, also on Pebble on disk)
	s := kinesistest.Start(t, e, kinesistest.Options{Configure: withKMS(t)})
	c := clientAs(s, ownerAccount, "secret", "us-east-1")
	var r [8]byte
	rand.Read(r[:])
	secret := "MARKER-secret-" + hex.EncodeToString(r[:])
	visible := "MARKER-clear-" + hex.EncodeToString(r[:])
	encryptedStream(t, c, "sealed", "alias/aws/kinesis")
	createStream(t, c, "plain", 1)
	waitActive(t, c, "plain")
	for i := range 50 {
		putOne(t, c, "sealed", secret)
		if _, err := c.PutRecord(t.Context(), &kinesis.PutRecordInput{StreamName: aws.String("plain"), PartitionKey: aws.String("k"), Data: []byte(visible)}); err != nil {
			t.Fatalf("PutRecord %d: %v", i, err)
		}
	}
	if got := readData(t, c, "sealed"); len(got) != 50 || got[0] != secret {
		t.Fatalf("sealed: read %d records", len(got))
	}
	if err := s.Close(context.Background()); err != nil { // flushed, the log closed
		t.Fatal(err)
	}
	var files, withClear int
	err := filepath.WalkDir(s.Config.DataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("%s holds an encrypted stream's record in the clear", path)
		}
		if bytes.Contains(b, []byte(visible)) {
			withClear++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if withClear == 0 {
		t.Fatalf("no file of %d in %s holds the unencrypted stream's record: the search sees nothing", files, s.Config.DataDir)
	}
}
