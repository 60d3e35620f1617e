package api_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/config"
	"kinesisd/internal/kinesistest"
	"kinesisd/internal/server"
)

// The key kinesistest's clients sign with.
const (
	testKeyID  = "AKIAIOSFODNN7EXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// withAccounts sets -credentials to a file whose keys name accounts and principals: kinesistest's key
// (no account: -account-id's root), alice and bob of 111122223333, and the root of 444455556666.
func withAccounts(t *testing.T) func(*config.Config) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "credentials")
	file := "# ACCESS_KEY_ID SECRET [ACCOUNT_ID [PRINCIPAL]]\n" + testKeyID + " " + testSecret + "\n" +
		"AKIDALICE alice-secret 111122223333 alice\nAKIDBOB bob-secret 111122223333 bob\nAKIDOTHER other-secret 444455556666\n"
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	return func(c *config.Config) { c.Credentials = path }
}

// streamNames lists the streams c sees.
func streamNames(t *testing.T, c *kinesis.Client) []string {
	t.Helper()
	out, err := c.ListStreams(t.Context(), &kinesis.ListStreamsInput{})
	if err != nil {
		t.Fatalf("ListStreams: %v", err)
	}
	slices.Sort(out.StreamNames)
	return out.StreamNames
}

// wantNotFound checks that c does not find the stream name under account.
func wantNotFound(t *testing.T, c *kinesis.Client, name, account string) {
	t.Helper()
	_, err := c.DescribeStreamSummary(t.Context(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
	wantAPIError(t, err, "ResourceNotFoundException", 400, "Stream "+name+" under account "+account+" not found.")
}

// TestRegionsApart: a request runs in the region it is signed for. Clients configured for us-west-2
// and eu-west-1 see only their own streams, with ARNs of their region; the same name in two regions
// is two streams (shards, records and deletion apart); the default region (us-east-1) sees neither.
func TestRegionsApart(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		west := clientAs(s, testKeyID, testSecret, "us-west-2")
		eu := clientAs(s, testKeyID, testSecret, "eu-west-1")
		createStream(t, west, "orders", 1)
		createStream(t, eu, "clicks", 1)
		createStream(t, west, "shared", 1)
		createStream(t, eu, "shared", 2)

		if got := streamNames(t, west); !slices.Equal(got, []string{"orders", "shared"}) {
			t.Errorf("us-west-2 lists %v, want [orders shared]", got)
		}
		if got := streamNames(t, eu); !slices.Equal(got, []string{"clicks", "shared"}) {
			t.Errorf("eu-west-1 lists %v, want [clicks shared]", got)
		}
		if got := streamNames(t, s.Client); len(got) != 0 {
			t.Errorf("us-east-1 lists %v, want none", got)
		}
		if arn := *summary(t, west, "orders").StreamARN; arn != "arn:aws:kinesis:us-west-2:000000000000:stream/orders" {
			t.Errorf("us-west-2 ARN %s", arn)
		}
		if arn := *summary(t, eu, "clicks").StreamARN; arn != "arn:aws:kinesis:eu-west-1:000000000000:stream/clicks" {
			t.Errorf("eu-west-1 ARN %s", arn)
		}
		wantNotFound(t, eu, "orders", "000000000000")
		wantNotFound(t, s.Client, "clicks", "000000000000")

		// The same name, two streams.
		westShared, euShared := summary(t, west, "shared"), summary(t, eu, "shared")
		if *westShared.OpenShardCount != 1 || *euShared.OpenShardCount != 2 {
			t.Errorf("shared: %d shards in us-west-2, %d in eu-west-1; want 1 and 2", *westShared.OpenShardCount, *euShared.OpenShardCount)
		}
		if *westShared.StreamARN != "arn:aws:kinesis:us-west-2:000000000000:stream/shared" || *euShared.StreamARN != "arn:aws:kinesis:eu-west-1:000000000000:stream/shared" {
			t.Errorf("shared ARNs %s and %s", *westShared.StreamARN, *euShared.StreamARN)
		}
		put, err := west.PutRecord(t.Context(), &kinesis.PutRecordInput{StreamName: aws.String("shared"), PartitionKey: aws.String("k"), Data: []byte("west")})
		if err != nil {
			t.Fatal(err)
		}
		if got := readRegion(t, s, west, "shared", *put.ShardId); len(got) != 1 || string(got[0].Data) != "west" {
			t.Errorf("us-west-2's shared holds %d records, want the one written", len(got))
		}
		if got := readRegion(t, s, eu, "shared", *put.ShardId); len(got) != 0 {
			t.Errorf("eu-west-1's shared holds %d records, want none", len(got))
		}
		if _, err := eu.DeleteStream(t.Context(), &kinesis.DeleteStreamInput{StreamName: aws.String("shared")}); err != nil {
			t.Fatal(err)
		}
		if got := summary(t, west, "shared"); got.StreamStatus != types.StreamStatusActive {
			t.Errorf("us-west-2's shared is %s after eu-west-1's was deleted", got.StreamStatus)
		}
	})
}

