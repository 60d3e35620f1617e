package iam

// On says which resource a Kinesis operation is authorized against.
type On uint8

const (
	// OnAccount: no particular resource; the policy's Resource must be "*" (the reference lists no resource
	// type for the action). Resource returns "*".
	OnAccount On = iota + 1
	// OnStream: the stream named by the request (StreamName or StreamARN; for GetRecords, the stream of the
	// shard iterator; for CreateStream, the stream being created).
	OnStream
	// OnConsumer: the consumer (ConsumerARN, or the consumer that StreamARN and ConsumerName name).
	OnConsumer
	// OnGiven: the ResourceARN member of the request, a stream, consumer or queue ARN.
	OnGiven
	// OnQueue: the queue the request names (QueueARN; for CreateQueue, the queue being created).
	OnQueue
	// OnChannel: the channel the request names (ChannelARN; for CreateChannel, the channel being created).
	OnChannel
)

// Operation is one row of the Service Authorization Reference's table for Amazon Kinesis Data Streams
// (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonkinesisdatastreams.html):
// the IAM action that authorizes an API operation and the resource it is checked on.
type Operation struct {
	Action string // "kinesis:<Op>"
	On     On
}

// Target is what the service resolved a request's resource names to: the ARNs Operation.Resource picks from.
type Target struct {
	Stream   string // the stream's ARN, arn:aws:kinesis:REGION:ACCOUNT:stream/NAME
	Consumer string // the consumer's ARN, …:stream/NAME/consumer/CONSUMER:CREATION_EPOCH_SECONDS
	Given    string // the request's ResourceARN member
	Queue    string // the queue's ARN, arn:aws:kinesis:REGION:ACCOUNT:queue/NAME
	Channel  string // the channel's ARN
}

// Resource returns the ARN the operation is authorized on, or "*" for an account-level operation. It
// returns "" when t lacks the ARN the operation needs (a caller error).
func (o Operation) Resource(t Target) string {
	switch o.On {
	case OnAccount:
		return "*"
	case OnStream:
		return t.Stream
	case OnConsumer:
		return t.Consumer
	case OnGiven:
		return t.Given
	case OnQueue:
		return t.Queue
	case OnChannel:
		return t.Channel
	}
	return ""
}

