package cbor

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	fxcbor "github.com/fxamacker/cbor/v2"

	"kinesisd/internal/kerr"
	"kinesisd/internal/service"
)

// h builds bytes from hex with spaces and quoted text: h(`bf 66 "__type" ff`).
func h(s string) []byte {
	var out []byte
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		if s[0] == '"' {
			end := strings.IndexByte(s[1:], '"') + 1
			out = append(out, s[1:end]...)
			s = s[end+1:]
			continue
		}
		tok, rest, _ := strings.Cut(s, " ")
		b, err := hex.DecodeString(tok)
		if err != nil {
			panic(tok)
		}
		out, s = append(out, b...), rest
	}
	return out
}

const tMS = 1738951482123 // 2025-02-07T18:04:42.123Z

var tTime = time.UnixMilli(tMS).UTC()

// decodeTests are requests as Java (Jackson) and other CBOR writers send them, and the mistakes they
// can make. They seed FuzzDecode too.
var decodeTests = []struct {
	name string
	in   []byte
	into func() any
	want func(t *testing.T, v any) // nil when an error is expected
	err  string                    // SerializationException message
}{
	{name: "jackson indefinite map, definite strings, byte string",
		in:   h(`bf 6a "StreamName" 64 "test" 64 "Data" 4d "hello, world!" 6c "PartitionKey" 6c "partitionkey" ff`),
		into: func() any { return new(service.PutRecordInput) },
		want: func(t *testing.T, v any) {
			in := v.(*service.PutRecordInput)
			if *in.StreamName != "test" || string(in.Data) != "hello, world!" || *in.PartitionKey != "partitionkey" {
				t.Errorf("got %+v", in)
			}
		}},
	{name: "definite map", in: h(`a1 6d "ShardIterator" 62 "it"`), into: func() any { return new(service.GetRecordsInput) },
		want: func(t *testing.T, v any) {
			if it := v.(*service.GetRecordsInput).ShardIterator; it == nil || *it != "it" {
				t.Errorf("ShardIterator %v", it)
			}
		}},
	{name: "indefinite text and byte strings",
		in:   h(`bf 6a "StreamName" 7f 62 "ab" 62 "cd" ff 64 "Data" 5f 42 "ab" 41 "c" ff ff`),
		into: func() any { return new(service.PutRecordInput) },
		want: func(t *testing.T, v any) {
			in := v.(*service.PutRecordInput)
			if *in.StreamName != "abcd" || string(in.Data) != "abc" {
				t.Errorf("got %q %q", *in.StreamName, in.Data)
			}
		}},
	{name: "jackson chunked long text", in: append(append(h(`bf 69 "NextToken" 7f 79 0f 9c`), strings.Repeat("a", 3996)...), h(`61 "b" ff ff`)...),
		into: func() any { return new(service.ListStreamsInput) },
		want: func(t *testing.T, v any) {
			if tok := *v.(*service.ListStreamsInput).NextToken; tok != strings.Repeat("a", 3996)+"b" {
				t.Errorf("NextToken of %d chars", len(tok))
			}
		}},
	{name: "unknown members ignored, nested records, explicit hash key",
		in:   h(`bf 63 "Foo" 9f 01 ff 67 "Records" 9f bf 64 "Data" 41 00 6f "ExplicitHashKey" 61 "0" 6c "PartitionKey" 61 "k" ff ff 6a "StreamName" 61 "s" ff`),
		into: func() any { return new(service.PutRecordsInput) },
		want: func(t *testing.T, v any) {
			in := v.(*service.PutRecordsInput)
			if len(in.Records) != 1 || *in.Records[0].ExplicitHashKey != "0" || !bytes.Equal(in.Records[0].Data, []byte{0}) || *in.StreamName != "s" {
				t.Errorf("got %+v", in)
			}
		}},
	{name: "member names match case-insensitively, as with JSON", in: h(`a1 6d "shardIterator" 62 "it"`),
		into: func() any { return new(service.GetRecordsInput) },
		want: func(t *testing.T, v any) {
			if v.(*service.GetRecordsInput).ShardIterator == nil {
				t.Error("no ShardIterator")
			}
		}},
	{name: "timestamp tag 1 long ms (Java)", in: h(`bf 69 "Timestamp" c1 1b 00 00 01 94 e1 95 db 0b ff`),
		into: func() any { return new(service.GetShardIteratorInput) }, want: wantTimestamp(tTime)},
	{name: "timestamp tag 1 double ms", in: append(h(`a1 69 "Timestamp" c1 fb`), float64Bits(tMS)...),
		into: func() any { return new(service.GetShardIteratorInput) }, want: wantTimestamp(tTime)},
	{name: "timestamp tag 1 double ms with a fraction rounds", in: append(h(`a1 69 "Timestamp" c1 fb`), float64Bits(tMS+0.6)...),
		into: func() any { return new(service.GetShardIteratorInput) }, want: wantTimestamp(tTime.Add(time.Millisecond))},
	{name: "timestamp tag 1 float32 ms", in: h(`a1 69 "Timestamp" c1 fa 47 c3 50 00`), // 100000.0
		into: func() any { return new(service.GetShardIteratorInput) }, want: wantTimestamp(time.UnixMilli(100000).UTC())},
	{name: "timestamp tag 1 half float ms", in: h(`a1 69 "Timestamp" c1 f9 3c 00`), // 1.0
		into: func() any { return new(service.GetShardIteratorInput) }, want: wantTimestamp(time.UnixMilli(1).UTC())},
	{name: "timestamp untagged ms", in: h(`a1 69 "Timestamp" 1a 00 01 86 a0`),
		into: func() any { return new(service.GetShardIteratorInput) }, want: wantTimestamp(time.UnixMilli(100000).UTC())},
	{name: "timestamp negative ms", in: h(`a1 69 "Timestamp" c1 38 63`),
		into: func() any { return new(service.GetShardIteratorInput) }, want: wantTimestamp(time.UnixMilli(-100).UTC())},
	{name: "timestamp null", in: h(`a1 69 "Timestamp" f6`), into: func() any { return new(service.GetShardIteratorInput) },
		want: func(t *testing.T, v any) {
			if v.(*service.GetShardIteratorInput).Timestamp != nil {
				t.Error("null timestamp set")
			}
		}},
	{name: "shard filter timestamp", in: h(`bf 6b "ShardFilter" bf 64 "Type" 6c "AT_TIMESTAMP" 69 "Timestamp" c1 1b 00 00 01 94 e1 95 db 0b ff ff`),
		into: func() any { return new(service.ListShardsInput) },
		want: func(t *testing.T, v any) {
			if f := v.(*service.ListShardsInput).ShardFilter; f == nil || !f.Timestamp.Time.Equal(tTime) {
				t.Errorf("ShardFilter %+v", f)
			}
		}},
	{name: "self-describe tag 55799 around the body", in: h(`d9 d9 f7 a1 6d "ShardIterator" 62 "it"`),
		into: func() any { return new(service.GetRecordsInput) },
		want: func(t *testing.T, v any) {
			if it := v.(*service.GetRecordsInput).ShardIterator; it == nil || *it != "it" {
				t.Errorf("ShardIterator %v", it)
			}
		}},
	{name: "map of tags", in: h(`bf 64 "Tags" bf 61 "a" 61 "1" ff ff`), into: func() any { return new(service.CreateStreamInput) },
		want: func(t *testing.T, v any) {
			if v.(*service.CreateStreamInput).Tags["a"] != "1" {
				t.Error("no tag")
			}
		}},

	{name: "empty body", in: nil, into: func() any { return new(service.ListStreamsInput) }},
	{name: "truncated map", in: h(`bf 6a "StreamName"`), into: func() any { return new(service.ListStreamsInput) }},
	{name: "unterminated indefinite map", in: h(`bf`), into: func() any { return new(service.ListStreamsInput) }},
	{name: "data after the item", in: h(`a0 00`), into: func() any { return new(service.ListStreamsInput) }},
	{name: "break outside indefinite", in: h(`ff`), into: func() any { return new(service.ListStreamsInput) }},
	{name: "reserved additional info", in: h(`1c`), into: func() any { return new(service.ListStreamsInput) }},
	{name: "invalid UTF-8", in: h(`a1 6d "ShardIterator" 62 ff fe`), into: func() any { return new(service.GetRecordsInput) }},
	{name: "JSON body", in: []byte(`{"StreamName":"s"}`), into: func() any { return new(service.ListStreamsInput) }},
	{name: "text where bytes expected", in: h(`a1 64 "Data" 64 "aGk="`), into: func() any { return new(service.PutRecordInput) },
		err: "class java.lang.String can not be converted to a Blob"},
	{name: "bytes where text expected", in: h(`a1 6a "StreamName" 41 61`), into: func() any { return new(service.PutRecordInput) },
		err: "class [B can not be converted to an String"},
	{name: "text where integer expected", in: h(`a1 65 "Limit" 62 "10"`), into: func() any { return new(service.GetRecordsInput) },
		err: "class java.lang.String can not be converted to an Integer"},
	{name: "float where integer expected", in: h(`a1 65 "Limit" f9 3e 00`), into: func() any { return new(service.GetRecordsInput) },
		err: "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an Integer"},
	{name: "integer where boolean expected", in: h(`a1 66 "DryRun" 01`), into: func() any { return new(service.GetRecordsInput) },
		err: "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an Boolean"},
	{name: "map where list expected", in: h(`a1 67 "Records" a0`), into: func() any { return new(service.PutRecordsInput) },
		err: "Start of structure or map found where not expected."},
	{name: "list where text expected", in: h(`a1 6a "StreamName" 80`), into: func() any { return new(service.PutRecordInput) },
		err: "Start of list found where not expected"},
	{name: "list at the top", in: h(`80`), into: func() any { return new(service.ListStreamsInput) },
		err: "Start of list found where not expected"},
	{name: "integer too large", in: h(`a1 65 "Limit" 1b ff ff ff ff ff ff ff ff`), into: func() any { return new(service.GetRecordsInput) },
		err: "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an Integer"},
	{name: "timestamp as text", in: h(`a1 69 "Timestamp" 62 "12"`), into: func() any { return new(service.GetShardIteratorInput) },
		err: "class java.lang.String can not be converted to milliseconds since epoch"},
	// fxamacker/cbor refuses tag 1 on anything but a number before the member's decoder sees it.
	{name: "tag 1 on text", in: h(`a1 69 "Timestamp" c1 62 "12"`), into: func() any { return new(service.GetShardIteratorInput) }},
	{name: "timestamp as boolean", in: h(`a1 69 "Timestamp" f5`), into: func() any { return new(service.GetShardIteratorInput) },
		err: "class java.lang.Boolean can not be converted to milliseconds since epoch"},
	{name: "timestamp NaN", in: h(`a1 69 "Timestamp" c1 f9 7e 00`), into: func() any { return new(service.GetShardIteratorInput) },
		err: "Start of structure or map found where not expected."},
	{name: "timestamp as map", in: h(`a1 69 "Timestamp" a0`), into: func() any { return new(service.GetShardIteratorInput) },
		err: "Start of structure or map found where not expected."},
}

