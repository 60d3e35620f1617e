package service

import (
	"errors"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"kinesisd/internal/kerr"
	"kinesisd/internal/service/stream"
	"kinesisd/internal/storage/pebble"
)

// TestDiskFull: while the store refuses writes for space (storage.ErrNoSpace), PutRecord and
// PutRecords fail whole with InternalFailureException saying the disk is full (HTTP 500, which the
// SDKs retry), and nothing of them is written; once space is back, they work again.
func TestDiskFull(t *testing.T) {
	ctx := t.Context()
	fs := vfs.NewMem()
	fs.TestingSetDiskUsage(vfs.DiskUsage{AvailBytes: 10 << 20, TotalBytes: 1 << 30})
	store, err := pebble.Open(pebble.Options{Dir: "db", FS: fs, DiskReserve: 256 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	svc, err := New(ctx, Config{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	name, shards := "s", int64(1)
	if err := svc.CreateStream(ctx, &CreateStreamInput{StreamName: &name, ShardCount: &shards}); err != nil {
		t.Fatal(err) // metadata writes go on below the reserve
	}
	ref, key := StreamRef{StreamName: &name}, "k"
	putRecord := func() error {
		_, err := svc.PutRecord(ctx, &PutRecordInput{StreamRef: ref, Data: []byte("x"), PartitionKey: &key})
		return err
	}
	var failure *kerr.InternalFailure
	if err := putRecord(); !errors.As(err, &failure) || failure.Message() != stream.DiskFullMessage || failure.HTTPStatus() != 500 {
		t.Errorf("PutRecord with the disk full: %v, want InternalFailureException %q", err, stream.DiskFullMessage)
	}
	recs := []PutRecordsRequestEntry{{Data: []byte("a"), PartitionKey: &key}, {Data: []byte("b"), PartitionKey: &key}}
	out, err := svc.PutRecords(ctx, &PutRecordsInput{StreamRef: ref, Records: recs})
	if !errors.As(err, &failure) || failure.Message() != stream.DiskFullMessage {
		t.Errorf("PutRecords with the disk full: %+v, %v; want InternalFailureException %q for the whole call", out, err, stream.DiskFullMessage)
	}
	st, err := svc.dataStream(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := store.NextOffset(ctx, st.Ref(0)); err != nil || n != 0 {
		t.Errorf("NextOffset after refused writes: %d, %v; want 0", n, err)
	}

	fs.TestingSetDiskUsage(vfs.DiskUsage{AvailBytes: 1 << 30, TotalBytes: 1 << 30})
	deadline := time.Now().Add(10 * time.Second) // the store reads the free space every second
	for err := putRecord(); err != nil; err = putRecord() {
		if time.Now().After(deadline) {
			t.Fatalf("PutRecord 10s after space came back: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
