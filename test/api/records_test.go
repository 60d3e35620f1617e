package api_test

import (
	"bytes"
	"crypto/md5"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/kinesistest"
)

// shardFor is the shard a partition key or explicit hash key must land in, among n even shards.
func shardFor(key string, explicit *string, n int) string {
	var h *big.Int
	if explicit != nil {
		h, _ = new(big.Int).SetString(*explicit, 10)
	} else {
		sum := md5.Sum([]byte(key))
		h = new(big.Int).SetBytes(sum[:])
	}
	for i := range n {
		start, end := hashRange(i, n)
		if h.Cmp(start) >= 0 && h.Cmp(end) <= 0 {
			return fmt.Sprintf("shardId-%012d", i)
		}
	}
	panic("hash key outside every shard")
}

func TestPutRecordsReadBack(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c := s.Client
		createStream(t, c, "orders", 4)
		rng := rand.New(rand.NewPCG(1, 2))
		var entries []types.PutRecordsRequestEntry
		for i := range 500 {
			data := make([]byte, rng.IntN(2000))
			for j := range data {
				data[j] = byte(rng.UintN(256))
			}
			e := types.PutRecordsRequestEntry{Data: data, PartitionKey: aws.String(fmt.Sprintf("key-%d-é", i))}
			if i%50 == 0 {
				var b [16]byte
				for j := range b {
					b[j] = byte(rng.UintN(256))
				}
				e.ExplicitHashKey = aws.String(new(big.Int).SetBytes(b[:]).String())
			}
			entries = append(entries, e)
		}
		// The last possible hash key goes to the last shard.
		entries[499].ExplicitHashKey = aws.String(new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1)).String())
		entries[498].ExplicitHashKey = aws.String("0")

		putAt := serverNow(s)
		res, err := c.PutRecords(t.Context(), &kinesis.PutRecordsInput{
			StreamARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/orders"), Records: entries,
		})
		if err != nil {
			t.Fatal(err)
		}
		if *res.FailedRecordCount != 0 || len(res.Records) != 500 || res.EncryptionType != types.EncryptionTypeNone {
			t.Fatalf("FailedRecordCount %d, %d results, encryption %q", *res.FailedRecordCount, len(res.Records), res.EncryptionType)
		}
		seen := map[string]bool{}
		byShard := map[string][]int{}
		for i, r := range res.Records {
			want := shardFor(*entries[i].PartitionKey, entries[i].ExplicitHashKey, 4)
			if aws.ToString(r.ShardId) != want {
				t.Errorf("record %d went to %s, want %s", i, aws.ToString(r.ShardId), want)
			}
			if len(*r.SequenceNumber) != 56 || seen[*r.SequenceNumber] {
				t.Errorf("record %d: sequence number %q not 56 digits or not unique", i, *r.SequenceNumber)
			}
			seen[*r.SequenceNumber] = true
			byShard[want] = append(byShard[want], i)
		}
		if got := aws.ToString(res.Records[499].ShardId); got != "shardId-000000000003" {
			t.Errorf("hash key 2^128-1 went to %s", got)
		}
		if got := aws.ToString(res.Records[498].ShardId); got != "shardId-000000000000" {
			t.Errorf("hash key 0 went to %s", got)
		}
		for shard, idx := range byShard {
			got := readShard(t, s, "orders", shard)
			if len(got) != len(idx) {
				t.Fatalf("%s: read %d records, put %d", shard, len(got), len(idx))
			}
			// Within a shard the records come back in request order with strictly increasing numbers.
			prev := new(big.Int)
			for k, i := range idx {
				r := got[k]
				if !bytes.Equal(r.Data, entries[i].Data) || *r.PartitionKey != *entries[i].PartitionKey || *r.SequenceNumber != *res.Records[i].SequenceNumber {
					t.Fatalf("%s record %d differs from what was put", shard, k)
				}
				if r.ApproximateArrivalTimestamp == nil || !sameServerTime(s, *r.ApproximateArrivalTimestamp, putAt) {
					t.Errorf("arrival %v, want the service clock's %v", r.ApproximateArrivalTimestamp, putAt)
				}
				n, _ := new(big.Int).SetString(*r.SequenceNumber, 10)
				if n.Cmp(prev) <= 0 {
					t.Fatalf("%s: sequence numbers not increasing", shard)
				}
				prev = n
			}
		}
	})
}

