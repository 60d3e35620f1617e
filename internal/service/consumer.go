package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"kinesisd/internal/kerr"
	"kinesisd/internal/service/stream"
)

const (
	// consumersCreating is how many consumers of an account may be CREATING at once (AWS: 5).
	consumersCreating = 5
	// listConsumersMax is the most consumers one ListStreamConsumers page holds, and its default.
	listConsumersMax = 100
)

func (s *Service) consumerView(streamName string, c *stream.Consumer) Consumer {
	return Consumer{
		ConsumerName:              c.Name,
		ConsumerARN:               s.consumerARN(streamName, c),
		ConsumerStatus:            c.Status,
		ConsumerCreationTimestamp: Timestamp{stream.Milli(c.CreatedMilli)},
	}
}

// consumerNotFound is the ResourceNotFoundException for a consumer; createdSecs < 0 when the
// consumer was named without its ARN.
func (s *Service) consumerNotFound(stream, name string, createdSecs int64) error {
	if createdSecs < 0 {
		return kerr.NewResourceNotFound(fmt.Sprintf("Consumer %s under stream %s and account %s not found.",
			name, stream, s.cfg.Account))
	}
	return kerr.NewResourceNotFound(fmt.Sprintf("Consumer %s with creation timestamp %d under stream %s and account %s not found.",
		name, createdSecs, stream, s.cfg.Account))
}

// RegisterStreamConsumer registers a consumer on a stream; it is CREATING, then ACTIVE after the
// consumer delay.
func (s *Service) RegisterStreamConsumer(ctx context.Context, in *RegisterStreamConsumerInput) (*RegisterStreamConsumerOutput, error) {
	var c checker
	c.str("streamARN", in.StreamARN, true, 1, 2048, streamARNPattern, streamARNPatternText)
	c.str("consumerName", in.ConsumerName, true, 1, 128, namePattern, namePatternText)
	c.streamID(in.StreamId)
	c.consumerTagMap("tags", in.Tags)
	if err := c.err(); err != nil {
		return nil, err
	}
	name, err := s.streamName(StreamRef{StreamARN: in.StreamARN})
	if err != nil {
		return nil, err
	}
	if err := s.checkRate("RegisterStreamConsumer", name); err != nil {
		return nil, err
	}
	creatingElsewhere, err := s.creatingConsumers(ctx, name)
	if err != nil {
		return nil, internal("count consumers", err)
	}
	consumer := *in.ConsumerName
	var added stream.Consumer
	st, err := s.streams.Mutate(ctx, name, func(doc *stream.Doc) error {
		if doc.Status != stream.StatusActive && doc.Status != stream.StatusUpdating {
			return s.notActive(doc)
		}
		if err := s.checkConsumerTags(name, consumer, in.Tags); err != nil {
			return err
		}
		live := s.streams.LiveConsumers(doc)
		creating := creatingElsewhere
		for _, c := range live {
			if c.Name == consumer {
				return kerr.NewResourceInUse(fmt.Sprintf("Consumer %s under stream %s and account %s already exists.",
					consumer, name, s.cfg.Account))
			}
			if c.Status == stream.StatusCreating {
				creating++
			}
		}
		if len(live)+len(s.queuesOn(doc)) >= consumersPerStream { // queues share the limit (queue.go)
			return kerr.NewLimitExceeded(fmt.Sprintf("This request would exceed the limit of %d consumers registered "+
				"to stream %s under account %s.", consumersPerStream, name, s.cfg.Account))
		}
		if creating >= consumersCreating {
			return kerr.NewLimitExceeded(fmt.Sprintf("This request would exceed the limit on the number of consumers "+
				"that can simultaneously be in CREATING for the account %s. Limit: %d.", s.cfg.Account, consumersCreating))
		}
		now := s.now().UnixMilli()
		created := now
		// A consumer's ARN ends in its creation second: a new registration of a name must not reuse
		// the second of an earlier one (kept as a tombstone by pruneConsumers), or the ARNs would clash.
		for _, c := range doc.Consumers {
			if c.Name == consumer && c.CreatedMilli/1000 >= created/1000 {
				created = (c.CreatedMilli/1000+1)*1000 + now%1000
			}
		}
		s.streams.PruneConsumers(doc)
		added = stream.Consumer{Name: consumer, CreatedMilli: created, Status: stream.StatusCreating, StatusMilli: now}
		for k, v := range in.Tags {
			added.Tags = append(added.Tags, stream.Tag{Key: k, Value: v})
		}
		slices.SortFunc(added.Tags, func(a, b stream.Tag) int { return strings.Compare(a.Key, b.Key) })
		doc.Consumers = append(doc.Consumers, added)
		return nil
	})
	if err != nil {
		return nil, err
	}
	c2 := s.streams.FindConsumer(&st.Doc, consumer, added.CreatedMilli/1000)
	if c2 == nil { // deregistered by another call since: show it as registered
		settled, _ := s.streams.SettleConsumer(added)
		c2 = &settled
	}
	return &RegisterStreamConsumerOutput{Consumer: s.consumerView(name, c2)}, nil
}

