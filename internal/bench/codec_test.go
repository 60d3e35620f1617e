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
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/kinesistest"
	"kinesisd/internal/protocol/awsjson"
	"kinesisd/internal/service"
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
		data := r.data // the text as sent: decoded as str would
		if bytes.IndexByte(data, '\\') >= 0 {
			var ok bool
			if data, ok = unescape(data); !ok {
				return out, errSyntax
			}
		}
		out.Records = append(out.Records, struct{ SequenceNumber, Data, PartitionKey string }{string(r.seq), string(data), string(r.key)})
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
	`{"Records":[{"SequenceNumber":"3","ApproximateArrivalTimestamp":1700000000.123,"Data":"\/\/8=","PartitionKey":"k"},` +
		`{"SequenceNumber":"4","ApproximateArrivalTimestamp":1700000000.124,"Data":"\u0059Q==","PartitionKey":"k\"\\"},` +
		`{"SequenceNumber":"5","ApproximateArrivalTimestamp":1700000000.125,"Data":"YQ==","PartitionKey":"k"}],"NextShardIterator":"i","MillisBehindLatest":0}`,
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
// besides the network: parse, hash each record's base64, parse its sequence number. Its body is
// encoding/json's, without timestamps, read by key (object); BenchmarkReadBackResponse has the
// kinesisd server's, and the whole check.
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

// strTwoPass is str as it was before rawStr: an IndexByte for the closing quote and another for a
// backslash before it, kept to hold the new one to.
func (s *scanner) strTwoPass() []byte {
	if s.peek() != '"' {
		s.fail()
		return nil
	}
	start := s.i + 1
	if end := bytes.IndexByte(s.b[start:], '"'); end >= 0 && bytes.IndexByte(s.b[start:start+end], '\\') < 0 {
		s.i = start + end + 1
		return s.b[start : start+end]
	}
	for j := start; j < len(s.b); j++ {
		switch s.b[j] {
		case '\\':
			j++
		case '"':
			s.i = j + 1
			var v string
			if json.Unmarshal(s.b[start-1:j+1], &v) != nil {
				s.fail()
				return nil
			}
			return []byte(v)
		}
	}
	s.fail()
	return nil
}

// sameStr fails t unless str and strTwoPass read the same from body: value, position and error.
func sameStr(t *testing.T, body []byte) {
	t.Helper()
	s, old := &scanner{b: body}, &scanner{b: body}
	got, want := s.str(), old.strTwoPass()
	if !bytes.Equal(got, want) || (got == nil) != (want == nil) || s.i != old.i || s.err != old.err {
		t.Fatalf("%q: str %q at %d, %v; strTwoPass %q at %d, %v", body, got, s.i, s.err, want, old.i, old.err)
	}
}

var strBodies = []string{
	`""`, `"abc"`, ` "abc" ,`, `"YWJj+/=="`, `"\/"`, `"\u0041"`, `"a\"b"`, `"a\\"`, `"a\\\\"`, `"a\\\""`,
	`"\\"x"`, `"\""`, `"\\\\\\"`, `"a\ud83d\ude00b"`, `"\u00e9\n\t"`, `"\x"`, `"\u12"`, `"abc`, `"abc\"`,
	`"ab\`, `"`, ``, `x`, `null`, "\"a\x01b\"", "\"\xff\xfe\"", "\"\\u00e9\xff\"", `"a\/b"rest"`,
}

func TestStrAgreesWithTwoPass(t *testing.T) {
	for _, body := range strBodies {
		sameStr(t, []byte(body))
	}
}