// readRegion reads a shard from TRIM_HORIZON through c until a read returns nothing.
func readRegion(t *testing.T, s *kinesistest.Server, c *kinesis.Client, stream, shard string) []types.Record {
	t.Helper()
	it, err := throttled(t, s, func() (*kinesis.GetShardIteratorOutput, error) {
		return c.GetShardIterator(t.Context(), &kinesis.GetShardIteratorInput{StreamName: aws.String(stream), ShardId: aws.String(shard),
			ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	})
	if err != nil {
		t.Fatalf("GetShardIterator: %v", err)
	}
	var out []types.Record
	iter := it.ShardIterator
	for range 100 {
		res, err := throttled(t, s, func() (*kinesis.GetRecordsOutput, error) {
			return c.GetRecords(t.Context(), &kinesis.GetRecordsInput{ShardIterator: iter})
		})
		if err != nil {
			t.Fatalf("GetRecords: %v", err)
		}
		out = append(out, res.Records...)
		if len(res.Records) == 0 || res.NextShardIterator == nil {
			return out
		}
		iter = res.NextShardIterator
	}
	t.Fatal("shard never drained")
	return nil
}

// TestAccountFromKey: without -credentials an access key id of 12 digits is its own account (as
// LocalStack has it): its streams' ARNs name it, and another account (or the default one, of any other
// key) does not see them.
func TestAccountFromKey(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		mine := clientAs(s, "111122223333", "any secret", "")
		other := clientAs(s, "444455556666", "any secret", "")
		createStream(t, mine, "ledger", 1)
		createStream(t, s.Client, "default", 1)
		if arn := *summary(t, mine, "ledger").StreamARN; arn != "arn:aws:kinesis:us-east-1:111122223333:stream/ledger" {
			t.Errorf("ARN %s, want the key's account", arn)
		}
		if arn := *summary(t, s.Client, "default").StreamARN; arn != "arn:aws:kinesis:us-east-1:000000000000:stream/default" {
			t.Errorf("ARN %s, want -account-id for a key that is not 12 digits", arn)
		}
		if got := streamNames(t, mine); !slices.Equal(got, []string{"ledger"}) {
			t.Errorf("111122223333 lists %v", got)
		}
		if got := streamNames(t, other); len(got) != 0 {
			t.Errorf("444455556666 lists %v, want none", got)
		}
		if got := streamNames(t, s.Client); !slices.Equal(got, []string{"default"}) {
			t.Errorf("the default account lists %v", got)
		}
		wantNotFound(t, other, "ledger", "444455556666")
	})
}

// TestCredentialsAccounts: with -credentials, a key's line names its account and principal: its
// streams live in that account (the ARN names it), keys of one account share them, keys of another
// account and the key without an account (-account-id) do not see them; every valid region is
// accepted.
func TestCredentialsAccounts(t *testing.T) {
	eachEngineWith(t, withAccounts(t), func(t *testing.T, s *kinesistest.Server) {
		alice := clientAs(s, "AKIDALICE", "alice-secret", "eu-west-1")
		bob := clientAs(s, "AKIDBOB", "bob-secret", "eu-west-1")
		other := clientAs(s, "AKIDOTHER", "other-secret", "eu-west-1")
		createStream(t, alice, "ledger", 1)
		if arn := *summary(t, alice, "ledger").StreamARN; arn != "arn:aws:kinesis:eu-west-1:111122223333:stream/ledger" {
			t.Errorf("ARN %s, want alice's account in eu-west-1", arn)
		}
		if arn := *summary(t, bob, "ledger").StreamARN; arn != "arn:aws:kinesis:eu-west-1:111122223333:stream/ledger" {
			t.Errorf("bob (same account) sees ARN %s", arn)
		}
		wantNotFound(t, other, "ledger", "444455556666")
		if got := streamNames(t, clientAs(s, testKeyID, testSecret, "eu-west-1")); len(got) != 0 {
			t.Errorf("the default account lists %v in eu-west-1", got)
		}
		createStream(t, s.Client, "home", 1) // kinesistest's key: no account in its line
		if arn := *summary(t, s.Client, "home").StreamARN; arn != "arn:aws:kinesis:us-east-1:000000000000:stream/home" {
			t.Errorf("ARN %s, want -account-id for a key without an account", arn)
		}
		_, err := clientAs(s, "AKIDALICE", "bob-secret", "eu-west-1").ListStreams(t.Context(), &kinesis.ListStreamsInput{})
		wantAPIError(t, err, "InvalidSignatureException", 400, msgSignatureMismatch)
	})
}

// TestCredentialsPrincipalInTwoAccounts: a principal name listed in two accounts stops the start, and
// the message names both lines.
func TestCredentialsPrincipalInTwoAccounts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials")
	file := "AKIDALICE s1 111122223333 alice\nAKIDALICE2 s2 444455556666 alice\n"
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	want := path + ":2: principal alice is in account 444455556666 here and in account 111122223333 on line 1: a principal name must belong to one account"
	if bin := kinesistest.Binary(); bin != "" {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, bin, "-listen", "127.0.0.1:0", "-in-memory", "-credentials", path).CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || !strings.Contains(string(out), want) {
			t.Fatalf("kinesisd: %v\n%s\nwant it to stop with %q", err, out, want)
		}
		return
	}
	cfg, err := config.Load([]string{"-listen", "127.0.0.1:0", "-in-memory", "-credentials", path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := server.Start(t.Context(), cfg, nil, nil)
	if err == nil {
		s.Close(context.Background())
		t.Fatal("started with a principal in two accounts")
	}
	if err.Error() != "-credentials: "+want {
		t.Errorf("error %q\nwant %q", err, "-credentials: "+want)
	}
}