// creatingConsumers counts the CREATING consumers of the account's streams other than except.
func (s *Service) creatingConsumers(ctx context.Context, except string) (int, error) {
	n := 0
	err := s.streams.Each(ctx, func(st *stream.Stream) error {
		if st.Doc.Name == except {
			return nil
		}
		for _, c := range s.streams.LiveConsumers(&st.Doc) {
			if c.Status == stream.StatusCreating {
				n++
			}
		}
		return nil
	})
	return n, err
}

// resolvedConsumer is a ConsumerRef read against the model: the stream and consumer names, and the
// creation second when the consumer was named by ARN (-1 otherwise).
type resolvedConsumer struct {
	stream, name string
	createdSecs  int64
}

// resolveConsumer reads a ConsumerRef whose members passed the model's checks.
func (s *Service) resolveConsumer(ref ConsumerRef) (resolvedConsumer, error) {
	if ref.ConsumerARN == nil {
		if ref.StreamARN == nil || ref.ConsumerName == nil {
			return resolvedConsumer{}, kerr.NewInvalidArgument("Either ConsumerARN or both ConsumerName and StreamARN should be provided.")
		}
		stream, err := s.streamName(StreamRef{StreamARN: ref.StreamARN})
		if err != nil {
			return resolvedConsumer{}, err
		}
		return resolvedConsumer{stream: stream, name: *ref.ConsumerName, createdSecs: -1}, nil
	}
	arn := *ref.ConsumerARN
	a, ok := parseResourceARN(arn)
	if !ok || a.Consumer == "" {
		return resolvedConsumer{}, kerr.NewInvalidArgument(fmt.Sprintf("ConsumerARN %s is invalid.", arn))
	}
	if ref.ConsumerName != nil && *ref.ConsumerName != a.Consumer {
		return resolvedConsumer{}, kerr.NewInvalidArgument(fmt.Sprintf("ConsumerName %s and ConsumerARN %s do not name the same consumer.",
			*ref.ConsumerName, arn))
	}
	if ref.StreamARN != nil {
		sa, ok := parseResourceARN(*ref.StreamARN)
		if !ok || sa.Consumer != "" || sa.Stream != a.Stream || sa.Account != a.Account || sa.Region != a.Region {
			return resolvedConsumer{}, kerr.NewInvalidArgument(fmt.Sprintf("StreamARN %s and ConsumerARN %s do not name the same stream.",
				*ref.StreamARN, arn))
		}
	}
	if !s.isLocal(a) {
		return resolvedConsumer{}, kerr.NewResourceNotFound(fmt.Sprintf("Consumer %s with creation timestamp %d under stream %s and account %s not found.",
			a.Consumer, a.ConsumerSecs, a.Stream, a.Account))
	}
	return resolvedConsumer{stream: a.Stream, name: a.Consumer, createdSecs: a.ConsumerSecs}, nil
}

