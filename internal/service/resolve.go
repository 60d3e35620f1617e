package service

import (
	"context"
	"errors"
	"fmt"
	"kinesisd/internal/kerr"
	"kinesisd/internal/service/stream"
	"time"
)

// What most operations share: resolving the stream a request names, and the errors they answer alike.

// streamWithoutShard is the error for a request naming shard id of a stream that does not exist: AWS
// names the shard, as it does for a shard the stream lacks (kinesalite's recordings).
func (s *Service) streamWithoutShard(ref StreamRef, id string, err error) error {
	var nf *kerr.ResourceNotFound
	name, nameErr := s.streamName(ref)
	if !errors.As(err, &nf) || nameErr != nil {
		return err
	}
	if index, ok := stream.ParseShardID(id); ok {
		return kerr.NewResourceNotFound(fmt.Sprintf("Shard %s in stream %s under account %s does not exist", stream.ShardID(index), name, s.cfg.Account))
	}
	return kerr.NewResourceNotFound(fmt.Sprintf("Could not find shard %s in stream %s under account %s.", id, name, s.cfg.Account))
}

// streamName resolves the StreamName / StreamARN pair (already checked against the model) to a name
// in this service's account.
func (s *Service) streamName(ref StreamRef) (string, error) {
	switch {
	case ref.StreamName == nil && ref.StreamARN == nil:
		return "", kerr.NewInvalidArgument("Either StreamName or StreamARN should be provided.")
	case ref.StreamARN == nil:
		return *ref.StreamName, nil
	}
	arn := *ref.StreamARN
	a, ok := parseResourceARN(arn)
	if !ok || a.Consumer != "" {
		return "", kerr.NewInvalidArgument(fmt.Sprintf("StreamARN %s is invalid.", arn))
	}
	if ref.StreamName != nil && *ref.StreamName != a.Stream {
		return "", kerr.NewInvalidArgument(fmt.Sprintf("StreamName %s and StreamARN %s do not name the same stream.", *ref.StreamName, arn))
	}
	if !s.isLocal(a) {
		return "", kerr.StreamNotFound(a.Stream, a.Account)
	}
	return a.Stream, nil
}

// findStream resolves ref and returns the stream, or ResourceNotFoundException.
func (s *Service) findStream(ctx context.Context, ref StreamRef) (*stream.Stream, error) {
	name, err := s.streamName(ref)
	if err != nil {
		return nil, err
	}
	st, err := s.streams.Load(ctx, name)
	if err != nil {
		return nil, internal("find stream", err)
	}
	if st == nil {
		return nil, kerr.StreamNotFound(name, s.cfg.Account)
	}
	return st, nil
}

// dataStream is findStream for the data plane: records go to and come from ACTIVE and UPDATING
// streams only; for others the stream is not found.
func (s *Service) dataStream(ctx context.Context, ref StreamRef) (*stream.Stream, error) {
	st, err := s.findStream(ctx, ref)
	if err != nil {
		return nil, err
	}
	if st.Doc.Status != stream.StatusActive && st.Doc.Status != stream.StatusUpdating {
		return nil, kerr.StreamNotFound(st.Doc.Name, s.cfg.Account)
	}
	return st, nil
}

func isStreamNotFound(err error) bool {
	var rnf *kerr.ResourceNotFound
	return errors.As(err, &rnf)
}

// notActive is the error for an operation that needs an ACTIVE stream.
func (s *Service) notActive(doc *stream.Doc) error {
	return kerr.NewResourceInUse(fmt.Sprintf("Stream %s under account %s not ACTIVE, instead in state %s",
		doc.Name, s.cfg.Account, doc.Status))
}

// requireActive refuses a change to a stream that is not ACTIVE.
func (s *Service) requireActive(doc *stream.Doc) error {
	if doc.Status != stream.StatusActive {
		return s.notActive(doc)
	}
	return nil
}

func (s *Service) shardNotFound(id, streamName string) error {
	return kerr.NewResourceNotFound(fmt.Sprintf("Could not find shard %s in stream %s under account %s.", id, streamName, s.cfg.Account))
}

func (s *Service) alreadyClosed(index uint32, streamName string) error {
	return kerr.NewInvalidArgument(fmt.Sprintf("Shard %s in stream %s under account %s has already been merged or split, and thus is not eligible for merging or splitting.",
		stream.ShardID(index), streamName, s.cfg.Account))
}

// provisionedOnly refuses op on an ON_DEMAND stream, where AWS manages the shards.
func (s *Service) provisionedOnly(op string, doc *stream.Doc) error {
	if doc.Mode == stream.ModeOnDemand {
		return kerr.NewValidation(fmt.Sprintf("%s is not supported for ON_DEMAND streams.", op))
	}
	return nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func isDryRun(b *bool) bool { return b != nil && *b }

// errDryRun is the answer to a DryRun request that passed every check; nothing was changed.
func errDryRun() error {
	return kerr.NewDryRunOperation("Request would have succeeded, but DryRun flag is set.")
}

func (s *Service) now() time.Time { return s.clock.Now() }

// internal wraps an unexpected failure (stream.Internal).
func internal(op string, err error) error { return stream.Internal(op, err) }

// errAlreadyDeleting stops a DeleteStream of a stream already DELETING: nothing to change.
var errAlreadyDeleting = errors.New("already deleting")
