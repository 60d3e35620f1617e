package service

import (
	"fmt"
	"kinesisd/internal/kerr"
	"kinesisd/internal/service/seqnum"
	"kinesisd/internal/service/stream"
	"sync"
)

// SubscribeToShard's types: its input and events, and the registry of this process's subscriptions.

const (
	// subscribeEventBytes caps the record bytes of one event (the first record always goes whole):
	// 2 MiB, a second's worth at AWS's per-consumer-shard rate, well inside the 16 MiB message limit
	// of the event-stream framing once base64 has grown it.
	subscribeEventBytes = 2 * mib
	// subscribeReadRate is AWS's delivery rate per consumer and shard, applied with ThroughputLimits.
	subscribeReadRate = 2 * mib
)

// SubscribeToShardInput is the input of SubscribeToShard.
type SubscribeToShardInput struct {
	ConsumerARN      *string           `json:"ConsumerARN,omitempty"`
	ShardId          *string           `json:"ShardId,omitempty"`
	StartingPosition *StartingPosition `json:"StartingPosition,omitempty"`
	StreamId         *string           `json:"StreamId,omitempty"` // accepted and ignored, as in StreamRef
	DryRun           *bool             `json:"DryRun,omitempty"`
}

// StartingPosition is where a subscription starts: Type is a shard iterator type, with SequenceNumber
// for AT_ and AFTER_SEQUENCE_NUMBER and Timestamp for AT_TIMESTAMP.
type StartingPosition struct {
	Type           *string    `json:"Type,omitempty"`
	SequenceNumber *string    `json:"SequenceNumber,omitempty"`
	Timestamp      *Timestamp `json:"Timestamp,omitempty"`
}

// SubscribeToShardOutput is the initial response of SubscribeToShard: no members.
type SubscribeToShardOutput struct{}

// SubscribeToShardEvent is one event of a subscription. ContinuationSequenceNumber is where a new
// subscription continues with AFTER_SEQUENCE_NUMBER; it is absent only in the last event of a closed
// shard, which carries ChildShards instead (KCL reads a null continuation as the shard's end).
type SubscribeToShardEvent struct {
	Records                    []Record     `json:"Records"`
	ContinuationSequenceNumber *string      `json:"ContinuationSequenceNumber,omitempty"`
	MillisBehindLatest         int64        `json:"MillisBehindLatest"`
	ChildShards                []ChildShard `json:"ChildShards,omitempty"`

	batches []*RecordBatch // the shared batches Records is made of, in order (nil: none)
}

// Batches returns the shared batches the event's Records are made of, in order, or nil when it has no
// records. The edge encodes each batch once per wire format for every subscription that delivers it
// (RecordBatch.Edge).
func (e *SubscribeToShardEvent) Batches() []*RecordBatch { return e.batches }

// WithBatches returns e with its Records made of batches, as the events the service delivers are
// made: for the edge's tests and benchmarks.
func (e SubscribeToShardEvent) WithBatches(batches ...*RecordBatch) SubscribeToShardEvent {
	e.Records, e.batches = joinRecords(batches), batches
	if len(batches) == 0 {
		e.batches = nil
	}
	return e
}

// joinRecords returns the records of batches, in order: the one batch's own when there is one.
func joinRecords(batches []*RecordBatch) []Record {
	switch len(batches) {
	case 0:
		return []Record{}
	case 1:
		return batches[0].recs
	}
	n := 0
	for _, b := range batches {
		n += len(b.recs)
	}
	recs := make([]Record, 0, n)
	for _, b := range batches {
		recs = append(recs, b.recs...)
	}
	return recs
}

// subscriber is one subscription's fixed facts.
type subscriber struct {
	key      subKey
	arn      string
	stream   string // stream name
	streamID uint64 // stream incarnation: a recreated stream of the same name is another stream
	consumer string
	created  int64 // the consumer's creation second (its ARN's suffix)
	shard    uint32
}

// subKey names one consumer's subscription to one shard.
type subKey struct {
	streamID uint64
	consumer string
	created  int64 // the consumer registration's creation second
	shard    uint32
}

// subscriptions are this process's open subscriptions, by the owner id of their lease (lease.go): the
// lease in the store decides which subscription holds a consumer's shard, across every front-end; the
// registry lets a takeover in this process end the subscription it displaced at once, and shutdown end
// them all. The zero value is ready to use.
type subscriptions struct {
	mu     sync.Mutex
	active map[string]*subHandle // by lease owner
	ended  chan struct{}         // closed by EndSubscriptions; made on first use
	closed bool                  // ended is closed
}

// subHandle is one open subscription's hold on its lease.
type subHandle struct {
	key       string        // the lease's metadata key
	owner     string        // the subscription's random id, which the lease names while it holds it
	version   uint64        // the lease document's version once written; only the subscription's goroutine uses it
	takenOver chan struct{} // closed when a later subscription in this process takes the lease over
}

// inUse is AWS's ResourceInUseException for a consumer and shard that already have a subscription.
func inUse(sub *subscriber, account string) error {
	return kerr.NewResourceInUse(fmt.Sprintf("Another active subscription exists for this consumer: %s:%s:%s:%s",
		account, sub.stream, stream.ShardID(sub.shard), sub.consumer))
}

// add registers h.
func (r *subscriptions) add(h *subHandle) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.active == nil {
		r.active = make(map[string]*subHandle)
	}
	r.active[h.owner] = h
}

// remove unregisters h, if it is still registered.
func (r *subscriptions) remove(h *subHandle) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.active[h.owner] == h {
		delete(r.active, h.owner)
	}
}

// takeOver tells the subscription of this process whose lease owner id is owner, if there is one, that
// its lease has been taken over; it is unregistered then, so that it is told once.
func (r *subscriptions) takeOver(owner string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if h := r.active[owner]; h != nil {
		delete(r.active, owner)
		close(h.takenOver)
	}
}

// endedChan is closed once EndSubscriptions has been called.
func (r *subscriptions) endedChan() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended == nil {
		r.ended = make(chan struct{})
	}
	return r.ended
}

// position is where a subscription stands: the offset it reads next, and the last continuation number
// it stood at there (zero: none, or the last record's own number). Idle events move the continuation
// on (seqnum.Pos.Continue), so that their numbers keep advancing while nothing is written.
type position struct {
	next uint64
	cont seqnum.Pos
}
