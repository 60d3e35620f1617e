package service

import (
	"context"
	"sync"
	"sync/atomic"

	"kinesisd/internal/channel/s3dest"
)

// channelRuntime is the channels' delivery in this process: the sinks from Config, and the channels
// this process delivers (channel_deliver.go).
type channelRuntime struct {
	run atomic.Pointer[deliveries] // set by RunChannels; read by /metrics meanwhile
}

// ObjectStore is where channels to general-purpose S3 write (s3dest.S3, s3dest.Dir, s3dest.Mem):
// Put replaces an object and is durable when it returns; Get returns an object or an error wrapping
// fs.ErrNotExist. The options carry the channel's ExpectedBucketOwner and StorageClass.
type ObjectStore interface {
	Put(ctx context.Context, bucket, key string, body []byte, opt s3dest.ObjectOptions) error
	Get(ctx context.Context, bucket, key string, opt s3dest.ObjectOptions) ([]byte, error)
}

// Table names an S3 Tables destination table.
type Table struct {
	Bucket, Namespace, Name, Compression string
	HourPartitions                       []string // source columns partitioned by hour (TIME_HOUR)
}

// TableStore appends records to Iceberg tables. Append commits recs as one snapshot that also keeps
// position, atomically, and returns the records it could not convert with why; it hands them to
// deadLetters (which writes them to the dead-letter location) BEFORE it commits, and commits nothing
// if that fails. Position returns the position of the table's last snapshot (ok false when it has
// none). An Append may be large (the Iceberg writer's process takes it in frames of a few MiB and
// commits it once): one commit costs about as much as thousands of records, so fewer, bigger
// Appends deliver more. A store may build each Append on the table as its last call left it, so
// call Position again after any Append error.
type TableStore interface {
	Append(ctx context.Context, t Table, recs []s3dest.Record, position string, deadLetters func([]s3dest.Rejected) error) (rejected []s3dest.Rejected, err error)
	Position(ctx context.Context, t Table) (position string, ok bool, err error)
}

// deliveries are the channels this process delivers, and their figures.
type deliveries struct {
	owner string // this process's lease owner id
	mu    sync.Mutex
	run   map[string]*delivery // by channel key
	stats map[string]*ChannelStats
	wg    sync.WaitGroup
}

// ChannelStats are a channel's delivery figures in this process, for /metrics.
type ChannelStats struct {
	Account, Region, Channel string
	Records, Bytes           atomic.Int64 // delivered (to the destination or its dead-letter location)
	DeadLettered             atomic.Int64 // records written to the dead-letter location
	Objects                  atomic.Int64 // objects or table commits written
	Errors                   atomic.Int64 // failed writes to the destination (each retried)
	Expired                  atomic.Int64 // records that left the stream's retention before delivery
	LagMilli                 atomic.Int64 // arrival-to-delivery time of the last run's first record

	mu          sync.Mutex
	expiredUpTo map[uint32]uint64 // by shard: the offset below which deleted records have been counted
}

type delivery struct {
	cancel context.CancelFunc
	done   chan struct{}
}
