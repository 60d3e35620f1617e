package awsjson

import (
	"bytes"
	"errors"
	"testing"

	"kinesisd/internal/kerr"
	"kinesisd/internal/protocol/protocoltest"
)

// inputs are every operation's input, as a request body is decoded into them.
var inputs = protocoltest.Inputs()

// requestBodies are request bodies as the SDKs write them, one or more per shape of member.
var requestBodies = []string{
	`{"StreamName":"s","ShardCount":2,"StreamModeDetails":{"StreamMode":"PROVISIONED"},"Tags":{"k":"v"}}`,
	`{"StreamARN":"arn:aws:kinesis:us-east-1:000000000000:stream/s","Records":[{"Data":"AAE=","PartitionKey":"k","ExplicitHashKey":"7"}]}`,
	`{"StreamName":"s","ShardId":"shardId-000000000000","ShardIteratorType":"AT_TIMESTAMP","Timestamp":1764000000.123}`,
	`{"ShardIterator":"AAAAAAAAAAE=","Limit":10000}`,
	`{"ConsumerARN":"arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c:1764000000","ShardId":"shardId-000000000000","StartingPosition":{"Type":"AFTER_SEQUENCE_NUMBER","SequenceNumber":"49000000000000000000000000000000000000000010000000000000"}}`,
	`{"StreamName":"s","ShardFilter":{"Type":"AT_TIMESTAMP","Timestamp":1764000000},"MaxResults":5}`,
	`{"ResourceARN":"arn:aws:kinesis:us-east-1:000000000000:stream/s","TagKeys":["a","b"]}`,
	`{"StreamName":"s","ShardToSplit":"shardId-000000000000","NewStartingHashKey":"170141183460469231731687303715884105728"}`,
	`{"StreamName":"s","ShardLevelMetrics":["ALL"],"DryRun":true}`,
}

// FuzzDecodeInputs holds the request decoder to, for every operation's input: no panic; every
// failure a kerr error (SerializationException); and whatever it accepts, the encoder writes in a
// form it reads back to the same encoding.
func FuzzDecodeInputs(f *testing.F) {
	for _, tt := range decodeTests {
		f.Add([]byte(tt.body))
	}
	for _, b := range requestBodies {
		f.Add([]byte(b))
	}
	for _, tt := range putRecordsBodies {
		f.Add([]byte(tt.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, newIn := range inputs {
			v := newIn()
			if err := Decode(body, v); err != nil {
				var ke kerr.Error
				if !errors.As(err, &ke) {
					t.Fatalf("%T: error %v is not a kerr.Error", v, err)
				}
				continue
			}
			once, err := Encode(v)
			if err != nil {
				t.Fatalf("%T: encode %+v: %v", v, v, err)
			}
			again := newIn()
			if err := Decode(once, again); err != nil {
				t.Fatalf("%T: own encoding %s unreadable: %v", v, once, err)
			}
			twice, err := Encode(again)
			if err != nil || !bytes.Equal(once, twice) {
				t.Fatalf("%T: encodings differ (%v)\n%s\n%s", v, err, once, twice)
			}
		}
	})
}

// TestRequestBodiesDecode: the seed bodies are real requests, accepted by the input they are for.
func TestRequestBodiesDecode(t *testing.T) {
	for _, b := range requestBodies {
		ok := false
		for _, newIn := range inputs {
			if Decode([]byte(b), newIn()) == nil {
				ok = true
			}
		}
		if !ok {
			t.Errorf("no input accepts %s", b)
		}
	}
}
