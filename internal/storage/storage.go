// Package storage defines the boundary between the Kinesis domain and the engines that keep its data.
package storage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Sentinel errors returned by every engine. Engines wrap them with %w; callers test with errors.Is.
var (
	// ErrNotFound: the metadata key does not exist.
	ErrNotFound = errors.New("storage: not found")
	// ErrConflict: a compare-and-set saw a version other than the one given.
	ErrConflict = errors.New("storage: version conflict")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("storage: closed")
	// ErrSealed: a shard's log was sealed (Store.Seal) and takes no more records. Append reports it
	// in a *SealedError.
	ErrSealed = errors.New("storage: shard sealed")
	// ErrNoSpace: the engine refused a write because the free space of its disk is below the
	// reserve the operator set. Nothing of the call was written, so the caller may retry it as it is;
	// reads go on meanwhile, and writes are admitted again by themselves once space is back. An
	// engine reports it only on the calls that write records (Append, AppendAt): the small metadata
	// writes and Trim/DropStream (which free space) go on while space lasts.
	ErrNoSpace = errors.New("storage: disk full: free space is below the reserve")
	// ErrCorrupt: the engine found data on disk that fails its checksums: a table block read by Read,
	// or a write-ahead log damaged before records that were acknowledged (Open refuses such a store
	// unless the operator accepts the loss). The error wrapping it names the file and where.
	ErrCorrupt = errors.New("storage: corrupt data")
	// ErrTooManyRecords: an Append call held more than MaxAppendRecords records. Nothing of the call
	// was written.
	ErrTooManyRecords = errors.New("storage: more records in one Append than MaxAppendRecords")
)

// MaxAppendRecords is the most records one Append call may hold, over all its shards. It is the
// largest atomic batch publish nats-server accepts by default (jetstream.limits.max_batch_size), so
// that the JetStream engine writes a call as one batch, all or nothing, as the contract asks; an
// engine that split a larger call would leave its earlier parts stored after an error. The callers
// stay well within it: PutRecords holds at most 500 records, and an import appends batches of at
// most this many.
const MaxAppendRecords = 1000

// CheckAppend returns ErrTooManyRecords, wrapped, when appends hold more than MaxAppendRecords
// records in all. Engines call it before writing anything.
func CheckAppend(appends []Append) error {
	n := 0
	for i := range appends {
		n += len(appends[i].Records)
	}
	if n > MaxAppendRecords {
		return fmt.Errorf("append of %d records: %w", n, ErrTooManyRecords)
	}
	return nil
}

// SealedError is Append's error when some of its shards had been sealed (Store.Seal). The records of
// those shards were not appended: they are not acknowledged and no reader stopping at the shard's end
// sees them (an engine may have stored them at offsets at or past the end). The records of every
// other shard of the call were appended, durably, with their Offsets set, as after a nil error.
type SealedError struct {
	Shards []ShardRef
}

func (e *SealedError) Error() string {
	return fmt.Sprintf("storage: %d shard(s) sealed, first %d/%d", len(e.Shards), e.Shards[0].StreamID, e.Shards[0].Shard)
}

// Is makes errors.Is(err, ErrSealed) true.
func (e *SealedError) Is(target error) bool { return target == ErrSealed }

// Sealed reports whether the records of ref were refused.
func (e *SealedError) Sealed(ref ShardRef) bool { return slices.Contains(e.Shards, ref) }

// ShardRef names one shard's log: the stream incarnation (a unique id, never reused, so a deleted and
// recreated stream of the same name never sees the old data) and the shard index within it.
type ShardRef struct {
	StreamID uint64
	Shard    uint32
}

// Record is one data record as stored. Offset is assigned by the engine in Append; the rest comes
// from the caller.
type Record struct {
	Offset       uint64
	ArrivalMilli int64 // ApproximateArrivalTimestamp, Unix milliseconds
	PartitionKey string
	Data         []byte
}

// Size is the record's size in the Kinesis sense: data plus partition key bytes.
func (r *Record) Size() int { return len(r.Data) + len(r.PartitionKey) }

// Append is the records for one shard inside one Store.Append call.
type Append struct {
	Shard   ShardRef
	Records []Record
}

// MetaEntry is one metadata document with its version.
type MetaEntry struct {
	Key     string
	Value   []byte
	Version uint64
}

