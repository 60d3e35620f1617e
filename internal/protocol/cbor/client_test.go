package cbor_test

import (
	"bytes"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

	"kinesisd/internal/clock"
	"kinesisd/internal/kinesistest"
)

type shardList struct {
	Shards []struct {
		ShardId      string
		HashKeyRange struct{ StartingHashKey, EndingHashKey string }
	}
}

type recordsOut struct {
	Records []struct {
		SequenceNumber              string
		ApproximateArrivalTimestamp javaTime
		Data                        []byte // a text string here fails to decode: blobs must be byte strings
		PartitionKey                string
	}
	NextShardIterator  *string
	MillisBehindLatest *int64
}

type consumerOut struct {
	ConsumerName, ConsumerARN, ConsumerStatus string
	ConsumerCreationTimestamp                 javaTime
}

// start starts a server on the in-memory engine with its clock at the fixtures' time.
func start(t *testing.T) (*kinesistest.Server, *clock.Fake, *javaClient) {
	clk := clock.NewFake(time.UnixMilli(fixtureMS))
	s := kinesistest.Start(t, kinesistest.Engines[1], kinesistest.Options{Clock: clk})
	return s, clk, newJavaClient(s.Endpoint)
}

// ok calls op and reads its reply into out; a nil out wants the empty reply of an operation without
// output. Refusals for read throughput move the fake clock on a second and try again.
func ok(t *testing.T, c *javaClient, clk *clock.Fake, op string, in obj, out any) {
	t.Helper()
	r := c.call(t, op, in)
	for i := 0; i < 30 && r.header.Get("X-Amzn-ErrorType") == "ProvisionedThroughputExceededException"; i++ {
		clk.Advance(time.Second)
		r = c.call(t, op, in)
	}
	if out == nil {
		if r.status != http.StatusOK || len(r.body) != 0 {
			t.Fatalf("%s: %d %s", op, r.status, diag(r.body))
		}
		return
	}
	r.decode(t, out)
}

