// Package stream owns a stream's state: its stored document, the cache of decoded documents,
// compare-and-set changes, the changes that wait for UPDATING to end, routing a hash key to a shard, and
// the write gate that keeps records out of the shards a resharding closes.
package stream

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
)

// Statuses of a stream (and of a consumer: CREATING, ACTIVE, DELETING).
const (
	StatusCreating = "CREATING"
	StatusActive   = "ACTIVE"
	StatusDeleting = "DELETING"
	StatusUpdating = "UPDATING"
)

// Capacity modes, encryption types and record distribution strategies.
const (
	ModeProvisioned     = "PROVISIONED"
	ModeOnDemand        = "ON_DEMAND"
	EncryptionNone      = "NONE"
	EncryptionKMS       = "KMS"
	DistributionAuto    = "AUTO"
	DistributionUserKey = "USER_PARTITION_KEY"
)

// Doc is a stream's metadata document as stored: one versioned document per stream, changed only by
// compare-and-set (States.Mutate), so every change is atomic, also on a distributed engine.
//
// It is one document, shards, consumers, tags and counters together, because the API's changes cross
// them: DeleteStream deletes the consumers with the stream in one step, a consumer's ARN is checked
// against the stream's incarnation, and resharding reads and changes the shard list and the pending
// changes, the status and the rolling counters of UpdateShardCount in one compare-and-set. A change
// never edits a cached document: States.Mutate hands it a deep copy (Doc.clone).
type Doc struct {
	Name           string  `json:"name"`
	ID             uint64  `json:"id"` // incarnation: unique, never reused
	CreatedMilli   int64   `json:"created"`
	Status         string  `json:"status"`
	StatusMilli    int64   `json:"statusSince"`
	Mode           string  `json:"mode"`
	RetentionHours int     `json:"retentionHours"`
	MaxRecordKiB   int     `json:"maxRecordKiB"`
	Encryption     string  `json:"encryption"`
	KeyID          string  `json:"keyId,omitempty"`  // as StartStreamEncryption gave it (DescribeStream's KeyId)
	KeyARN         string  `json:"keyArn,omitempty"` // the KMS key it names, resolved when encryption started
	NextShard      uint32  `json:"nextShard"`
	Shards         []Shard `json:"shards"`
	Tags           []Tag   `json:"tags,omitempty"`

	// ShardLevelMetrics are the enhanced-monitoring metrics enabled (EnableEnhancedMonitoring).
	ShardLevelMetrics []string `json:"shardLevelMetrics,omitempty"`
	// Policy is the stream's resource policy (PutResourcePolicy), a JSON document; "" for none.
	Policy string `json:"policy,omitempty"`
	// Consumers are the enhanced fan-out consumers registered on the stream (consumers.go).
	Consumers []Consumer `json:"consumers,omitempty"`
	// WarmThroughputMiBps is the target warm throughput of an ON_DEMAND stream (0: none).
	WarmThroughputMiBps int `json:"warmThroughputMiBps,omitempty"`
	// RecordDistribution is AUTO or USER_PARTITION_KEY ("": USER_PARTITION_KEY).
	RecordDistribution string `json:"recordDistribution,omitempty"`
	// ShardCountUpdates are the times (ms) of UpdateShardCount calls, for AWS's rolling-24-hour count.
	ShardCountUpdates []int64 `json:"shardCountUpdates,omitempty"`
	// ModeSwitches are the times (ms) of UpdateStreamMode calls that changed the capacity mode, for
	// AWS's two switches in a rolling 24 hours.
	ModeSwitches []int64 `json:"modeSwitches,omitempty"`
	// EncryptionStarts and EncryptionStops are the times (ms) of successful StartStreamEncryption and
	// StopStreamEncryption calls, for AWS's 25 of each in a rolling 24 hours.
	EncryptionStarts []int64 `json:"encryptionStarts,omitempty"`
	EncryptionStops  []int64 `json:"encryptionStops,omitempty"`
	// EncryptionChanges is when the stream's encryption changed, oldest first, for each record's
	// EncryptionType (history.go); empty while it never has.
	EncryptionChanges []EncryptionChange `json:"encryptionChanges,omitempty"`
	// DataKeys are the data keys that have encrypted the stream's records, wrapped by their KMS keys,
	// oldest first; the last one encrypts new records while the stream is encrypted (history.go).
	DataKeys []DataKey `json:"dataKeys,omitempty"`
	// Pending are the changes requested that take effect when the stream's UPDATING ends (pending.go).
	Pending []Change `json:"pending,omitempty"`
	// ExpiredBeforeMilli is a floor under the retention cutoff: records that arrived before it have
	// expired even if the retention period has since been increased (AWS: an increase does not make
	// expired data accessible again).
	ExpiredBeforeMilli int64 `json:"expiredBefore,omitempty"`
	// Queues are the names of the queues on the stream (CreateQueue adds one under the stream's
	// compare-and-set, DeleteQueue removes it): they share the consumer limit and block DeleteStream.
	Queues []string `json:"queues,omitempty"`
	// QueuesDeleting holds, for each queue of Queues that DeleteQueue has set DELETING, when it did
	// (Unix ms): the queue counts until its deletion completes (the consumer delay later), then is gone
	// from the stream's point of view even before its removal from Queues (queue.go's queuesOn).
	QueuesDeleting map[string]int64 `json:"queuesDeleting,omitempty"`
	// Channels are the names of the channels that deliver the stream's records (CreateChannel,
	// DeleteChannel): they block DeleteStream and are DescribeStreamSummary's ChannelCount.
	Channels []string `json:"channels,omitempty"`
}

