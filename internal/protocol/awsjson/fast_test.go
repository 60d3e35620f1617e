package awsjson

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"kinesisd/internal/protocol/keytext"
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
	{`{"Records":[{"Data":"AAE=","PartitionKey":"a","PartitionKey":"bc","Data":"AAI="},{"PartitionKey":"d"},{"PartitionKey":null}]}`, true},
	{`{"Records":[{"Data":"","PartitionKey":"a"},{"Data":"","PartitionKey":"b","ExplicitHashKey":"1","ExplicitHashKey":"22"},{"ExplicitHashKey":null}]}`, true},
	{"{\"Records\":[{\"Data\":\"AAEC\nAAEC\",\"PartitionKey\":\"k\"}]}", false}, // a raw newline (base64 would skip it)
	{"{\"Records\":[{\"Data\":\"AAECAAEC\r\n\",\"PartitionKey\":\"k\"}]}", false},
	{`{"Records":[{"Data":"AA\u0041AA==","PartitionKey":"k"}]}`, false}, // an escape in Data
	{`{"Records":[{"Data":"AAE=","PartitionKey":"k\"\""}]}`, false},     // escaped quotes in a key
	{`{"Records":[{"Data":"AAE=","PartitionKey":"k"},]}`, false},        // trailing comma
	{`{"Records":[{"Data":"AAE=","PartitionKey":"k",}]}`, false},
	{`{"Records":[{"Da\u0074a":"AAE=","PartitionKey":"k"}]}`, false}, // an escape in a name
	{`{"Records":[{"Data":"AAE=","PartitionKey":"k"}`, false},
	{`{"Records":[1]}`, false},
	// Data of 16 characters and more: decoded in blocks before the quote is found.
	{`{"Records":[{"Data":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==","PartitionKey":"k"}]}`, true},
	{`{"Records":[{"Data":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7","PartitionKey":"k"}]}`, true},
	{`{"Records":[{"Data":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw=","PartitionKey":"k"}]}`, false},
	{`{"Records":[{"Data":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P\w==","PartitionKey":"k"}]}`, false},
	{`{"Records":[{"Data":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==`, false},
	{`{"Records":[{"Data":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==","Data":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g","PartitionKey":"k"}]}`, true},
}

func TestPutRecordsFastMatchesEncodingJSON(t *testing.T) {
	for _, tt := range putRecordsBodies {
		var fast service.PutRecordsInput
		ok := decodePutRecordsFast([]byte(tt.body), &fast, nil, nil)
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
	if !decodePutRecordsFast(body, &fast, nil, nil) {
		return
	}
	if err := json.Unmarshal(body, members.Value(&slow)); err != nil {
		t.Fatalf("%q: fast path accepted what encoding/json refuses: %v", body, err)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("%q: fast %+v, encoding/json %+v", body, fast, slow)
	}
	// The same through memory that another request's records used (as the server reuses it): nothing
	// of that request may show.
	mem := new(keytext.Memory)
	var prev, reused service.PutRecordsInput
	if !decodePutRecordsFast([]byte(previousBody), &prev, nil, mem) {
		t.Fatal("the previous request's body is not on the fast path")
	}
	if !decodePutRecordsFast(body, &reused, nil, mem) || !reflect.DeepEqual(reused, slow) {
		t.Fatalf("%q: through reused memory %+v, encoding/json %+v", body, reused, slow)
	}
}

// previousBody is a request whose records leave keys of both kinds in a reused keytext.Memory.
const previousBody = `{"StreamName":"old","Records":[{"Data":"AAAA","PartitionKey":"old1","ExplicitHashKey":"1"},` +
	`{"Data":"AAAA","PartitionKey":"old2","ExplicitHashKey":"2"},{"Data":"AAAA","PartitionKey":"old3"},` +
	`{"Data":"AAAA","PartitionKey":"old4","ExplicitHashKey":"4"}]}`

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
		fast, err := AppendGetRecords(nil, out)
		if err != nil {
			t.Fatal(err)
		}
		slow, _ := json.Marshal(members.Value(out))
		if !bytes.Equal(fast, slow) {
			t.Errorf("fast:\n%s\nencoding/json:\n%s", fast, slow)
		}
		for _, size := range []int{0, 1, 64, 1 << 20} { // WriteGetRecords, in pieces of every size
			var w writes
			if _, err := WriteGetRecords(&w, make([]byte, 0, size), out); err != nil {
				t.Fatal(err)
			}
			if got := bytes.Join(w, nil); !bytes.Equal(got, slow) {
				t.Errorf("WriteGetRecords with a buffer of %d bytes:\n%s\nencoding/json:\n%s", size, got, slow)
			}
			if size == 64 && len(out.Records) > 1 && len(w) < 2 {
				t.Errorf("WriteGetRecords with a buffer of 64 bytes wrote %d pieces", len(w))
			}
		}
	}
}

// writes keeps every Write's bytes, each a copy (the writer reuses its buffer).
type writes [][]byte

func (w *writes) Write(b []byte) (int, error) {
	*w = append(*w, bytes.Clone(b))
	return len(b), nil
}

