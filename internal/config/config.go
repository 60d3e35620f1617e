// Package config turns command-line flags and KINESISD_* environment variables into one validated Config.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"kinesisd/internal/sigv4"
)

// Config is the server's whole configuration.
type Config struct {
	Listen    string // address of the API port
	DataDir   string // data directory of the embedded store
	InMemory  bool   // keep nothing on disk
	Store     string // "pebble" (embedded) or a NATS server list, nats://host:4222[,host2:4222…]
	AccountID string // the default account: of requests whose key names none, of -init-streams
	Region    string // the default region: of requests not signed for a valid one, of -init-streams
	LogLevel  string // debug, info, warn, error

	CreateStreamDelay time.Duration // how long a new stream stays CREATING
	DeleteStreamDelay time.Duration // how long a deleted stream stays DELETING
	UpdateStreamDelay time.Duration // how long a changed stream stays UPDATING
	ShardLimit        int           // open shards per account
	ThroughputLimits  bool          // per-shard write limits (1,000 records and 1 MiB per second)
	APIRateLimits     bool          // AWS's per-second rates on control-plane operations
	RetentionInterval time.Duration // how often expired records are deleted from storage
	ConsumerDelay     time.Duration // how long a new consumer stays CREATING (and a deregistered one DELETING)
	OnDemandWindow    time.Duration // the window over which an ON_DEMAND shard's load is measured for scaling
	PprofListen       string        // if set, the address of a net/http/pprof server (profiling)
	MemoryLimitMiB    int           // soft limit on the Go runtime's memory (debug.SetMemoryLimit); 0: the runtime's own
	TLS               bool          // serve HTTPS (a generated self-signed certificate unless TLSCert is given)
	TLSCert, TLSKey   string        // PEM certificate and key for HTTPS
	TLSListen         string        // if set, a separate HTTPS port while Listen stays plain
	Credentials       string        // file of the accepted ACCESS_KEY_ID SECRET_ACCESS_KEY pairs; empty: signatures are not verified
	CORSOrigins       []string      // origins besides loopback ones whose web pages may call the API (without Credentials; with it, every origin)
	Policies          string        // JSON file of identity policies by principal name of Credentials; empty: every principal may do anything in its account

	// The KMS keyring (keys that encrypt streams at rest).
	KMSMasterKeyFile string        // the master key sealing the keys' material; empty: generated next to DataDir (ephemeral in memory)
	KMSRate          int           // data-key generations and decryptions per second and account (negative: no limit)
	KMSOptOut        []string      // accounts not subscribed to KMS (KMSOptInRequired), for tests
	KMSDeletionDay   time.Duration // how long a day of ScheduleKeyDeletion's waiting period lasts
	LogFormat        string        // text or json
	LogRequests      bool          // one log line per request
	Version          bool          // print the version and exit

	// Faults and limits at the edge and in the store.
	DiskReserveMiB      int           // writes are refused while the data directory's disk has less free space
	TailCacheMiB        int           // memory for the latest records of the shards being read (pebble engine); 0: none
	AcceptWALLoss       bool          // start on a write-ahead log corrupted in the middle, dropping what follows
	ReadTimeout         time.Duration // the longest a request (headers and body) may take to arrive
	MaxRequestMemoryMiB int           // memory all request bodies in flight may take, decoded copies included (0: derived)

	// InitStreams are the streams created at start-up (-init-streams), before the port opens.
	InitStreams []InitStream

	// The NATS JetStream engine (Store nats://…).
	NATSCreds      string        // credentials file (JWT and NKey seed)
	NATSTLSCA      string        // PEM file of the CAs trusted for the NATS servers' certificates
	NATSReplicas   int           // replicas of each JetStream stream (0: 3 in a NATS cluster, 1 on a single server)
	NATSAckTimeout time.Duration // how long a write waits for JetStream's acknowledgement before it fails
	NATSPrefix     string        // names of the JetStream streams, bucket and subjects kinesisd creates

	// Channels (issue 18): where their records are delivered.
	S3Endpoint     string // URL of an S3-compatible store; empty: the embedded one (buckets as directories under DataDir, in memory with InMemory)
	S3Credentials  string // file of one 'ACCESS_KEY_ID SECRET_ACCESS_KEY' line for S3Endpoint; empty: the AWS environment variables
	IcebergCatalog string // URL of an Iceberg REST catalog for S3 Tables destinations; empty: the embedded catalog under DataDir
	IcebergWriter  string // the kinesisd-iceberg executable that writes to S3 Tables; empty: next to kinesisd's own, else on $PATH

	// Console (issue 20): "" (on for a loopback Listen, or with Credentials), "true" or "false".
	Console string

	SubscribeLifetime  time.Duration // how long a SubscribeToShard subscription lasts (0: AWS's 5 min)
	SubscribeHeartbeat time.Duration // the longest gap between a subscription's events while idle (0: 5 s)
	SubscribeTakeover  time.Duration // window after a subscription's start in which another is refused (0: 5 s)
}

