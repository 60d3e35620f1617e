package awsjson

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"kinesisd/internal/service"
)

var putRecordsBodies = []struct {
	body string
	fast bool // the fast path takes it
}{
	{`{"StreamName":"s","Records":[{"Data":"AAE=","PartitionKey":"k"}]}`, true},
	{` { "StreamARN" : "arn:aws:kinesis:us-east-1:000000000000:stream/s" , "Records" : [ { "PartitionKey":"é","Data":"","ExplicitHashKey":"12" } , {"Data":null,"PartitionKey":null} ] , "DryRun" : true } `, true},
	{`{"Records":[],"StreamId":"x","DryRun":false}`, true},
	{`{"Records":null}`, true},
	{`{}`, true},
	{`{"StreamName":"a\"b","Records":[]}`, false}, // an escape
	{`{"StreamName":"s","Records":[{"Data":"AAE","PartitionKey":"k"}]}`, false}, // bad base64
	{`{"StreamName":5}`, false},
	{`{"Other":1}`, false},
	{`{"Records":[{"Data":"AAE=","PartitionKey":"k","Extra":"x"}]}`, false},
	{`{"StreamName":"s"`, false},
	{`{"StreamName":"s"} x`, false},
	{`[]`, false},
	{``, false},
	{"{\"StreamName\":\"\xff\"}", false}, // invalid UTF-8: encoding/json would replace it
	{`{"Records":[{"Data":"AAE=","PartitionKey":"k"}],"Records":[]}`, true}, // the last duplicate wins, as in encoding/json
}

func TestPutRecordsFastMatchesEncodingJSON(t *testing.T) {
	for _, tt := range putRecordsBodies {
		var fast service.PutRecordsInput
		ok := decodePutRecordsFast([]byte(tt.body), &fast)
		if ok != tt.fast {
			t.Errorf("%q: fast path took it = %v, want %v", tt.body, ok, tt.fast)
		}
		checkSame(t, []byte(tt.body))
	}
}

// checkSame fails when the fast path accepts body but decodes it otherwise than encoding/json.
func checkSame(t *testing.T, body []byte) {
	t.Helper()
	var fast, slow service.PutRecordsInput
	if !decodePutRecordsFast(body, &fast) {
		return
	}
	if err := json.Unmarshal(body, &slow); err != nil {
		t.Fatalf("%q: fast path accepted what encoding/json refuses: %v", body, err)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("%q: fast %+v, encoding/json %+v", body, fast, slow)
	}
}

func FuzzPutRecordsFast(f *testing.F) {
	for _, tt := range putRecordsBodies {
		f.Add([]byte(tt.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkSame(t, body) })
}

func TestEncodeGetRecordsMatchesEncodingJSON(t *testing.T) {
	next := "AAAAAAAAAAE+/="
	outs := []*service.GetRecordsOutput{
		{Records: []service.Record{}, NextShardIterator: &next},
		{Records: []service.Record{
			{SequenceNumber: "49000000000000000000000000000000000000000000000000000001", ApproximateArrivalTimestamp: service.Timestamp{Time: time.UnixMilli(1764000000123)},
				Data: []byte{0, 1, 2, 250}, PartitionKey: "plain", EncryptionType: "NONE"},
			{SequenceNumber: "2", ApproximateArrivalTimestamp: service.Timestamp{Time: time.UnixMilli(5)}, Data: []byte{}, PartitionKey: "é <&> \"\\\n\u2028"},
		}, MillisBehindLatest: 42, ChildShards: []service.ChildShard{{ShardId: "shardId-000000000002", ParentShards: []string{"shardId-000000000000"},
			HashKeyRange: service.HashKeyRange{StartingHashKey: "0", EndingHashKey: "9"}}}},
	}
	for _, out := range outs {
		fast, err := EncodeGetRecords(out)
		if err != nil {
			t.Fatal(err)
		}
		slow, _ := json.Marshal(out)
		if !bytes.Equal(fast, slow) {
			t.Errorf("fast:\n%s\nencoding/json:\n%s", fast, slow)
		}
	}
}

func BenchmarkDecodePutRecords(b *testing.B) {
	body := benchBody()
	b.SetBytes(int64(len(body)))
	b.Run("fast", func(b *testing.B) {
		for range b.N {
			var in service.PutRecordsInput
			if err := DecodePutRecords(body, &in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		for range b.N {
			var in service.PutRecordsInput
			if err := Decode(body, &in); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchBody is a PutRecords body of 500 records of 1 KiB, as the benchmark sends.
func benchBody() []byte {
	var in service.PutRecordsInput
	name := "bench"
	in.StreamName = &name
	for i := range 500 {
		k := strings.Repeat("k", 16) + string(rune('a'+i%26))
		in.Records = append(in.Records, service.PutRecordsRequestEntry{Data: bytes.Repeat([]byte{byte(i)}, 1024), PartitionKey: &k})
	}
	body, _ := json.Marshal(in)
	return body
}
