package service

import (
	"context"
	"errors"
	"testing"
	"time"

	"kinesisd/internal/clock"
	"kinesisd/internal/kerr"
	"kinesisd/internal/storage/pebble"
)

// leaseWindow is the takeover window of the lease tests: short, so that lease checks run often.
const leaseWindow = 100 * time.Millisecond

// leaseServices returns two services over one store and one fake clock, as two front-ends of a
// cluster are, with a stream "s" of one shard and its consumer "fan" registered.
func leaseServices(t *testing.T) (a, b *Service, clk *clock.Fake, consumerARN string) {
	t.Helper()
	ctx := t.Context()
	store, err := pebble.Open(pebble.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	clk = clock.NewFake(time.Unix(1_700_000_000, 0))
	cfg := Config{Store: store, Clock: clk, SubscribeHeartbeat: 20 * time.Millisecond, SubscribeTakeover: leaseWindow}
	if a, err = New(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if b, err = New(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	name, shards := "s", int64(1)
	if err := a.CreateStream(ctx, &CreateStreamInput{StreamName: &name, ShardCount: &shards}); err != nil {
		t.Fatal(err)
	}
	return a, b, clk, registerFan(t, a)
}

// registerFan registers consumer "fan" on stream "s" and returns its ARN.
func registerFan(t *testing.T, svc *Service) string {
	t.Helper()
	streamARN, consumer := svc.arn("s"), "fan"
	reg, err := svc.RegisterStreamConsumer(t.Context(), &RegisterStreamConsumerInput{StreamARN: &streamARN, ConsumerName: &consumer})
	if err != nil {
		t.Fatal(err)
	}
	return reg.Consumer.ConsumerARN
}

// openSub is a subscription whose events a goroutine of the test reads.
type openSub struct {
	cancel context.CancelFunc
	end    chan error // what the subscription ended with (nil: a clean end), once it has
}

// trySubscribe subscribes through svc to shard 0 at LATEST; a subscription it opens is read until it
// ends, and cancelled and waited for at the test's end.
func trySubscribe(t *testing.T, svc *Service, arn string) (*openSub, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	_, events, err := svc.SubscribeToShard(ctx, &SubscribeToShardInput{ConsumerARN: &arn,
		ShardId: subPtr("shardId-000000000000"), StartingPosition: &StartingPosition{Type: subPtr(latest)}})
	if err != nil {
		cancel()
		return nil, err
	}
	sub := &openSub{cancel: cancel, end: make(chan error, 1)}
	go func() {
		var end error
		for _, err := range events {
			end = err
		}
		sub.end <- end
	}()
	t.Cleanup(func() {
		cancel()
		<-sub.end
	})
	return sub, nil
}

// mustSubscribe is trySubscribe that fails the test on an error.
func mustSubscribe(t *testing.T, svc *Service, arn string) *openSub {
	t.Helper()
	sub, err := trySubscribe(t, svc, arn)
	if err != nil {
		t.Fatalf("SubscribeToShard: %v", err)
	}
	return sub
}

// ended waits up to 2 s (real time) for the subscription's end and returns its error.
func (s *openSub) ended(t *testing.T) error {
	t.Helper()
	select {
	case err := <-s.end:
		s.end <- err // for the cleanup
		return err
	case <-time.After(2 * time.Second):
		t.Fatal("subscription still open after 2s")
		return nil
	}
}

// stillOpen fails the test if the subscription has ended.
func (s *openSub) stillOpen(t *testing.T) {
	t.Helper()
	select {
	case err := <-s.end:
		t.Fatalf("subscription ended with %v, want it open", err)
	default:
	}
}

// leaseOwner returns the owner the lease of consumer arn's shard 0 names ("" for no lease).
func leaseOwner(t *testing.T, svc *Service, arn string) string {
	t.Helper()
	a, _ := parseResourceARN(arn)
	key := svc.leaseKey(subKey{streamID: svc.subStream(t, "s").Doc.ID, consumer: a.Consumer, created: a.ConsumerSecs})
	d, _, err := svc.readLease(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	if d == nil {
		return ""
	}
	return d.Owner
}

// TestSubscribeLeaseAcrossServices: two services over one store keep one subscription per consumer and
// shard between them. A second subscription through the other service within the window is refused;
// after it, it takes over, and the first (which only its lease check can tell) ends with
// ResourceInUseException; its release leaves the new holder's lease alone, and the holder's own release
// deletes it.
func TestSubscribeLeaseAcrossServices(t *testing.T) {
	a, b, clk, arn := leaseServices(t)
	var inUse *kerr.ResourceInUse
	first := mustSubscribe(t, a, arn)
	ownerA := leaseOwner(t, b, arn)
	if ownerA == "" {
		t.Fatal("no lease after a subscription started")
	}
	for _, svc := range []*Service{b, a} {
		if _, err := trySubscribe(t, svc, arn); !errors.As(err, &inUse) {
			t.Fatalf("second subscription within the window: %v, want ResourceInUseException", err)
		}
	}
	clk.Advance(leaseWindow - time.Millisecond)
	if _, err := trySubscribe(t, b, arn); !errors.As(err, &inUse) {
		t.Fatalf("second subscription just inside the window: %v, want ResourceInUseException", err)
	}
	first.stillOpen(t)

	clk.Advance(time.Millisecond)
	second := mustSubscribe(t, b, arn)
	if err := first.ended(t); !errors.As(err, &inUse) {
		t.Fatalf("subscription taken over through another service ended with %v, want ResourceInUseException", err)
	}
	ownerB := leaseOwner(t, a, arn)
	if ownerB == "" || ownerB == ownerA {
		t.Fatalf("lease owner after the takeover %q (first %q)", ownerB, ownerA)
	}
	second.stillOpen(t)

	// A takeover in the same service ends the displaced subscription at once.
	clk.Advance(leaseWindow)
	third := mustSubscribe(t, b, arn)
	if err := second.ended(t); !errors.As(err, &inUse) {
		t.Fatalf("subscription taken over in its own service ended with %v, want ResourceInUseException", err)
	}
	ownerB3 := leaseOwner(t, a, arn)
	if ownerB3 == "" || ownerB3 == ownerB {
		t.Fatalf("lease owner after the second takeover %q (before %q)", ownerB3, ownerB)
	}

	// The holder's end deletes its lease: a new subscription is accepted at once.
	third.cancel()
	if err := third.ended(t); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled subscription ended with %v", err)
	}
	if owner := leaseOwner(t, a, arn); owner != "" {
		t.Fatalf("lease of %q left after its subscription ended", owner)
	}
	mustSubscribe(t, a, arn).stillOpen(t)
}

// TestSubscribeLeasesDropped: a consumer's leases go with its deregistration, and a stream's with the
// stream, also a lease a dead front-end left (a subscription never read, so never released); the
// consumer registered again under the same name subscribes at once.
func TestSubscribeLeasesDropped(t *testing.T) {
	a, b, clk, arn := leaseServices(t)
	ctx := t.Context()
	sub := mustSubscribe(t, a, arn)
	var inUse *kerr.ResourceInUse
	if _, err := trySubscribe(t, b, arn); !errors.As(err, &inUse) {
		t.Fatalf("second subscription within the window: %v, want ResourceInUseException", err)
	}
	if err := b.DeregisterStreamConsumer(ctx, &DeregisterStreamConsumerInput{ConsumerRef{ConsumerARN: &arn}}); err != nil {
		t.Fatal(err)
	}
	if owner := leaseOwner(t, a, arn); owner != "" {
		t.Fatalf("lease of %q left after its consumer was deregistered", owner)
	}
	var notFound *kerr.ResourceNotFound
	if err := sub.ended(t); !errors.As(err, &notFound) {
		t.Fatalf("subscription of a deregistered consumer ended with %v, want ResourceNotFoundException", err)
	}

	clk.Advance(time.Second) // a new creation second: a new registration
	again := registerFan(t, b)
	if again == arn {
		t.Fatalf("registered again under the same ARN %s", arn)
	}
	mustSubscribe(t, a, again).stillOpen(t)

	// A front-end that dies holding a lease: the subscription is made, never read, never released.
	clk.Advance(leaseWindow)
	if _, _, err := b.SubscribeToShard(ctx, &SubscribeToShardInput{ConsumerARN: &again, ShardId: subPtr("shardId-000000000000"),
		StartingPosition: &StartingPosition{Type: subPtr(latest)}}); err != nil {
		t.Fatal(err)
	}
	if leaseOwner(t, a, again) == "" {
		t.Fatal("no lease after a takeover")
	}
	id := a.subStream(t, "s").Doc.ID
	name := "s"
	if err := a.DeleteStream(ctx, &DeleteStreamInput{StreamRef: StreamRef{StreamName: &name}, EnforceConsumerDeletion: subPtr(true)}); err != nil {
		t.Fatal(err)
	}
	left, err := a.store.ListMeta(ctx, streamLeasePrefix(a.cfg.Account, id))
	if err != nil || len(left) != 0 {
		t.Fatalf("leases left after the stream was deleted: %v, %v", left, err)
	}
}
