package service

import (
	"errors"
	"testing"
	"time"

	"kinesisd/internal/clock"
	"kinesisd/internal/kerr"
	"kinesisd/internal/service/stream"
	"kinesisd/internal/storage/pebble"
)

// TestConsumerResources tags and sets the policy of a consumer by its ARN. Consumers are registered by
// RegisterStreamConsumer, on another branch; here one is put into the stream's document directly.
func TestConsumerResources(t *testing.T) {
	store, err := pebble.Open(pebble.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	clk := clock.NewFake(time.UnixMilli(1_700_000_000_500))
	s, err := New(t.Context(), Config{Store: store, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	name := "s"
	if err := s.CreateStream(ctx, &CreateStreamInput{StreamName: &name, ShardCount: ptr(int64(1))}); err != nil {
		t.Fatal(err)
	}
	created := clk.Now().UnixMilli()
	if _, err := s.streams.Mutate(ctx, name, func(doc *stream.Doc) error {
		doc.Consumers = append(doc.Consumers, stream.Consumer{Name: "app", CreatedMilli: created, Status: "ACTIVE"})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	arn := "arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/app:1700000000"
	if got := s.consumerARN(name, &stream.Consumer{Name: "app", CreatedMilli: created}); got != arn {
		t.Fatalf("consumer ARN %s, want %s", got, arn)
	}
	if err := s.TagResource(ctx, &TagResourceInput{ResourceARN: &arn, Tags: map[string]string{"team": "x", "b": ""}}); err != nil {
		t.Fatal(err)
	}
	out, err := s.ListTagsForResource(ctx, &ListTagsForResourceInput{ResourceARN: &arn})
	if err != nil || len(out.Tags) != 2 || out.Tags[0] != (Tag{"b", ""}) || out.Tags[1] != (Tag{"team", "x"}) {
		t.Fatalf("consumer tags %+v %v", out, err)
	}
	streamTags, err := s.ListTagsForStream(ctx, &ListTagsForStreamInput{StreamRef: StreamRef{StreamName: &name}})
	if err != nil || len(streamTags.Tags) != 0 {
		t.Fatalf("the consumer's tags went to the stream: %+v %v", streamTags, err)
	}
	if err := s.UntagResource(ctx, &UntagResourceInput{ResourceARN: &arn, TagKeys: []string{"b"}}); err != nil {
		t.Fatal(err)
	}
	if out, _ := s.ListTagsForResource(ctx, &ListTagsForResourceInput{ResourceARN: &arn}); len(out.Tags) != 1 {
		t.Fatalf("after untag: %+v", out.Tags)
	}
	policy := `{"Version":"2012-10-17","Statement":[]}`
	if err := s.PutResourcePolicy(ctx, &PutResourcePolicyInput{ResourceARN: &arn, Policy: &policy}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetResourcePolicy(ctx, &GetResourcePolicyInput{ResourceARN: &arn}); err != nil || got.Policy != policy {
		t.Fatalf("consumer policy %+v %v", got, err)
	}
	streamARN := s.arn(name)
	if got, _ := s.GetResourcePolicy(ctx, &GetResourcePolicyInput{ResourceARN: &streamARN}); got.Policy != "{}" {
		t.Fatalf("the consumer's policy went to the stream: %q", got.Policy)
	}
	// Another creation second names an earlier or later registration of the same name: not this one.
	stale := "arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/app:1699999999"
	_, err = s.ListTagsForResource(ctx, &ListTagsForResourceInput{ResourceARN: &stale})
	var rnf *kerr.ResourceNotFound
	if !errors.As(err, &rnf) || rnf.Message() != "Consumer "+stale+" under account 000000000000 not found." {
		t.Fatalf("stale consumer ARN: %v", err)
	}
	if err := s.TagResource(ctx, &TagResourceInput{ResourceARN: &arn, Tags: map[string]string{"x%": "y"}}); err == nil ||
		err.Error() != "InvalidArgumentException: Failed to add tags to consumer app under account 000000000000 because some tags contained "+
			"illegal characters. The allowed characters are Unicode letters, white-spaces, '_',',','/','=','+','-','@',':'." {
		t.Fatalf("percent in a consumer tag: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }
