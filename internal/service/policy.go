package service

import (
	"context"
	"encoding/json"

	"kinesisd/internal/kerr"
	"kinesisd/internal/service/stream"
)

// Resource policies on streams and consumers (PutResourcePolicy, GetResourcePolicy,
// DeleteResourcePolicy): stored and returned as given. Enforcing them is a later issue.

// PutResourcePolicyInput is the input of PutResourcePolicy.
type PutResourcePolicyInput struct {
	ResourceARN *string `json:"ResourceARN,omitempty"`
	StreamId    *string `json:"StreamId,omitempty"`
	Policy      *string `json:"Policy,omitempty"`
}

// GetResourcePolicyInput is the input of GetResourcePolicy.
type GetResourcePolicyInput struct {
	ResourceARN *string `json:"ResourceARN,omitempty"`
	StreamId    *string `json:"StreamId,omitempty"`
}

// GetResourcePolicyOutput is the output of GetResourcePolicy.
type GetResourcePolicyOutput struct {
	Policy string `json:"Policy"`
}

// DeleteResourcePolicyInput is the input of DeleteResourcePolicy.
type DeleteResourcePolicyInput struct {
	ResourceARN *string `json:"ResourceARN,omitempty"`
	StreamId    *string `json:"StreamId,omitempty"`
}

// PutResourcePolicy attaches a policy, a JSON document, to a stream or consumer, replacing any other.
func (s *Service) PutResourcePolicy(ctx context.Context, in *PutResourcePolicyInput) error {
	var c checker
	c.resourceARN(in.ResourceARN)
	c.streamID(in.StreamId)
	c.str("policy", in.Policy, true, 0, 0, nil, "")
	if err := c.err(); err != nil {
		return err
	}
	if err := s.checkRate("PutResourcePolicy", ""); err != nil {
		return err
	}
	return s.mutateResource(ctx, *in.ResourceARN, false, func(_ *[]stream.Tag, policy *string, _ tagTarget) error {
		var doc map[string]any
		if json.Unmarshal([]byte(*in.Policy), &doc) != nil {
			return kerr.NewInvalidArgument("Policy is not a valid JSON document.")
		}
		*policy = *in.Policy
		return nil
	})
}

// GetResourcePolicy returns the policy of a stream or consumer, "{}" when it has none.
func (s *Service) GetResourcePolicy(ctx context.Context, in *GetResourcePolicyInput) (*GetResourcePolicyOutput, error) {
	var c checker
	c.resourceARN(in.ResourceARN)
	c.streamID(in.StreamId)
	if err := c.err(); err != nil {
		return nil, err
	}
	if err := s.checkRate("GetResourcePolicy", ""); err != nil {
		return nil, err
	}
	_, policy, err := s.readResource(ctx, *in.ResourceARN)
	if err != nil {
		return nil, err
	}
	if policy == "" {
		policy = emptyPolicy
	}
	return &GetResourcePolicyOutput{Policy: policy}, nil
}

// DeleteResourcePolicy removes the policy of a stream or consumer; removing none is not an error.
func (s *Service) DeleteResourcePolicy(ctx context.Context, in *DeleteResourcePolicyInput) error {
	var c checker
	c.resourceARN(in.ResourceARN)
	c.streamID(in.StreamId)
	if err := c.err(); err != nil {
		return err
	}
	if err := s.checkRate("DeleteResourcePolicy", ""); err != nil {
		return err
	}
	return s.mutateResource(ctx, *in.ResourceARN, false, func(_ *[]stream.Tag, policy *string, _ tagTarget) error {
		*policy = ""
		return nil
	})
}
