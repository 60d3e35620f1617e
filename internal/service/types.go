package service

import "time"

// Inputs and outputs of the operations, named after the API model's members. The codecs at the edge
// read and write them; json tags give the wire names, and the codecs own every byte of the wire forms.

// mib is a mebibyte.
const mib = 1 << 20

// StreamRef is the pair of members by which most operations name a stream: either or both.
type StreamRef struct {
	StreamName *string `json:"StreamName,omitempty"`
	StreamARN  *string `json:"StreamARN,omitempty"`
	// StreamId is accepted and ignored: the API reserves it ("Not Implemented. Reserved for future use").
	StreamId *string `json:"StreamId,omitempty"`
}

// Timestamp is a point in time as the API carries it, to the millisecond. Its wire forms are the
// codecs' (epoch seconds with a millisecond fraction in JSON, tag 1 holding epoch milliseconds in CBOR).
// Time is a named field, not an embedded one, so that time.Time's own encodings (RFC 3339 text) are
// not promoted to it: a Timestamp has no wire form of its own.
type Timestamp struct{ Time time.Time }

// Blob is a blob member (a record's Data): bytes, which the codecs at the edge read from their wire
// form (base64 text in JSON, a byte string in CBOR).
type Blob []byte

// UnixMilli is t in epoch milliseconds.
func (t Timestamp) UnixMilli() int64 { return t.Time.UnixMilli() }

// CreateStreamInput is the input of CreateStream.
type CreateStreamInput struct {
	StreamName         *string            `json:"StreamName,omitempty"`
	ShardCount         *int64             `json:"ShardCount,omitempty"`
	StreamModeDetails  *StreamModeDetails `json:"StreamModeDetails,omitempty"`
	Tags               map[string]string  `json:"Tags,omitempty"`
	MaxRecordSizeInKiB *int64             `json:"MaxRecordSizeInKiB,omitempty"`
	// WarmThroughputMiBps and RecordDistributionStrategy are for ON_DEMAND streams (AUTO only).
	WarmThroughputMiBps        *int64  `json:"WarmThroughputMiBps,omitempty"`
	RecordDistributionStrategy *string `json:"RecordDistributionStrategy,omitempty"`
}

// StreamModeDetails says whether a stream is PROVISIONED or ON_DEMAND.
type StreamModeDetails struct {
	StreamMode *string `json:"StreamMode,omitempty"`
}

// DeleteStreamInput is the input of DeleteStream.
type DeleteStreamInput struct {
	StreamRef
	EnforceConsumerDeletion *bool `json:"EnforceConsumerDeletion,omitempty"`
}

// DescribeStreamSummaryInput is the input of DescribeStreamSummary.
type DescribeStreamSummaryInput struct {
	StreamRef
}

// DescribeStreamSummaryOutput is the output of DescribeStreamSummary.
type DescribeStreamSummaryOutput struct {
	StreamDescriptionSummary StreamDescriptionSummary `json:"StreamDescriptionSummary"`
}

// StreamDescriptionSummary describes a stream without its shards.
type StreamDescriptionSummary struct {
	StreamName              string               `json:"StreamName"`
	StreamARN               string               `json:"StreamARN"`
	StreamStatus            string               `json:"StreamStatus"`
	StreamModeDetails       StreamModeDetailsOut `json:"StreamModeDetails"`
	RetentionPeriodHours    int                  `json:"RetentionPeriodHours"`
	StreamCreationTimestamp Timestamp            `json:"StreamCreationTimestamp"`
	EnhancedMonitoring      []EnhancedMetrics    `json:"EnhancedMonitoring"`
	EncryptionType          string               `json:"EncryptionType"`
	KeyId                   *string              `json:"KeyId,omitempty"`
	OpenShardCount          int                  `json:"OpenShardCount"`
	ConsumerCount           int                  `json:"ConsumerCount"`
	QueueCount              *int                 `json:"QueueCount,omitempty"`   // the stream's queues (queue*.go)
	ChannelCount            *int                 `json:"ChannelCount,omitempty"` // the channels delivering the stream (channel*.go)
	MaxRecordSizeInKiB      int                  `json:"MaxRecordSizeInKiB"`
	WarmThroughput          *WarmThroughputMB    `json:"WarmThroughput,omitempty"`
	// RecordDistributionStrategy is what an ON_DEMAND stream uses; "" (left out) for a PROVISIONED one.
	RecordDistributionStrategy string `json:"RecordDistributionStrategy,omitempty"`
}

// StreamModeDetailsOut is StreamModeDetails as outputs carry it.
type StreamModeDetailsOut struct {
	StreamMode string `json:"StreamMode"`
}

// EnhancedMetrics lists the shard-level metrics enabled on a stream.
type EnhancedMetrics struct {
	ShardLevelMetrics []string `json:"ShardLevelMetrics"`
}

