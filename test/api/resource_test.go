package api_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/config"
	"kinesisd/internal/kinesistest"
)

func metricNames(m []types.MetricsName) []string {
	out := []string{}
	for _, n := range m {
		out = append(out, string(n))
	}
	return out
}

func summary(t *testing.T, c *kinesis.Client, name string) *types.StreamDescriptionSummary {
	t.Helper()
	out, err := c.DescribeStreamSummary(t.Context(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
	if err != nil {
		t.Fatalf("DescribeStreamSummary %s: %v", name, err)
	}
	return out.StreamDescriptionSummary
}

func TestEnhancedMonitoring(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createStream(t, c, "mon", 1)
		all := []string{"IncomingBytes", "IncomingRecords", "OutgoingBytes", "OutgoingRecords",
			"WriteProvisionedThroughputExceeded", "ReadProvisionedThroughputExceeded", "IteratorAgeMilliseconds"}
		steps := []struct {
			enable           bool
			metrics          []types.MetricsName
			current, desired []string
		}{
			{true, []types.MetricsName{"OutgoingBytes", "IncomingBytes"}, []string{}, []string{"IncomingBytes", "OutgoingBytes"}},
			{true, []types.MetricsName{"IncomingBytes", "IteratorAgeMilliseconds"}, []string{"IncomingBytes", "OutgoingBytes"},
				[]string{"IncomingBytes", "OutgoingBytes", "IteratorAgeMilliseconds"}},
			{false, []types.MetricsName{"OutgoingBytes", "IncomingRecords"}, []string{"IncomingBytes", "OutgoingBytes", "IteratorAgeMilliseconds"},
				[]string{"IncomingBytes", "IteratorAgeMilliseconds"}},
			{true, []types.MetricsName{"ALL"}, []string{"IncomingBytes", "IteratorAgeMilliseconds"}, all},
			{false, []types.MetricsName{"ALL"}, all, []string{}},
			{true, []types.MetricsName{"ReadProvisionedThroughputExceeded"}, []string{}, []string{"ReadProvisionedThroughputExceeded"}},
		}
		for i, st := range steps {
			var cur, des []types.MetricsName
			var name, arn *string
			if st.enable {
				out, err := c.EnableEnhancedMonitoring(ctx, &kinesis.EnableEnhancedMonitoringInput{StreamName: aws.String("mon"), ShardLevelMetrics: st.metrics})
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				cur, des, name, arn = out.CurrentShardLevelMetrics, out.DesiredShardLevelMetrics, out.StreamName, out.StreamARN
			} else {
				out, err := c.DisableEnhancedMonitoring(ctx, &kinesis.DisableEnhancedMonitoringInput{
					StreamARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/mon"), ShardLevelMetrics: st.metrics})
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				cur, des, name, arn = out.CurrentShardLevelMetrics, out.DesiredShardLevelMetrics, out.StreamName, out.StreamARN
			}
			if !reflect.DeepEqual(metricNames(cur), st.current) || !reflect.DeepEqual(metricNames(des), st.desired) {
				t.Errorf("step %d: current %v desired %v, want %v and %v", i, cur, des, st.current, st.desired)
			}
			if aws.ToString(name) != "mon" || aws.ToString(arn) != "arn:aws:kinesis:us-east-1:000000000000:stream/mon" {
				t.Errorf("step %d: name %v arn %v", i, aws.ToString(name), aws.ToString(arn))
			}
			em := summary(t, c, "mon").EnhancedMonitoring
			if len(em) != 1 || !reflect.DeepEqual(metricNames(em[0].ShardLevelMetrics), st.desired) {
				t.Errorf("step %d: DescribeStreamSummary shows %+v", i, em)
			}
		}

		_, err := c.EnableEnhancedMonitoring(ctx, &kinesis.EnableEnhancedMonitoringInput{StreamName: aws.String("mon"), ShardLevelMetrics: []types.MetricsName{}})
		wantAPIError(t, err, "ValidationException", 400, "1 validation error detected: Value '[]' at 'shardLevelMetrics' failed to satisfy constraint: "+
			"Member must have length greater than or equal to 1")
		_, err = c.EnableEnhancedMonitoring(ctx, &kinesis.EnableEnhancedMonitoringInput{StreamName: aws.String("mon"), ShardLevelMetrics: []types.MetricsName{"IncomingBytes", "Bogus"}})
		wantAPIError(t, err, "ValidationException", 400, "1 validation error detected: Value '[IncomingBytes, Bogus]' at 'shardLevelMetrics' "+
			"failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [IncomingBytes, IncomingRecords, "+
			"OutgoingBytes, OutgoingRecords, WriteProvisionedThroughputExceeded, ReadProvisionedThroughputExceeded, IteratorAgeMilliseconds, ALL]]")
		eight := []types.MetricsName{"ALL", "ALL", "ALL", "ALL", "ALL", "ALL", "ALL", "ALL"}
		_, err = c.DisableEnhancedMonitoring(ctx, &kinesis.DisableEnhancedMonitoringInput{StreamName: aws.String(""), ShardLevelMetrics: eight})
		wantAPIError(t, err, "ValidationException", 400, "3 validation errors detected: "+
			"Value '[ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL]' at 'shardLevelMetrics' failed to satisfy constraint: Member must have length less than or equal to 7; "+
			"Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; "+
			"Value '' at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1")
		_, err = c.EnableEnhancedMonitoring(ctx, &kinesis.EnableEnhancedMonitoringInput{StreamName: aws.String("nope"), ShardLevelMetrics: eight[:1]})
		wantAPIError(t, err, "ResourceNotFoundException", 400, "Stream nope under account 000000000000 not found.")
	})
}

func TestStreamEncryption(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createStream(t, c, "enc", 1)
		put := func() types.EncryptionType {
			t.Helper()
			out, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("enc"), PartitionKey: aws.String("k"), Data: []byte("x")})
			if err != nil {
				t.Fatal(err)
			}
			return out.EncryptionType
		}
		if e := put(); e != types.EncryptionTypeNone {
			t.Fatalf("before: %s", e)
		}
		key := *createKMSKey(t, kmsClient(s, testKeyID, testSecret, "us-east-1"), nil).Arn // a real key: StartStreamEncryption checks it
		_, err := c.StartStreamEncryption(ctx, &kinesis.StartStreamEncryptionInput{StreamName: aws.String("enc"), EncryptionType: types.EncryptionTypeKms, KeyId: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		sum := summary(t, c, "enc")
		if sum.EncryptionType != types.EncryptionTypeKms || aws.ToString(sum.KeyId) != key || sum.StreamStatus != types.StreamStatusActive {
			t.Fatalf("after start: %s %v %s", sum.EncryptionType, aws.ToString(sum.KeyId), sum.StreamStatus)
		}
		if e := put(); e != types.EncryptionTypeKms {
			t.Fatalf("PutRecord after start: %s", e)
		}
		recs := readShard(t, s, "enc", "shardId-000000000000")
		// Each record reads back with the encryption it was written under (pending_test.go has more).
		if len(recs) != 2 || recs[0].EncryptionType != types.EncryptionTypeNone || recs[1].EncryptionType != types.EncryptionTypeKms {
			t.Fatalf("records: %+v", recs)
		}
		_, err = c.StartStreamEncryption(ctx, &kinesis.StartStreamEncryptionInput{StreamName: aws.String("enc"), EncryptionType: types.EncryptionTypeNone, KeyId: aws.String(key)})
		wantAPIError(t, err, "InvalidArgumentException", 400, "KMS is the only valid EncryptionType for this request")
		_, err = c.StartStreamEncryption(ctx, &kinesis.StartStreamEncryptionInput{StreamName: aws.String("enc"), EncryptionType: "AES", KeyId: aws.String("")})
		wantAPIError(t, err, "ValidationException", 400, "2 validation errors detected: "+
			"Value 'AES' at 'encryptionType' failed to satisfy constraint: Member must satisfy enum value set: [NONE, KMS]; "+
			"Value '' at 'keyId' failed to satisfy constraint: Member must have length greater than or equal to 1")
		_, err = c.StopStreamEncryption(ctx, &kinesis.StopStreamEncryptionInput{StreamName: aws.String("none"), EncryptionType: types.EncryptionTypeKms, KeyId: aws.String(key)})
		wantAPIError(t, err, "ResourceNotFoundException", 400, "Stream none under account 000000000000 not found.")
		if _, err := c.StopStreamEncryption(ctx, &kinesis.StopStreamEncryptionInput{StreamName: aws.String("enc"), EncryptionType: types.EncryptionTypeKms, KeyId: aws.String(key)}); err != nil {
			t.Fatal(err)
		}
		if sum := summary(t, c, "enc"); sum.EncryptionType != types.EncryptionTypeNone || sum.KeyId != nil {
			t.Fatalf("after stop: %s %v", sum.EncryptionType, aws.ToString(sum.KeyId))
		}
		if e := put(); e != types.EncryptionTypeNone {
			t.Fatalf("PutRecord after stop: %s", e)
		}
	})
}