// DefaultMemoryLimitMiB is -memory-limit's default. The release builds have no cgo, so the storage
// engine's memtables and block cache (16 MiB each; up to 4 memtables in a flush backlog) and the tail
// cache (-tail-cache-mib) are Go heap and count against it, with the request buffers. Side by side
// under the bench load (issue 21): at 128 MiB (with those sizes) RSS stayed at 144-146 MiB writing
// and reading back, records/s and p99 no worse than at 192 MiB with 32 MiB memtables and cache (207-
// 210 MiB RSS). Records of 1 MiB were held to 50-55 MB/s at this limit while Pebble's memtables held
// them; since the record log (issue 21, second round) they are not in the memtables, and reach 384-388
// MB/s within it.
const DefaultMemoryLimitMiB = 128

// EnvName returns the environment variable read for flag name: KINESISD_ and the name in upper snake case.
func EnvName(flagName string) string {
	return "KINESISD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Load parses args (without the program name). Each flag not given on the command line takes its
// KINESISD_* variable from getenv, then its default. Every problem is reported at once.
func Load(args []string, getenv func(string) string) (*Config, error) {
	c := &Config{}
	var initStreams string
	fs := newFlagSet(c, &initStreams)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, fmt.Errorf("%w\n\nrun 'kinesisd -h' for the flags", err)
	}
	if fs.NArg() > 0 {
		return nil, unexpectedArg(fs, args)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var problems []error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || getenv == nil {
			return
		}
		env := EnvName(f.Name)
		if v := getenv(env); v != "" {
			if err := f.Value.Set(v); err != nil {
				problems = append(problems, fmt.Errorf("-%s: %s=%q: %v", f.Name, env, v, err))
			}
		}
	})
	if initStreams != "" {
		streams, errs := ParseInitStreams(initStreams)
		c.InitStreams = streams
		for _, e := range errs {
			from := "-init-streams"
			if !set["init-streams"] {
				from += " (" + EnvName("init-streams") + ")"
			}
			problems = append(problems, fmt.Errorf("%s: %w", from, e))
		}
	}
	problems = append(problems, c.Validate()...)
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	return c, nil
}

