// Package service is the Kinesis domain: streams, shards, records, iterators, limits and validation.
package service

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"kinesisd/internal/clock"
	"kinesisd/internal/kerr"
	"kinesisd/internal/service/iterator"
	"kinesisd/internal/storage"
)

// Config is everything the service needs; zero durations and sizes take AWS's values.
type Config struct {
	Store   storage.Store
	Clock   clock.Clock // nil: the real clock
	Logger  *slog.Logger
	Account string // the account id streams live in, 12 digits
	Region  string

	// IteratorLife is how long a shard iterator stays valid (AWS: 5 minutes).
	IteratorLife time.Duration
	// MaxRecordSize is the largest data + partition key of one record, in bytes (spec: 1 MiB).
	MaxRecordSize int
	// MaxPutRecordsSize is the largest total of data + partition keys in one PutRecords (spec: 5 MiB).
	MaxPutRecordsSize int
	// MaxGetRecordsSize is the most bytes one GetRecords returns (AWS: 10 MiB).
	MaxGetRecordsSize int

	// CreateDelay, DeleteDelay and UpdateDelay are how long a stream stays CREATING, DELETING and
	// UPDATING (default 0: the change is immediate).
	CreateDelay, DeleteDelay, UpdateDelay time.Duration
	// ShardLimit is the number of open shards an account may have (AWS's default quota: 500).
	ShardLimit int
	// ThroughputLimits turns on the per-shard write limits: ShardRecordsPerSecond and ShardBytesPerSecond.
	ThroughputLimits bool
	// ShardRecordsPerSecond and ShardBytesPerSecond are the per-shard write limits (AWS: 1,000 and 1 MiB).
	ShardRecordsPerSecond, ShardBytesPerSecond int
	// APIRateLimits turns on AWS's per-second rates on control-plane operations.
	APIRateLimits bool
	// ConsumerDelay is how long a new consumer stays CREATING and a deregistered one DELETING.
	ConsumerDelay time.Duration
	// OnDemandWindow is the window over which an ON_DEMAND shard's write load decides a split (default 60 s).
	OnDemandWindow time.Duration
	// SubscribeLifetime, SubscribeHeartbeat and SubscribeTakeover are SubscribeToShard's durations: how
	// long a subscription lasts (AWS: 5 min), the longest gap between its events (5 s), and the window
	// after a subscription's start in which another for the same consumer and shard is refused (5 s).
	SubscribeLifetime, SubscribeHeartbeat, SubscribeTakeover time.Duration
}

const (
	mib                     = 1 << 20
	defaultIteratorLife     = 5 * time.Minute
	defaultRetentionHours   = 24
	defaultMaxRecordSizeKiB = 1024
	getRecordsDefaultLimit  = 10000
	iteratorKeyMetaKey      = "server/iterator-key"
	streamMetaPrefix        = "stream/"
	encryptionNone          = "NONE"
	streamModeProvisioned   = "PROVISIONED"
	streamModeOnDemand      = "ON_DEMAND"
	statusCreating          = "CREATING"
	statusActive            = "ACTIVE"
	statusDeleting          = "DELETING"
	statusUpdating          = "UPDATING"
	distributionAuto        = "AUTO"
)

func (c *Config) setDefaults() {
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Account == "" {
		c.Account = "000000000000"
	}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	if c.IteratorLife == 0 {
		c.IteratorLife = defaultIteratorLife
	}
	if c.MaxRecordSize == 0 {
		c.MaxRecordSize = mib
	}
	if c.MaxPutRecordsSize == 0 {
		c.MaxPutRecordsSize = 5 * mib
	}
	if c.MaxGetRecordsSize == 0 {
		c.MaxGetRecordsSize = 10 * mib
	}
	if c.OnDemandWindow == 0 {
		c.OnDemandWindow = time.Minute
	}
	c.SubscribeLifetime = cmp.Or(c.SubscribeLifetime, defaultSubscribeLifetime)
	c.SubscribeHeartbeat = cmp.Or(c.SubscribeHeartbeat, defaultSubscribeHeartbeat)
	c.SubscribeTakeover = cmp.Or(c.SubscribeTakeover, defaultSubscribeTakeover)
	if c.ShardLimit == 0 {
		c.ShardLimit = 500
	}
	if c.ShardRecordsPerSecond == 0 {
		c.ShardRecordsPerSecond = 1000
	}
	if c.ShardBytesPerSecond == 0 {
		c.ShardBytesPerSecond = mib
	}
}