// Shard is one shard of a stream, open or closed.
type Shard struct {
	Index          uint32  `json:"index"`
	Parent         *uint32 `json:"parent,omitempty"`
	AdjacentParent *uint32 `json:"adjacentParent,omitempty"`
	StartHash      string  `json:"startHash"`
	EndHash        string  `json:"endHash"`
	StartOffset    uint64  `json:"startOffset"`
	Closed         bool    `json:"closed,omitempty"`
	EndOffset      uint64  `json:"endOffset,omitempty"` // first offset past the shard's last record, once closed
	CreatedMilli   int64   `json:"created,omitempty"`   // when a split or merge opened it (0: with the stream)
	ClosedMilli    int64   `json:"closedAt,omitempty"`  // when it closed; it expires a retention period later
	// SeqCreated is the shard's creation field in its sequence numbers (Unix seconds): the stream's
	// creation second for its first shards, and for a child seqnum.ChildCreated of when it opened and
	// its parents' fields, so that its numbers lie above theirs. Documents written before it existed
	// get it when they are decoded (fillSeqCreated), from the same fields, so it never changes.
	SeqCreated int64 `json:"seqCreated,omitempty"`
}

// Consumer is one enhanced fan-out consumer, kept in its stream's document.
type Consumer struct {
	Name         string `json:"name"`
	CreatedMilli int64  `json:"created"` // the ARN's suffix is this in epoch seconds
	Status       string `json:"status"`  // CREATING, ACTIVE, DELETING (settled by the clock: consumers.go)
	StatusMilli  int64  `json:"statusSince"`
	Tags         []Tag  `json:"tags,omitempty"`
	Policy       string `json:"policy,omitempty"`
}

// DataKey is a data key that encrypts a stream's records at rest, as the stream keeps it: wrapped by
// the KMS key KeyARN (kms.DataKey.Blob), and named by the id every record it sealed carries.
type DataKey struct {
	ID           string `json:"id"` // hex of kms.DataKey.ID
	Blob         []byte `json:"blob"`
	KeyARN       string `json:"keyArn"`
	CreatedMilli int64  `json:"created"`
}

// Tag is a tag of a stream or consumer.
type Tag struct {
	Key   string `json:"k"`
	Value string `json:"v"`
}

// ShardAt returns the position in Shards of the shard with index, or -1.
func (d *Doc) ShardAt(index uint32) int {
	for i := range d.Shards {
		if d.Shards[i].Index == index {
			return i
		}
	}
	return -1
}

// OpenCount is the number of open shards.
func (d *Doc) OpenCount() int {
	n := 0
	for i := range d.Shards {
		if !d.Shards[i].Closed {
			n++
		}
	}
	return n
}

// Clone deep-copies d through its stored form, so that no field can be forgotten: a change never
// touches a cached document.
func (d *Doc) Clone() (Doc, error) {
	raw, err := json.Marshal(d)
	if err != nil {
		return Doc{}, err
	}
	var c Doc
	err = json.Unmarshal(raw, &c)
	return c, err
}

// NewID returns a new stream incarnation id: random, never 0.
func NewID() uint64 {
	var b [8]byte
	for {
		rand.Read(b[:])
		if id := binary.BigEndian.Uint64(b[:]); id != 0 {
			return id
		}
	}
}

// Change is one change recorded by a request, to take effect when the stream's UPDATING ends. The shard
// changes are replayed against the shards as they are then, which are the shards the request checked:
// nothing else changes a stream's shards while it is UPDATING.
type Change struct {
	Kind       string `json:"kind"`
	Shard      uint32 `json:"shard,omitempty"`
	Adjacent   uint32 `json:"adjacent,omitempty"`
	HashKey    string `json:"hashKey,omitempty"`
	Count      int    `json:"count,omitempty"`
	Encryption string `json:"encryption,omitempty"`
	KeyID      string `json:"keyId,omitempty"`
	// KeyARN and DataKey are what StartStreamEncryption got from KMS for the key KeyID names: its ARN
	// and a first data key for the stream.
	KeyARN  string   `json:"keyArn,omitempty"`
	DataKey *DataKey `json:"dataKey,omitempty"`
}

// EncryptionChange is a point of a stream's encryption history: records arriving at or after AtMilli
// (until the next change) were written under Type. See Stream.EncryptionAt.
type EncryptionChange struct {
	AtMilli int64  `json:"at"`
	Type    string `json:"type"`
}