func TestShardIteratorTypes(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createStream(t, c, "events", 1)
		const shard = "shardId-000000000000"
		iter := func(typ types.ShardIteratorType, seq *string, ts *time.Time) string {
			t.Helper()
			return getIterator(t, s, &kinesis.GetShardIteratorInput{
				StreamName: aws.String("events"), ShardId: aws.String(shard), ShardIteratorType: typ,
				StartingSequenceNumber: seq, Timestamp: ts,
			})
		}
		latest := iter(types.ShardIteratorTypeLatest, nil, nil)
		gap := time.Second // between the puts
		if onBinary() {
			gap = 200 * time.Millisecond // of the real clock
		}
		var seqs []string
		var times []time.Time
		for i := range 5 {
			out, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("events"), PartitionKey: aws.String("k"), Data: []byte{byte(i)}})
			if err != nil {
				t.Fatal(err)
			}
			if *out.ShardId != shard || out.EncryptionType != types.EncryptionTypeNone {
				t.Fatalf("PutRecord: %+v", out)
			}
			seqs = append(seqs, *out.SequenceNumber)
			times = append(times, serverNow(s))
			elapse(t, s, gap)
		}
		if s.Clock == nil { // the binary's arrival times are its own readings of the real clock
			recs := readShard(t, s, "events", shard)
			if len(recs) != 5 {
				t.Fatalf("read %d records, put 5", len(recs))
			}
			for i, r := range recs {
				times[i] = *r.ApproximateArrivalTimestamp
			}
		}
		dataOf := func(recs []types.Record) []byte {
			var b []byte
			for _, r := range recs {
				b = append(b, r.Data...)
			}
			return b
		}
		tests := []struct {
			name string
			iter string
			want []byte
		}{
			{"LATEST taken before the puts", latest, []byte{0, 1, 2, 3, 4}},
			{"TRIM_HORIZON", iter(types.ShardIteratorTypeTrimHorizon, nil, nil), []byte{0, 1, 2, 3, 4}},
			{"AT_SEQUENCE_NUMBER", iter(types.ShardIteratorTypeAtSequenceNumber, &seqs[2], nil), []byte{2, 3, 4}},
			{"AFTER_SEQUENCE_NUMBER", iter(types.ShardIteratorTypeAfterSequenceNumber, &seqs[2], nil), []byte{3, 4}},
			{"AFTER the last", iter(types.ShardIteratorTypeAfterSequenceNumber, &seqs[4], nil), nil},
			{"AT_TIMESTAMP exact", iter(types.ShardIteratorTypeAtTimestamp, nil, &times[3]), []byte{3, 4}},
			{"AT_TIMESTAMP between", iter(types.ShardIteratorTypeAtTimestamp, nil, aws.Time(times[1].Add(gap/2))), []byte{2, 3, 4}},
			{"AT_TIMESTAMP before all", iter(types.ShardIteratorTypeAtTimestamp, nil, aws.Time(times[0].Add(-time.Hour))), []byte{0, 1, 2, 3, 4}},
			{"AT_TIMESTAMP now", iter(types.ShardIteratorTypeAtTimestamp, nil, aws.Time(serverNow(s))), nil},
			{"LATEST after the puts", iter(types.ShardIteratorTypeLatest, nil, nil), nil},
		}
		for _, tt := range tests {
			if got := dataOf(readAll(t, s, tt.iter)); !bytes.Equal(got, tt.want) {
				t.Errorf("%s: read %v, want %v", tt.name, got, tt.want)
			}
		}
	})
}

func TestGetRecordsPaging(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createStream(t, c, "paged", 1)
		it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("paged"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatal(err)
		}
		// An empty read still hands out a new iterator, and it sees what comes later.
		empty, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
		if err != nil {
			t.Fatal(err)
		}
		if len(empty.Records) != 0 || empty.NextShardIterator == nil || *empty.NextShardIterator == *it.ShardIterator || *empty.MillisBehindLatest != 0 {
			t.Fatalf("empty read: %d records, next %v, behind %d", len(empty.Records), empty.NextShardIterator, *empty.MillisBehindLatest)
		}
		var entries []types.PutRecordsRequestEntry
		for i := range 25 {
			entries = append(entries, types.PutRecordsRequestEntry{Data: []byte{byte(i)}, PartitionKey: aws.String("p")})
		}
		if _, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("paged"), Records: entries}); err != nil {
			t.Fatal(err)
		}
		elapse(t, s, 3*time.Second)
		behindOK := func(got, want int64) bool {
			if s.Clock != nil || want == 0 {
				return got == want
			}
			return got >= want && got < want+2000 // the binary's reads come a little after 3 s of the real clock
		}
		iter := *empty.NextShardIterator
		var got []byte
		for page := 0; ; page++ {
			res, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String(iter), Limit: aws.Int32(10)})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Records) == 0 {
				break
			}
			if len(res.Records) > 10 {
				t.Fatalf("page of %d records with Limit 10", len(res.Records))
			}
			wantBehind := int64(3000)
			if len(got)+len(res.Records) == 25 {
				wantBehind = 0
			}
			if !behindOK(*res.MillisBehindLatest, wantBehind) {
				t.Errorf("page %d: MillisBehindLatest %d, want %d", page, *res.MillisBehindLatest, wantBehind)
			}
			for _, r := range res.Records {
				got = append(got, r.Data...)
			}
			iter = *res.NextShardIterator
		}
		if len(got) != 25 || !sort.SliceIsSorted(got, func(i, j int) bool { return got[i] < got[j] }) {
			t.Errorf("read %v", got)
		}
	})
}

