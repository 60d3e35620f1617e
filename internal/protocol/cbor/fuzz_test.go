package cbor

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"kinesisd/internal/kerr"
	"kinesisd/internal/service"
)

// inputs are every operation's input, as a request body is decoded into them.
var inputs = []func() any{
	func() any { return new(service.DescribeLimitsInput) },
	func() any { return new(service.DescribeAccountSettingsInput) },
	func() any { return new(service.UpdateAccountSettingsInput) },
	func() any { return new(service.RegisterStreamConsumerInput) },
	func() any { return new(service.DescribeStreamConsumerInput) },
	func() any { return new(service.DeregisterStreamConsumerInput) },
	func() any { return new(service.ListStreamConsumersInput) },
	func() any { return new(service.StreamEncryptionInput) },
	func() any { return new(service.UpdateStreamModeInput) },
	func() any { return new(service.UpdateStreamWarmThroughputInput) },
	func() any { return new(service.EnhancedMonitoringInput) },
	func() any { return new(service.PutResourcePolicyInput) },
	func() any { return new(service.GetResourcePolicyInput) },
	func() any { return new(service.DeleteResourcePolicyInput) },
	func() any { return new(service.UpdateMaxRecordSizeInput) },
	func() any { return new(service.UpdateStreamRecordDistributionStrategyInput) },
	func() any { return new(service.SplitShardInput) },
	func() any { return new(service.MergeShardsInput) },
	func() any { return new(service.StreamRetentionPeriodInput) },
	func() any { return new(service.UpdateShardCountInput) },
	func() any { return new(service.SubscribeToShardInput) },
	func() any { return new(service.AddTagsToStreamInput) },
	func() any { return new(service.RemoveTagsFromStreamInput) },
	func() any { return new(service.ListTagsForStreamInput) },
	func() any { return new(service.TagResourceInput) },
	func() any { return new(service.UntagResourceInput) },
	func() any { return new(service.ListTagsForResourceInput) },
	func() any { return new(service.CreateStreamInput) },
	func() any { return new(service.DeleteStreamInput) },
	func() any { return new(service.DescribeStreamSummaryInput) },
	func() any { return new(service.PutRecordInput) },
	func() any { return new(service.PutRecordsInput) },
	func() any { return new(service.GetShardIteratorInput) },
	func() any { return new(service.GetRecordsInput) },
	func() any { return new(service.DescribeStreamInput) },
	func() any { return new(service.ListStreamsInput) },
	func() any { return new(service.ListShardsInput) },
}

// FuzzDecode holds the request decoder to: no panic; every failure a SerializationException; and
// whatever it accepts, the encoder writes in a form it reads back to the same encoding.
func FuzzDecode(f *testing.F) {
	for _, tt := range decodeTests {
		f.Add(tt.in)
	}
	fixtures, _ := filepath.Glob("testdata/*.request.cbor")
	for _, name := range fixtures {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	c := New()
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, newIn := range inputs {
			v := newIn()
			if err := c.Decode(body, v); err != nil {
				var se *kerr.Serialization
				if !errors.As(err, &se) {
					t.Fatalf("%T: error %v is not a SerializationException", v, err)
				}
				continue
			}
			once, err := c.Encode(v)
			if err != nil {
				t.Fatalf("%T: encode %+v: %v", v, v, err)
			}
			again := newIn()
			if err := c.Decode(once, again); err != nil {
				t.Fatalf("%T: own encoding % x unreadable: %v", v, once, err)
			}
			twice, err := c.Encode(again)
			if err != nil || !bytes.Equal(once, twice) {
				t.Fatalf("%T: encodings differ (%v)\n% x\n% x", v, err, once, twice)
			}
		}
	})
}