// lookupConsumer loads the stream of r and finds the consumer in it.
func (s *Service) lookupConsumer(ctx context.Context, r resolvedConsumer) (*stream.Stream, *stream.Consumer, error) {
	st, err := s.streams.Load(ctx, r.stream)
	if err != nil {
		return nil, nil, internal("load stream", err)
	}
	if st == nil {
		if r.createdSecs >= 0 {
			return nil, nil, s.consumerNotFound(r.stream, r.name, r.createdSecs)
		}
		return nil, nil, kerr.StreamNotFound(r.stream, s.cfg.Account)
	}
	c := s.streams.FindConsumer(&st.Doc, r.name, r.createdSecs)
	if c == nil {
		return nil, nil, s.consumerNotFound(r.stream, r.name, r.createdSecs)
	}
	return st, c, nil
}

// DescribeStreamConsumer describes one consumer, named by ARN or by stream ARN and name.
func (s *Service) DescribeStreamConsumer(ctx context.Context, in *DescribeStreamConsumerInput) (*DescribeStreamConsumerOutput, error) {
	var c checker
	c.consumerRef(in.ConsumerRef)
	if err := c.err(); err != nil {
		return nil, err
	}
	r, err := s.resolveConsumer(in.ConsumerRef)
	if err != nil {
		return nil, err
	}
	if err := s.checkRate("DescribeStreamConsumer", r.stream); err != nil {
		return nil, err
	}
	_, cd, err := s.lookupConsumer(ctx, r)
	if err != nil {
		return nil, err
	}
	v := s.consumerView(r.stream, cd)
	return &DescribeStreamConsumerOutput{ConsumerDescription: ConsumerDescription{
		ConsumerName:              v.ConsumerName,
		ConsumerARN:               v.ConsumerARN,
		ConsumerStatus:            v.ConsumerStatus,
		ConsumerCreationTimestamp: v.ConsumerCreationTimestamp,
		StreamARN:                 s.arn(r.stream),
	}}, nil
}

// DeregisterStreamConsumer deregisters a consumer: it is DELETING, then gone after the consumer delay.
func (s *Service) DeregisterStreamConsumer(ctx context.Context, in *DeregisterStreamConsumerInput) error {
	var c checker
	c.consumerRef(in.ConsumerRef)
	if err := c.err(); err != nil {
		return err
	}
	r, err := s.resolveConsumer(in.ConsumerRef)
	if err != nil {
		return err
	}
	if err := s.checkRate("DeregisterStreamConsumer", r.stream); err != nil {
		return err
	}
	if _, _, err := s.lookupConsumer(ctx, r); err != nil {
		return err
	}
	var leases string // the key prefix of the deregistered consumer's subscription leases
	_, err = s.streams.Mutate(ctx, r.stream, func(doc *stream.Doc) error {
		s.streams.PruneConsumers(doc)
		for i := range doc.Consumers {
			cd := &doc.Consumers[i]
			if cd.Name != r.name || (r.createdSecs >= 0 && cd.CreatedMilli/1000 != r.createdSecs) {
				continue
			}
			if settled, gone := s.streams.SettleConsumer(*cd); gone || settled.Status == stream.StatusDeleting {
				continue // a tombstone, or already on its way
			}
			cd.Status, cd.StatusMilli = stream.StatusDeleting, s.now().UnixMilli()
			leases = consumerLeasePrefix(s.cfg.Account, doc.ID, cd.Name, cd.CreatedMilli/1000)
			return nil
		}
		if cd := s.streams.FindConsumer(doc, r.name, r.createdSecs); cd != nil {
			leases = consumerLeasePrefix(s.cfg.Account, doc.ID, cd.Name, cd.CreatedMilli/1000)
			return nil // DELETING already: nothing to change
		}
		return s.consumerNotFound(r.stream, r.name, r.createdSecs)
	})
	var notFound *kerr.ResourceNotFound
	if r.createdSecs >= 0 && errors.As(err, &notFound) {
		return s.consumerNotFound(r.stream, r.name, r.createdSecs) // the stream went meanwhile
	}
	if err == nil && leases != "" {
		// The consumer's subscriptions end (their lease checks find it gone); its leases go now, so
		// that none is left behind by a front-end that died holding one.
		dropLeases(ctx, s.store, s.log, leases)
	}
	return err
}