// TestEncryptionUpdating checks the stream is UPDATING for the update delay after an encryption change,
// that changes needing ACTIVE are refused meanwhile, and that records are still taken.
func TestEncryptionUpdating(t *testing.T) {
	s := kinesistest.Start(t, kinesistest.Engines[1], kinesistest.Options{Configure: func(c *config.Config) { c.UpdateStreamDelay = 2 * time.Second }})
	c, ctx := s.Client, t.Context()
	createStream(t, c, "slow", 1)
	key := "alias/aws/kinesis"
	if _, err := c.StartStreamEncryption(ctx, &kinesis.StartStreamEncryptionInput{StreamName: aws.String("slow"), EncryptionType: types.EncryptionTypeKms, KeyId: aws.String(key)}); err != nil {
		t.Fatal(err)
	}
	if st := summary(t, c, "slow").StreamStatus; st != types.StreamStatusUpdating {
		t.Fatalf("just started: %s", st)
	}
	_, err := c.StopStreamEncryption(ctx, &kinesis.StopStreamEncryptionInput{StreamName: aws.String("slow"), EncryptionType: types.EncryptionTypeKms, KeyId: aws.String(key)})
	wantAPIError(t, err, "ResourceInUseException", 400, "Stream slow under account 000000000000 not ACTIVE, instead in state UPDATING")
	_, err = c.IncreaseStreamRetentionPeriod(ctx, &kinesis.IncreaseStreamRetentionPeriodInput{StreamName: aws.String("slow"), RetentionPeriodHours: aws.Int32(48)})
	wantAPIError(t, err, "ResourceInUseException", 400, "Stream slow under account 000000000000 not ACTIVE, instead in state UPDATING")
	if _, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("slow"), PartitionKey: aws.String("k"), Data: []byte("x")}); err != nil {
		t.Fatalf("PutRecord while UPDATING: %v", err)
	}
	elapse(t, s, 2*time.Second)
	if st := summary(t, c, "slow").StreamStatus; st != types.StreamStatusActive {
		t.Fatalf("after the delay: %s", st)
	}
	if _, err := c.StopStreamEncryption(ctx, &kinesis.StopStreamEncryptionInput{StreamName: aws.String("slow"), EncryptionType: types.EncryptionTypeKms, KeyId: aws.String(key)}); err != nil {
		t.Fatal(err)
	}
}

