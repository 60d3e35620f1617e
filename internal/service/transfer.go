package service

import (
	"kinesisd/internal/service/stream"
)

// Copying streams between stores (kinesisd export and import, package transfer) needs the keys of what
// the service stores, and reads and rewrites stream documents (stream.Stored).

const (
	// StreamMetaPrefix starts the metadata key of every stream document: "stream/<account>/<region>/<name>"
	// ("stream/<account>/<name>" before streams lived per region).
	StreamMetaPrefix = stream.MetaPrefix
	// IteratorKeyMetaKey is the metadata key of a store's iterator-sealing key: a secret that stays with
	// its store (iterators live five minutes; a copy has no use for old ones).
	IteratorKeyMetaKey = iteratorKeyMetaKey
	// LeaseMetaPrefix starts the metadata key of every SubscribeToShard lease (lease.go): the running
	// front-ends' hold on their subscriptions, which a copy has no use for.
	LeaseMetaPrefix = leaseMetaPrefix
)

// RecordSequenceNumber is the sequence number of the record at offset of the shard with index and
// SeqCreated created (stream.Stored.Shards), which arrived at arrivalMilli.
func RecordSequenceNumber(index uint32, created int64, offset uint64, arrivalMilli int64) string {
	return recordSeq(index, created, offset, arrivalMilli)
}