// TestEveryOperationOverCBOR drives every registered operation as the Java SDK does, and reads the
// replies as it does: timestamps tag 1 + milliseconds of the service clock, blobs byte strings.
func TestEveryOperationOverCBOR(t *testing.T) {
	s, clk, c := start(t)
	t0 := clk.Now()

	ok(t, c, clk, "CreateStream", obj{{"StreamName", "java"}, {"ShardCount", 2}}, nil)

	var sum struct {
		StreamDescriptionSummary struct {
			StreamName, StreamARN, StreamStatus  string
			OpenShardCount, RetentionPeriodHours int
			StreamCreationTimestamp              javaTime
		}
	}
	ok(t, c, clk, "DescribeStreamSummary", obj{{"StreamName", "java"}}, &sum)
	d := sum.StreamDescriptionSummary
	if d.StreamName != "java" || d.StreamStatus != "ACTIVE" || d.OpenShardCount != 2 || d.RetentionPeriodHours != 24 || !d.StreamCreationTimestamp.Time().Equal(t0) {
		t.Errorf("DescribeStreamSummary: %+v (created %v, want %v)", d, d.StreamCreationTimestamp.Time(), t0)
	}
	arn := d.StreamARN

	var desc struct {
		StreamDescription struct {
			shardList
			HasMoreShards           bool
			StreamCreationTimestamp javaTime
		}
	}
	ok(t, c, clk, "DescribeStream", obj{{"StreamARN", arn}}, &desc)
	if sh := desc.StreamDescription.Shards; len(sh) != 2 || sh[1].HashKeyRange.EndingHashKey != "340282366920938463463374607431768211455" ||
		!desc.StreamDescription.StreamCreationTimestamp.Time().Equal(t0) {
		t.Errorf("DescribeStream: %+v", desc)
	}

	var streams struct {
		StreamNames     []string
		HasMoreStreams  bool
		StreamSummaries []struct {
			StreamName              string
			StreamCreationTimestamp javaTime
		}
	}
	ok(t, c, clk, "ListStreams", obj{{"Limit", 10}}, &streams)
	if len(streams.StreamNames) != 1 || streams.StreamSummaries[0].StreamName != "java" || !streams.StreamSummaries[0].StreamCreationTimestamp.Time().Equal(t0) {
		t.Errorf("ListStreams: %+v", streams)
	}

	var shards shardList
	ok(t, c, clk, "ListShards", obj{{"StreamName", "java"}, {"ShardFilter", obj{{"Type", "AT_TIMESTAMP"}, {"Timestamp", t0}}}}, &shards)
	if len(shards.Shards) != 2 || shards.Shards[0].ShardId != "shardId-000000000000" {
		t.Errorf("ListShards: %+v", shards)
	}

	// Records one millisecond apart, all on shard 0: AT_TIMESTAMP tells milliseconds from seconds.
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	clk.Advance(time.Second)
	t1 := clk.Now()
	var put struct{ ShardId, SequenceNumber string }
	ok(t, c, clk, "PutRecord", obj{{"StreamName", "java"}, {"Data", all}, {"PartitionKey", "a"}, {"ExplicitHashKey", "0"}}, &put)
	if put.ShardId != "shardId-000000000000" || !seqShape.MatchString(put.SequenceNumber) {
		t.Errorf("PutRecord: %+v", put)
	}
	clk.Advance(time.Millisecond)
	t2 := clk.Now()
	var puts struct {
		FailedRecordCount int
		Records           []struct{ ShardId, SequenceNumber string }
	}
	ok(t, c, clk, "PutRecords", obj{{"Records", list{
		obj{{"Data", []byte("b")}, {"ExplicitHashKey", "0"}, {"PartitionKey", "b"}},
		obj{{"Data", []byte{}}, {"ExplicitHashKey", "0"}, {"PartitionKey", "c"}},
	}}, {"StreamName", "java"}}, &puts)
	if puts.FailedRecordCount != 0 || len(puts.Records) != 2 || puts.Records[1].SequenceNumber <= puts.Records[0].SequenceNumber {
		t.Errorf("PutRecords: %+v", puts)
	}

	read := func(position obj) recordsOut {
		t.Helper()
		var it struct{ ShardIterator string }
		ok(t, c, clk, "GetShardIterator", append(obj{{"StreamName", "java"}, {"ShardId", "shardId-000000000000"}}, position...), &it)
		var out recordsOut
		ok(t, c, clk, "GetRecords", obj{{"ShardIterator", it.ShardIterator}, {"Limit", 100}}, &out)
		return out
	}
	got := read(obj{{"ShardIteratorType", "TRIM_HORIZON"}})
	if len(got.Records) != 3 || got.NextShardIterator == nil || got.MillisBehindLatest == nil {
		t.Fatalf("GetRecords from TRIM_HORIZON: %+v", got)
	}
	for i, want := range []struct {
		data []byte
		at   time.Time
		seq  string
	}{{all, t1, put.SequenceNumber}, {[]byte("b"), t2, puts.Records[0].SequenceNumber}, {[]byte{}, t2, puts.Records[1].SequenceNumber}} {
		r := got.Records[i]
		if !bytes.Equal(r.Data, want.data) || r.Data == nil || !r.ApproximateArrivalTimestamp.Time().Equal(want.at) || r.SequenceNumber != want.seq {
			t.Errorf("record %d: % x at %v seq %s, want % x at %v seq %s", i, r.Data, r.ApproximateArrivalTimestamp.Time(), r.SequenceNumber, want.data, want.at, want.seq)
		}
	}
	for _, at := range []any{t2, floatMillis(t2.UnixMilli())} {
		if got := read(obj{{"ShardIteratorType", "AT_TIMESTAMP"}, {"Timestamp", at}}); len(got.Records) != 2 || string(got.Records[0].Data) != "b" {
			t.Errorf("AT_TIMESTAMP %v: %+v", at, got.Records)
		}
	}
	if got := read(obj{{"ShardIteratorType", "AT_SEQUENCE_NUMBER"}, {"StartingSequenceNumber", puts.Records[1].SequenceNumber}}); len(got.Records) != 1 {
		t.Errorf("AT_SEQUENCE_NUMBER: %+v", got)
	}
	if got := read(obj{{"ShardIteratorType", "LATEST"}}); len(got.Records) != 0 || got.NextShardIterator == nil {
		t.Errorf("LATEST: %+v", got)
	}

	var reg struct{ Consumer consumerOut }
	ok(t, c, clk, "RegisterStreamConsumer", obj{{"StreamARN", arn}, {"ConsumerName", "kcl"}}, &reg)
	if reg.Consumer.ConsumerName != "kcl" || !reg.Consumer.ConsumerCreationTimestamp.Time().Equal(clk.Now().Truncate(time.Second)) &&
		!reg.Consumer.ConsumerCreationTimestamp.Time().Equal(clk.Now()) {
		t.Errorf("RegisterStreamConsumer: %+v at %v", reg, reg.Consumer.ConsumerCreationTimestamp.Time())
	}
	var dc struct {
		ConsumerDescription struct {
			consumerOut
			StreamARN string
		}
	}
	ok(t, c, clk, "DescribeStreamConsumer", obj{{"StreamARN", arn}, {"ConsumerName", "kcl"}}, &dc)
	if dc.ConsumerDescription.ConsumerARN != reg.Consumer.ConsumerARN || dc.ConsumerDescription.StreamARN != arn ||
		dc.ConsumerDescription.ConsumerCreationTimestamp != reg.Consumer.ConsumerCreationTimestamp {
		t.Errorf("DescribeStreamConsumer: %+v", dc)
	}
	var lc struct{ Consumers []consumerOut }
	ok(t, c, clk, "ListStreamConsumers", obj{{"StreamARN", arn}, {"StreamCreationTimestamp", t0}}, &lc)
	if len(lc.Consumers) != 1 || lc.Consumers[0].ConsumerARN != reg.Consumer.ConsumerARN {
		t.Errorf("ListStreamConsumers: %+v", lc)
	}
	ok(t, c, clk, "DeregisterStreamConsumer", obj{{"ConsumerARN", reg.Consumer.ConsumerARN}}, nil)
	ok(t, c, clk, "RegisterStreamConsumer", obj{{"StreamARN", arn}, {"ConsumerName", "again"}}, &reg)

	ok(t, c, clk, "DeleteStream", obj{{"StreamName", "java"}, {"EnforceConsumerDeletion", true}}, nil)
	_, jerr := s.Client.DescribeStreamSummary(t.Context(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("java")})
	var rnf *types.ResourceNotFoundException
	if !errors.As(jerr, &rnf) {
		t.Errorf("after DeleteStream: %v", jerr)
	}
}

