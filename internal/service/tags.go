package service

import (
	"context"
	"fmt"
	"slices"

	"kinesisd/internal/kerr"
	"kinesisd/internal/service/stream"
)

// Tags on streams (AddTagsToStream, RemoveTagsFromStream, ListTagsForStream) and on streams or
// consumers by ARN (TagResource, UntagResource, ListTagsForResource). Tags live in the stream's
// document, a consumer's in its stream.Consumer, so every change is one compare-and-set.

// AddTagsToStreamInput is the input of AddTagsToStream.
type AddTagsToStreamInput struct {
	StreamRef
	Tags map[string]string `json:"Tags,omitempty"`
}

// RemoveTagsFromStreamInput is the input of RemoveTagsFromStream.
type RemoveTagsFromStreamInput struct {
	StreamRef
	TagKeys []string `json:"TagKeys,omitempty"`
}

// ListTagsForStreamInput is the input of ListTagsForStream.
type ListTagsForStreamInput struct {
	StreamRef
	ExclusiveStartTagKey *string `json:"ExclusiveStartTagKey,omitempty"`
	Limit                *int64  `json:"Limit,omitempty"`
}

// ListTagsForStreamOutput is the output of ListTagsForStream.
type ListTagsForStreamOutput struct {
	Tags        []Tag `json:"Tags"`
	HasMoreTags bool  `json:"HasMoreTags"`
}

// TagResourceInput is the input of TagResource.
type TagResourceInput struct {
	Tags        map[string]string `json:"Tags,omitempty"`
	ResourceARN *string           `json:"ResourceARN,omitempty"`
	StreamId    *string           `json:"StreamId,omitempty"`
}

// UntagResourceInput is the input of UntagResource.
type UntagResourceInput struct {
	TagKeys     []string `json:"TagKeys,omitempty"`
	ResourceARN *string  `json:"ResourceARN,omitempty"`
	StreamId    *string  `json:"StreamId,omitempty"`
}

// ListTagsForResourceInput is the input of ListTagsForResource.
type ListTagsForResourceInput struct {
	ResourceARN *string `json:"ResourceARN,omitempty"`
	StreamId    *string `json:"StreamId,omitempty"`
}

// ListTagsForResourceOutput is the output of ListTagsForResource.
type ListTagsForResourceOutput struct {
	Tags []Tag `json:"Tags"`
}

// tagsSettled refuses a change of a stream's tags (or policy) while it is CREATING. AWS documents it
// (CreateStream: "you can't make any updates to the tags until the stream is in ACTIVE state"); the
// message, not sourced for tags, is the one of the other operations that need an ACTIVE stream.
func (s *Service) tagsSettled(doc *stream.Doc) error {
	if doc.Status == stream.StatusCreating {
		return s.notActive(doc)
	}
	return nil
}

// AddTagsToStream adds or replaces tags on a stream.
func (s *Service) AddTagsToStream(ctx context.Context, in *AddTagsToStreamInput) error {
	var c checker
	c.tagMap("tags", in.Tags, true)
	c.streamRef(in.StreamRef)
	return s.editStreamTags(ctx, "AddTagsToStream", c, in.StreamRef, func(tags []stream.Tag, target tagTarget) ([]stream.Tag, error) {
		return s.addTags(tags, in.Tags, target)
	})
}

// RemoveTagsFromStream removes tags from a stream.
func (s *Service) RemoveTagsFromStream(ctx context.Context, in *RemoveTagsFromStreamInput) error {
	var c checker
	c.tagKeys("tagKeys", in.TagKeys)
	c.streamRef(in.StreamRef)
	return s.editStreamTags(ctx, "RemoveTagsFromStream", c, in.StreamRef, func(tags []stream.Tag, target tagTarget) ([]stream.Tag, error) {
		return s.removeTags(tags, in.TagKeys, target)
	})
}