func TestRawStr(t *testing.T) {
	tests := []struct {
		body, raw string
		next      int // s.i after
	}{
		{`""`, ``, 2},
		{`"abc",`, `abc`, 5},
		{` "\/\u0041" `, `\/\u0041`, 11},
		{`"a\"b"`, `a\"b`, 6},
		{`"a\\"b"`, `a\\`, 5},
		{`"a\\\"b"`, `a\\\"b`, 8},
		{`"\x"`, `\x`, 4}, // not decoded, so not checked: dataText keeps it
	}
	for _, tt := range tests {
		s := &scanner{b: []byte(tt.body)}
		if got := s.rawStr(); string(got) != tt.raw || s.i != tt.next || s.err != nil {
			t.Errorf("rawStr(%s) = %q at %d, %v; want %q at %d", tt.body, got, s.i, s.err, tt.raw, tt.next)
		}
	}
	for _, bad := range []string{`"abc`, `"abc\"`, `x`, ``} {
		s := &scanner{b: []byte(bad)}
		if got := s.rawStr(); got != nil || s.err == nil {
			t.Errorf("rawStr(%s) = %q, %v; want an error", bad, got, s.err)
		}
	}
}

func TestDataText(t *testing.T) {
	tests := []struct{ raw, want string }{
		{`YWJj`, `YWJj`},
		{`\/\/8=`, `//8=`},
		{`\u0059WJj`, `YWJj`},
		{`YW\r\nJj`, "YW\r\nJj"},
		{`YW\x`, `YW\x`}, // not JSON: kept, and with its backslash it is not base64
		{`\u00e9`, "\u00e9"},
	}
	for _, tt := range tests {
		if got := dataText([]byte(tt.raw)); string(got) != tt.want {
			t.Errorf("dataText(%s) = %q, want %q", tt.raw, got, tt.want)
		}
	}
}

// FuzzStr holds str to strTwoPass on any input.
func FuzzStr(f *testing.F) {
	for _, body := range strBodies {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		sameStr(t, body)
	})
}

// recordsByKey is records without plainRecord: every record read by object.
func (s *scanner) recordsByKey(dst []getRecord) []getRecord {
	s.array(func() {
		var r getRecord
		s.recordByKey(&r)
		dst = append(dst, r)
	})
	return dst
}

// sameRecords fails t unless records and recordsByKey read the same from body.
func sameRecords(t *testing.T, body []byte) {
	t.Helper()
	s, old := &scanner{b: body}, &scanner{b: body}
	got, want := s.records(nil), old.recordsByKey(nil)
	same := len(got) == len(want) && s.i == old.i && s.err == old.err
	for i := 0; same && i < len(got); i++ {
		g, w := got[i], want[i]
		for _, f := range [][2][]byte{{g.seq, w.seq}, {g.data, w.data}, {g.key, w.key}} {
			same = same && bytes.Equal(f[0], f[1]) && (f[0] == nil) == (f[1] == nil)
		}
	}
	if !same {
		t.Fatalf("%q:\nrecords      %q at %d, %v\nrecordsByKey %q at %d, %v", body, got, s.i, s.err, want, old.i, old.err)
	}
}

// kinesisdRecords is a records array as the kinesisd server writes it.
func kinesisdRecords(recs ...service.Record) []byte {
	return append(awsjson.AppendRecords([]byte("["), recs), ']')
}

