package service

// The queue operations' inputs and outputs (issue 19), named after the API model's members.

// QueueStartingPosition is where a queue starts delivering: LATEST, TRIM_HORIZON or AT_TIMESTAMP.
type QueueStartingPosition struct {
	Type      *string    `json:"Type,omitempty"`
	Timestamp *Timestamp `json:"Timestamp,omitempty"`
}

// QueueStreamConfiguration is the stream a queue delivers from, and where it starts.
type QueueStreamConfiguration struct {
	StreamARN        *string                `json:"StreamARN,omitempty"`
	StartingPosition *QueueStartingPosition `json:"StartingPosition,omitempty"`
}

// DeadLetterConfiguration is a queue's dead-letter handling: BUILT_IN with a MaxReceiveCount, or NONE.
type DeadLetterConfiguration struct {
	TargetType      *string `json:"TargetType,omitempty"`
	MaxReceiveCount *int64  `json:"MaxReceiveCount,omitempty"`
}

// QueueAttributes are a queue's visibility timeout and dead-letter handling.
type QueueAttributes struct {
	VisibilityTimeoutSeconds *int64                   `json:"VisibilityTimeoutSeconds,omitempty"`
	DeadLetterConfiguration  *DeadLetterConfiguration `json:"DeadLetterConfiguration,omitempty"`
}

// QueueDescription describes a queue (CreateQueue, UpdateQueue, DescribeQueue).
type QueueDescription struct {
	QueueName               string                     `json:"QueueName"`
	QueueARN                string                     `json:"QueueARN"`
	QueueStatus             string                     `json:"QueueStatus"`
	QueueCreationTimestamp  Timestamp                  `json:"QueueCreationTimestamp"`
	StreamConfigurationList []QueueStreamConfiguration `json:"StreamConfigurationList"`
	QueueAttributes         *QueueAttributes           `json:"QueueAttributes,omitempty"`
}

// CreateQueueInput is the input of CreateQueue.
type CreateQueueInput struct {
	QueueName               *string                    `json:"QueueName,omitempty"`
	StreamConfigurationList []QueueStreamConfiguration `json:"StreamConfigurationList,omitempty"`
	QueueAttributes         *QueueAttributes           `json:"QueueAttributes,omitempty"`
	Tags                    map[string]string          `json:"Tags,omitempty"`
}

func (in *CreateQueueInput) namedQueue() *string { return in.QueueName }

// QueueOutput is the output of CreateQueue, UpdateQueue and DescribeQueue.
type QueueOutput struct {
	QueueDescription QueueDescription `json:"QueueDescription"`
}

// UpdateQueueInput is the input of UpdateQueue.
type UpdateQueueInput struct {
	QueueARN        *string          `json:"QueueARN,omitempty"`
	QueueAttributes *QueueAttributes `json:"QueueAttributes,omitempty"`
}

func (in *UpdateQueueInput) namedQueue() *string { return in.QueueARN }

// QueueARNInput is the input of DeleteQueue and DescribeQueue.
type QueueARNInput struct {
	QueueARN *string `json:"QueueARN,omitempty"`
}

func (in *QueueARNInput) namedQueue() *string { return in.QueueARN }

// QueueStreamFilter narrows ListQueues to the queues of one stream.
type QueueStreamFilter struct {
	StreamARN               *string    `json:"StreamARN,omitempty"`
	StreamCreationTimestamp *Timestamp `json:"StreamCreationTimestamp,omitempty"`
}

// ListQueuesInput is the input of ListQueues.
type ListQueuesInput struct {
	MaxResults   *int64              `json:"MaxResults,omitempty"`
	NextToken    *string             `json:"NextToken,omitempty"`
	StreamFilter []QueueStreamFilter `json:"StreamFilter,omitempty"`
}

// QueueStreamIdentifier names the stream of a queue in ListQueues.
type QueueStreamIdentifier struct {
	StreamARN               string    `json:"StreamARN"`
	StreamCreationTimestamp Timestamp `json:"StreamCreationTimestamp"`
}

// QueueSummary is one queue in ListQueues.
type QueueSummary struct {
	QueueName              string                  `json:"QueueName"`
	QueueARN               string                  `json:"QueueARN"`
	QueueStatus            string                  `json:"QueueStatus"`
	QueueCreationTimestamp Timestamp               `json:"QueueCreationTimestamp"`
	Streams                []QueueStreamIdentifier `json:"Streams"`
}

// ListQueuesOutput is the output of ListQueues.
type ListQueuesOutput struct {
	QueueSummaries []QueueSummary `json:"QueueSummaries"`
	NextToken      *string        `json:"NextToken,omitempty"`
}

// ReceiveQueueRecordsInput is the input of ReceiveQueueRecords and ReceiveDeadLetterQueueRecords.
type ReceiveQueueRecordsInput struct {
	QueueARN                 *string `json:"QueueARN,omitempty"`
	Limit                    *int64  `json:"Limit,omitempty"`
	VisibilityTimeoutSeconds *int64  `json:"VisibilityTimeoutSeconds,omitempty"`
	WaitTimeSeconds          *int64  `json:"WaitTimeSeconds,omitempty"`
}

func (in *ReceiveQueueRecordsInput) namedQueue() *string { return in.QueueARN }

// QueueRecord is a record as a queue delivers it.
type QueueRecord struct {
	ReceiptHandle               string    `json:"ReceiptHandle"`
	RecordId                    string    `json:"RecordId"`
	PartitionKey                string    `json:"PartitionKey"`
	Data                        []byte    `json:"Data"`
	ApproximateArrivalTimestamp Timestamp `json:"ApproximateArrivalTimestamp"`
	FirstReceiveTimestamp       Timestamp `json:"FirstReceiveTimestamp"`
	ReceiveCount                int64     `json:"ReceiveCount"`
}

// ReceiveQueueRecordsOutput is the output of ReceiveQueueRecords and ReceiveDeadLetterQueueRecords.
type ReceiveQueueRecordsOutput struct {
	QueueRecords []QueueRecord `json:"QueueRecords"`
}

// QueueRecordsEntry is one entry of the acknowledge, visibility and restore operations: a receipt
// handle, and for the visibility operations the new timeout.
type QueueRecordsEntry struct {
	ReceiptHandle            *string `json:"ReceiptHandle,omitempty"`
	VisibilityTimeoutSeconds *int64  `json:"VisibilityTimeoutSeconds,omitempty"`
}

// QueueRecordsInput is the input of AcknowledgeQueueRecords, UpdateQueueRecordsVisibility and the
// three dead-letter operations like them.
type QueueRecordsInput struct {
	QueueARN *string             `json:"QueueARN,omitempty"`
	Entries  []QueueRecordsEntry `json:"Entries,omitempty"`
}

func (in *QueueRecordsInput) namedQueue() *string { return in.QueueARN }

// QueueRecordsResult is an entry that succeeded.
type QueueRecordsResult struct {
	ReceiptHandle string `json:"ReceiptHandle"`
}

// QueueRecordsFailure is an entry that failed, and why.
type QueueRecordsFailure struct {
	ReceiptHandle string `json:"ReceiptHandle"`
	ErrorCode     string `json:"ErrorCode"`
	ErrorMessage  string `json:"ErrorMessage,omitempty"`
}

// QueueRecordsOutput is the output of the acknowledge, visibility and restore operations.
type QueueRecordsOutput struct {
	Successful []QueueRecordsResult  `json:"Successful"`
	Failed     []QueueRecordsFailure `json:"Failed"`
}