// editStreamTags is AddTagsToStream and RemoveTagsFromStream once their members are checked into c:
// edit gives the stream's new tags, on a stream that is not CREATING.
func (s *Service) editStreamTags(ctx context.Context, op string, c checker, ref StreamRef, edit func([]stream.Tag, tagTarget) ([]stream.Tag, error)) error {
	if err := c.err(); err != nil {
		return err
	}
	if err := s.checkRate(op, ""); err != nil {
		return err
	}
	name, err := s.streamName(ref)
	if err != nil {
		return err
	}
	_, err = s.streams.Mutate(ctx, name, func(doc *stream.Doc) error {
		if err := s.tagsSettled(doc); err != nil {
			return err
		}
		tags, err := edit(doc.Tags, tagTarget{"stream", doc.Name})
		doc.Tags = tags
		return err
	})
	return err
}

// ListTagsForStream lists a stream's tags in key order, Limit at a time after ExclusiveStartTagKey.
func (s *Service) ListTagsForStream(ctx context.Context, in *ListTagsForStreamInput) (*ListTagsForStreamOutput, error) {
	var c checker
	c.integer("limit", in.Limit, false, 1, maxTags)
	c.str("exclusiveStartTagKey", in.ExclusiveStartTagKey, false, 1, tagKeyMax, nil, "")
	c.streamRef(in.StreamRef)
	if err := c.err(); err != nil {
		return nil, err
	}
	if err := s.checkRate("ListTagsForStream", ""); err != nil {
		return nil, err
	}
	st, err := s.findStream(ctx, in.StreamRef)
	if err != nil {
		return nil, err
	}
	limit := maxTags
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	tags := listTags(st.Doc.Tags)
	if in.ExclusiveStartTagKey != nil {
		tags = slices.DeleteFunc(tags, func(t Tag) bool { return t.Key <= *in.ExclusiveStartTagKey })
	}
	out := &ListTagsForStreamOutput{Tags: tags, HasMoreTags: len(tags) > limit}
	if out.HasMoreTags {
		out.Tags = tags[:limit]
	}
	return out, nil
}

// resolveResource reads a ResourceARN (already checked against the model) naming a stream or consumer
// of this account and region.
func (s *Service) resolveResource(arn string) (resourceARN, error) {
	a, ok := parseResourceARN(arn)
	if !ok {
		return a, kerr.NewInvalidArgument(fmt.Sprintf("Invalid ResourceARN: %s", arn))
	}
	if !s.isLocal(a) {
		if a.Consumer != "" {
			return a, consumerNotFound(arn, a.Account)
		}
		return a, kerr.StreamNotFound(a.Stream, a.Account)
	}
	return a, nil
}

// consumerIndex finds the live consumer a parsed ARN names in doc: same name, same creation second (a
// re-registered consumer has a new ARN, and the old one names nothing). -1 when there is none.
func (s *Service) consumerIndex(doc *stream.Doc, a resourceARN) int {
	for i := range doc.Consumers {
		c := &doc.Consumers[i]
		if _, gone := s.streams.SettleConsumer(*c); gone {
			continue
		}
		if c.Name == a.Consumer && c.CreatedMilli/1000 == a.ConsumerSecs {
			return i
		}
	}
	return -1
}

// mutateResource applies change to the tags or policy of the stream or consumer arn names; a change of
// tags (tagging) is refused on a CREATING stream.
func (s *Service) mutateResource(ctx context.Context, arn string, tagging bool, change func(tags *[]stream.Tag, policy *string, target tagTarget) error) error {
	if isChannelARN(arn) {
		return s.mutateChannelTags(ctx, arn, tagging, change)
	}
	if isQueueARN(arn) {
		return s.mutateQueueResource(ctx, arn, change)
	}
	a, err := s.resolveResource(arn)
	if err != nil {
		return err
	}
	_, err = s.streams.Mutate(ctx, a.Stream, func(doc *stream.Doc) error {
		if a.Consumer == "" {
			if err := s.tagsSettled(doc); tagging && err != nil {
				return err
			}
			return change(&doc.Tags, &doc.Policy, tagTarget{"stream", doc.Name})
		}
		i := s.consumerIndex(doc, a)
		if i < 0 {
			return consumerNotFound(arn, s.cfg.Account)
		}
		cons := &doc.Consumers[i]
		return change(&cons.Tags, &cons.Policy, tagTarget{"consumer", cons.Name})
	})
	return err
}