// Store is what the service needs from an engine: versioned metadata documents and per-shard record logs.
//
// Every method takes ctx first and is safe for concurrent use. Unless the operator chose otherwise
// (for example an in-memory store), a method that changes data returns only once the change is durable:
// it survives a crash of the process or machine.
type Store interface {
	// GetMeta returns the document stored under key and its version (always > 0), or ErrNotFound.
	GetMeta(ctx context.Context, key string) (value []byte, version uint64, err error)
	// PutMeta stores value under key if the key's current version is version (0: the key must not exist),
	// and returns the new version. Otherwise it returns ErrConflict and changes nothing.
	PutMeta(ctx context.Context, key string, value []byte, version uint64) (newVersion uint64, err error)
	// DeleteMeta deletes key if its current version is version; ErrConflict otherwise, ErrNotFound if absent.
	DeleteMeta(ctx context.Context, key string, version uint64) error
	// ListMeta returns every document whose key starts with prefix, in ascending key order.
	ListMeta(ctx context.Context, prefix string) ([]MetaEntry, error)

	// Append writes the records of each Append to the end of its shard's log and sets each record's
	// Offset. Offsets are strictly increasing per shard, also across restarts and trims (never reused),
	// but not necessarily dense. When Append returns nil the records are durable and visible to Read; a
	// reader never sees a record before every lower offset of the same shard that will ever be visible
	// is visible too. Records of a sealed shard are refused (see SealedError) while the others of the
	// call are appended. Append keeps no reference to the records' Data once it returns: the caller
	// recycles that memory (the PutRecords request buffers).
	//
	// The records of one stream incarnation in a call are written atomically: after any error but a
	// SealedError, all of them are stored or none is (after a timeout the caller cannot tell which),
	// never a part. A call naming several incarnations (the service never makes one) is atomic per
	// incarnation only: an error may leave the records of some incarnations stored. A call holds at
	// most MaxAppendRecords records in all; a larger one returns ErrTooManyRecords and writes nothing.
	Append(ctx context.Context, appends []Append) error
	// Read returns records of shard with Offset >= from in offset order: at most maxRecords of them, and
	// stopping before the total Size would pass maxBytes, except that the first record is always returned
	// whatever its size. An empty result means nothing is stored at or after from. The records' Data
	// may be shared with the engine and with other readers (a cache of the log's tail): callers must
	// not modify it.
	Read(ctx context.Context, shard ShardRef, from uint64, maxRecords, maxBytes int) ([]Record, error)
	// NextOffset returns an offset greater than every record ever appended to shard (visible now) and not
	// greater than any record appended later: the position of "the end of the log".
	NextOffset(ctx context.Context, shard ShardRef) (uint64, error)
	// OffsetAtTime returns the offset of the first stored record with ArrivalMilli >= t, or NextOffset
	// when there is none.
	OffsetAtTime(ctx context.Context, shard ShardRef, t time.Time) (uint64, error)
	// Seal closes shard's log for good, for the writers of every process sharing the store, and
	// returns its end. Every record of the shard that Append acknowledges, before or after the call
	// and in any process, has an Offset below end; every record below end that Append acknowledged is
	// visible to Read when Seal returns; end is at least NextOffset at the call. Later Appends to the
	// shard report it in a *SealedError. Sealing a sealed shard returns the same end. A resharding
	// closes its parents with Seal, so that the parents' ends are final although writers in other
	// processes may still route records to them. Readers of a sealed log stop at end: an engine may
	// hold refused records beyond it.
	Seal(ctx context.Context, shard ShardRef) (end uint64, err error)
	// Trim deletes every record of shard with Offset < before; it is idempotent. Space is reclaimed
	// in the background.
	Trim(ctx context.Context, shard ShardRef, before uint64) error
	// DropStream deletes every record of every shard of the stream incarnation streamID.
	DropStream(ctx context.Context, streamID uint64) error

	// Wait returns a channel that is closed once records that this Store appends to shard after the
	// call are visible to Read, so that readers (SubscribeToShard) need not poll. An engine that
	// several processes share may close it at another process's append too, best effort (a lost
	// announcement leaves the reader waiting for its next reason to read). It may also close without
	// an append (on DropStream and Close): a waiter reads again and, finding nothing, asks Wait again.
	// After Close it returns a closed channel.
	Wait(shard ShardRef) <-chan struct{}

	// Close releases the store. Calls after Close return ErrClosed.
	Close() error
}

