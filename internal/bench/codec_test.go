package bench

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/kinesistest"
)

// putRecordsJSON is the PutRecords body as encoding/json writes and reads it.
type putRecordsJSON struct {
	StreamName string
	Records    []struct {
		Data         []byte
		PartitionKey string
	}
}

func TestPutBodyIsWhatEncodingJSONWrites(t *testing.T) {
	seed := maphash.MakeSeed()
	for _, size := range []int{0, 1, 2, 11, 12, 13, 14, 100, 1024} {
		t.Run(fmt.Sprintf("size %d", size), func(t *testing.T) {
			var data [][]byte
			var keys []string
			for i := range 3 {
				d := bytes.Repeat([]byte{byte(i + 1)}, size)
				data, keys = append(data, d), append(keys, fmt.Sprintf("%016x", i))
			}
			b := newPutBody(`a "quoted" stream\`, data, keys)
			seen := map[string]bool{}
			for request := range uint32(3) {
				b.stamp(seed, 7, request)
				var want putRecordsJSON
				want.StreamName = `a "quoted" stream\`
				for i := range data {
					want.Records = append(want.Records, struct {
						Data         []byte
						PartitionKey string
					}{data[i], keys[i]})
					if h := hashData(seed, base64.StdEncoding.AppendEncode(nil, data[i])); b.hashes[i] != h {
						t.Errorf("request %d record %d: hash %x, want %x", request, i, b.hashes[i], h)
					}
					if size >= stampLen {
						if seen[string(data[i])] {
							t.Errorf("request %d record %d: data repeats an earlier record's", request, i)
						}
						seen[string(data[i])] = true
					}
				}
				wantBody, err := json.Marshal(want)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(b.buf, wantBody) {
					t.Errorf("request %d:\nbody          %s\nencoding/json %s", request, b.buf, wantBody)
				}
				var got putRecordsJSON
				if err := json.Unmarshal(b.buf, &got); err != nil || !reflect.DeepEqual(got, want) {
					t.Errorf("request %d: body reads back as %+v, %v; want %+v", request, got, err, want)
				}
			}
		})
	}
}

// getRecordsJSON is the part of a GetRecords response the bench reads, as encoding/json reads it.
type getRecordsJSON struct {
	Records []struct {
		SequenceNumber, Data, PartitionKey string
	}
	NextShardIterator  *string
	MillisBehindLatest *float64
}

// viaScanner is parseGetRecords's reading in getRecordsJSON's shape.
func viaScanner(body []byte) (getRecordsJSON, error) {
	var res getResult
	var out getRecordsJSON
	if err := parseGetRecords(body, &res); err != nil {
		return out, err
	}
	for _, r := range res.records {
		out.Records = append(out.Records, struct{ SequenceNumber, Data, PartitionKey string }{string(r.seq), string(r.data), string(r.key)})
	}
	if res.next != nil {
		out.NextShardIterator = aws.String(string(res.next))
	}
	if res.hasBehind {
		out.MillisBehindLatest = aws.Float64(res.behind)
	}
	return out, nil
}

var getRecordsBodies = []string{
	`{"Records":[],"NextShardIterator":"AAA=","MillisBehindLatest":0}`,
	`{"Records":[{"SequenceNumber":"49590338271490256608559692538361571095921575989136588898","ApproximateArrivalTimestamp":1.700000000123E9,` +
		`"Data":"aGVsbG8=","PartitionKey":"k","EncryptionType":null}],"NextShardIterator":"it/+=","MillisBehindLatest":12,"ChildShards":[]}`,
	"  {\n \"MillisBehindLatest\" : 3.5 , \"Records\" : [ { \"Data\" : \"\" , \"PartitionKey\" : \"a\\u00e9\\\"b\" , \"SequenceNumber\" : \"1\" } ] } \n",
	`{"Records":[{"Data":"YQ==","PartitionKey":"\/","SequenceNumber":"2","X":{"a":[1,true,false,null,{"b":"c\\\""}]}}],"NextShardIterator":null}`,
	`{"ChildShards":[{"ShardId":"shardId-1","ParentShards":["shardId-0"],"HashKeyRange":{"StartingHashKey":"0","EndingHashKey":"9"}}],"Records":[]}`,
}

func TestParseGetRecordsAgreesWithEncodingJSON(t *testing.T) {
	for _, body := range getRecordsBodies {
		var want getRecordsJSON
		if err := json.Unmarshal([]byte(body), &want); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if len(want.Records) == 0 {
			want.Records = nil // the scanner does not tell [] from no member
		}
		got, err := viaScanner([]byte(body))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\nscanner       %+v, %v\nencoding/json %+v", body, got, err, want)
		}
	}
	for _, bad := range []string{``, `{`, `{"Records":[{]}`, `{"Records":"x"}`, `{"Records":[]} x`, `{"Records":[{"Data":"abc`, `{"MillisBehindLatest":"1"}`, `[]`} {
		if _, err := viaScanner([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestParseRealResponses(t *testing.T) {
	s := kinesistest.Start(t, kinesistest.Engines[1], kinesistest.Options{})
	ctx := t.Context()
	makeStream(t, s.Client, "codec", 2)
	opts, err := parseFlags([]string{"-endpoint", s.Endpoint})
	if err != nil {
		t.Fatal(err)
	}
	w := newWire(opts, credentialsFrom(noEnv))
	defer w.close()

	// PutRecords through the own codec, against what encoding/json reads of the same response.
	data := [][]byte{[]byte("hello"), {}, bytes.Repeat([]byte{0xff}, 300)}
	b := newPutBody("codec", data, []string{"a", "b", "c"})
	b.stamp(maphash.MakeSeed(), 1, 1)
	body, err := w.post(ctx, "PutRecords", b.buf)
	if err != nil {
		t.Fatal(err)
	}
	var want struct {
		Records []struct{ SequenceNumber, ShardId, ErrorCode, ErrorMessage string }
	}
	if err := json.Unmarshal(body, &want); err != nil {
		t.Fatal(err)
	}
	results, err := parsePutRecords(body, nil)
	if err != nil || len(results) != len(data) {
		t.Fatalf("parsePutRecords(%s) = %d results, %v", body, len(results), err)
	}
	for i, r := range results {
		w := want.Records[i]
		if string(r.seq) != w.SequenceNumber || string(r.shard) != w.ShardId || string(r.code) != w.ErrorCode || string(r.msg) != w.ErrorMessage {
			t.Errorf("result %d = %q %q %q %q, want %+v", i, r.seq, r.shard, r.code, r.msg, w)
		}
	}

	// GetRecords through the own codec, against what the SDK reads with the same iterator.
	it, err := s.Client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
		StreamName: aws.String("codec"), ShardId: aws.String(want.Records[0].ShardId), ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
	})
	if err != nil {
		t.Fatal(err)
	}
	sdk, err := s.Client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := json.Marshal(map[string]string{"ShardIterator": aws.ToString(it.ShardIterator)})
	body, err = w.post(ctx, "GetRecords", req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := viaScanner(body)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Records) == 0 || len(got.Records) != len(sdk.Records) {
		t.Fatalf("%d records, the SDK read %d", len(got.Records), len(sdk.Records))
	}
	for i, r := range got.Records {
		sr := sdk.Records[i]
		if r.SequenceNumber != aws.ToString(sr.SequenceNumber) || r.PartitionKey != aws.ToString(sr.PartitionKey) ||
			r.Data != base64.StdEncoding.EncodeToString(sr.Data) {
			t.Errorf("record %d = %+v, the SDK read %s %s %x", i, r, aws.ToString(sr.SequenceNumber), aws.ToString(sr.PartitionKey), sr.Data)
		}
	}
	if got.NextShardIterator == nil || got.MillisBehindLatest == nil || *got.MillisBehindLatest != float64(aws.ToInt64(sdk.MillisBehindLatest)) {
		t.Errorf("next iterator %v, millis behind %v; the SDK read %v", got.NextShardIterator, got.MillisBehindLatest, sdk.MillisBehindLatest)
	}

	// An error response: its code and message.
	_, err = w.post(ctx, "GetRecords", []byte(`{"ShardIterator":"nonsense"}`))
	if code, msg := classify(err); code != "InvalidArgumentException" || msg == "" {
		t.Errorf("GetRecords with a bad iterator: %v, classified %q %q", err, code, msg)
	}
}

func TestParseError(t *testing.T) {
	tests := []struct {
		header, body    string
		wantCode, wantM string
	}{
		{"", `{"__type":"ResourceNotFoundException","message":"gone"}`, "ResourceNotFoundException", "gone"},
		{"", `{"__type":"com.amazonaws.kinesis#InvalidArgumentException","Message":"bad"}`, "InvalidArgumentException", "bad"},
		{"ValidationException:http://internal.amazon.com/coral/com.amazon.coral.validate/", `{"message":"1 validation error"}`, "ValidationException", "1 validation error"},
		{"ThrottlingException", `not json`, "ThrottlingException", ""},
		{"", `{"code":"AccessDenied","message":null}`, "AccessDenied", ""},
		{"", ``, "", ""},
	}
	for _, tt := range tests {
		code, msg := parseError(tt.header, []byte(tt.body))
		if code != tt.wantCode || msg != tt.wantM {
			t.Errorf("parseError(%q, %q) = %q, %q; want %q, %q", tt.header, tt.body, code, msg, tt.wantCode, tt.wantM)
		}
	}
}

// FuzzGetRecordsRoundTrip holds the scanner to encoding/json on the responses encoding/json writes,
// and to not panicking on any body.
func FuzzGetRecordsRoundTrip(f *testing.F) {
	for _, body := range getRecordsBodies {
		f.Add([]byte(body), "49590338271490256608559692538361571095921575989136588898", "k\u00e9\"", []byte("data"), "it")
	}
	f.Fuzz(func(t *testing.T, body []byte, seq, key string, data []byte, next string) {
		viaScanner(body)
		parsePutRecords(body, nil)
		parseError("", body)

		var in getRecordsJSON
		in.Records = append(in.Records, struct{ SequenceNumber, Data, PartitionKey string }{seq, base64.StdEncoding.EncodeToString(data), key})
		in.NextShardIterator = &next
		in.MillisBehindLatest = aws.Float64(float64(len(data)))
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		var want getRecordsJSON
		if err := json.Unmarshal(b, &want); err != nil { // invalid UTF-8 reads back as U+FFFD
			t.Fatal(err)
		}
		got, err := viaScanner(b)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\nscanner       %+v, %v\nencoding/json %+v", b, got, err, want)
		}
	})
}

func TestParsePutRecordsAgreesWithEncodingJSON(t *testing.T) {
	bodies := []string{
		`{"FailedRecordCount":0,"Records":[{"SequenceNumber":"1","ShardId":"shardId-000000000000"}],"EncryptionType":"NONE"}`,
		`{"FailedRecordCount":1,"Records":[{"ErrorCode":"ProvisionedThroughputExceededException","ErrorMessage":"Rate exceeded for \"s\""},` +
			`{"SequenceNumber":"2","ShardId":"shardId-000000000001"}]}`,
		`{"Records":[{"SequenceNumber":null,"ShardId":null,"ErrorCode":"InternalFailure","ErrorMessage":null}]}`,
	}
	for _, body := range bodies {
		var want struct {
			Records []struct{ SequenceNumber, ShardId, ErrorCode, ErrorMessage string }
		}
		if err := json.Unmarshal([]byte(body), &want); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		results, err := parsePutRecords([]byte(body), nil)
		if err != nil || len(results) != len(want.Records) {
			t.Fatalf("%s: %d results, %v", body, len(results), err)
		}
		for i, r := range results {
			w := want.Records[i]
			if string(r.seq) != w.SequenceNumber || string(r.shard) != w.ShardId || string(r.code) != w.ErrorCode || string(r.msg) != w.ErrorMessage {
				t.Errorf("%s: result %d = %q %q %q %q, want %+v", body, i, r.seq, r.shard, r.code, r.msg, w)
			}
		}
	}
}

// BenchmarkPutRecordsRequest is the client's work per PutRecords request of 500 × 1 KiB besides the
// network: stamp the records, hash them, and hash the body for the signature.
func BenchmarkPutRecordsRequest(b *testing.B) {
	data := make([][]byte, 500)
	keys := make([]string, 500)
	for i := range data {
		data[i], keys[i] = make([]byte, 1024), fmt.Sprintf("%016x", i)
	}
	body := newPutBody("bench", data, keys)
	seed := maphash.MakeSeed()
	b.SetBytes(int64(len(body.buf)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		body.stamp(seed, 1, uint32(i))
		_ = sha256.Sum256(body.buf)
	}
}

// BenchmarkGetRecordsResponse is the read-back's work per GetRecords response of 10,000 × 1 KiB
// besides the network: parse, hash each record's base64, parse its sequence number.
func BenchmarkGetRecordsResponse(b *testing.B) {
	var in getRecordsJSON
	for i := range 10000 {
		in.Records = append(in.Records, struct{ SequenceNumber, Data, PartitionKey string }{
			fmt.Sprintf("4959%052d", i), base64.StdEncoding.EncodeToString(make([]byte, 1024)), fmt.Sprintf("%016x", i)})
	}
	in.NextShardIterator = aws.String("AAAAAAAAAAE=")
	body, err := json.Marshal(in)
	if err != nil {
		b.Fatal(err)
	}
	seed := maphash.MakeSeed()
	var res getResult
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := parseGetRecords(body, &res); err != nil {
			b.Fatal(err)
		}
		for _, r := range res.records {
			hashData(seed, r.data)
			parseSeq(r.seq)
			decodedLen(r.data)
		}
	}
}

func TestReadBody(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789"), 10_000)
	for _, length := range []int64{int64(len(body)), -1} {
		got, err := readBody(bytes.NewReader(body), length, make([]byte, 5, 10))
		if err != nil || !bytes.Equal(got, body) {
			t.Errorf("length %d: %d bytes, %v; want the %d bytes", length, len(got), err, len(body))
		}
	}
	if _, err := readBody(bytes.NewReader(body[:10]), 20, nil); err == nil {
		t.Error("a body shorter than its Content-Length: no error")
	}
}
