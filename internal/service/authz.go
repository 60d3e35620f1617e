package service

import (
	"context"
	"strconv"

	"kinesisd/internal/iam"
	"kinesisd/internal/identity"
	"kinesisd/internal/kerr"
)

// Who may do what (issue 17): before an operation runs, the caller the edge put in the context is
// checked against its identity policy (Config.Policies, by principal ARN; without one, the implicit
// allow of every kinesis:* action in its own account, iam.DefaultIdentity) and the policy of the
// resource the request names (PutResourcePolicy's, on the stream or the consumer), as AWS evaluates
// them (iam.Evaluate): an explicit Deny anywhere wins, the caller's own account needs one Allow, another
// account's resource needs both. A request naming another account's stream or consumer by ARN runs in
// that account once allowed.

// requestNames is what a request names: a stream (name, or ARN) or a consumer ARN or, for the resource
// operations, any ARN.
type requestNames struct {
	streamName, streamARN, consumerName, consumerARN, given *string
	iterator                                                *string // GetRecords: the stream is the iterator's
	queue, channel                                          *string // a queue's or a channel's ARN (creating one: its name)
}

// namesOf reads the resource in names.
func namesOf(in any) requestNames {
	switch in := in.(type) {
	case interface{ namedQueue() *string }:
		return requestNames{queue: in.namedQueue()}
	case interface{ namedChannel() *string }:
		return requestNames{channel: in.namedChannel()}
	case interface{ namedStream() StreamRef }:
		r := in.namedStream()
		return requestNames{streamName: r.StreamName, streamARN: r.StreamARN}
	case *CreateStreamInput:
		return requestNames{streamName: in.StreamName}
	case *GetRecordsInput:
		return requestNames{streamARN: in.StreamARN, iterator: in.ShardIterator}
	case *RegisterStreamConsumerInput:
		return requestNames{streamARN: in.StreamARN}
	case *ListStreamConsumersInput:
		return requestNames{streamARN: in.StreamARN}
	case *UpdateStreamModeInput:
		return requestNames{streamARN: in.StreamARN}
	case *UpdateMaxRecordSizeInput:
		return requestNames{streamARN: in.StreamARN}
	case *UpdateStreamRecordDistributionStrategyInput:
		return requestNames{streamARN: in.StreamARN}
	case *DescribeStreamConsumerInput:
		return requestNames{streamARN: in.StreamARN, consumerName: in.ConsumerName, consumerARN: in.ConsumerARN}
	case *DeregisterStreamConsumerInput:
		return requestNames{streamARN: in.StreamARN, consumerName: in.ConsumerName, consumerARN: in.ConsumerARN}
	case *SubscribeToShardInput:
		return requestNames{consumerARN: in.ConsumerARN}
	case *TagResourceInput:
		return requestNames{given: in.ResourceARN}
	case *UntagResourceInput:
		return requestNames{given: in.ResourceARN}
	case *ListTagsForResourceInput:
		return requestNames{given: in.ResourceARN}
	case *PutResourcePolicyInput:
		return requestNames{given: in.ResourceARN}
	case *GetResourcePolicyInput:
		return requestNames{given: in.ResourceARN}
	case *DeleteResourcePolicyInput:
		return requestNames{given: in.ResourceARN}
	}
	return requestNames{}
}

func (r StreamRef) namedStream() StreamRef { return r }