func TestIteratorExpiry(t *testing.T) {
	skipOnBinary(t, "iterators expire after 5 minutes of the fake clock")
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createStream(t, c, "exp", 1)
		it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("exp"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeLatest})
		if err != nil {
			t.Fatal(err)
		}
		s.Clock.Advance(5 * time.Minute)
		if _, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator}); err != nil {
			t.Fatalf("iterator at exactly 5 minutes: %v", err)
		}
		s.Clock.Advance(time.Millisecond)
		_, err = c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
		var expired *types.ExpiredIteratorException
		if !errors.As(err, &expired) {
			t.Fatalf("after 5 minutes: %v, want ExpiredIteratorException", err)
		}
		wantPrefix(t, err, "ExpiredIteratorException", "Iterator expired. The iterator was created at time ")
	})
}

func TestRecreatedStreamRefusesOldIterator(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createStream(t, c, "again", 1)
		if _, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("again"), PartitionKey: aws.String("a"), Data: []byte("old")}); err != nil {
			t.Fatal(err)
		}
		it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("again"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("again")}); err != nil {
			t.Fatal(err)
		}
		createStream(t, c, "again", 1)
		_, err = c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
		wantAPIError(t, err, "InvalidArgumentException", 400, "Invalid ShardIterator.")
		// The new stream starts empty: the old incarnation's records are gone.
		if recs := readShard(t, s, "again", "shardId-000000000000"); len(recs) != 0 {
			t.Errorf("recreated stream has %d old records", len(recs))
		}
	})
}

// TestRestartKeepsStreamsAndRecords restarts the server on the same data (on jetstream, the
// nats-server as well) on every engine that keeps data.
func TestRestartKeepsStreamsAndRecords(t *testing.T) {
	for _, e := range kinesistest.RunEngines() {
		if !e.InMemory {
			t.Run(e.Name, func(t *testing.T) { restartKeepsStreamsAndRecords(t, e) })
		}
	}
}

func restartKeepsStreamsAndRecords(t *testing.T, e kinesistest.Engine) {
	dir := t.TempDir()
	s := kinesistest.Start(t, e, kinesistest.Options{Dir: dir})
	createStream(t, s.Client, "durable", 2)
	var entries []types.PutRecordsRequestEntry
	for i := range 100 {
		entries = append(entries, types.PutRecordsRequestEntry{Data: []byte(fmt.Sprint(i)), PartitionKey: aws.String(fmt.Sprint(i))})
	}
	put, err := s.Client.PutRecords(t.Context(), &kinesis.PutRecordsInput{StreamName: aws.String("durable"), Records: entries})
	if err != nil {
		t.Fatal(err)
	}
	it, err := s.Client.GetShardIterator(t.Context(), &kinesis.GetShardIteratorInput{StreamName: aws.String("durable"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	before := takeSnapshot(t, s, "durable", 2)
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}

	s2 := kinesistest.Start(t, e, kinesistest.Options{Dir: dir, Clock: s.Clock})
	after := takeSnapshot(t, s2, "durable", 2)
	if err := before.equal(after); err != nil {
		t.Fatalf("after restart: %v", err)
	}
	if n := len(after.records["shardId-000000000000"]) + len(after.records["shardId-000000000001"]); n != 100 {
		t.Fatalf("%d records after restart, want 100", n)
	}
	// Iterators survive a restart (the sealing key is in the store).
	if _, err := s2.Client.GetRecords(t.Context(), &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator}); err != nil {
		t.Errorf("iterator from before the restart: %v", err)
	}
	// New sequence numbers are above every earlier one.
	maxSeq := new(big.Int)
	for _, r := range put.Records {
		n, _ := new(big.Int).SetString(*r.SequenceNumber, 10)
		if n.Cmp(maxSeq) > 0 {
			maxSeq = n
		}
	}
	for i := range 2 {
		out, err := s2.Client.PutRecord(t.Context(), &kinesis.PutRecordInput{StreamName: aws.String("durable"), PartitionKey: aws.String("x"),
			ExplicitHashKey: aws.String(new(big.Int).Lsh(big.NewInt(int64(i)), 127).String()), Data: []byte("new")})
		if err != nil {
			t.Fatal(err)
		}
		last := after.records[*out.ShardId]
		n, _ := new(big.Int).SetString(*out.SequenceNumber, 10)
		prev, _ := new(big.Int).SetString(*last[len(last)-1].SequenceNumber, 10)
		if n.Cmp(prev) <= 0 {
			t.Errorf("%s: new sequence number %s not above %s", *out.ShardId, n, prev)
		}
	}
}
