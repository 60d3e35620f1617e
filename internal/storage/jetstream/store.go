// Package jetstream is the clustered storage engine: the storage.Store contract over NATS JetStream,
// one JetStream stream per Kinesis stream incarnation and a key-value bucket for the metadata.
//
// Layout, for Options.Prefix P (default "KINESISD"):
//
//   - the records of stream incarnation N live in the JetStream stream P_N, each shard on its own
//     subject P.rec.N.<shard>; a record's offset is its JetStream stream sequence, which is unique in
//     the stream and increasing on each subject, as the contract asks (offsets are not dense);
//   - metadata documents live in the key-value bucket P_meta (the stream KV_P_meta), with the key
//     revision as the document's version (keys.go for the key encoding);
//   - appends are announced on the core NATS subject P.notify, so that the front-ends sharing a
//     cluster wake their SubscribeToShard readers (Store.Wait, notify.go).
//
// Many kinesisd processes may share one JetStream cluster: metadata changes are compare-and-set on
// the key revision. The per-shard time index (timeindex.go) is exact for appends from one process;
// see there for what several front-ends appending to one shard at once mean for it.
package jetstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"kinesisd/internal/storage"
)

var (
	_ storage.Store          = (*Store)(nil)
	_ storage.Retainer       = (*Store)(nil)
	_ storage.HealthReporter = (*Store)(nil)
)

// MinMaxPayload is the smallest server max_payload (and stream MaxMsgSize) the engine accepts: a
// 10 MiB record plus its partition key, envelope and headers.
const MinMaxPayload = 11 << 20

// DefaultAckTimeout is how long a write waits for JetStream's acknowledgement unless Options say.
const DefaultAckTimeout = 5 * time.Second

// ErrUnavailable wraps the error of an Open that could not reach any NATS server, or whose
// JetStream did not answer or answered that it is not available yet (a cluster still electing its
// leader): worth retrying, unlike the other errors of Open (a refused configuration, credentials, a
// server too old).
var ErrUnavailable = errors.New("jetstream: NATS JetStream unavailable")

// Options configure Open.
type Options struct {
	// URL is the NATS server list, comma-separated (nats://host:4222,nats://host2:4222).
	URL string
	// Prefix names everything the engine creates in JetStream (streams, bucket, subjects), so that
	// several kinesisd installations can share a cluster. Letters, digits, '-' and '_'. Default
	// "KINESISD".
	Prefix string
	// Replicas of each JetStream stream and of the metadata bucket. 0 picks 3 when the server belongs
	// to a cluster and 1 otherwise.
	Replicas int
	// AckTimeout bounds how long a write waits for the cluster's acknowledgement (retries with the
	// same message ids included) before it fails; every other request to NATS is bounded by it as
	// well. 0 means DefaultAckTimeout.
	AckTimeout time.Duration
	// CredsFile is a NATS credentials file (JWT and NKey seed), if the cluster needs one.
	CredsFile string
	// TLSCAFile is a PEM file of the certificate authorities trusted for the servers' certificates.
	TLSCAFile string
	// Logger receives the engine's messages. Nil discards them.
	Logger *slog.Logger
}

var prefixPattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// Store is the JetStream engine. It implements storage.Store and the optional abilities
// storage.Retainer (retention.go: the stream's MaxAge) and HealthReporter (health.go); not
// OffsetAppender (an import into JetStream reassigns offsets), StatsReporter or Checkpointer (back up
// a JetStream cluster with NATS's own tools).
type Store struct {
	nc         *nats.Conn
	js         jetstream.JetStream
	kv         jetstream.KeyValue
	log        *slog.Logger
	prefix     string
	replicas   int
	ackTimeout time.Duration
	origin     uint64 // random id of this Store in the notifications it publishes
	replies    *replies
	notifySub  *nats.Subscription

	// Lock order: gate → streamsMu; gate → stream.pubMu. waitMu and the replies' lock are leaves.
	gate storage.Gate // every operation is inside it (enter/leave); Close closes it

	streamsMu sync.Mutex
	streams   map[uint64]*streamState
	dropped   map[uint64]bool // incarnations this process dropped: never re-created by a late Append

	waitMu  sync.Mutex
	waiters map[storage.ShardRef]chan struct{}

	health health // Health's cached JetStream probe (health.go); its lock is a leaf
}