// kinesisOps holds the 57 operations kinesisd serves. Each action is kinesis:<operation name>; the resource
// column follows the reference (stream*, consumer*, or none). Where the reference lists both consumer* and
// stream* for an operation that takes a ResourceARN (TagResource, UntagResource, ListTagsForResource,
// PutResourcePolicy, GetResourcePolicy, DeleteResourcePolicy), the check is on the ARN the request gives,
// which is one or the other. DeregisterStreamConsumer and DescribeStreamConsumer are checked on the
// consumer, SubscribeToShard on the consumer (its ConsumerARN), RegisterStreamConsumer and
// ListStreamConsumers on the stream. UpdateStreamRecordDistributionStrategy is not in the reference yet; it
// is checked on its stream like every other stream-configuration operation.
var kinesisOps = map[string]Operation{
	// Streams.
	"CreateStream":          {"kinesis:CreateStream", OnStream},
	"DeleteStream":          {"kinesis:DeleteStream", OnStream},
	"DescribeStream":        {"kinesis:DescribeStream", OnStream},
	"DescribeStreamSummary": {"kinesis:DescribeStreamSummary", OnStream},
	"ListStreams":           {"kinesis:ListStreams", OnAccount},
	"ListShards":            {"kinesis:ListShards", OnStream},
	// Records.
	"PutRecord":        {"kinesis:PutRecord", OnStream},
	"PutRecords":       {"kinesis:PutRecords", OnStream},
	"GetShardIterator": {"kinesis:GetShardIterator", OnStream},
	"GetRecords":       {"kinesis:GetRecords", OnStream},
	// Consumers.
	"RegisterStreamConsumer":   {"kinesis:RegisterStreamConsumer", OnStream},
	"DescribeStreamConsumer":   {"kinesis:DescribeStreamConsumer", OnConsumer},
	"ListStreamConsumers":      {"kinesis:ListStreamConsumers", OnStream},
	"DeregisterStreamConsumer": {"kinesis:DeregisterStreamConsumer", OnConsumer},
	"SubscribeToShard":         {"kinesis:SubscribeToShard", OnConsumer},
	// Resharding and capacity.
	"SplitShard":                 {"kinesis:SplitShard", OnStream},
	"MergeShards":                {"kinesis:MergeShards", OnStream},
	"UpdateShardCount":           {"kinesis:UpdateShardCount", OnStream},
	"UpdateStreamMode":           {"kinesis:UpdateStreamMode", OnStream},
	"UpdateStreamWarmThroughput": {"kinesis:UpdateStreamWarmThroughput", OnStream},
	// Tags.
	"AddTagsToStream":      {"kinesis:AddTagsToStream", OnStream},
	"RemoveTagsFromStream": {"kinesis:RemoveTagsFromStream", OnStream},
	"ListTagsForStream":    {"kinesis:ListTagsForStream", OnStream},
	"TagResource":          {"kinesis:TagResource", OnGiven},
	"UntagResource":        {"kinesis:UntagResource", OnGiven},
	"ListTagsForResource":  {"kinesis:ListTagsForResource", OnGiven},
	// Resource policies.
	"PutResourcePolicy":    {"kinesis:PutResourcePolicy", OnGiven},
	"GetResourcePolicy":    {"kinesis:GetResourcePolicy", OnGiven},
	"DeleteResourcePolicy": {"kinesis:DeleteResourcePolicy", OnGiven},
	// Stream settings.
	"EnableEnhancedMonitoring":               {"kinesis:EnableEnhancedMonitoring", OnStream},
	"DisableEnhancedMonitoring":              {"kinesis:DisableEnhancedMonitoring", OnStream},
	"StartStreamEncryption":                  {"kinesis:StartStreamEncryption", OnStream},
	"StopStreamEncryption":                   {"kinesis:StopStreamEncryption", OnStream},
	"IncreaseStreamRetentionPeriod":          {"kinesis:IncreaseStreamRetentionPeriod", OnStream},
	"DecreaseStreamRetentionPeriod":          {"kinesis:DecreaseStreamRetentionPeriod", OnStream},
	"UpdateMaxRecordSize":                    {"kinesis:UpdateMaxRecordSize", OnStream},
	"UpdateStreamRecordDistributionStrategy": {"kinesis:UpdateStreamRecordDistributionStrategy", OnStream},
	// Account.
	"DescribeLimits":          {"kinesis:DescribeLimits", OnAccount},
	"DescribeAccountSettings": {"kinesis:DescribeAccountSettings", OnAccount},
	"UpdateAccountSettings":   {"kinesis:UpdateAccountSettings", OnAccount},
	// Queues (issue 19): each on its queue; ListQueues on the account.
	"CreateQueue":                            {"kinesis:CreateQueue", OnQueue},
	"UpdateQueue":                            {"kinesis:UpdateQueue", OnQueue},
	"DeleteQueue":                            {"kinesis:DeleteQueue", OnQueue},
	"DescribeQueue":                          {"kinesis:DescribeQueue", OnQueue},
	"ListQueues":                             {"kinesis:ListQueues", OnAccount},
	"ReceiveQueueRecords":                    {"kinesis:ReceiveQueueRecords", OnQueue},
	"AcknowledgeQueueRecords":                {"kinesis:AcknowledgeQueueRecords", OnQueue},
	"UpdateQueueRecordsVisibility":           {"kinesis:UpdateQueueRecordsVisibility", OnQueue},
	"ReceiveDeadLetterQueueRecords":          {"kinesis:ReceiveDeadLetterQueueRecords", OnQueue},
	"AcknowledgeDeadLetterQueueRecords":      {"kinesis:AcknowledgeDeadLetterQueueRecords", OnQueue},
	"UpdateDeadLetterQueueRecordsVisibility": {"kinesis:UpdateDeadLetterQueueRecordsVisibility", OnQueue},
	"RestoreDeadLetterQueueRecords":          {"kinesis:RestoreDeadLetterQueueRecords", OnQueue},
	// Channels (issue 18): each on its channel; ListChannels on the account.
	"CreateChannel":   {"kinesis:CreateChannel", OnChannel},
	"UpdateChannel":   {"kinesis:UpdateChannel", OnChannel},
	"DeleteChannel":   {"kinesis:DeleteChannel", OnChannel},
	"DescribeChannel": {"kinesis:DescribeChannel", OnChannel},
	"ListChannels":    {"kinesis:ListChannels", OnAccount},
}

// KinesisOperation returns the IAM action and resource kind of a Kinesis API operation (the X-Amz-Target
// name without "Kinesis_20131202."), and false for an operation it does not know.
func KinesisOperation(op string) (Operation, bool) {
	o, ok := kinesisOps[op]
	return o, ok
}

// KinesisOperations returns the names of every operation KinesisOperation knows, in no particular order.
func KinesisOperations() []string {
	out := make([]string, 0, len(kinesisOps))
	for name := range kinesisOps {
		out = append(out, name)
	}
	return out
}