// newFlagSet declares every flag of the server into c (and -init-streams' text into initStreams).
func newFlagSet(c *Config, initStreams *string) *flag.FlagSet {
	fs := flag.NewFlagSet("kinesisd", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.Listen, "listen", "127.0.0.1:4567", "address to serve the API on (host:port; port 0 picks a free port)")
	fs.StringVar(&c.DataDir, "data", "./kinesisd-data", "data directory")
	fs.BoolVar(&c.InMemory, "in-memory", false, "keep nothing on disk")
	fs.StringVar(&c.Store, "store", "pebble", "storage engine: pebble (embedded), or nats://host:4222[,host2:4222…] for NATS JetStream")
	fs.StringVar(&c.NATSCreds, "nats-creds", "", "NATS credentials file (with -store nats://…)")
	fs.StringVar(&c.NATSTLSCA, "nats-tls-ca", "", "PEM file of the CAs trusted for the NATS servers' TLS certificates")
	fs.IntVar(&c.NATSReplicas, "nats-replicas", 0, "replicas of each JetStream stream, 1 to 5 (0: 3 when the NATS server is in a cluster, 1 otherwise)")
	fs.DurationVar(&c.NATSAckTimeout, "nats-ack-timeout", 5*time.Second, "how long a write waits for JetStream's acknowledgement before it fails (retryably)")
	fs.StringVar(&c.NATSPrefix, "nats-prefix", "KINESISD", "prefix of the JetStream streams, bucket and subjects, so that installations can share a cluster")
	fs.StringVar(&c.AccountID, "account-id", "000000000000", "12-digit account of requests whose access key names none (without -credentials, a 12-digit access key id is its own account), and of -init-streams")
	fs.StringVar(&c.Region, "region", "us-east-1", "region of requests whose signature names no valid region (a request runs in the region it is signed for), and of -init-streams")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.DurationVar(&c.CreateStreamDelay, "create-stream-delay", 0, "how long a new stream stays CREATING (e.g. 500ms)")
	fs.DurationVar(&c.DeleteStreamDelay, "delete-stream-delay", 0, "how long a deleted stream stays DELETING")
	fs.DurationVar(&c.UpdateStreamDelay, "update-stream-delay", 0, "how long a changed stream stays UPDATING")
	fs.IntVar(&c.ShardLimit, "shard-limit", 500, "open shards allowed per account")
	fs.BoolVar(&c.ThroughputLimits, "throughput-limits", true, "enforce per-shard write limits: 1,000 records and 1 MiB per second")
	fs.BoolVar(&c.APIRateLimits, "api-rate-limits", false, "enforce AWS's per-second rates on control-plane operations")
	fs.DurationVar(&c.RetentionInterval, "retention-interval", time.Minute, "how often records past retention are deleted from storage")
	fs.DurationVar(&c.ConsumerDelay, "consumer-delay", 0, "how long a new consumer stays CREATING, and a deregistered one DELETING")
	fs.DurationVar(&c.OnDemandWindow, "on-demand-window", time.Minute, "window over which an ON_DEMAND shard's load decides a split")
	fs.DurationVar(&c.SubscribeLifetime, "subscribe-lifetime", 0, "how long a SubscribeToShard subscription lasts before it ends cleanly (0: AWS's 5m)")
	fs.DurationVar(&c.SubscribeHeartbeat, "subscribe-heartbeat", 0, "longest gap between SubscribeToShard events while no records arrive (0: AWS's 5s)")
	fs.DurationVar(&c.SubscribeTakeover, "subscribe-takeover", 0, "window in which a second SubscribeToShard for the same consumer and shard is refused; later it takes over (0: AWS's 5s)")
	fs.StringVar(&c.PprofListen, "pprof-listen", "", "address for Go's pprof profiling endpoints (off when empty)")
	fs.IntVar(&c.MemoryLimitMiB, "memory-limit", DefaultMemoryLimitMiB, "soft limit in MiB on the memory the Go runtime manages, as GOMEMLIMIT: the garbage collector works harder near it (the storage engine's memtables and cache are outside it); 0: the runtime's own (GOMEMLIMIT, else none)")
	fs.BoolVar(&c.TLS, "tls", false, "serve HTTPS (HTTP/2 by ALPN and HTTP/1.1); without -tls-cert a self-signed certificate is generated")
	fs.StringVar(&c.TLSCert, "tls-cert", "", "PEM certificate file for HTTPS (with -tls-key)")
	fs.StringVar(&c.TLSKey, "tls-key", "", "PEM private key file for HTTPS (with -tls-cert)")
	fs.StringVar(&c.Credentials, "credentials", "", "file of accepted keys, one 'ACCESS_KEY_ID SECRET_ACCESS_KEY [ACCOUNT_ID [PRINCIPAL]]' a line (without an account: -account-id; without a principal: the account's root): every request must then carry a valid SigV4 signature of one (empty: any credentials)")
	fs.StringVar(&c.Policies, "policies", "", "JSON file of identity policies, {\"PRINCIPAL\": {\"Version\": \"2012-10-17\", \"Statement\": [...]}, ...}, for the principals of -credentials (which it needs); a principal without one may do anything in its own account")
	fs.StringVar(&c.KMSMasterKeyFile, "kms-master-key-file", "", "file of the master key (64 hex digits) that seals the KMS keys' material; created when missing; default: <data>.kms-master-key beside the data directory (back it up apart from the data), a new one each start with -in-memory; required with NATS JetStream, the same file on every front-end")
	fs.IntVar(&c.KMSRate, "kms-rate", 10000, "KMS data-key generations and decryptions per second and account, AWS's default quota (negative: no limit)")
	fs.Func("kms-opt-out", "comma-separated `accounts` not subscribed to KMS: their KMS calls are refused with KMSOptInRequired (for tests)", func(v string) error {
		c.KMSOptOut = nil
		for _, a := range strings.Split(v, ",") {
			if a = strings.TrimSpace(a); a != "" {
				c.KMSOptOut = append(c.KMSOptOut, a)
			}
		}
		return nil
	})
	fs.DurationVar(&c.KMSDeletionDay, "kms-deletion-day", 24*time.Hour, "how long one day of ScheduleKeyDeletion's waiting period (7 to 30 days) lasts: shorten it to reach a deleted key in tests")
	fs.Func("cors-origins", "`origins` whose web pages may call the API from a browser, besides http://localhost, http://127.0.0.1 and http://[::1] on any port: a comma-separated list of scheme://host[:port], scheme://host:* for any port, or * for every origin (with -credentials every origin is allowed)", func(v string) error {
		c.CORSOrigins = nil
		for o := range strings.SplitSeq(v, ",") {
			if o = strings.TrimSpace(o); o != "" {
				c.CORSOrigins = append(c.CORSOrigins, o)
			}
		}
		return nil
	})
	fs.StringVar(&c.TLSListen, "tls-listen", "", "address of a separate HTTPS port; -listen stays plain HTTP/1.1 and h2c")
	fs.StringVar(&c.LogFormat, "log-format", "text", "log format: text or json (one JSON object a line, for log collectors)")
	fs.BoolVar(&c.LogRequests, "log-requests", false, "log one line per request: request id, remote address, operation, stream, account, region, principal, status, error, records, bytes, duration (also at -log-level debug)")
	fs.BoolVar(&c.Version, "version", false, "print the version and exit")
	fs.IntVar(&c.TailCacheMiB, "tail-cache-mib", 16, "MiB of memory for the latest records of each shard that has readers (pebble engine), from which GetRecords at the tip, SubscribeToShard, channels and the console read without touching the disk; 0: no cache")
	fs.IntVar(&c.DiskReserveMiB, "disk-reserve", 256, "MiB of free space kept on the data directory's disk: below it writes are refused (retryable InternalFailureException) and resume once space is back; 0: off")
	fs.BoolVar(&c.AcceptWALLoss, "accept-wal-loss", false, "start even though the write-ahead log is corrupt in the middle, dropping (and logging) the records after the corruption")
	fs.DurationVar(&c.ReadTimeout, "read-timeout", 60*time.Second, "the longest a request, headers and body, may take to arrive (SubscribeToShard's response is not limited)")
	fs.IntVar(&c.MaxRequestMemoryMiB, "max-request-memory", 0, "MiB that all request bodies in flight may take together, decoded copies included; beyond it a request waits briefly, then is refused retryably (0: derived from -memory-limit)")
	fs.StringVar(&c.S3Endpoint, "s3-endpoint", "", "URL of the S3-compatible store (AWS S3, MinIO, versitygw, Ceph) that channels deliver to; empty: the embedded one, each bucket a directory under the data directory (in memory with -in-memory); required with NATS JetStream for channels")
	fs.StringVar(&c.S3Credentials, "s3-credentials", "", "file of one 'ACCESS_KEY_ID SECRET_ACCESS_KEY' line for -s3-endpoint (empty: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
	fs.StringVar(&c.IcebergCatalog, "iceberg-catalog", "", "URL of an Iceberg REST catalog for channels to S3 Tables; empty: the embedded catalog, its warehouse under the data directory")
	fs.StringVar(&c.IcebergWriter, "iceberg-writer", "", "path of kinesisd-iceberg, the companion executable that writes channels' records to S3 Tables (started on the first delivery); empty: kinesisd-iceberg next to kinesisd, else on $PATH; without one, channels to S3 Tables are refused")
	fs.BoolFunc("console", "serve the web console at /console/: true or false (default: on for a loopback -listen or with -credentials, off otherwise)", func(v string) error {
		if v == "" { // -console= : the default
			c.Console = ""
			return nil
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errors.New("want true or false")
		}
		c.Console = strconv.FormatBool(b)
		return nil
	})
	fs.StringVar(initStreams, "init-streams", "", "streams created at start-up, before the port opens: NAME:SHARDS[:RETENTION],… with SHARDS a count or ON_DEMAND and RETENTION in hours (e.g. orders:4,clicks:ON_DEMAND,audit:1:168h); existing streams are left alone")
	return fs
}

// unexpectedArg explains the first positional argument: most often the value of a boolean flag
// written apart from it (-in-memory false), which the flag package reads as a flag alone.
func unexpectedArg(fs *flag.FlagSet, args []string) error {
	arg := fs.Arg(0)
	if arg == "true" || arg == "false" {
		for i, a := range args {
			if a != arg || i == 0 {
				continue
			}
			name := strings.TrimLeft(args[i-1], "-")
			if f := fs.Lookup(name); f != nil && isBool(f) {
				return fmt.Errorf("unexpected argument %q after -%s: a boolean flag takes its value after '=': write -%s=%s", arg, name, name, arg)
			}
		}
	}
	return fmt.Errorf("unexpected argument %q (run 'kinesisd -h' for the flags and subcommands)", arg)
}

func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

var (
	natsPrefixPattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	accountPattern    = regexp.MustCompile(`^\d{12}$`)
)

// Validate returns every problem with c, each naming its flag.
func (c *Config) Validate() []error {
	var problems []error
	bad := func(flagName, format string, args ...any) {
		problems = append(problems, fmt.Errorf("-%s: %s", flagName, fmt.Sprintf(format, args...)))
	}
	if host, port, err := net.SplitHostPort(c.Listen); err != nil {
		bad("listen", "%q is not host:port: %v", c.Listen, err)
	} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		bad("listen", "port %q is not a number from 0 to 65535", port)
	} else if host == "" {
		bad("listen", "%q has no host; use 0.0.0.0 to listen on every interface", c.Listen)
	}
	switch {
	case c.Store == "pebble":
	case c.IsNATS():
		for _, p := range natsURLProblems(c.Store) {
			bad("store", "%s", p)
		}
		if c.NATSReplicas < 0 || c.NATSReplicas > 5 {
			bad("nats-replicas", "%d is not 0 (automatic) or 1 to 5", c.NATSReplicas)
		}
		if c.NATSAckTimeout <= 0 {
			bad("nats-ack-timeout", "%s is not a positive duration", c.NATSAckTimeout)
		}
		if !natsPrefixPattern.MatchString(c.NATSPrefix) {
			bad("nats-prefix", "%q: only letters, digits, '-' and '_'", c.NATSPrefix)
		}
	default:
		bad("store", "%q is not an engine: use pebble, or nats://host:4222 for NATS JetStream", c.Store)
	}
	if c.Console != "" && c.Console != "true" && c.Console != "false" {
		bad("console", "%q is not true or false", c.Console)
	}
	if c.InMemory && c.Store != "pebble" {
		bad("in-memory", "only with -store pebble: the NATS JetStream engine keeps its data in the NATS servers")
	}
	if !c.InMemory && c.Store == "pebble" && c.DataDir == "" {
		bad("data", "empty: give a directory or -in-memory")
	}
	if c.Policies != "" && c.Credentials == "" {
		bad("policies", "needs -credentials: policies are attached to its principals")
	}
	if c.KMSDeletionDay <= 0 {
		bad("kms-deletion-day", "%s is not a positive duration", c.KMSDeletionDay)
	}
	for _, a := range c.KMSOptOut {
		if !accountPattern.MatchString(a) {
			bad("kms-opt-out", "%q is not 12 digits", a)
		}
	}
	if !accountPattern.MatchString(c.AccountID) {
		bad("account-id", "%q is not 12 digits", c.AccountID)
	}
	if !sigv4.ValidRegion(c.Region) {
		bad("region", "%q is not a region name such as us-east-1", c.Region)
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"create-stream-delay", c.CreateStreamDelay}, {"delete-stream-delay", c.DeleteStreamDelay}, {"update-stream-delay", c.UpdateStreamDelay}, {"consumer-delay", c.ConsumerDelay}} {
		if d.v < 0 {
			bad(d.flag, "%s is negative", d.v)
		}
	}
	if c.MemoryLimitMiB < 0 {
		bad("memory-limit", "%d is negative", c.MemoryLimitMiB)
	}
	if c.ShardLimit < 1 {
		bad("shard-limit", "%d is not a positive number", c.ShardLimit)
	}
	if c.OnDemandWindow <= 0 {
		bad("on-demand-window", "%s is not a positive duration", c.OnDemandWindow)
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"subscribe-lifetime", c.SubscribeLifetime}, {"subscribe-heartbeat", c.SubscribeHeartbeat}, {"subscribe-takeover", c.SubscribeTakeover}} {
		if d.v < 0 {
			bad(d.flag, "%s is negative", d.v)
		}
	}
	if c.RetentionInterval <= 0 {
		bad("retention-interval", "%s is not a positive duration", c.RetentionInterval)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		bad("tls-cert", "-tls-cert and -tls-key go together")
	}
	if c.TLSListen != "" {
		if _, _, err := net.SplitHostPort(c.TLSListen); err != nil {
			bad("tls-listen", "%q is not host:port: %v", c.TLSListen, err)
		}
	}
	for _, o := range c.CORSOrigins {
		if p := originProblem(o); p != "" {
			bad("cors-origins", "%q %s", o, p)
		}
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		bad("log-format", "%q is not text or json", c.LogFormat)
	}
	if c.TailCacheMiB < 0 {
		bad("tail-cache-mib", "%d is negative", c.TailCacheMiB)
	}
	if c.DiskReserveMiB < 0 {
		bad("disk-reserve", "%d is negative", c.DiskReserveMiB)
	}
	if c.ReadTimeout <= 0 {
		bad("read-timeout", "%s is not a positive duration", c.ReadTimeout)
	}
	if c.MaxRequestMemoryMiB < 0 {
		bad("max-request-memory", "%d is negative", c.MaxRequestMemoryMiB)
	}
	if len(c.InitStreams) > 0 && c.Store != "pebble" && !c.IsNATS() {
		bad("init-streams", "needs a store")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log-level", "%q is not one of debug, info, warn, error", c.LogLevel)
	}
	return problems
}