// PutRecordInput is the input of PutRecord.
type PutRecordInput struct {
	StreamRef
	Data                      Blob    `json:"Data"`
	PartitionKey              *string `json:"PartitionKey,omitempty"`
	ExplicitHashKey           *string `json:"ExplicitHashKey,omitempty"`
	SequenceNumberForOrdering *string `json:"SequenceNumberForOrdering,omitempty"`
	DryRun                    *bool   `json:"DryRun,omitempty"`
}

// PutRecordOutput is the output of PutRecord.
type PutRecordOutput struct {
	ShardId        string `json:"ShardId"`
	SequenceNumber string `json:"SequenceNumber"`
	EncryptionType string `json:"EncryptionType,omitempty"`
}

// PutRecordsInput is the input of PutRecords.
type PutRecordsInput struct {
	StreamRef
	Records []PutRecordsRequestEntry `json:"Records"`
	DryRun  *bool                    `json:"DryRun,omitempty"`
}

// PutRecordsRequestEntry is one record of a PutRecords request.
type PutRecordsRequestEntry struct {
	Data            Blob    `json:"Data"`
	ExplicitHashKey *string `json:"ExplicitHashKey,omitempty"`
	PartitionKey    *string `json:"PartitionKey,omitempty"`
}

// PutRecordsOutput is the output of PutRecords.
type PutRecordsOutput struct {
	FailedRecordCount int                     `json:"FailedRecordCount"`
	Records           []PutRecordsResultEntry `json:"Records"`
	EncryptionType    string                  `json:"EncryptionType,omitempty"`

	release func() // gives the results' memory back to the service's pool (replymem.go)
}

// Release gives the memory of the results (their sequence numbers included) back for the next call to
// reuse: the caller must not use the output afterwards. Calling it is optional (the memory is
// otherwise garbage collected); the protocol handler calls it once the reply is encoded.
func (o *PutRecordsOutput) Release() {
	if o != nil && o.release != nil {
		o.release()
		o.release = nil
	}
}

// PutRecordsResultEntry is the result for one record of a PutRecords request.
type PutRecordsResultEntry struct {
	SequenceNumber string `json:"SequenceNumber,omitempty"`
	ShardId        string `json:"ShardId,omitempty"`
	ErrorCode      string `json:"ErrorCode,omitempty"`
	ErrorMessage   string `json:"ErrorMessage,omitempty"`
}

// GetShardIteratorInput is the input of GetShardIterator.
type GetShardIteratorInput struct {
	StreamRef
	ShardId                *string    `json:"ShardId,omitempty"`
	ShardIteratorType      *string    `json:"ShardIteratorType,omitempty"`
	StartingSequenceNumber *string    `json:"StartingSequenceNumber,omitempty"`
	Timestamp              *Timestamp `json:"Timestamp,omitempty"`
	DryRun                 *bool      `json:"DryRun,omitempty"`
}

// GetShardIteratorOutput is the output of GetShardIterator.
type GetShardIteratorOutput struct {
	ShardIterator string `json:"ShardIterator"`
}

// GetRecordsInput is the input of GetRecords.
type GetRecordsInput struct {
	ShardIterator *string `json:"ShardIterator,omitempty"`
	Limit         *int64  `json:"Limit,omitempty"`
	StreamARN     *string `json:"StreamARN,omitempty"`
	StreamId      *string `json:"StreamId,omitempty"` // accepted and ignored, as in StreamRef
	DryRun        *bool   `json:"DryRun,omitempty"`
}

// GetRecordsOutput is the output of GetRecords.
type GetRecordsOutput struct {
	Records            []Record     `json:"Records"`
	NextShardIterator  *string      `json:"NextShardIterator,omitempty"`
	MillisBehindLatest int64        `json:"MillisBehindLatest"`
	ChildShards        []ChildShard `json:"ChildShards,omitempty"`

	release func() // gives the records' memory back to the storage engine (storage.Lender) and the service's pool
}

// Release gives the memory of the records (their Data, lent by the storage engine, and their sequence
// numbers) back for reuse: the caller must not use the records afterwards. Calling it is optional (the memory is otherwise
// garbage collected); the protocol handler calls it once the reply is written.
func (o *GetRecordsOutput) Release() {
	if o != nil && o.release != nil {
		o.release()
		o.release = nil
	}
}

// Record is a data record as GetRecords returns it.
type Record struct {
	SequenceNumber              string    `json:"SequenceNumber"`
	ApproximateArrivalTimestamp Timestamp `json:"ApproximateArrivalTimestamp"`
	Data                        []byte    `json:"Data"`
	PartitionKey                string    `json:"PartitionKey"`
	EncryptionType              string    `json:"EncryptionType,omitempty"`
}

// ChildShard is a shard made from a closed one by a split or merge.
type ChildShard struct {
	ShardId      string       `json:"ShardId"`
	ParentShards []string     `json:"ParentShards"`
	HashKeyRange HashKeyRange `json:"HashKeyRange"`
}