// Service implements the Kinesis operations over a Store. It is safe for concurrent use.
type Service struct {
	cfg    Config
	store  storage.Store
	clock  clock.Clock
	log    *slog.Logger
	sealer *iterator.Sealer

	mu    sync.Mutex               // guards cache
	cache map[string]*cachedStream // decoded stream documents by meta key

	writes *rateWindows // per-shard write limits
	reads  *rateWindows // per-shard read limits
	calls  *rateWindows // control-plane call rates
	gates  gates        // per-stream write gates: writers share, resharding excludes (reshard.go)
	scaler autoscaler   // ON_DEMAND write load per shard (autoscale.go)

	subs  subscriptions // this process's open SubscribeToShard subscriptions (their leases: lease.go)
	feeds feeds         // what the subscriptions of each shard share (subscribe_feed.go)
}

type cachedStream struct {
	version uint64
	stream  *stream
}

// New returns a Service over cfg.Store, creating the iterator key on first use of the store.
func New(ctx context.Context, cfg Config) (*Service, error) {
	cfg.setDefaults()
	if cfg.Store == nil {
		return nil, errors.New("service: no store")
	}
	key, err := iteratorKey(ctx, cfg.Store)
	if err != nil {
		return nil, err
	}
	sealer, err := iterator.NewSealer(key)
	if err != nil {
		return nil, err
	}
	return &Service{
		cfg:    cfg,
		store:  cfg.Store,
		clock:  cfg.Clock,
		log:    cfg.Logger,
		sealer: sealer,
		cache:  make(map[string]*cachedStream),
		writes: newRateWindows(),
		reads:  newRateWindows(),
		calls:  newRateWindows(),
	}, nil
}

// iteratorKey loads the server's iterator-sealing key from the store, creating it the first time,
// so that iterators stay valid across restarts and across front-ends of one cluster.
func iteratorKey(ctx context.Context, st storage.Store) ([]byte, error) {
	for {
		key, _, err := st.GetMeta(ctx, iteratorKeyMetaKey)
		if err == nil {
			return key, nil
		}
		if !errors.Is(err, storage.ErrNotFound) {
			return nil, fmt.Errorf("load iterator key: %w", err)
		}
		_, err = st.PutMeta(ctx, iteratorKeyMetaKey, iterator.NewKey(), 0)
		if err != nil && !errors.Is(err, storage.ErrConflict) {
			return nil, fmt.Errorf("create iterator key: %w", err)
		}
	}
}

// streamDoc is a stream's metadata document as stored: one versioned document per stream, changed
// only by compare-and-set (mutateStream), so every change is atomic, also on a distributed engine.
type streamDoc struct {
	Name           string     `json:"name"`
	ID             uint64     `json:"id"` // incarnation: unique, never reused
	CreatedMilli   int64      `json:"created"`
	Status         string     `json:"status"`
	StatusMilli    int64      `json:"statusSince"`
	Mode           string     `json:"mode"`
	RetentionHours int        `json:"retentionHours"`
	MaxRecordKiB   int        `json:"maxRecordKiB"`
	Encryption     string     `json:"encryption"`
	KeyID          string     `json:"keyId,omitempty"`
	NextShard      uint32     `json:"nextShard"`
	Shards         []shardDoc `json:"shards"`
	Tags           []tag      `json:"tags,omitempty"`

	// ShardLevelMetrics are the enhanced-monitoring metrics enabled (EnableEnhancedMonitoring).
	ShardLevelMetrics []string `json:"shardLevelMetrics,omitempty"`
	// Policy is the stream's resource policy (PutResourcePolicy), a JSON document; "" for none.
	Policy string `json:"policy,omitempty"`
	// Consumers are the enhanced fan-out consumers registered on the stream.
	Consumers []consumerDoc `json:"consumers,omitempty"`
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
	// EncryptionType (pending.go); empty while it never has.
	EncryptionChanges []encryptionChange `json:"encryptionChanges,omitempty"`
	// Pending are the changes requested that take effect when the stream's UPDATING ends (pending.go).
	Pending []pendingChange `json:"pending,omitempty"`
	// ExpiredBeforeMilli is a floor under the retention cutoff: records that arrived before it have
	// expired even if the retention period has since been increased (AWS: an increase does not make
	// expired data accessible again).
	ExpiredBeforeMilli int64 `json:"expiredBefore,omitempty"`
}

