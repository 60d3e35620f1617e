package service

import (
	"bytes"
	"math"
	"strconv"
	"time"
)

// Inputs and outputs of the operations, named after the API model's members. The codecs at the edge
// read and write them; json tags give the wire names.

// StreamRef is the pair of members by which most operations name a stream: either or both.
type StreamRef struct {
	StreamName *string `json:"StreamName,omitempty"`
	StreamARN  *string `json:"StreamARN,omitempty"`
	// StreamId is accepted and ignored: the API reserves it ("Not Implemented. Reserved for future use").
	StreamId *string `json:"StreamId,omitempty"`
}

// Timestamp is a point in time as the API carries it. In JSON it is epoch seconds with a millisecond
// fraction (1506440188.749), never in exponent form.
type Timestamp struct{ time.Time }

// MarshalJSON writes epoch seconds with a three-digit millisecond fraction.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	return appendEpochSeconds(nil, t.UnixMilli()), nil
}

// AppendJSON appends t as MarshalJSON writes it, without allocating (the GetRecords fast encoder).
func (t Timestamp) AppendJSON(b []byte) []byte { return appendEpochSeconds(b, t.UnixMilli()) }

func appendEpochSeconds(dst []byte, ms int64) []byte {
	if ms < 0 {
		return strconv.AppendFloat(dst, float64(ms)/1000, 'f', 3, 64)
	}
	dst = strconv.AppendInt(dst, ms/1000, 10)
	dst = append(dst, '.')
	frac := ms % 1000
	if frac < 100 {
		dst = append(dst, '0')
	}
	if frac < 10 {
		dst = append(dst, '0')
	}
	return strconv.AppendInt(dst, frac, 10)
}

// wireError is a decoding error whose text is AWS's SerializationException message.
type wireError string

func (e wireError) Error() string { return string(e) }

// UnmarshalJSON reads epoch seconds given as a JSON number, with or without a fraction or exponent.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	switch {
	case bytes.Equal(b, []byte("null")):
		return nil
	case len(b) > 0 && b[0] == '"':
		return wireError("class java.lang.String can not be converted to milliseconds since epoch")
	case bytes.Equal(b, []byte("true")) || bytes.Equal(b, []byte("false")):
		return wireError("class java.lang.Boolean can not be converted to milliseconds since epoch")
	case len(b) > 0 && b[0] == '[':
		return wireError("Start of list found where not expected")
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return wireError("Start of structure or map found where not expected.")
	}
	t.Time = time.UnixMilli(int64(math.Round(f * 1000))).UTC()
	return nil
}

// MarshalCBOR writes the timestamp as the Java SDK's CBOR protocol carries it: tag 1 holding an
// integer count of epoch milliseconds (not seconds, as RFC 8949 would have it).
func (t Timestamp) MarshalCBOR() ([]byte, error) {
	return appendCBORHead(make([]byte, 1, 10), 0xc1, t.UnixMilli()), nil
}

// appendCBORHead appends a CBOR integer n (major type 0 or 1) in its shortest form.
func appendCBORHead(dst []byte, first byte, n int64) []byte {
	dst[0] = first
	major, u := byte(0x00), uint64(n)
	if n < 0 {
		major, u = 0x20, uint64(-(n + 1))
	}
	switch {
	case u < 24:
		return append(dst, major|byte(u))
	case u <= math.MaxUint8:
		return append(dst, major|24, byte(u))
	case u <= math.MaxUint16:
		return append(dst, major|25, byte(u>>8), byte(u))
	case u <= math.MaxUint32:
		return append(dst, major|26, byte(u>>24), byte(u>>16), byte(u>>8), byte(u))
	}
	return append(dst, major|27, byte(u>>56), byte(u>>48), byte(u>>40), byte(u>>32), byte(u>>24), byte(u>>16), byte(u>>8), byte(u))
}

// UnmarshalCBOR reads epoch milliseconds, under tag 1 as the Java SDK sends them or untagged, as an
// integer or a float of any width. Null leaves the timestamp unset.
func (t *Timestamp) UnmarshalCBOR(b []byte) error {
	major, info, arg, rest, ok := cborHead(b)
	if ok && major == 6 && arg == 1 {
		major, info, arg, _, ok = cborHead(rest)
	}
	var ms float64
	switch {
	case !ok:
		return wireError("Start of structure or map found where not expected.")
	case major == 0 && arg <= math.MaxInt64:
		t.Time = time.UnixMilli(int64(arg)).UTC()
		return nil
	case major == 1 && arg <= math.MaxInt64:
		t.Time = time.UnixMilli(-1 - int64(arg)).UTC()
		return nil
	case major == 3:
		return wireError("class java.lang.String can not be converted to milliseconds since epoch")
	case major == 7 && (info == 20 || info == 21):
		return wireError("class java.lang.Boolean can not be converted to milliseconds since epoch")
	case major == 7 && (info == 22 || info == 23): // null, undefined
		return nil
	case major == 7 && info == 25:
		ms = halfToFloat(uint16(arg))
	case major == 7 && info == 26:
		ms = float64(math.Float32frombits(uint32(arg)))
	case major == 7 && info == 27:
		ms = math.Float64frombits(arg)
	default:
		return wireError("Start of structure or map found where not expected.")
	}
	if math.IsNaN(ms) || math.Abs(ms) >= 1<<62 {
		return wireError("Start of structure or map found where not expected.")
	}
	t.Time = time.UnixMilli(int64(math.Round(ms))).UTC()
	return nil
}

// cborHead splits the head of a CBOR data item: major type, additional information, its argument
// (for floats, their bits) and what follows the head.
func cborHead(b []byte) (major, info byte, arg uint64, rest []byte, ok bool) {
	if len(b) == 0 {
		return 0, 0, 0, nil, false
	}
	major, info = b[0]>>5, b[0]&0x1f
	n := 0
	switch {
	case info < 24:
		return major, info, uint64(info), b[1:], true
	case info <= 27:
		n = 1 << (info - 24)
	default:
		return 0, 0, 0, nil, false
	}
	if len(b) < 1+n {
		return 0, 0, 0, nil, false
	}
	for _, c := range b[1 : 1+n] {
		arg = arg<<8 | uint64(c)
	}
	return major, info, arg, b[1+n:], true
}

// halfToFloat widens an IEEE 754 half-precision float.
func halfToFloat(h uint16) float64 {
	exp, frac := int(h>>10&0x1f), float64(h&0x3ff)
	var f float64
	switch exp {
	case 0:
		f = math.Ldexp(frac, -24)
	case 31:
		f = math.Inf(1)
		if frac != 0 {
			f = math.NaN()
		}
	default:
		f = math.Ldexp(frac+1024, exp-25)
	}
	if h&0x8000 != 0 {
		f = -f
	}
	return f
}

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