func TestResourcePolicy(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createStream(t, c, "pol", 1)
		arn := aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/pol")
		get := func() string {
			t.Helper()
			out, err := c.GetResourcePolicy(ctx, &kinesis.GetResourcePolicyInput{ResourceARN: arn})
			if err != nil {
				t.Fatal(err)
			}
			return aws.ToString(out.Policy)
		}
		if p := get(); p != "{}" {
			t.Fatalf("no policy: %q", p)
		}
		policy := `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "kinesis:GetRecords", "Resource": "arn:aws:kinesis:us-east-1:000000000000:stream/pol"}]}`
		if _, err := c.PutResourcePolicy(ctx, &kinesis.PutResourcePolicyInput{ResourceARN: arn, Policy: aws.String(policy)}); err != nil {
			t.Fatal(err)
		}
		if p := get(); p != policy {
			t.Fatalf("policy %q, want it as given", p)
		}
		_, err := c.PutResourcePolicy(ctx, &kinesis.PutResourcePolicyInput{ResourceARN: arn, Policy: aws.String(`{"Version": `)})
		wantAPIError(t, err, "InvalidArgumentException", 400, "Policy is not a valid JSON document.")
		if p := get(); p != policy {
			t.Fatalf("a refused policy replaced the policy: %q", p)
		}
		if _, err := c.DeleteResourcePolicy(ctx, &kinesis.DeleteResourcePolicyInput{ResourceARN: arn}); err != nil {
			t.Fatal(err)
		}
		if p := get(); p != "{}" {
			t.Fatalf("after delete: %q", p)
		}
		if _, err := c.DeleteResourcePolicy(ctx, &kinesis.DeleteResourcePolicyInput{ResourceARN: arn}); err != nil {
			t.Fatalf("deleting no policy: %v", err)
		}
		_, err = c.GetResourcePolicy(ctx, &kinesis.GetResourcePolicyInput{ResourceARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/gone")})
		wantAPIError(t, err, "ResourceNotFoundException", 400, "Stream gone under account 000000000000 not found.")
		consumer := "arn:aws:kinesis:us-east-1:000000000000:stream/pol/consumer/c:1"
		_, err = c.PutResourcePolicy(ctx, &kinesis.PutResourcePolicyInput{ResourceARN: aws.String(consumer), Policy: aws.String("{}")})
		wantAPIError(t, err, "ResourceNotFoundException", 400, "Consumer "+consumer+" under account 000000000000 not found.")
		_, err = c.DeleteResourcePolicy(ctx, &kinesis.DeleteResourcePolicyInput{ResourceARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:table/x")})
		wantAPIError(t, err, "ValidationException", 400, "1 validation error detected: Value 'arn:aws:kinesis:us-east-1:000000000000:table/x' "+
			`at 'resourceARN' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:aws.*:kinesis:.*:\d{12}:.*stream/\S+`)
	})
}

// TestMissingMembers sends requests without required members, which the SDK would not send.
func TestMissingMembers(t *testing.T) {
	s := kinesistest.Start(t, kinesistest.Engines[1], kinesistest.Options{})
	createStream(t, s.Client, "m", 1)
	tests := []struct{ op, body, code, message string }{
		{"AddTagsToStream", `{"StreamName":"m"}`, "ValidationException",
			"1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null"},
		{"AddTagsToStream", `{"Tags":{"a":"b"}}`, "InvalidArgumentException", "Either StreamName or StreamARN should be provided."},
		{"RemoveTagsFromStream", `{"StreamName":"m","StreamId":"x"}`, "ValidationException", "2 validation errors detected: " +
			"Value null at 'tagKeys' failed to satisfy constraint: Member must not be null; " +
			"Value 'x' at 'streamId' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-z0-9]{20}-[a-z0-9]{3}"},
		{"TagResource", `{}`, "ValidationException", "2 validation errors detected: " +
			"Value null at 'tags' failed to satisfy constraint: Member must not be null; " +
			"Value null at 'resourceARN' failed to satisfy constraint: Member must not be null"},
		{"PutResourcePolicy", `{"ResourceARN":"arn:aws:kinesis:us-east-1:000000000000:stream/m"}`, "ValidationException",
			"1 validation error detected: Value null at 'policy' failed to satisfy constraint: Member must not be null"},
		{"EnableEnhancedMonitoring", `{"StreamName":"m"}`, "ValidationException",
			"1 validation error detected: Value null at 'shardLevelMetrics' failed to satisfy constraint: Member must not be null"},
		{"StartStreamEncryption", `{"StreamName":"m"}`, "ValidationException", "2 validation errors detected: " +
			"Value null at 'encryptionType' failed to satisfy constraint: Member must not be null; " +
			"Value null at 'keyId' failed to satisfy constraint: Member must not be null"},
		{"IncreaseStreamRetentionPeriod", `{}`, "ValidationException",
			"1 validation error detected: Value null at 'retentionPeriodHours' failed to satisfy constraint: Member must not be null"},
		{"UpdateMaxRecordSize", `{"StreamARN":"arn:aws:kinesis:us-east-1:000000000000:stream/m"}`, "ValidationException",
			"1 validation error detected: Value null at 'maxRecordSizeInKiB' failed to satisfy constraint: Member must not be null"},
		{"UpdateMaxRecordSize", `{"MaxRecordSizeInKiB":2048}`, "InvalidArgumentException", "Either StreamName or StreamARN should be provided."},
		{"UpdateStreamRecordDistributionStrategy", `{}`, "ValidationException", "2 validation errors detected: " +
			"Value null at 'streamARN' failed to satisfy constraint: Member must not be null; " +
			"Value null at 'recordDistributionStrategy' failed to satisfy constraint: Member must not be null"},
		{"UpdateAccountSettings", `{}`, "ValidationException",
			"1 validation error detected: Value null at 'minimumThroughputBillingCommitment' failed to satisfy constraint: Member must not be null"},
		{"UpdateAccountSettings", `{"MinimumThroughputBillingCommitment":{}}`, "ValidationException",
			"1 validation error detected: Value null at 'minimumThroughputBillingCommitment.status' failed to satisfy constraint: Member must not be null"},
		{"ListTagsForStream", `{"StreamName":"m","Limit":"1"}`, "SerializationException", ""},
	}
	for _, tt := range tests {
		t.Run(tt.op, func(t *testing.T) {
			status, _, body := rawCall(t, s.Endpoint, tt.op, "application/x-amz-json-1.1", tt.body)
			var e struct {
				Type    string `json:"__type"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal([]byte(body), &e); err != nil || status != 400 || e.Type != tt.code {
				t.Fatalf("status %d body %s, want %s", status, body, tt.code)
			}
			if tt.message != "" && e.Message != tt.message {
				t.Errorf("message\n got: %q\nwant: %q", e.Message, tt.message)
			}
		})
	}
}
