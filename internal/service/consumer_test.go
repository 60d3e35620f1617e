package service

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"kinesisd/internal/clock"
	"kinesisd/internal/kerr"
	"kinesisd/internal/storage/pebble"
)

// TestActiveConsumer checks the lookup SubscribeToShard uses: the consumer must exist under the exact
// ARN (creation second included) and be ACTIVE. (No SDK operation reaches it yet, so it is tested here.)
func TestActiveConsumer(t *testing.T) {
	ctx := t.Context()
	store, err := pebble.Open(pebble.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	clk := clock.NewFake(time.Unix(1_700_000_000, 250_000_000))
	const delay = 5 * time.Second
	svc, err := New(ctx, Config{Store: store, Clock: clk, ConsumerDelay: delay})
	if err != nil {
		t.Fatal(err)
	}
	name, shards := "s", int64(1)
	if err := svc.CreateStream(ctx, &CreateStreamInput{StreamName: &name, ShardCount: &shards}); err != nil {
		t.Fatal(err)
	}
	streamARN, consumer := svc.arn("s"), "fan"
	reg, err := svc.RegisterStreamConsumer(ctx, &RegisterStreamConsumerInput{StreamARN: &streamARN, ConsumerName: &consumer})
	if err != nil {
		t.Fatal(err)
	}
	arn := reg.Consumer.ConsumerARN

	wantErr := func(err error, target any, message string) {
		t.Helper()
		var e kerr.Error
		if !errors.As(err, &e) || !errors.As(err, target) || e.Message() != message {
			t.Errorf("error %v, want %T %q", err, target, message)
		}
	}
	_, _, err = svc.ActiveConsumer(ctx, arn)
	wantErr(err, new(*kerr.ResourceInUse),
		"Consumer fan with creation timestamp 1700000000 under stream: s , account 000000000000 is not in ACTIVE status.")

	clk.Advance(delay)
	stream, cname, err := svc.ActiveConsumer(ctx, arn)
	if err != nil || stream != "s" || cname != "fan" {
		t.Fatalf("ActiveConsumer = %q, %q, %v; want s, fan", stream, cname, err)
	}

	stale := fmt.Sprintf("%s/consumer/fan:1699999999", streamARN)
	_, _, err = svc.ActiveConsumer(ctx, stale)
	wantErr(err, new(*kerr.ResourceNotFound),
		"Consumer fan with creation timestamp 1699999999 under stream s and account 000000000000 not found.")
	_, _, err = svc.ActiveConsumer(ctx, svc.arn("gone")+"/consumer/fan:1700000000")
	wantErr(err, new(*kerr.ResourceNotFound),
		"Consumer fan with creation timestamp 1700000000 under stream gone and account 000000000000 not found.")

	if err := svc.DeregisterStreamConsumer(ctx, &DeregisterStreamConsumerInput{ConsumerRef{ConsumerARN: &arn}}); err != nil {
		t.Fatal(err)
	}
	_, _, err = svc.ActiveConsumer(ctx, arn)
	wantErr(err, new(*kerr.ResourceInUse),
		"Consumer fan with creation timestamp 1700000000 under stream: s , account 000000000000 is not in ACTIVE status.")
	clk.Advance(delay)
	_, _, err = svc.ActiveConsumer(ctx, arn)
	wantErr(err, new(*kerr.ResourceNotFound),
		"Consumer fan with creation timestamp 1700000000 under stream s and account 000000000000 not found.")
}