// Open connects to NATS, checks that the servers can hold the records (max_payload, JetStream,
// atomic batch publish) and binds or creates the metadata bucket. A connection failure is wrapped
// in ErrUnavailable, and so are JetStream timeouts and 503 answers.
func Open(ctx context.Context, opts Options) (*Store, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "storage/jetstream")
	prefix := opts.Prefix
	if prefix == "" {
		prefix = "KINESISD"
	}
	if !prefixPattern.MatchString(prefix) {
		return nil, fmt.Errorf("jetstream: prefix %q: only letters, digits, '-' and '_'", prefix)
	}
	if opts.Replicas < 0 || opts.Replicas > 5 {
		return nil, fmt.Errorf("jetstream: %d replicas: JetStream allows 1 to 5", opts.Replicas)
	}
	ackTimeout := opts.AckTimeout
	if ackTimeout <= 0 {
		ackTimeout = DefaultAckTimeout
	}
	nopts := []nats.Option{
		nats.Name("kinesisd"),
		nats.Timeout(ackTimeout),
		nats.MaxReconnects(-1),
		// No buffering while reconnecting: a write during an outage fails at once instead of being
		// sent later, after its Append has already reported failure.
		nats.ReconnectBufSize(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil { // nil: Close
				log.Warn("NATS disconnected; requests fail until it reconnects", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("NATS reconnected", "server", nc.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subj := ""
			if sub != nil {
				subj = sub.Subject
			}
			log.Warn("NATS error", "subject", subj, "err", err)
		}),
	}
	if opts.CredsFile != "" {
		nopts = append(nopts, nats.UserCredentials(opts.CredsFile))
	}
	if opts.TLSCAFile != "" {
		nopts = append(nopts, nats.RootCAs(opts.TLSCAFile))
	}
	nc, err := nats.Connect(opts.URL, nopts...)
	if err != nil {
		if errors.Is(err, nats.ErrNoServers) || isNetError(err) {
			return nil, fmt.Errorf("%w: connect %s: %w", ErrUnavailable, RedactURL(opts.URL), err)
		}
		return nil, fmt.Errorf("jetstream: connect %s: %w", RedactURL(opts.URL), err)
	}
	s, err := open(ctx, nc, prefix, opts.Replicas, ackTimeout, log)
	if err != nil {
		nc.Close()
		if transient(err) {
			err = fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return nil, err
	}
	return s, nil
}

func open(ctx context.Context, nc *nats.Conn, prefix string, replicas int, ackTimeout time.Duration, log *slog.Logger) (*Store, error) {
	if mp := nc.MaxPayload(); mp < MinMaxPayload {
		return nil, fmt.Errorf("jetstream: the NATS server's max_payload is %d bytes; kinesisd needs at least %d "+
			"(11 MiB: a 10 MiB record with its key and headers): set max_payload: 11MB (or more) in every server's "+
			"configuration", mp, MinMaxPayload)
	}
	if v := nc.ConnectedServerVersion(); !versionAtLeast(v, 2, 12) {
		return nil, fmt.Errorf("jetstream: NATS server %s is too old: kinesisd needs 2.12 or later (atomic batch publish)", v)
	}
	js, err := jetstream.New(nc, jetstream.WithDefaultTimeout(ackTimeout))
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	if _, err := js.AccountInfo(ctx); err != nil {
		if errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
			return nil, fmt.Errorf("jetstream: JetStream is not enabled on the NATS server (or for this account): %w", err)
		}
		return nil, fmt.Errorf("jetstream: account info: %w", err)
	}
	if replicas == 0 {
		replicas = 1
		if nc.ConnectedClusterName() != "" {
			replicas = 3
		}
	}
	s := &Store{
		nc:         nc,
		js:         js,
		log:        log,
		prefix:     prefix,
		replicas:   replicas,
		ackTimeout: ackTimeout,
		origin:     randomID(),
		streams:    make(map[uint64]*streamState),
		dropped:    make(map[uint64]bool),
		waiters:    make(map[storage.ShardRef]chan struct{}),
	}
	if s.kv, err = s.openBucket(ctx); err != nil {
		return nil, err
	}
	if s.replies, err = newReplies(nc); err != nil {
		return nil, fmt.Errorf("jetstream: reply subscription: %w", err)
	}
	if s.notifySub, err = nc.Subscribe(s.notifySubject(), s.onNotify); err != nil {
		return nil, fmt.Errorf("jetstream: notify subscription: %w", err)
	}
	log.Info("store open", "server", nc.ConnectedUrlRedacted(), "server_version", nc.ConnectedServerVersion(),
		"cluster", nc.ConnectedClusterName(), "prefix", prefix, "replicas", replicas, "ack_timeout", ackTimeout)
	return s, nil
}

// enter admits an operation; it must be paired with leave.
func (s *Store) enter(ctx context.Context) error { return s.gate.Enter(ctx) }

func (s *Store) leave() { s.gate.Leave() }

// Close waits for operations in flight, wakes every Wait channel and closes the connection. Later
// calls return storage.ErrClosed.
func (s *Store) Close() error {
	return s.gate.Close(func() error {
		s.waitMu.Lock()
		for ref, ch := range s.waiters {
			close(ch)
			delete(s.waiters, ref)
		}
		s.waitMu.Unlock()
		s.nc.Close()
		s.log.Info("store closed")
		return nil
	})
}

// timeout returns ctx bounded by the store's request timeout.
func (s *Store) timeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.ackTimeout)
}

// Names of what the engine creates.

func (s *Store) streamName(id uint64) string { return s.prefix + "_" + strconv.FormatUint(id, 10) }

func (s *Store) subjectPrefix(id uint64) string {
	return s.prefix + ".rec." + strconv.FormatUint(id, 10) + "."
}

func (s *Store) shardSubject(ref storage.ShardRef) string {
	return s.subjectPrefix(ref.StreamID) + strconv.FormatUint(uint64(ref.Shard), 10)
}

func (s *Store) notifySubject() string { return s.prefix + ".notify" }

func (s *Store) bucketName() string { return s.prefix + "_meta" }

// versionAtLeast reports whether the server version v ("2.12.1", "2.14.0-beta.2") is at least
// major.minor.
func versionAtLeast(v string, major, minor int) bool {
	parts := strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}

// transient reports whether an error of Open may go away by itself: no answer in time, nobody
// listening yet, or JetStream saying it is not available for now (503).
func transient(err error) bool {
	var apiErr *jetstream.APIError
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.As(err, &apiErr) && apiErr.Code == 503
}

// RedactURL hides the passwords and tokens of a NATS server list, for messages.
func RedactURL(list string) string {
	urls := strings.Split(list, ",")
	for i, u := range urls {
		if at := strings.LastIndexByte(u, '@'); at >= 0 {
			start := strings.Index(u, "://")
			if start < 0 {
				start = 0
			} else {
				start += 3
			}
			urls[i] = u[:start] + "***" + u[at:]
		}
	}
	return strings.Join(urls, ",")
}
