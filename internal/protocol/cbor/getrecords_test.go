package cbor

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"kinesisd/internal/service"
)

// TestWriteGetRecordsMatchesEncode: the GetRecords writer writes what the reflective encoder does, for
// every shape of record (nil, empty and large data, encryption type, long keys) and of reply (no
// records, no iterator, child shards), in pieces of every size.
func TestWriteGetRecordsMatchesEncode(t *testing.T) {
	next := "AAAAAAAAAAE+/="
	large := bytes.Repeat([]byte{0xa5}, 70000)
	outs := []*service.GetRecordsOutput{
		{},
		{Records: []service.Record{}, NextShardIterator: &next},
		{Records: []service.Record{
			{SequenceNumber: "49000000000000000000000000000000000000000000000000000001", ApproximateArrivalTimestamp: service.Timestamp{Time: time.UnixMilli(1764000000123)},
				Data: []byte{0, 1, 2, 250}, PartitionKey: "plain", EncryptionType: "KMS"},
			{SequenceNumber: "2", ApproximateArrivalTimestamp: service.Timestamp{Time: time.UnixMilli(-5)}, Data: []byte{}, PartitionKey: "é <&> \"\\\n\u2028"},
			{SequenceNumber: "3", Data: nil, PartitionKey: string(bytes.Repeat([]byte("k"), 256))},
			{SequenceNumber: "4", ApproximateArrivalTimestamp: service.Timestamp{Time: time.UnixMilli(1764000000124)}, Data: large, PartitionKey: "large"},
			{SequenceNumber: "5", Data: large[:300], PartitionKey: "k"},
		}, MillisBehindLatest: 1 << 40, ChildShards: []service.ChildShard{{ShardId: "shardId-000000000002", ParentShards: []string{"shardId-000000000000"},
			HashKeyRange: service.HashKeyRange{StartingHashKey: "0", EndingHashKey: "9"}}}},
	}
	c := New()
	for i, out := range outs {
		want, err := c.Encode(out)
		if err != nil {
			t.Fatal(err)
		}
		for _, size := range []int{0, 1, 64, 1024, 1 << 20} {
			var w pieces
			buf, err := c.WriteGetRecords(&w, make([]byte, 0, size), out)
			if err != nil {
				t.Fatal(err)
			}
			if got := bytes.Join(w, nil); !bytes.Equal(got, want) {
				t.Errorf("reply %d, pieces of %d:\ngot  % x\nwant % x", i, size, got, want)
			}
			if len(buf) != 0 {
				t.Errorf("reply %d, pieces of %d: buffer returned with %d bytes", i, size, len(buf))
			}
		}
	}
}

// TestWriteGetRecordsError: the writer stops at the first error of the writer and returns it.
func TestWriteGetRecordsError(t *testing.T) {
	out := &service.GetRecordsOutput{Records: make([]service.Record, 100)}
	for i := range out.Records {
		out.Records[i].Data = make([]byte, 1000)
	}
	broken := errors.New("broken")
	w := failing{err: broken}
	if _, err := New().WriteGetRecords(&w, make([]byte, 0, 4096), out); err != broken || w.calls != 1 {
		t.Fatalf("err %v after %d writes, want %v after 1", err, w.calls, broken)
	}
}

type pieces [][]byte

func (w *pieces) Write(b []byte) (int, error) {
	*w = append(*w, bytes.Clone(b))
	return len(b), nil
}

type failing struct {
	err   error
	calls int
}

func (w *failing) Write([]byte) (int, error) {
	w.calls++
	return 0, w.err
}