var recordBodies = []string{
	`[{"SequenceNumber":"1","ApproximateArrivalTimestamp":1.7E9,"Data":"YQ==","PartitionKey":"k"}]`,
	`[{"SequenceNumber":"1","ApproximateArrivalTimestamp":1700000000.123,"Data":"","PartitionKey":""}, {"SequenceNumber":"2","ApproximateArrivalTimestamp":1,"Data":"\/\/8=","PartitionKey":"k"}]`,
	`[ {"SequenceNumber":"1","ApproximateArrivalTimestamp":1,"Data":"YQ==","PartitionKey":"k","EncryptionType":"KMS"}]`,
	`[{"SequenceNumber":"\u0031","ApproximateArrivalTimestamp":1,"Data":"YQ==","PartitionKey":"k"}]`,
	`[{"SequenceNumber":"1","ApproximateArrivalTimestamp":1,"Data":"YQ==","PartitionKey":"\"k\\"}]`,
	`[{"SequenceNumber":"1","ApproximateArrivalTimestamp":1,"Data":"a\"b","PartitionKey":"k"}]`,
	`[{"SequenceNumber":"1","ApproximateArrivalTimestamp":1,"Data":"a\\","PartitionKey":"k"}]`,
	`[{"SequenceNumber":"1","ApproximateArrivalTimestamp":1,"Data":null,"PartitionKey":"k"}]`,
	`[{"SequenceNumber":"1","ApproximateArrivalTimestamp":"x","Data":"YQ==","PartitionKey":"k"}]`,
	`[{"SequenceNumber":"1","ApproximateArrivalTimestamp": 1,"Data":"YQ==","PartitionKey":"k"}]`,
	`[{"SequenceNumber":"1","ApproximateArrivalTimestamp":,"Data":"YQ==","PartitionKey":"k"}]`,
	`[{"SequenceNumber":"1","ApproximateArrivalTimestamp":1,"Data":"YQ==","PartitionKey":"k"`,
	`[{"SequenceNumber":"1","ApproximateArrivalTimestamp":1,"Data":"YQ==","PartitionKey":"k"},{"Data":"Yg==","SequenceNumber":"2"}]`,
	`[{"SequenceNumber":"1","ApproximateArrivalTimestamp":1,"Data":"YQ==","PartitionKey":"k","Data":"Yg=="}]`,
	`[{"SequenceNumber":"1","ApproximateArrivalTimestamp":1,"Data":"YQ==`,
	`[{"SequenceNumber":"1`,
	`[{"SequenceNumber":"1","ApproximateArrivalTimestamp":1,"Data":"YQ==","PartitionKey":"k"}`,
}

func TestRecordsAgreeWithByKey(t *testing.T) {
	for _, body := range recordBodies {
		sameRecords(t, []byte(body))
	}
	// What the kinesisd server writes takes plainRecord, whatever the data, keys and timestamps;
	// what it escapes (a key's quote, backslash, control character or HTML character) or adds
	// (EncryptionType) takes object.
	now := time.Unix(1_700_000_000, 5_000_000)
	for _, tt := range []struct {
		rec   service.Record
		plain bool
	}{
		{service.Record{SequenceNumber: "49590338271490256608559692538361571095921575989136588898", Data: []byte("hello"), PartitionKey: "0123456789abcdef"}, true},
		{service.Record{SequenceNumber: "1", Data: []byte{}, PartitionKey: "", ApproximateArrivalTimestamp: service.Timestamp{Time: now}}, true},
		{service.Record{SequenceNumber: "2", Data: bytes.Repeat([]byte{0xfb, 0xff}, 100), PartitionKey: "k\u00e9"}, true},
		{service.Record{SequenceNumber: "3", Data: []byte("x"), PartitionKey: `a"b\c`}, false},
		{service.Record{SequenceNumber: "4", Data: []byte("x"), PartitionKey: "<&>\x01"}, false},
		{service.Record{SequenceNumber: "5", Data: []byte("x"), PartitionKey: "k", EncryptionType: "KMS"}, false},
		{service.Record{SequenceNumber: "6", Data: nil, PartitionKey: "k"}, false},
	} {
		body := kinesisdRecords(tt.rec)
		sameRecords(t, body)
		s := &scanner{b: body[1:]}
		var r getRecord
		if got := s.plainRecord(&r); got != tt.plain {
			t.Errorf("%s: plainRecord %v, want %v", body, got, tt.plain)
		} else if got && (string(r.seq) != tt.rec.SequenceNumber || string(r.data) != base64.StdEncoding.EncodeToString(tt.rec.Data) ||
			string(r.key) != tt.rec.PartitionKey || s.i != len(body)-2) {
			t.Errorf("%s: plainRecord read %q %q %q to %d", body, r.seq, r.data, r.key, s.i)
		} else if !got && s.i != 0 {
			t.Errorf("%s: plainRecord declined the record after reading to %d", body, s.i)
		}
	}
}

// FuzzRecords holds records to recordsByKey on any input.
func FuzzRecords(f *testing.F) {
	for _, body := range recordBodies {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		sameRecords(t, body)
	})
}