func wantTimestamp(want time.Time) func(t *testing.T, v any) {
	return func(t *testing.T, v any) {
		t.Helper()
		ts := v.(*service.GetShardIteratorInput).Timestamp
		if ts == nil || !ts.Time.Equal(want) {
			t.Errorf("Timestamp %v, want %v", ts, want)
		}
	}
}

func float64Bits(f float64) []byte {
	b, _ := fxcbor.Marshal(f) // fb + 8 bytes
	return b[1:]
}

func TestDecode(t *testing.T) {
	c := New()
	for _, tt := range decodeTests {
		t.Run(tt.name, func(t *testing.T) {
			v := tt.into()
			err := c.Decode(tt.in, v)
			if tt.want != nil {
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				tt.want(t, v)
				return
			}
			var se *kerr.Serialization
			if !errors.As(err, &se) {
				t.Fatalf("error %v, want SerializationException", err)
			}
			if se.Message() != tt.err {
				t.Errorf("message %q, want %q", se.Message(), tt.err)
			}
		})
	}
}

func TestEncode(t *testing.T) {
	seq := "49590338271490256608559692538361571095921575989136588898"
	next := "it"
	tests := []struct {
		name string
		v    any
		want []byte
	}{
		{"no output", nil, nil},
		{"put records", &service.PutRecordsOutput{Records: []service.PutRecordsResultEntry{
			{SequenceNumber: seq, ShardId: "shardId-000000000000"},
			{ErrorCode: "InternalFailure", ErrorMessage: "Internal service failure."}}, FailedRecordCount: 1, EncryptionType: "NONE"},
			h(`bf 71 "FailedRecordCount" 01 67 "Records" 9f bf 6e "SequenceNumber" 78 38 "` + seq + `" 67 "ShardId" 74 "shardId-000000000000" ff ` +
				`bf 69 "ErrorCode" 6f "InternalFailure" 6c "ErrorMessage" 78 19 "Internal service failure." ff ff 6e "EncryptionType" 64 "NONE" ff`)},
		{"get records: tag 1 ms, byte strings, empty blob", &service.GetRecordsOutput{Records: []service.Record{
			{SequenceNumber: "1", ApproximateArrivalTimestamp: service.Timestamp{Time: tTime}, Data: []byte{0, 0xff}, PartitionKey: "k"},
			{SequenceNumber: "2", ApproximateArrivalTimestamp: service.Timestamp{Time: tTime}, Data: []byte{}, PartitionKey: "k"}},
			NextShardIterator: &next, MillisBehindLatest: 1000},
			h(`bf 67 "Records" 9f ` +
				`bf 6e "SequenceNumber" 61 "1" 78 1b "ApproximateArrivalTimestamp" c1 1b 00 00 01 94 e1 95 db 0b 64 "Data" 42 00 ff 6c "PartitionKey" 61 "k" ff ` +
				`bf 6e "SequenceNumber" 61 "2" 78 1b "ApproximateArrivalTimestamp" c1 1b 00 00 01 94 e1 95 db 0b 64 "Data" 40 6c "PartitionKey" 61 "k" ff ` +
				`ff 71 "NextShardIterator" 62 "it" 72 "MillisBehindLatest" 19 03 e8 ff`)},
		{"empty list is an empty array, never null", &service.GetRecordsOutput{},
			h(`bf 67 "Records" 9f ff 72 "MillisBehindLatest" 00 ff`)},
		{"map keys in order", map[string]any{"b": true, "a": nil, "c": -1, "d": 1.5, "e": uint8(200)},
			h(`bf 61 "a" f6 61 "b" f5 61 "c" 20 61 "d" fb 3f f8 00 00 00 00 00 00 61 "e" 18 c8 ff`)},
		{"embedded struct flattened, nil pointer member null", &struct {
			service.StreamRef
			Shard *string `json:"Shard"`
			Skip  string  `json:"-"`
			Plain int
		}{StreamRef: service.StreamRef{StreamName: &next}, Skip: "x"},
			h(`bf 6a "StreamName" 62 "it" 65 "Shard" f6 65 "Plain" 00 ff`)},
	}
	c := New()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Encode(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("got  % x\nwant % x", got, tt.want)
			}
		})
	}
}