// HashKeyRange is the inclusive range of hash keys a shard holds, in decimal.
type HashKeyRange struct {
	StartingHashKey string `json:"StartingHashKey"`
	EndingHashKey   string `json:"EndingHashKey"`
}

// SequenceNumberRange is the range of sequence numbers of a shard; EndingSequenceNumber is set once
// the shard is closed.
type SequenceNumberRange struct {
	StartingSequenceNumber string  `json:"StartingSequenceNumber"`
	EndingSequenceNumber   *string `json:"EndingSequenceNumber,omitempty"`
}

// Shard describes one shard.
type Shard struct {
	ShardId               string              `json:"ShardId"`
	ParentShardId         *string             `json:"ParentShardId,omitempty"`
	AdjacentParentShardId *string             `json:"AdjacentParentShardId,omitempty"`
	HashKeyRange          HashKeyRange        `json:"HashKeyRange"`
	SequenceNumberRange   SequenceNumberRange `json:"SequenceNumberRange"`
}

// DescribeStreamInput is the input of DescribeStream.
type DescribeStreamInput struct {
	StreamRef
	Limit                 *int64  `json:"Limit,omitempty"`
	ExclusiveStartShardId *string `json:"ExclusiveStartShardId,omitempty"`
}

// DescribeStreamOutput is the output of DescribeStream.
type DescribeStreamOutput struct {
	StreamDescription StreamDescription `json:"StreamDescription"`
}

// StreamDescription describes a stream with a page of its shards.
type StreamDescription struct {
	StreamName              string               `json:"StreamName"`
	StreamARN               string               `json:"StreamARN"`
	StreamStatus            string               `json:"StreamStatus"`
	StreamModeDetails       StreamModeDetailsOut `json:"StreamModeDetails"`
	Shards                  []Shard              `json:"Shards"`
	HasMoreShards           bool                 `json:"HasMoreShards"`
	RetentionPeriodHours    int                  `json:"RetentionPeriodHours"`
	StreamCreationTimestamp Timestamp            `json:"StreamCreationTimestamp"`
	EnhancedMonitoring      []EnhancedMetrics    `json:"EnhancedMonitoring"`
	EncryptionType          string               `json:"EncryptionType"`
	KeyId                   *string              `json:"KeyId,omitempty"`
}

// ListStreamsInput is the input of ListStreams.
type ListStreamsInput struct {
	Limit                    *int64  `json:"Limit,omitempty"`
	ExclusiveStartStreamName *string `json:"ExclusiveStartStreamName,omitempty"`
	NextToken                *string `json:"NextToken,omitempty"`
}

// ListStreamsOutput is the output of ListStreams.
type ListStreamsOutput struct {
	StreamNames     []string        `json:"StreamNames"`
	HasMoreStreams  bool            `json:"HasMoreStreams"`
	NextToken       *string         `json:"NextToken,omitempty"`
	StreamSummaries []StreamSummary `json:"StreamSummaries"`
}

// StreamSummary is one stream in ListStreams.
type StreamSummary struct {
	StreamName              string               `json:"StreamName"`
	StreamARN               string               `json:"StreamARN"`
	StreamStatus            string               `json:"StreamStatus"`
	StreamModeDetails       StreamModeDetailsOut `json:"StreamModeDetails"`
	StreamCreationTimestamp Timestamp            `json:"StreamCreationTimestamp"`
}

// ListShardsInput is the input of ListShards.
type ListShardsInput struct {
	StreamRef
	NextToken               *string      `json:"NextToken,omitempty"`
	ExclusiveStartShardId   *string      `json:"ExclusiveStartShardId,omitempty"`
	MaxResults              *int64       `json:"MaxResults,omitempty"`
	StreamCreationTimestamp *Timestamp   `json:"StreamCreationTimestamp,omitempty"`
	ShardFilter             *ShardFilter `json:"ShardFilter,omitempty"`
}

// ShardFilter selects shards in ListShards.
type ShardFilter struct {
	Type      *string    `json:"Type,omitempty"`
	ShardId   *string    `json:"ShardId,omitempty"`
	Timestamp *Timestamp `json:"Timestamp,omitempty"`
}

// ListShardsOutput is the output of ListShards.
type ListShardsOutput struct {
	Shards    []Shard `json:"Shards"`
	NextToken *string `json:"NextToken,omitempty"`
}

// WarmThroughputMB is the WarmThroughputObject of the API: the target and the current warm throughput
// of an ON_DEMAND stream, in MiB/s.
type WarmThroughputMB struct {
	TargetMiBps  int `json:"TargetMiBps"`
	CurrentMiBps int `json:"CurrentMiBps"`
}

// StreamFilter is one of ListChannels' stream filters.
type StreamFilter struct {
	StreamARN               *string    `json:"StreamARN,omitempty"`
	StreamCreationTimestamp *Timestamp `json:"StreamCreationTimestamp,omitempty"`
}