// readResource returns the tags and policy of the stream or consumer arn names.
func (s *Service) readResource(ctx context.Context, arn string) ([]stream.Tag, string, error) {
	if isChannelARN(arn) {
		return s.readChannelTags(ctx, arn)
	}
	if isQueueARN(arn) {
		return s.readQueueResource(ctx, arn)
	}
	a, err := s.resolveResource(arn)
	if err != nil {
		return nil, "", err
	}
	st, err := s.streams.Load(ctx, a.Stream)
	if err != nil {
		return nil, "", internal("load stream", err)
	}
	if st == nil {
		if a.Consumer != "" {
			return nil, "", consumerNotFound(arn, s.cfg.Account)
		}
		return nil, "", kerr.StreamNotFound(a.Stream, s.cfg.Account)
	}
	if a.Consumer == "" {
		return st.Doc.Tags, st.Doc.Policy, nil
	}
	i := s.consumerIndex(&st.Doc, a)
	if i < 0 {
		return nil, "", consumerNotFound(arn, s.cfg.Account)
	}
	return st.Doc.Consumers[i].Tags, st.Doc.Consumers[i].Policy, nil
}

// TagResource adds or replaces tags on a stream or consumer named by ARN.
func (s *Service) TagResource(ctx context.Context, in *TagResourceInput) error {
	var c checker
	c.tagMap("tags", in.Tags, true)
	return s.editResourceTags(ctx, "TagResource", c, in.ResourceARN, in.StreamId, func(tags []stream.Tag, target tagTarget) ([]stream.Tag, error) {
		return s.addTags(tags, in.Tags, target)
	})
}

// UntagResource removes tags from a stream or consumer named by ARN.
func (s *Service) UntagResource(ctx context.Context, in *UntagResourceInput) error {
	var c checker
	c.tagKeys("tagKeys", in.TagKeys)
	return s.editResourceTags(ctx, "UntagResource", c, in.ResourceARN, in.StreamId, func(tags []stream.Tag, target tagTarget) ([]stream.Tag, error) {
		return s.removeTags(tags, in.TagKeys, target)
	})
}

// editResourceTags is TagResource and UntagResource once their tag members are checked into c: edit
// gives the new tags of the stream or consumer arn names.
func (s *Service) editResourceTags(ctx context.Context, op string, c checker, arn, streamID *string, edit func([]stream.Tag, tagTarget) ([]stream.Tag, error)) error {
	c.resourceARN(arn)
	c.streamID(streamID)
	if err := c.err(); err != nil {
		return err
	}
	if err := s.checkRate(op, ""); err != nil {
		return err
	}
	return s.mutateResource(ctx, *arn, true, func(tags *[]stream.Tag, _ *string, target tagTarget) error {
		edited, err := edit(*tags, target)
		*tags = edited
		return err
	})
}

// ListTagsForResource lists the tags of a stream or consumer named by ARN, in key order.
func (s *Service) ListTagsForResource(ctx context.Context, in *ListTagsForResourceInput) (*ListTagsForResourceOutput, error) {
	var c checker
	c.resourceARN(in.ResourceARN)
	c.streamID(in.StreamId)
	if err := c.err(); err != nil {
		return nil, err
	}
	if err := s.checkRate("ListTagsForResource", ""); err != nil {
		return nil, err
	}
	tags, _, err := s.readResource(ctx, *in.ResourceARN)
	if err != nil {
		return nil, err
	}
	return &ListTagsForResourceOutput{Tags: listTags(tags)}, nil
}