// IsNATS reports whether the store is the NATS JetStream engine.
func (c *Config) IsNATS() bool {
	return strings.HasPrefix(c.Store, "nats://") || strings.HasPrefix(c.Store, "tls://")
}

// originProblem says what is wrong with an entry of -cors-origins, or "": an origin as browsers send
// it (scheme://host[:port], nothing after), scheme://host:* for any port, or *.
func originProblem(o string) string {
	if o == "*" {
		return ""
	}
	scheme, host, ok := strings.Cut(o, "://")
	if !ok || scheme == "" || strings.ContainsAny(scheme, "/:.") {
		return "is not an origin: write scheme://host[:port], such as https://app.example.com or http://dev.local:*"
	}
	host = strings.TrimSuffix(host, ":*")
	if host == "" || strings.ContainsAny(host, "/?#@*") {
		return "is not an origin: scheme://host[:port] with nothing after the host or port (no path, no trailing '/')"
	}
	if h, port, err := net.SplitHostPort(host); err == nil {
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 || h == "" {
			return "has no valid port: give a number from 1 to 65535, or * for any port"
		}
	}
	return ""
}

// natsURLProblems checks a NATS server list: comma-separated nats:// or tls:// URLs with a host and a
// port; after the first, the scheme may be left out (the NATS client adds nats://).
func natsURLProblems(list string) []string {
	var problems []string
	for i, u := range strings.Split(list, ",") {
		u = strings.TrimSpace(u)
		if i > 0 && !strings.Contains(u, "://") {
			u = "nats://" + u
		}
		p, err := url.Parse(u)
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("%q is not a URL: %v", u, err))
		case p.Scheme != "nats" && p.Scheme != "tls":
			problems = append(problems, fmt.Sprintf("%q: the scheme must be nats:// or tls://", u))
		case p.Hostname() == "" || p.Port() == "":
			problems = append(problems, fmt.Sprintf("%q: give host:port, such as nats://127.0.0.1:4222", u))
		}
	}
	return problems
}
