package cbor

import (
	"os"
	"reflect"
	"testing"

	"kinesisd/internal/protocol/keytext"
	"kinesisd/internal/service"
)

var putRecordsBodies = []struct {
	name string
	body []byte
	fast bool // the fast path takes it
}{
	{"indefinite, as Jackson writes", h(`bf 67 "Records" 9f bf 64 "Data" 42 00 01 6c "PartitionKey" 61 "k" ff ff 6a "StreamName" 61 "s" ff`), true},
	{"definite", h(`a2 6a "StreamName" 61 "s" 67 "Records" 82 a2 64 "Data" 40 6c "PartitionKey" 62 "é" a3 6c "PartitionKey" 61 "k" 64 "Data" 59 00 01 ff 6f "ExplicitHashKey" 62 "12"`), true},
	{"nulls", h(`bf 69 "StreamARN" f6 67 "Records" 9f bf 64 "Data" f6 6c "PartitionKey" f6 6f "ExplicitHashKey" f6 ff ff 66 "DryRun" f6 ff`), true},
	{"dry run, stream id", h(`a3 66 "DryRun" f5 68 "StreamId" 61 "x" 67 "Records" 80`), true},
	{"null records", h(`a1 67 "Records" f6`), true},
	{"empty map", h(`a0`), true},
	{"empty indefinite map", h(`bf ff`), true},
	{"record without members", h(`a1 67 "Records" 81 a0`), true},
	{"duplicate member", h(`a2 67 "Records" 80 67 "Records" 80`), false},
	{"duplicate record member", h(`a1 67 "Records" 81 a2 64 "Data" 40 64 "Data" 41 00`), false},
	{"unknown member", h(`a1 65 "Other" 01`), false},
	{"unknown record member", h(`a1 67 "Records" 81 a1 65 "Extra" 61 "x"`), false},
	{"other case", h(`a1 6a "streamName" 61 "s"`), false},
	{"indefinite byte string", h(`a1 67 "Records" 81 a1 64 "Data" 5f 41 00 ff`), false},
	{"indefinite text", h(`a1 6a "StreamName" 7f 61 "s" ff`), false},
	{"text for data", h(`a1 67 "Records" 81 a1 64 "Data" 61 "x"`), false},
	{"tag", h(`a1 67 "Records" 81 a1 64 "Data" c2 41 00`), false},
	{"invalid UTF-8", h(`a1 6a "StreamName" 61 ff`), false},
	{"undefined", h(`a1 6a "StreamName" f7`), false},
	{"null record", h(`a1 67 "Records" 81 f6`), false},
	{"truncated", h(`a1 67 "Records" 82 a0`), false},
	{"truncated length", h(`a1 67 "Records" 81 a1 64 "Data" 5a 00 00`), false},
	{"length past the end", h(`a1 67 "Records" 81 a1 64 "Data" 5b 7f ff ff ff ff ff ff ff 00`), false},
	{"count past the end", h(`bb ff ff ff ff ff ff ff ff`), false},
	{"trailing data", h(`a0 00`), false},
	{"no break", h(`bf 67 "Records" 80`), false},
	{"array at the top", h(`80`), false},
	{"empty", nil, false},
	{"reserved info", h(`a1 67 "Records" 81 a1 64 "Data" 5c`), false},
}

func TestPutRecordsFastMatchesDecode(t *testing.T) {
	fixture, err := os.ReadFile("testdata/putrecords.request.cbor")
	if err != nil {
		t.Fatal(err)
	}
	if !decodePutRecordsFast(fixture, new(service.PutRecordsInput), nil) {
		t.Error("the Java SDK's PutRecords: fast path refused it")
	}
	checkSame(t, fixture)
	for _, tt := range putRecordsBodies {
		t.Run(tt.name, func(t *testing.T) {
			if ok := decodePutRecordsFast(tt.body, new(service.PutRecordsInput), nil); ok != tt.fast {
				t.Errorf("% x: fast path took it = %v, want %v", tt.body, ok, tt.fast)
			}
			checkSame(t, tt.body)
		})
	}
}

var fuzzCodec = New()

// checkSame fails when the fast path accepts body but decodes it otherwise than Decode.
func checkSame(t *testing.T, body []byte) {
	t.Helper()
	var fast, slow service.PutRecordsInput
	if !decodePutRecordsFast(body, &fast, nil) {
		return
	}
	if err := fuzzCodec.Decode(body, &slow); err != nil {
		t.Fatalf("% x: fast path accepted what Decode refuses: %v", body, err)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("% x: fast %+v, Decode %+v", body, fast, slow)
	}
	// The same through memory that another request's records used (as the server reuses it): nothing
	// of that request may show.
	mem := new(keytext.Memory)
	var prev, reused service.PutRecordsInput
	if !decodePutRecordsFast(previousBody(t), &prev, mem) {
		t.Fatal("the previous request's body is not on the fast path")
	}
	if !decodePutRecordsFast(body, &reused, mem) || !reflect.DeepEqual(reused, slow) {
		t.Fatalf("% x: through reused memory %+v, Decode %+v", body, reused, slow)
	}
}

// previousBody is a request whose records leave keys of both kinds in a reused keytext.Memory.
func previousBody(t *testing.T) []byte {
	t.Helper()
	key := func(s string) *string { return &s }
	b, err := fuzzCodec.Encode(service.PutRecordsInput{StreamRef: service.StreamRef{StreamName: key("old")},
		Records: []service.PutRecordsRequestEntry{
			{Data: []byte("a"), PartitionKey: key("old1"), ExplicitHashKey: key("1")},
			{Data: []byte("b"), PartitionKey: key("old2"), ExplicitHashKey: key("2")},
			{Data: []byte("c"), PartitionKey: key("old3")},
			{Data: []byte("d"), PartitionKey: key("old4"), ExplicitHashKey: key("4")},
		}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func FuzzPutRecordsFast(f *testing.F) {
	for _, tt := range putRecordsBodies {
		f.Add(tt.body)
	}
	if b, err := os.ReadFile("testdata/putrecords.request.cbor"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkSame(t, body) })
}

// TestAppendPutRecordsMatchesEncode: the PutRecords reply written without reflection is what Encode
// writes, with failures, encryption and none.
func TestAppendPutRecordsMatchesEncode(t *testing.T) {
	seq := "49590338271490256608559692538361571095921575989136588898"
	outs := []*service.PutRecordsOutput{
		{},
		{Records: []service.PutRecordsResultEntry{}},
		{FailedRecordCount: 1, EncryptionType: "KMS", Records: []service.PutRecordsResultEntry{
			{SequenceNumber: seq, ShardId: "shardId-000000000000"},
			{ErrorCode: "ProvisionedThroughputExceededException", ErrorMessage: string(make([]byte, 300))},
			{SequenceNumber: seq, ShardId: "shardId-000000000001"}}},
	}
	for i := range 600 {
		outs[1].Records = append(outs[1].Records, service.PutRecordsResultEntry{SequenceNumber: seq[:i%57], ShardId: "shardId-000000000003"})
	}
	c := New()
	for i, out := range outs {
		want, err := c.Encode(out)
		if err != nil {
			t.Fatal(err)
		}
		got := AppendPutRecords(nil, out)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("reply %d:\ngot  % x\nwant % x", i, got, want)
		}
		if len(got) > PutRecordsLen(out) {
			t.Errorf("reply %d: %d bytes, PutRecordsLen says at most %d", i, len(got), PutRecordsLen(out))
		}
	}
}