// ListStreamConsumers lists a stream's consumers in name order, a page at a time.
func (s *Service) ListStreamConsumers(ctx context.Context, in *ListStreamConsumersInput) (*ListStreamConsumersOutput, error) {
	var c checker
	c.str("streamARN", in.StreamARN, true, 1, 2048, streamARNPattern, streamARNPatternText)
	c.str("nextToken", in.NextToken, false, 1, 1048576, nil, "")
	c.integer("maxResults", in.MaxResults, false, 1, 10000)
	c.streamID(in.StreamId)
	if err := c.err(); err != nil {
		return nil, err
	}
	if in.NextToken != nil && in.StreamCreationTimestamp != nil {
		return nil, kerr.NewInvalidArgument("NextToken and StreamCreationTimestamp cannot be provided together.")
	}
	name, err := s.streamName(StreamRef{StreamARN: in.StreamARN})
	if err != nil {
		return nil, err
	}
	if err := s.checkRate("ListStreamConsumers", name); err != nil {
		return nil, err
	}
	var tok pageToken
	if in.NextToken != nil {
		var ok bool
		tok, ok = decodeToken(*in.NextToken)
		if !ok || tok.Stream != name {
			return nil, kerr.NewInvalidArgument(fmt.Sprintf("Invalid NextToken: %s", *in.NextToken))
		}
		if s.now().Sub(stream.Milli(tok.Issued)) > nextTokenLife {
			return nil, kerr.NewExpiredNextToken(fmt.Sprintf("The NextToken has expired: %s", *in.NextToken))
		}
	}
	st, err := s.streams.Load(ctx, name)
	if err != nil {
		return nil, internal("load stream", err)
	}
	if st == nil ||
		(in.StreamCreationTimestamp != nil && in.StreamCreationTimestamp.UnixMilli() != st.Doc.CreatedMilli) ||
		(in.NextToken != nil && tok.Created != st.Doc.CreatedMilli) {
		return nil, kerr.StreamNotFound(name, s.cfg.Account)
	}
	limit := listConsumersMax
	if in.MaxResults != nil {
		limit = min(int(*in.MaxResults), listConsumersMax)
	}
	live := s.streams.LiveConsumers(&st.Doc)
	slices.SortFunc(live, func(a, b stream.Consumer) int { return strings.Compare(a.Name, b.Name) })
	out := &ListStreamConsumersOutput{Consumers: []Consumer{}}
	for i := range live {
		if in.NextToken != nil && live[i].Name <= tok.After {
			continue
		}
		if len(out.Consumers) == limit {
			out.NextToken = encodeToken(pageToken{Stream: name, Created: st.Doc.CreatedMilli,
				After: out.Consumers[len(out.Consumers)-1].ConsumerName, Issued: s.now().UnixMilli()})
			break
		}
		out.Consumers = append(out.Consumers, s.consumerView(name, &live[i]))
	}
	return out, nil
}

// ActiveConsumer returns the stream and name of the consumer consumerARN names, failing as AWS
// does when it does not exist (ResourceNotFoundException) or is not ACTIVE (ResourceInUseException).
// SubscribeToShard checks its consumer with it.
func (s *Service) ActiveConsumer(ctx context.Context, consumerARN string) (streamName string, consumerName string, err error) {
	a, ok := parseResourceARN(consumerARN)
	if !ok || a.Consumer == "" {
		return "", "", kerr.NewInvalidArgument(fmt.Sprintf("ConsumerARN %s is invalid.", consumerARN))
	}
	if !s.isLocal(a) {
		return "", "", kerr.NewResourceNotFound(fmt.Sprintf("Consumer %s with creation timestamp %d under stream %s and account %s not found.",
			a.Consumer, a.ConsumerSecs, a.Stream, a.Account))
	}
	_, c, err := s.lookupConsumer(ctx, resolvedConsumer{stream: a.Stream, name: a.Consumer, createdSecs: a.ConsumerSecs})
	if err != nil {
		return "", "", err
	}
	if c.Status != stream.StatusActive {
		return "", "", kerr.NewResourceInUse(fmt.Sprintf("Consumer %s with creation timestamp %d under stream: %s , account %s is not in ACTIVE status.",
			c.Name, a.ConsumerSecs, a.Stream, s.cfg.Account))
	}
	return a.Stream, a.Consumer, nil
}
