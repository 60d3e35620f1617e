package service

import (
	"encoding/json"
	"testing"
	"time"

	"kinesisd/internal/clock"
	"kinesisd/internal/kerr"
	"kinesisd/internal/storage/pebble"
)

// TestScopes: streams live per account and region. For's Services share the store but not their
// streams; ARNs and messages name their own account and region; an ARN of another region names no
// stream here; and a stream document written before regions moves into the default region at New.
func TestScopes(t *testing.T) {
	ctx := t.Context()
	store, err := pebble.Open(pebble.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	// A document in the layout before regions, as an older kinesisd wrote it.
	old, _ := json.Marshal(map[string]any{"name": "legacy", "id": 7, "created": 1_700_000_000_000, "status": "ACTIVE", "statusSince": 1_700_000_000_000,
		"mode": "PROVISIONED", "retentionHours": 24, "maxRecordKiB": 1024, "encryption": "NONE", "nextShard": 1,
		"shards": []map[string]any{{"index": 0, "startHash": "0", "endHash": "340282366920938463463374607431768211455", "startOffset": 0}}})
	if _, err := store.PutMeta(ctx, "stream/000000000000/legacy", old, 0); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	root, err := New(ctx, Config{Store: store, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	west := root.For("000000000000", "us-west-2")
	other := root.For("111122223333", "us-east-1")
	if root.For("000000000000", "us-east-1") != root || root.For("000000000000", "us-west-2") != west || west.For("111122223333", "us-east-1") != other {
		t.Fatal("For does not return one Service per account and region")
	}
	create := func(s *Service, name string) {
		t.Helper()
		n := int64(1)
		if err := s.CreateStream(ctx, &CreateStreamInput{StreamName: &name, ShardCount: &n}); err != nil {
			t.Fatal(err)
		}
	}
	create(root, "orders")
	create(west, "orders") // the same name in another region is another stream
	create(other, "payments")
	list := func(s *Service) []string {
		t.Helper()
		out, err := s.ListStreams(ctx, &ListStreamsInput{})
		if err != nil {
			t.Fatal(err)
		}
		return out.StreamNames
	}
	if got := list(root); len(got) != 2 || got[0] != "legacy" || got[1] != "orders" {
		t.Errorf("us-east-1 of 000000000000 lists %v, want [legacy orders] (the old document moved here)", got)
	}
	if got := list(west); len(got) != 1 || got[0] != "orders" {
		t.Errorf("us-west-2 lists %v, want [orders]", got)
	}
	if got := list(other); len(got) != 1 || got[0] != "payments" {
		t.Errorf("account 111122223333 lists %v, want [payments]", got)
	}
	if _, _, err := store.GetMeta(ctx, "stream/000000000000/legacy"); err == nil {
		t.Error("the document of the layout before regions is still there")
	}
	name := "orders"
	sum, err := west.DescribeStreamSummary(ctx, &DescribeStreamSummaryInput{StreamRef: StreamRef{StreamName: &name}})
	if err != nil || sum.StreamDescriptionSummary.StreamARN != "arn:aws:kinesis:us-west-2:000000000000:stream/orders" {
		t.Fatalf("DescribeStreamSummary in us-west-2: %+v, %v", sum, err)
	}
	payments := "payments"
	_, err = root.DescribeStreamSummary(ctx, &DescribeStreamSummaryInput{StreamRef: StreamRef{StreamName: &payments}})
	if rnf, ok := err.(*kerr.ResourceNotFound); !ok || rnf.Message() != "Stream payments under account 000000000000 not found." {
		t.Errorf("another account's stream by name: %v", err)
	}
	westARN := "arn:aws:kinesis:us-west-2:000000000000:stream/orders"
	_, err = root.DescribeStreamSummary(ctx, &DescribeStreamSummaryInput{StreamRef: StreamRef{StreamARN: &westARN}})
	if _, ok := err.(*kerr.ResourceNotFound); !ok {
		t.Errorf("another region's stream by ARN from us-east-1: %v, want ResourceNotFoundException", err)
	}
}
