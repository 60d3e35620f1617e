package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// Test credentials, used when AWS_ACCESS_KEY_ID is not set (kinesisd accepts any).
const (
	testAccessKey = "AKIAIOSFODNN7EXAMPLE"
	testSecretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// activeTimeout bounds the wait for a stream to become ACTIVE (AWS takes tens of seconds).
const activeTimeout = 5 * time.Minute

// credentialsFrom returns the static credentials of AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// AWS_SESSION_TOKEN, or test credentials when AWS_ACCESS_KEY_ID is not set.
func credentialsFrom(getenv func(string) string) aws.Credentials {
	if id := getenv("AWS_ACCESS_KEY_ID"); id != "" {
		return aws.Credentials{AccessKeyID: id, SecretAccessKey: getenv("AWS_SECRET_ACCESS_KEY"), SessionToken: getenv("AWS_SESSION_TOKEN")}
	}
	return aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecretKey}
}

// newClient returns the SDK client of the control plane (and GetShardIterator). It never retries, so
// that every failure is counted as the server sent it.
func newClient(opts options, creds aws.Credentials) *kinesis.Client {
	kopts := kinesis.Options{
		Region:           opts.region,
		Credentials:      credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken),
		RetryMaxAttempts: 1,
		HTTPClient:       &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone(), Timeout: time.Minute},
	}
	if opts.endpoint != "" {
		kopts.BaseEndpoint = aws.String(opts.endpoint)
	}
	return kinesis.New(kopts)
}

// randomStreamName returns kinesisd-bench- and 8 random hex digits.
func randomStreamName() string {
	b := make([]byte, 4)
	rand.Read(b)
	return "kinesisd-bench-" + hex.EncodeToString(b)
}

// createStream creates a provisioned stream of shards shards.
func createStream(ctx context.Context, c *kinesis.Client, name string, shards int) error {
	_, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(int32(shards))})
	if err != nil {
		return fmt.Errorf("create stream %s: %w", name, err)
	}
	return nil
}

// encryptStream starts server-side encryption of the stream with the KMS key keyID names.
func encryptStream(ctx context.Context, c *kinesis.Client, name, keyID string) error {
	_, err := c.StartStreamEncryption(ctx, &kinesis.StartStreamEncryptionInput{StreamName: aws.String(name),
		EncryptionType: types.EncryptionTypeKms, KeyId: aws.String(keyID)})
	if err != nil {
		return fmt.Errorf("encrypt stream %s with %s: %w", name, keyID, err)
	}
	return nil
}

// deleteStream deletes the stream with any consumers left on it (-subscribers deregisters its own, but
// on AWS they may still be DELETING); one that is already gone is not an error.
func deleteStream(ctx context.Context, c *kinesis.Client, name string) error {
	_, err := c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String(name), EnforceConsumerDeletion: aws.Bool(true)})
	if err != nil && !errors.As(err, new(*types.ResourceNotFoundException)) {
		return fmt.Errorf("delete stream %s: %w", name, err)
	}
	return nil
}

// waitActive polls DescribeStreamSummary until the stream takes writes (ACTIVE or UPDATING) and
// returns its open shard count.
func waitActive(ctx context.Context, c *kinesis.Client, name string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, activeTimeout)
	defer cancel()
	wait := 50 * time.Millisecond
	for {
		out, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
		if err != nil {
			return 0, fmt.Errorf("describe stream %s: %w", name, err)
		}
		d := out.StreamDescriptionSummary
		switch d.StreamStatus {
		case types.StreamStatusActive, types.StreamStatusUpdating:
			return int(aws.ToInt32(d.OpenShardCount)), nil
		case types.StreamStatusDeleting:
			return 0, fmt.Errorf("stream %s is being deleted", name)
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("stream %s is still %s: %w", name, d.StreamStatus, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// hashRange is the hash keys [lo, hi] of an open shard.
type hashRange struct{ lo, hi *big.Int }

func (r hashRange) holds(k *big.Int) bool { return r.lo.Cmp(k) <= 0 && k.Cmp(r.hi) <= 0 }

// openShards lists the hash key ranges of the stream's open shards.
func openShards(ctx context.Context, c *kinesis.Client, name string) ([]hashRange, error) {
	var ranges []hashRange
	in := &kinesis.ListShardsInput{StreamName: aws.String(name)}
	for {
		out, err := c.ListShards(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list shards of %s: %w", name, err)
		}
		for _, s := range out.Shards {
			if s.SequenceNumberRange != nil && s.SequenceNumberRange.EndingSequenceNumber != nil {
				continue // closed
			}
			if s.HashKeyRange == nil {
				return nil, fmt.Errorf("list shards of %s: shard %s has no hash key range", name, aws.ToString(s.ShardId))
			}
			lo, ok1 := new(big.Int).SetString(aws.ToString(s.HashKeyRange.StartingHashKey), 10)
			hi, ok2 := new(big.Int).SetString(aws.ToString(s.HashKeyRange.EndingHashKey), 10)
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("list shards of %s: shard %s has a bad hash key range", name, aws.ToString(s.ShardId))
			}
			ranges = append(ranges, hashRange{lo, hi})
		}
		if out.NextToken == nil {
			break
		}
		in = &kinesis.ListShardsInput{NextToken: out.NextToken} // AWS refuses StreamName next to NextToken
	}
	if len(ranges) == 0 {
		return nil, fmt.Errorf("list shards of %s: no open shard", name)
	}
	return ranges, nil
}

// listShards returns the ids of every shard of the stream, open or closed.
func listShards(ctx context.Context, c *kinesis.Client, name string) ([]string, error) {
	ids, err := shardIDs(ctx, c, &kinesis.ListShardsInput{StreamName: aws.String(name)})
	if err != nil {
		return nil, fmt.Errorf("list shards of %s: %w", name, err)
	}
	return ids, nil
}

// openShardIDs returns the ids of the stream's open shards (ShardFilter AT_LATEST).
func openShardIDs(ctx context.Context, c *kinesis.Client, name string) ([]string, error) {
	ids, err := shardIDs(ctx, c, &kinesis.ListShardsInput{
		StreamName: aws.String(name), ShardFilter: &types.ShardFilter{Type: types.ShardFilterTypeAtLatest},
	})
	if err != nil {
		return nil, fmt.Errorf("list open shards of %s: %w", name, err)
	}
	return ids, nil
}

// shardIDs returns the ids of the shards ListShards lists for in, every page of them.
func shardIDs(ctx context.Context, c *kinesis.Client, in *kinesis.ListShardsInput) ([]string, error) {
	var ids []string
	for {
		out, err := c.ListShards(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, s := range out.Shards {
			ids = append(ids, aws.ToString(s.ShardId))
		}
		if out.NextToken == nil {
			return ids, nil
		}
		in = &kinesis.ListShardsInput{NextToken: out.NextToken} // AWS refuses StreamName next to NextToken
	}
}
