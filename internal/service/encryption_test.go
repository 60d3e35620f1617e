package service

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"kinesisd/internal/clock"
	"kinesisd/internal/kerr"
	"kinesisd/internal/kms"
	"kinesisd/internal/service/stream"
	"kinesisd/internal/storage"
	"kinesisd/internal/storage/pebble"
)

// TestRecordsEncryptedAtRest: with KMS encryption, the store holds no record in the clear, every read
// gives the records back, every state of the key answers PutRecord and GetRecords with Kinesis's KMS
// exception, and the stream works again when the key does.
func TestRecordsEncryptedAtRest(t *testing.T) {
	ctx := t.Context()
	store, err := pebble.Open(pebble.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	master := make([]byte, kms.MasterKeySize)
	rand.Read(master)
	keys, err := kms.New(kms.Config{Store: store, MasterKey: master, Clock: clk, DeletionWindowUnit: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(ctx, Config{Store: store, Clock: clk, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	caller := svc.kmsCaller(ctx)
	key, err := keys.CreateKey(ctx, caller, &kms.CreateKeyIn{})
	if err != nil {
		t.Fatal(err)
	}
	name, one := "secret", int64(1)
	ref := StreamRef{StreamName: &name}
	if err := svc.CreateStream(ctx, &CreateStreamInput{StreamName: &name, ShardCount: &one}); err != nil {
		t.Fatal(err)
	}
	put := func(data string) (*PutRecordOutput, error) {
		pk := "k"
		return svc.PutRecord(ctx, &PutRecordInput{StreamRef: ref, PartitionKey: &pk, Data: []byte(data)})
	}
	if _, err := put("clear-before-encryption"); err != nil {
		t.Fatal(err)
	}
	kmsType := stream.EncryptionKMS
	missing := "alias/nothing-here"
	err = svc.StartStreamEncryption(ctx, &StreamEncryptionInput{StreamRef: ref, EncryptionType: &kmsType, KeyId: &missing})
	var nf *kerr.KMSNotFound
	if !errors.As(err, &nf) {
		t.Fatalf("StartStreamEncryption with an unknown key: %v, want KMSNotFoundException", err)
	}
	if err := svc.StartStreamEncryption(ctx, &StreamEncryptionInput{StreamRef: ref, EncryptionType: &kmsType, KeyId: &key.Arn}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Millisecond) // records of the change's own millisecond stay in the clear
	out, err := put("MARKER-encrypted-record")
	if err != nil || out.EncryptionType != stream.EncryptionKMS {
		t.Fatalf("PutRecord after StartStreamEncryption: %+v, %v", out, err)
	}
	// The store holds the record sealed.
	raw, err := store.Read(ctx, storage.ShardRef{StreamID: svc.subStreamID(t, name), Shard: 0}, 0, 10, 1<<20)
	if err != nil || len(raw) != 2 {
		t.Fatalf("store read: %d records, %v", len(raw), err)
	}
	if bytes.Contains(raw[1].Data, []byte("MARKER")) || !bytes.Equal(raw[0].Data, []byte("clear-before-encryption")) {
		t.Fatalf("stored data %q, %q: want the first in the clear and the second sealed", raw[0].Data, raw[1].Data)
	}
	read := func() ([]Record, error) {
		it, err := svc.GetShardIterator(ctx, &GetShardIteratorInput{StreamRef: ref, ShardId: ptr("shardId-000000000000"), ShardIteratorType: ptr(trimHorizon)})
		if err != nil {
			return nil, err
		}
		clk.Advance(time.Second) // past the read limits
		got, err := svc.GetRecords(ctx, &GetRecordsInput{ShardIterator: &it.ShardIterator})
		if err != nil {
			return nil, err
		}
		return got.Records, nil
	}
	recs, err := read()
	if err != nil || len(recs) != 2 || string(recs[1].Data) != "MARKER-encrypted-record" || recs[1].EncryptionType != stream.EncryptionKMS || recs[0].EncryptionType != "NONE" {
		t.Fatalf("GetRecords: %+v, %v", recs, err)
	}

	// Each state of the key, then back.
	refused := func(state string, want any) {
		t.Helper()
		if _, err := put("refused"); !errors.As(err, want) {
			t.Errorf("PutRecord with the key %s: %v, want %T", state, err, want)
		}
		if _, err := read(); !errors.As(err, want) {
			t.Errorf("GetRecords with the key %s: %v, want %T", state, err, want)
		}
	}
	if err := keys.DisableKey(ctx, caller, key.KeyID); err != nil {
		t.Fatal(err)
	}
	refused("disabled", new(*kerr.KMSDisabled))
	if err := keys.EnableKey(ctx, caller, key.KeyID); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.ScheduleKeyDeletion(ctx, caller, key.KeyID, 7); err != nil {
		t.Fatal(err)
	}
	refused("pending deletion", new(*kerr.KMSInvalidState))
	if _, err := keys.CancelKeyDeletion(ctx, caller, key.KeyID); err != nil { // the key is Disabled then
		t.Fatal(err)
	}
	if err := keys.EnableKey(ctx, caller, key.KeyID); err != nil {
		t.Fatal(err)
	}
	if _, err := put("after-recovery"); err != nil {
		t.Fatalf("PutRecord with the key enabled again: %v", err)
	}
	if recs, err := read(); err != nil || len(recs) != 3 || string(recs[2].Data) != "after-recovery" {
		t.Fatalf("GetRecords with the key enabled again: %+v, %v", recs, err)
	}
	// A deleted key: KMSNotFoundException.
	if _, err := keys.ScheduleKeyDeletion(ctx, caller, key.KeyID, 7); err != nil {
		t.Fatal(err)
	}
	clk.Advance(8 * time.Minute) // 7 "days" of a minute each
	if _, err := read(); !errors.As(err, &nf) {
		t.Errorf("GetRecords with the key deleted: %v, want KMSNotFoundException", err)
	}
}

// subStreamID is the incarnation id of stream name.
func (s *Service) subStreamID(t *testing.T, name string) uint64 {
	t.Helper()
	st, err := s.streams.Load(context.Background(), name)
	if err != nil || st == nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return st.Doc.ID
}

// TestEncryptionWithoutKeyring: a service without a keyring refuses StartStreamEncryption rather than
// store records in the clear under a stream that says KMS.
func TestEncryptionWithoutKeyring(t *testing.T) {
	ctx := t.Context()
	store, err := pebble.Open(pebble.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	svc, err := New(ctx, Config{Store: store, Clock: clock.NewFake(time.Unix(1_700_000_000, 0))})
	if err != nil {
		t.Fatal(err)
	}
	name, one, kmsType, key := "plain", int64(1), stream.EncryptionKMS, "alias/aws/kinesis"
	if err := svc.CreateStream(ctx, &CreateStreamInput{StreamName: &name, ShardCount: &one}); err != nil {
		t.Fatal(err)
	}
	err = svc.StartStreamEncryption(ctx, &StreamEncryptionInput{StreamRef: StreamRef{StreamName: &name}, EncryptionType: &kmsType, KeyId: &key})
	var invalid *kerr.InvalidArgument
	if !errors.As(err, &invalid) || invalid.Message() != "KMS is off on this server: it has no keyring to seal records with." {
		t.Fatalf("StartStreamEncryption without a keyring: %v", err)
	}
	if st := svc.subStream(t, name); st.Doc.Encryption != stream.EncryptionNone || st.Doc.Status != stream.StatusActive {
		t.Errorf("the refused call changed the stream: %s %s", st.Doc.Encryption, st.Doc.Status)
	}
}