// TestEncodeDecodesIndependently reads the encoder's output back with fxamacker/cbor into the same
// types: what the encoder writes is what a generic decoder reads.
func TestEncodeDecodesIndependently(t *testing.T) {
	out := &service.GetRecordsOutput{Records: []service.Record{{SequenceNumber: "1", ApproximateArrivalTimestamp: service.Timestamp{Time: tTime},
		Data: []byte("data"), PartitionKey: "k", EncryptionType: "NONE"}}, MillisBehindLatest: 7,
		ChildShards: []service.ChildShard{{ShardId: "shardId-000000000002", ParentShards: []string{"shardId-000000000000"},
			HashKeyRange: service.HashKeyRange{StartingHashKey: "0", EndingHashKey: "1"}}}}
	b, err := New().Encode(out)
	if err != nil {
		t.Fatal(err)
	}
	var back service.GetRecordsOutput
	if err := fxcbor.Unmarshal(b, members.Value(&back)); err != nil { // timestamps read by the codec's UnmarshalCBOR
		t.Fatal(err)
	}
	if r := back.Records[0]; !r.ApproximateArrivalTimestamp.Time.Equal(tTime) || string(r.Data) != "data" || back.MillisBehindLatest != 7 ||
		back.ChildShards[0].HashKeyRange.EndingHashKey != "1" || back.NextShardIterator != nil {
		t.Errorf("read back %+v", back)
	}
	var raw struct {
		Records []struct{ ApproximateArrivalTimestamp fxcbor.RawTag }
	}
	if err := fxcbor.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	var ms int64
	if tag := raw.Records[0].ApproximateArrivalTimestamp; tag.Number != 1 || fxcbor.Unmarshal(tag.Content, &ms) != nil || ms != tMS {
		t.Errorf("ApproximateArrivalTimestamp tag %d content % x, want tag 1 holding %d", tag.Number, tag.Content, int64(tMS))
	}
}