// consumerDoc is one enhanced fan-out consumer, kept in its stream's document.
type consumerDoc struct {
	Name         string `json:"name"`
	CreatedMilli int64  `json:"created"` // the ARN's suffix is this in epoch seconds
	Status       string `json:"status"`  // CREATING, ACTIVE, DELETING (settled by the service clock)
	StatusMilli  int64  `json:"statusSince"`
	Tags         []tag  `json:"tags,omitempty"`
	Policy       string `json:"policy,omitempty"`
}

type tag struct {
	Key   string `json:"k"`
	Value string `json:"v"`
}

type shardDoc struct {
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
}

// stream is a decoded stream document with its routing table.
type stream struct {
	doc     streamDoc
	version uint64
	open    []openShard    // open shards in hash-key order, for routing
	turn    *atomic.Uint64 // AUTO distribution: the next shard in turn (shared by settled copies)
}

type openShard struct {
	start, end hashKey
	index      uint32
	id         string
}

func newRandomID() uint64 {
	var b [8]byte
	for {
		rand.Read(b[:])
		if id := binary.BigEndian.Uint64(b[:]); id != 0 {
			return id
		}
	}
}

func (s *Service) streamKey(name string) string {
	return streamMetaPrefix + s.cfg.Account + "/" + name
}

// loadStream returns the stream named name, or nil when there is none. Pending changes whose UPDATING
// has ended take effect first (pending.go), unless ctx holds the stream's write gate.
func (s *Service) loadStream(ctx context.Context, name string) (*stream, error) {
	st, err := s.peekStream(ctx, name)
	if err != nil || st == nil || !st.pendingDue() || holdsGate(ctx, name) {
		return st, err
	}
	return s.applyDue(ctx, name)
}

// peekStream is loadStream leaving pending changes as they are: for reads that need no shards, and
// for scans of the account that may run under another stream's write gate.
func (s *Service) peekStream(ctx context.Context, name string) (*stream, error) {
	key := s.streamKey(name)
	raw, version, err := s.store.GetMeta(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load stream %s: %w", name, err)
	}
	s.mu.Lock()
	c := s.cache[key]
	s.mu.Unlock()
	var st *stream
	if c != nil && c.version == version {
		st = c.stream
	} else {
		if st, err = decodeStream(raw, version); err != nil {
			return nil, fmt.Errorf("decode stream %s: %w", name, err)
		}
		s.mu.Lock()
		s.cache[key] = &cachedStream{version: version, stream: st}
		s.mu.Unlock()
	}
	return s.settle(ctx, st)
}

// settle applies the state transitions whose delay has passed: CREATING and UPDATING become ACTIVE,
// and a DELETING stream goes (nil), its data with it. Transitions are computed from the service's clock
// when a stream is read, so no timer is needed and tests drive them with a fake clock. (Pending changes
// are not settle's: they need the write gate, and loadStream applies them.)
func (s *Service) settle(ctx context.Context, st *stream) (*stream, error) {
	var delay time.Duration
	switch st.doc.Status {
	case statusCreating:
		delay = s.cfg.CreateDelay
	case statusUpdating:
		delay = s.cfg.UpdateDelay
	case statusDeleting:
		delay = s.cfg.DeleteDelay
	default:
		return st, nil
	}
	if s.now().Before(timeMilli(st.doc.StatusMilli).Add(delay)) {
		return st, nil
	}
	if st.doc.Status == statusDeleting {
		return nil, s.purge(ctx, st)
	}
	settled := *st
	settled.doc.Status = statusActive
	return &settled, nil
}

// purge removes a deleted stream's document, records and subscription leases.
func (s *Service) purge(ctx context.Context, st *stream) error {
	err := s.store.DeleteMeta(ctx, s.streamKey(st.doc.Name), st.version)
	if errors.Is(err, storage.ErrConflict) || errors.Is(err, storage.ErrNotFound) {
		return nil // someone else purged it (or recreated the name) first
	}
	if err != nil {
		return fmt.Errorf("purge stream %s: %w", st.doc.Name, err)
	}
	if err := s.store.DropStream(ctx, st.doc.ID); err != nil {
		// The stream is gone from the API already; its records are unreachable (new incarnations get new
		// ids). Log rather than fail an operation that has taken effect.
		s.log.Error("drop stream data", "stream", st.doc.Name, "err", err)
	}
	s.dropLeases(ctx, s.streamLeasePrefix(st.doc.ID)) // its consumers' subscription leases go with it
	return nil
}