// OffsetAppender is an optional ability of a Store: it writes records at offsets the caller chooses,
// so that a copy of a shard's log (kinesisd import) keeps its offsets, and with them the service's
// sequence numbers.
type OffsetAppender interface {
	// AppendAt writes recs to the end of shard's log at their own Offsets and moves the end of the log
	// (NextOffset) to end. The Offsets must be strictly increasing, the first at or after the shard's
	// NextOffset, the last below end; end must not be below NextOffset. Otherwise AppendAt returns
	// ErrConflict and writes nothing. Offsets skipped between the records, and between the last record
	// and end, are gaps, as after failed appends. An empty recs only moves the end. The call is atomic
	// and durable like Append, and later Appends to shard get offsets at or after end.
	AppendAt(ctx context.Context, shard ShardRef, recs []Record, end uint64) error
}

// Retainer is an optional ability of a Store: it drops a stream incarnation's records by itself once
// they are older than its retention period, as a backstop to the service's Trim (for example while no
// front-end runs). It never drops a record the service still keeps: the engine's clock for a record
// starts at or after its ArrivalMilli, and it keeps records a little longer than retention.
type Retainer interface {
	// SetRetention sets how long the records of incarnation streamID are kept.
	SetRetention(ctx context.Context, streamID uint64, retention time.Duration) error
}

// Lender is an optional ability of a Store: a Read whose records' memory the engine takes back for
// later reads, rather than leaving it to the garbage collector. A read-back at full speed reads more
// than a gigabyte a second; allocated fresh, each buffer is zeroed, faulted in by the kernel and
// collected (a quarter of the server's CPU in a profile of the benchmark's read-back).
type Lender interface {
	// ReadLent is Read, and release gives the records' memory back: the caller must not use the
	// records, their Data or any slice of it once it has called release, which it calls at most once
	// (never is allowed: the memory is then garbage collected). release is nil when err is not.
	ReadLent(ctx context.Context, shard ShardRef, from uint64, maxRecords, maxBytes int) (recs []Record, release func(), err error)
}

// Stats are figures of an engine's health that an operator watches (GET /metrics shows them). A
// figure an engine does not have is 0.
type Stats struct {
	DiskBytes           uint64 // space the engine's files take on disk (or in memory, for an in-memory store), as allocated: preallocated and recycled files count in full
	DiskFreeBytes       uint64 // free space of the file system holding the engine's files, as unprivileged writers see it
	WritesRefused       uint64 // calls refused with ErrNoSpace since the store opened
	Corruptions         uint64 // corrupt blocks or files found since the store opened (reads that failed with ErrCorrupt, WAL damage accepted at Open)
	WALBytes            uint64 // the live data in the write-ahead log
	MemtableBytes       uint64 // memory allocated to writes not yet flushed to tables
	L0Files             int64  // tables in level 0 of an LSM tree: many of them mean flushes outrun compactions
	CompactionDebtBytes uint64 // estimated bytes that compactions must still write to reach a steady shape
	TailCacheBytes      uint64 // memory held by a cache of the logs' latest records (records and their bookkeeping)
	CachedReads         uint64 // Read calls answered from that cache since the store opened
	EngineReads         uint64 // Read calls that read the engine's files or tables since the store opened
}

// StatsReporter is an optional ability of a Store: it reports its Stats.
type StatsReporter interface {
	// Stats returns the engine's figures now, or ErrClosed after Close.
	Stats() (Stats, error)
}

// HealthReporter is an optional ability of a Store: it says whether the engine can serve now. The
// server's GET /health answers from it.
type HealthReporter interface {
	// Health returns nil while the engine can serve reads and writes, and otherwise an error that says
	// why in words for an operator ("disk below reserve: 180 MiB free", "NATS unreachable: …",
	// "closed"). It is cheap: no round trip to a remote service per call, so that it may be polled.
	Health(ctx context.Context) error
}

// Checkpointer is an optional ability of a Store: an online backup.
type Checkpointer interface {
	// Checkpoint writes a consistent copy of the running store into dir, which must not exist or be
	// empty (otherwise it fails and writes nothing there). Every record and metadata change
	// acknowledged before the call is in the copy; changes made during the call may or may not be,
	// each whole. A store opened on dir (after moving it where the engine expects its data) is a
	// store of that moment. The store serves reads and writes meanwhile.
	Checkpoint(ctx context.Context, dir string) error
}