func TestTimestampRoundTrip(t *testing.T) {
	for _, ms := range []int64{0, 1, 23, 24, 255, 256, 65535, 65536, 1 << 32, tMS, -1, -25, -1 << 40} {
		b, err := New().Encode(service.Timestamp{Time: time.UnixMilli(ms)})
		if err != nil {
			t.Fatal(err)
		}
		var tag fxcbor.Tag
		if err := fxcbor.Unmarshal(b, &tag); err != nil || tag.Number != 1 {
			t.Fatalf("%d: % x is not tag 1: %v", ms, b, err)
		}
		if n, ok := tag.Content.(int64); ok && n != ms || !ok && tag.Content.(uint64) != uint64(ms) {
			t.Errorf("%d: tag content %v", ms, tag.Content)
		}
		var back service.Timestamp
		if err := New().Decode(b, &back); err != nil || back.UnixMilli() != ms {
			t.Errorf("%d: read back %v, %v", ms, back.Time, err)
		}
	}
}

// TestEncodeError: kinesalite's bytes for a message-less error (index.js sendCborUnknown), and the map
// with a message.
func TestEncodeError(t *testing.T) {
	if got, want := EncodeError("UnknownOperationException", ""), h(`bf 66 "__type" 78 19 "UnknownOperationException" ff`); !bytes.Equal(got, want) {
		t.Errorf("got % x\nwant % x", got, want)
	}
	got := EncodeError("ResourceNotFoundException", "Stream a under account 000000000000 not found.")
	var m map[string]string
	if err := fxcbor.Unmarshal(got, &m); err != nil || len(m) != 2 || m["__type"] != "ResourceNotFoundException" ||
		m["message"] != "Stream a under account 000000000000 not found." || got[0] != 0xbf {
		t.Errorf("% x: %v %v", got, m, err)
	}
}

// TestJSONTagsName: the decoder names members by their json tags, as the service's structs are written
// (their tags happen to equal the field names, so this uses a struct of its own), and skips "-".
func TestJSONTagsName(t *testing.T) {
	var v struct {
		Field  string `json:"Wire"`
		Hidden string `json:"-"`
	}
	if err := New().Decode(h(`bf 64 "Wire" 61 "a" 66 "Hidden" 61 "b" 65 "Field" 61 "c" ff`), &v); err != nil {
		t.Fatal(err)
	}
	if v.Field != "a" || v.Hidden != "" {
		t.Errorf("decoded %+v, want Field from \"Wire\" only", v)
	}
}