func decodeStream(raw []byte, version uint64) (*stream, error) {
	st := &stream{version: version, turn: new(atomic.Uint64)}
	if err := json.Unmarshal(raw, &st.doc); err != nil {
		return nil, err
	}
	for _, sh := range st.doc.Shards {
		if sh.Closed {
			continue
		}
		start, ok1 := parseHashKey(sh.StartHash)
		end, ok2 := parseHashKey(sh.EndHash)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("shard %d: bad hash range %s..%s", sh.Index, sh.StartHash, sh.EndHash)
		}
		st.open = append(st.open, openShard{start: start, end: end, index: sh.Index, id: shardID(sh.Index)})
	}
	sortOpen(st.open)
	return st, nil
}

// mutateStream applies change to the current document of stream name and saves it with compare-and-set,
// retrying from a fresh read when another change got in first. change sees the settled document and
// returns a kerr error to refuse; then nothing is written. It returns the stream as saved.
func (s *Service) mutateStream(ctx context.Context, name string, change func(doc *streamDoc) error) (*stream, error) {
	for {
		st, err := s.loadStream(ctx, name)
		if err != nil {
			return nil, internal("load stream", err)
		}
		if st == nil {
			return nil, kerr.StreamNotFound(name, s.cfg.Account)
		}
		doc := cloneDoc(&st.doc)
		if err := change(&doc); err != nil {
			return nil, err
		}
		err = s.saveStream(ctx, &doc, st.version)
		if errors.Is(err, storage.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, internal("save stream", err)
		}
		return s.loadStream(ctx, name)
	}
}

// cloneDoc deep-copies a document so that a change never touches a cached one.
func cloneDoc(d *streamDoc) streamDoc {
	c := *d
	c.Shards = slices.Clone(d.Shards)
	c.Tags = slices.Clone(d.Tags)
	c.ShardLevelMetrics = slices.Clone(d.ShardLevelMetrics)
	c.ShardCountUpdates = slices.Clone(d.ShardCountUpdates)
	c.ModeSwitches = slices.Clone(d.ModeSwitches)
	c.EncryptionStarts = slices.Clone(d.EncryptionStarts)
	c.EncryptionStops = slices.Clone(d.EncryptionStops)
	c.EncryptionChanges = slices.Clone(d.EncryptionChanges)
	c.Pending = slices.Clone(d.Pending)
	c.Consumers = slices.Clone(d.Consumers)
	for i := range c.Consumers {
		c.Consumers[i].Tags = slices.Clone(d.Consumers[i].Tags)
	}
	return c
}

// saveStream writes doc with compare-and-set on version (0: create).
func (s *Service) saveStream(ctx context.Context, doc *streamDoc, version uint64) error {
	raw, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	_, err = s.store.PutMeta(ctx, s.streamKey(doc.Name), raw, version)
	return err
}

// route returns the open shard holding hash key k.
func (st *stream) route(k hashKey) *openShard {
	lo, hi := 0, len(st.open)
	for lo < hi {
		mid := (lo + hi) / 2
		if st.open[mid].end.less(k) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo < len(st.open) && !k.less(st.open[lo].start) {
		return &st.open[lo]
	}
	return nil
}

func (st *stream) shard(index uint32) *shardDoc {
	for i := range st.doc.Shards {
		if st.doc.Shards[i].Index == index {
			return &st.doc.Shards[i]
		}
	}
	return nil
}

func (st *stream) ref(index uint32) storage.ShardRef {
	return storage.ShardRef{StreamID: st.doc.ID, Shard: index}
}

func (s *Service) arn(name string) string {
	return fmt.Sprintf("arn:aws:kinesis:%s:%s:stream/%s", s.cfg.Region, s.cfg.Account, name)
}

func (s *Service) now() time.Time { return s.clock.Now() }

// internal wraps an unexpected failure; the edge logs it and answers InternalFailureException. A
// write the store refused for lack of disk space (storage.ErrNoSpace: nothing written, retryable) is
// answered as InternalFailureException too (HTTP 500, which the SDKs retry), with a message that says
// so instead of a log line per request.
func internal(op string, err error) error {
	if errors.Is(err, storage.ErrNoSpace) {
		return kerr.NewInternalFailure(diskFullMessage)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// diskFullMessage is InternalFailureException's message for a write refused by storage.ErrNoSpace.
const diskFullMessage = "The server's disk is full: writes are refused until space is freed."

var _ kerr.Error = (*kerr.InternalFailure)(nil)
