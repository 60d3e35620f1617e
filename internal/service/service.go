// Package service is the Kinesis domain: streams, shards, records, iterators, limits and validation.
package service

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"kinesisd/internal/clock"
	"kinesisd/internal/iam"
	"kinesisd/internal/kms"
	"kinesisd/internal/service/autoscale"
	"kinesisd/internal/service/iterator"
	"kinesisd/internal/service/ratelimit"
	"kinesisd/internal/service/stream"
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
	// Policies are the identity policies of the principals that have one, by principal ARN (-policies);
	// the others may do anything in their own account (iam.DefaultIdentity).
	Policies map[string]*iam.Policy
	// Keys is the KMS keyring that encrypts the records of streams with KMS encryption at rest; nil:
	// StartStreamEncryption checks no key and records are stored as they come.
	Keys *kms.Keyring
	// ChannelObjects is where channels to general-purpose S3 deliver (-s3-endpoint, or the embedded
	// buckets); nil: CreateChannel refuses them, saying ChannelsOff. ChannelTables appends to the
	// Iceberg tables of channels to S3 Tables; nil: those are refused. ChannelsOff is why channels are
	// refused ("": a generic reason), TablesOff why channels to S3 Tables are ("": a server on
	// JetStream without -iceberg-catalog).
	ChannelObjects ObjectStore
	ChannelTables  TableStore
	ChannelsOff    string
	TablesOff      string
	// ChannelLeases is set when several front-ends share the store (JetStream): each channel is then
	// delivered by the one holding its lease. A store of one process needs none, and a restart
	// resumes at once.
	ChannelLeases bool
	// SparseOffsets is set when a shard's offsets are not dense (JetStream: a stream's shards share
	// one sequence): a gap in them then says nothing of records retention deleted, and channels do not
	// count such a gap as expired records.
	SparseOffsets bool
}

const (
	defaultSubscribeLifetime  = 5 * time.Minute
	defaultSubscribeHeartbeat = 5 * time.Second
	defaultSubscribeTakeover  = 5 * time.Second
	defaultIteratorLife       = 5 * time.Minute
	defaultRetentionHours     = 24
	defaultMaxRecordSizeKiB   = 1024
	getRecordsDefaultLimit    = 10000
	iteratorKeyMetaKey        = "server/iterator-key"
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

// Service implements the Kinesis operations over a Store for one account in one region: the root
// Service that New returns serves Config.Account in Config.Region, and For the others. It is safe for
// concurrent use.
type Service struct {
	cfg Config // Account and Region are this scope's
	*shared
	streams *stream.States // the scope's streams: documents, cache, changes, write gates
}

// shared is what the Services of every account and region share.
type shared struct {
	store  storage.Store
	clock  clock.Clock
	log    *slog.Logger
	sealer *iterator.Sealer

	writes *ratelimit.Windows // per-shard write limits
	reads  *ratelimit.Windows // per-shard read limits
	calls  *ratelimit.Windows // control-plane call rates
	scaler *autoscale.Loads   // ON_DEMAND write load per shard (autoscale.go)
	splits sync.WaitGroup     // ON_DEMAND splits under way

	keys     *kms.Keyring // Config.Keys
	policies policyCache  // resource policies, compiled (authz.go)
	dataKeys dataKeys     // the data keys unwrapped (recordkeys.go)

	subs  subscriptions // this process's open SubscribeToShard subscriptions (their leases: lease.go)
	feeds feeds         // what the subscriptions of each shard share (subscribe_feed.go)

	queues   queueRuntime   // what this process keeps for queues: long polls waiting (queue*.go)
	channels channelRuntime // the channels' delivery (channel*.go)

	mu     sync.Mutex          // guards scopes
	scopes map[string]*Service // by account/region
}

// New returns the Service of cfg.Account in cfg.Region over cfg.Store, creating the iterator key on
// first use of the store, and moving stream documents written before regions into cfg.Region.
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
	if err := stream.MoveIntoRegion(ctx, cfg.Store, cfg.Region); err != nil {
		return nil, err
	}
	sh := &shared{
		store:  cfg.Store,
		clock:  cfg.Clock,
		log:    cfg.Logger,
		sealer: sealer,
		writes: ratelimit.New(),
		reads:  ratelimit.New(),
		calls:  ratelimit.New(),
		scaler: autoscale.New(autoscale.Config{Window: cfg.OnDemandWindow, RecordsPerSecond: cfg.ShardRecordsPerSecond, BytesPerSecond: cfg.ShardBytesPerSecond}),
		scopes: make(map[string]*Service),
		keys:   cfg.Keys,
	}
	return sh.scope(cfg, cfg.Account, cfg.Region), nil
}

// For returns the Service of account in region (12 digits, and a region name as the signature's
// credential scope gives it), sharing everything but the streams with s.
func (s *Service) For(account, region string) *Service {
	if account == s.cfg.Account && region == s.cfg.Region {
		return s
	}
	return s.shared.scope(s.cfg, account, region)
}

// scope returns the Service of account in region, made from cfg the first time.
func (sh *shared) scope(cfg Config, account, region string) *Service {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	key := account + "/" + region
	if s := sh.scopes[key]; s != nil {
		return s
	}
	cfg.Account, cfg.Region = account, region
	s := &Service{cfg: cfg, shared: sh}
	s.streams = stream.New(stream.Config{
		Store: cfg.Store, Clock: cfg.Clock, Log: cfg.Logger, Account: account, Region: region,
		CreateDelay: cfg.CreateDelay, DeleteDelay: cfg.DeleteDelay, UpdateDelay: cfg.UpdateDelay, ConsumerDelay: cfg.ConsumerDelay,
		Purged: func(ctx context.Context, id uint64) { // its consumers' subscription leases and data keys go with it
			dropLeases(ctx, cfg.Store, cfg.Logger, streamLeasePrefix(account, id))
			sh.dataKeys.forget(id)
		},
	})
	sh.scopes[key] = s
	return s
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