// TestErrorsOverCBOR: errors are CBOR maps with the text JSON clients get, and a body that does not
// decode is a SerializationException that changes nothing.
func TestErrorsOverCBOR(t *testing.T) {
	s, clk, c := start(t)
	ok(t, c, clk, "CreateStream", obj{{"StreamName", "s"}, {"ShardCount", 1}}, nil)

	// The same mistakes through the JSON SDK and as CBOR: the same code, status and message.
	tests := []struct {
		name string
		op   string
		in   obj
		json func() error
	}{
		{"not found", "DescribeStreamSummary", obj{{"StreamName", "nope"}}, func() error {
			_, err := s.Client.DescribeStreamSummary(t.Context(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("nope")})
			return err
		}},
		{"validation", "CreateStream", obj{{"StreamName", "bad name!"}, {"ShardCount", 0}}, func() error {
			_, err := s.Client.CreateStream(t.Context(), &kinesis.CreateStreamInput{StreamName: aws.String("bad name!"), ShardCount: aws.Int32(0)})
			return err
		}},
		{"in use", "CreateStream", obj{{"StreamName", "s"}, {"ShardCount", 1}}, func() error {
			_, err := s.Client.CreateStream(t.Context(), &kinesis.CreateStreamInput{StreamName: aws.String("s"), ShardCount: aws.Int32(1)})
			return err
		}},
		{"timestamp in the future", "GetShardIterator", obj{{"StreamName", "s"}, {"ShardId", "shardId-000000000000"},
			{"ShardIteratorType", "AT_TIMESTAMP"}, {"Timestamp", clk.Now().Add(time.Hour)}}, func() error {
			_, err := s.Client.GetShardIterator(t.Context(), &kinesis.GetShardIteratorInput{StreamName: aws.String("s"), ShardId: aws.String("shardId-000000000000"),
				ShardIteratorType: types.ShardIteratorTypeAtTimestamp, Timestamp: aws.Time(clk.Now().Add(time.Hour))})
			return err
		}},
		{"bad iterator", "GetRecords", obj{{"ShardIterator", "AAAAAAAAAAE="}}, func() error {
			_, err := s.Client.GetRecords(t.Context(), &kinesis.GetRecordsInput{ShardIterator: aws.String("AAAAAAAAAAE=")})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ae smithy.APIError
			if err := tt.json(); !errors.As(err, &ae) {
				t.Fatalf("JSON: %v", err)
			}
			c.call(t, tt.op, tt.in).wantError(t, ae.ErrorCode(), http.StatusBadRequest, ae.ErrorMessage())
		})
	}

	records := func() int {
		out, err := s.Client.GetShardIterator(t.Context(), &kinesis.GetShardIteratorInput{StreamName: aws.String("s"),
			ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Client.GetRecords(t.Context(), &kinesis.GetRecordsInput{ShardIterator: out.ShardIterator})
		if err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Second) // keep under the read limits
		return len(got.Records)
	}
	ok(t, c, clk, "PutRecord", obj{{"StreamName", "s"}, {"Data", []byte("x")}, {"PartitionKey", "k"}}, new(any))
	before := records()
	good := obj{{"Data", []byte("y")}, {"PartitionKey", "k"}}
	bad := []struct {
		name, op string
		body     []byte
		message  string
	}{
		{"text for a blob", "PutRecords", jackson(obj{{"Records", list{good, obj{{"Data", "eQ=="}, {"PartitionKey", "k"}}}}, {"StreamName", "s"}}),
			"class java.lang.String can not be converted to a Blob"},
		{"bytes for a string", "PutRecord", jackson(obj{{"StreamName", []byte("s")}, {"Data", []byte("y")}, {"PartitionKey", "k"}}),
			"class [B can not be converted to an String"},
		{"text for an integer", "CreateStream", jackson(obj{{"StreamName", "t"}, {"ShardCount", "1"}}),
			"class java.lang.String can not be converted to an Integer"},
		{"truncated", "PutRecords", jackson(obj{{"Records", list{good}}, {"StreamName", "s"}})[:20], ""},
		{"JSON sent as CBOR", "PutRecord", []byte(`{"StreamName":"s","Data":"eQ==","PartitionKey":"k"}`), ""},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			c.call(t, tt.op, tt.body).wantError(t, "SerializationException", http.StatusBadRequest, tt.message)
		})
	}
	if after := records(); after != before {
		t.Errorf("%d records before the bad requests, %d after", before, after)
	}
	if out, err := s.Client.ListStreams(t.Context(), &kinesis.ListStreamsInput{}); err != nil || len(out.StreamNames) != 1 {
		t.Errorf("streams after the bad requests: %v %v", out.StreamNames, err)
	}
}
