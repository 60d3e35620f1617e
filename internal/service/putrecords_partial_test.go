package service

import (
	"context"
	"sync/atomic"
	"testing"

	"kinesisd/internal/storage"
	"kinesisd/internal/storage/pebble"
)

// failingAppend is a real store whose Append fails with err on call number failOn (1-based): a fault
// injected into the engine, not a fake of it.
type failingAppend struct {
	storage.Store
	calls  atomic.Int32
	failOn int32
	err    error
}

func (f *failingAppend) Append(ctx context.Context, appends []storage.Append) error {
	if f.calls.Add(1) == f.failOn {
		return f.err
	}
	return f.Store.Append(ctx, appends)
}

// TestPutRecordsPartialFailureAfterSealed: a PutRecords whose records on one shard were written
// while another shard turned out sealed (another front-end's resharding), and whose second attempt
// for those fails (here: the disk full), answers 200 with the written records' sequence numbers and
// InternalFailure for the others. Failing the whole call would make the client send the written
// records again, storing them twice.
func TestPutRecordsPartialFailureAfterSealed(t *testing.T) {
	ctx := t.Context()
	engine, err := pebble.Open(pebble.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { engine.Close() })
	store := &failingAppend{Store: engine, failOn: 2, err: storage.ErrNoSpace}
	svc, err := New(ctx, Config{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	name, shards := "s", int64(2)
	if err := svc.CreateStream(ctx, &CreateStreamInput{StreamName: &name, ShardCount: &shards}); err != nil {
		t.Fatal(err)
	}
	ref := StreamRef{StreamName: &name}
	st, err := svc.dataStream(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := engine.Seal(ctx, st.Ref(0)); err != nil { // as another front-end's split would
		t.Fatal(err)
	}
	key, low, high := "k", "0", "340282366920938463463374607431768211455"
	recs := []PutRecordsRequestEntry{
		{Data: []byte("to shard 0"), PartitionKey: &key, ExplicitHashKey: &low},
		{Data: []byte("to shard 1"), PartitionKey: &key, ExplicitHashKey: &high},
	}
	out, err := svc.PutRecords(ctx, &PutRecordsInput{StreamRef: ref, Records: recs})
	if err != nil {
		t.Fatalf("PutRecords failed whole (%v) although a record was stored", err)
	}
	if out.FailedRecordCount != 1 || out.Records[0].ErrorCode != "InternalFailure" || out.Records[1].SequenceNumber == "" || out.Records[1].ShardId != "shardId-000000000001" {
		t.Fatalf("PutRecords = %+v, want record 0 InternalFailure and record 1 on shard 1", out)
	}
	if n, err := engine.NextOffset(ctx, st.Ref(1)); err != nil || n == 0 {
		t.Errorf("shard 1's next offset %d, %v: the acknowledged record is not stored", n, err)
	}

	// Nothing written at all: the whole call fails, as before.
	store.calls.Store(0)
	store.failOn = 1
	if _, err := svc.PutRecords(ctx, &PutRecordsInput{StreamRef: ref, Records: recs[1:]}); err == nil {
		t.Errorf("PutRecords with nothing written: err %v, want the call to fail", err)
	}
}