// TestAppendSubscribeEventMatchesEncodingJSON: the fast SubscribeToShardEvent (and its records, which
// subscriptions share) is what encoding/json writes, down to nil lists, nil data and keys that need
// escaping.
func TestAppendSubscribeEventMatchesEncodingJSON(t *testing.T) {
	cont := "49000000000000000000000000000000000000000000000000000042"
	recs := []service.Record{
		{SequenceNumber: "49000000000000000000000000000000000000000000000000000001", ApproximateArrivalTimestamp: service.Timestamp{Time: time.UnixMilli(1764000000123)},
			Data: []byte{0, 1, 2, 250, 251, 252, 253}, PartitionKey: "plain", EncryptionType: "KMS"},
		{SequenceNumber: "2", ApproximateArrivalTimestamp: service.Timestamp{Time: time.UnixMilli(5)}, Data: []byte{}, PartitionKey: "é <&> \"\\\n\u2028\x01"},
		{SequenceNumber: "3", ApproximateArrivalTimestamp: service.Timestamp{Time: time.UnixMilli(-1500)}, PartitionKey: "nil data"},
	}
	children := []service.ChildShard{{ShardId: "shardId-000000000002", ParentShards: []string{"shardId-000000000000"},
		HashKeyRange: service.HashKeyRange{StartingHashKey: "0", EndingHashKey: "9"}}}
	tests := []struct {
		name string
		ev   service.SubscribeToShardEvent
	}{
		{"heartbeat", service.SubscribeToShardEvent{Records: []service.Record{}, ContinuationSequenceNumber: &cont}},
		{"nil records", service.SubscribeToShardEvent{ContinuationSequenceNumber: &cont}},
		{"records", service.SubscribeToShardEvent{Records: recs, ContinuationSequenceNumber: &cont, MillisBehindLatest: 1234}},
		{"one record", service.SubscribeToShardEvent{Records: recs[:1], ContinuationSequenceNumber: &cont}},
		{"shard end", service.SubscribeToShardEvent{Records: recs[1:], ChildShards: children}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fast, err := AppendSubscribeEvent(nil, &tt.ev)
			if err != nil {
				t.Fatal(err)
			}
			slow, err := json.Marshal(members.Value(&tt.ev))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(fast, slow) {
				t.Errorf("fast:\n%s\nencoding/json:\n%s", fast, slow)
			}
			list, _ := json.Marshal(members.Value(tt.ev.Records))
			if elems := AppendRecords(nil, tt.ev.Records); len(tt.ev.Records) > 0 && "["+string(elems)+"]" != string(list) {
				t.Errorf("records:\n[%s]\nencoding/json:\n%s", elems, list)
			}
		})
	}
}

func TestDecodePutRecordsIntoBuffer(t *testing.T) {
	body := []byte(`{"StreamName":"s","Records":[{"Data":"AAE=","PartitionKey":"k1"},{"Data":"AgME","PartitionKey":"k2"}]}`)
	tests := []struct {
		name   string
		buf    []byte
		inBuf  bool // the data lands in buf
		wantOK bool
	}{
		{"no buffer", nil, false, true},
		{"too small", make([]byte, 0, 4), false, true},
		{"large enough", make([]byte, 3, 1024), true, true}, // its length is ignored
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var in service.PutRecordsInput
			if err := DecodePutRecords(body, &in, tt.buf, nil); err != nil {
				t.Fatal(err)
			}
			if len(in.Records) != 2 || string(in.Records[0].Data) != "\x00\x01" || string(in.Records[1].Data) != "\x02\x03\x04" ||
				*in.Records[0].PartitionKey != "k1" || *in.Records[1].PartitionKey != "k2" {
				t.Fatalf("decoded %+v", in)
			}
			if got := cap(tt.buf) > 0 && &in.Records[0].Data[0] == &tt.buf[:1][0]; got != tt.inBuf {
				t.Errorf("data in the given buffer = %v, want %v", got, tt.inBuf)
			}
			body[0] = ' ' // no string points into the body
			defer func() { body[0] = '{' }()
			if *in.Records[0].PartitionKey != "k1" || *in.StreamName != "s" {
				t.Errorf("a decoded string changed with the body")
			}
		})
	}
}

func TestAppendPutRecordsMatchesEncodingJSON(t *testing.T) {
	outs := []*service.PutRecordsOutput{
		{},
		{Records: []service.PutRecordsResultEntry{}},
		{FailedRecordCount: 1, EncryptionType: "KMS", Records: []service.PutRecordsResultEntry{
			{SequenceNumber: "49000000000000000000000000000000000000000000000000000001", ShardId: "shardId-000000000000"},
			{ErrorCode: "ProvisionedThroughputExceededException", ErrorMessage: "Rate exceeded for shard shardId-000000000001 in stream s under account 000000000000."},
			{},
			{ShardId: "é <&> \"\\\n\u2028"},
		}},
	}
	for _, out := range outs {
		fast := AppendPutRecords([]byte("prefix"), out)
		slow, _ := json.Marshal(out)
		if !bytes.Equal(fast, append([]byte("prefix"), slow...)) {
			t.Errorf("fast:\n%s\nencoding/json:\nprefix%s", fast, slow)
		}
		if n := PutRecordsLen(out); len(slow) > n {
			t.Errorf("PutRecordsLen %d < %d bytes written", n, len(slow))
		}
	}
}

func BenchmarkDecodePutRecords(b *testing.B) {
	body := benchBody()
	b.SetBytes(int64(len(body)))
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			var in service.PutRecordsInput
			if err := DecodePutRecords(body, &in, nil, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("fast-pooled", func(b *testing.B) { // as the server calls it: the data buffer is recycled
		b.ReportAllocs()
		buf := make([]byte, 0, len(body))
		for range b.N {
			var in service.PutRecordsInput
			if err := DecodePutRecords(body, &in, buf, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
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

// TestAppendStringMatchesEncodingJSON: every byte, alone and inside plain text, as encoding/json
// writes it.
func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for c := range 256 {
		for _, s := range []string{string([]byte{byte(c)}), "pk-" + string([]byte{byte(c)}) + "-1", "é" + string([]byte{byte(c)})} {
			want, _ := json.Marshal(s)
			if got := appendString([]byte("x"), s); string(got) != "x"+string(want) {
				t.Errorf("appendString(%q) = %s, want %s", s, got[1:], want)
			}
		}
	}
}
