package service

import "context"

// queueRuntime is what this process keeps for queues (issue 19).
type queueRuntime struct{}

// isQueueARN reports whether arn names a queue (arn:aws:kinesis:REGION:ACCOUNT:queue/NAME).
func isQueueARN(arn string) bool { return false }

// queueResource resolves a queue's ARN (or, for CreateQueue, its name) for Authorize: the Service of
// the queue's account, its ARN and its resource policy; ok is false when it names no queue this service
// can read.
func (s *Service) queueResource(ctx context.Context, queue *string) (owner *Service, arn, policy string, ok bool) {
	return nil, "", "", false
}