// Authorize decides whether the caller in ctx may run op (its X-Amz-Target name) with input in, and
// returns the Service to run it on: s, or the Service of the account whose resource in names by ARN. A
// refusal is AWS's AccessDeniedException. A request without a caller (made in process) is allowed, and
// one whose resource cannot be read is left to the operation's own checks. A nil Service (an edge
// test's stand-in) authorizes everything.
func (s *Service) Authorize(ctx context.Context, op string, in any) (*Service, error) {
	if s == nil {
		return nil, nil
	}
	caller, ok := identity.CallerFrom(ctx)
	operation, known := iam.KinesisOperation(op)
	if !ok || !known {
		return s, nil
	}
	owner, arn, policy, ok := s.resource(ctx, operation.On, namesOf(in))
	if !ok {
		return s, nil
	}
	req := &iam.Request{
		Action:    operation.Action,
		Resource:  arn,
		Principal: iam.Principal{Account: caller.Account, ARN: caller.Principal},
		Context: map[string][]string{
			"aws:SourceIp":        {caller.SourceIP},
			"aws:SecureTransport": {strconv.FormatBool(caller.SecureTransport)},
			"aws:RequestedRegion": {caller.Region},
		},
	}
	if arn == "*" {
		req.ResourceAccount = caller.Account
	}
	ident := s.cfg.Policies[caller.Principal]
	if ident == nil {
		ident = iam.DefaultIdentity()
	}
	if d := iam.Evaluate(req, ident, s.policies.get(policy)); !d.Allowed() {
		return nil, kerr.NewAccessDenied(d.Message(req))
	}
	return owner, nil
}

// resource resolves what t names for an operation authorized on on: the Service of the resource's
// account, its ARN ("*" for none) and its policy document. ok is false when t names nothing this
// service can read (the operation then answers its own error).
func (s *Service) resource(ctx context.Context, on iam.On, t requestNames) (owner *Service, arn, policy string, ok bool) {
	switch {
	case on == iam.OnAccount:
		return s, "*", "", true
	case on == iam.OnQueue:
		return s.queueResource(ctx, t.queue)
	case on == iam.OnChannel:
		return s.channelResource(ctx, t.channel)
	case on == iam.OnGiven && t.given != nil && isQueueARN(*t.given):
		return s.queueResource(ctx, t.given)
	case on == iam.OnGiven && t.given != nil && isChannelARN(*t.given):
		return s.channelResource(ctx, t.given)
	}
	name, consumer, secs := "", "", int64(-1)
	account := s.cfg.Account
	parse := func(v *string) bool {
		// An ARN the model refuses is left to validation, which AWS answers first.
		a, ok := parseResourceARN(*v)
		if !ok || a.Region != s.cfg.Region || !accountPattern.MatchString(a.Account) {
			return false
		}
		account, name = a.Account, a.Stream
		if a.Consumer != "" {
			consumer, secs = a.Consumer, a.ConsumerSecs
		}
		return true
	}
	switch {
	case on == iam.OnGiven && t.given != nil:
		ok = parse(t.given)
	case t.consumerARN != nil:
		ok = parse(t.consumerARN)
	case t.streamARN != nil:
		ok = parse(t.streamARN)
		if t.consumerName != nil {
			consumer = *t.consumerName
		}
	case t.streamName != nil:
		name, ok = *t.streamName, namePattern.MatchString(*t.streamName) && len(*t.streamName) <= 128
	case t.iterator != nil:
		pos, err := s.sealer.Open(*t.iterator)
		name, ok = pos.StreamName, err == nil
	}
	if !ok || name == "" {
		return nil, "", "", false
	}
	owner = s.For(account, s.cfg.Region)
	arn = owner.arn(name)
	// The policy is read from the stream as this process last read it (every operation reads its
	// stream, so it is at most a request behind), and from the store the first time: a store read
	// per request cost a few per cent of PutRecords' CPU.
	st := owner.streams.Cached(name)
	var err error
	if st == nil {
		st, err = owner.streams.Peek(ctx, name)
	}
	if err != nil || st == nil {
		if on == iam.OnConsumer {
			return nil, "", "", false
		}
		return owner, arn, "", true // a stream about to be created, or gone: no resource policy
	}
	if consumer == "" {
		if on == iam.OnConsumer {
			return nil, "", "", false
		}
		return owner, arn, st.Doc.Policy, true
	}
	c := owner.streams.FindConsumer(&st.Doc, consumer, secs)
	if c == nil {
		return nil, "", "", false
	}
	carn := owner.consumerARN(name, c)
	if on == iam.OnStream {
		return owner, arn, st.Doc.Policy, true
	}
	return owner, carn, c.Policy, true
}
