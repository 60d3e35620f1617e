package service

import "context"

// channelRuntime is the channels' delivery in this process (issue 18).
type channelRuntime struct{}

// isChannelARN reports whether arn names a channel (arn:aws:kinesis:REGION:ACCOUNT:channel/ID).
func isChannelARN(arn string) bool { return false }

// channelResource resolves a channel's ARN (or, for CreateChannel, its name) for Authorize: the Service
// of the channel's account and its ARN (channels have no resource policy); ok is false when it names no
// channel this service can read.
func (s *Service) channelResource(ctx context.Context, channel *string) (owner *Service, arn, policy string, ok bool) {
	return nil, "", "", false
}
