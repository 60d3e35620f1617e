// Package kinesistest starts in-process kinesisd servers on 127.0.0.1:0 and returns AWS SDK v2 clients for them.
package kinesistest

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	natsserver "github.com/nats-io/nats-server/v2/server"

	"kinesisd/internal/clock"
	"kinesisd/internal/config"
	"kinesisd/internal/kinesistest/proc"
	"kinesisd/internal/server"
	"kinesisd/internal/storage/jetstream/natstest"
)

// Engine names a storage configuration every API test runs on.
type Engine struct {
	Name     string
	InMemory bool
	// JetStream: the NATS JetStream engine, on an in-process nats-server (one node, replicas 1)
	// started for each server on a loopback port, keeping its data in the data directory.
	JetStream bool
	// NATSNodes is the size of the jetstream engine's in-process NATS: 0 or 1 for one server, 3 for a
	// JetStream cluster (replicas 3), its nodes keeping their data under the data directory.
	NATSNodes int
}

// Engines are the storage configurations of "every test, every engine". Tests that need one
// particular engine index it: 0 is Pebble on disk, 1 Pebble in memory.
var Engines = []Engine{{Name: "pebble-disk"}, {Name: "pebble-memory", InMemory: true}, {Name: "jetstream", JetStream: true}}

// JetStream3 is the jetstream engine on a 3-node in-process cluster with replicas 3. It is not in
// Engines: clusters are tested apart (natstest.SkipUnlessCluster), where elections are not starved of
// CPU by parallel packages.
var JetStream3 = Engine{Name: "jetstream-3", JetStream: true, NATSNodes: 3}

// Server is a running kinesisd with a client for it: an in-process server, or the built binary when
// KINESISD_TEST_BINARY names one (Proc is then set, and Server and Clock are nil).
type Server struct {
	*server.Server
	Endpoint string
	Client   *kinesis.Client
	Clock    *clock.Fake // the in-process server's clock; nil on the binary, which reads the real clock
	Config   *config.Config
	// NATS is the in-process nats-server of the jetstream engine (the first node of a cluster), nil
	// on the others and on a server started with Options.NATSURL.
	NATS *natsserver.Server
	// Cluster is the in-process cluster of a jetstream engine with NATSNodes > 1, else nil.
	Cluster *natstest.Cluster
	// Proc is the kinesisd process when the server is the built binary, else nil.
	Proc *proc.Proc

	addr, tlsAddr, tlsCert string // the binary's addresses and certificate, read from its log
}

// Close stops the server and then, on the jetstream engine, its nats-server (or cluster), so that a
// later Start on the same Dir finds the data as a restarted cluster would.
func (s *Server) Close(ctx context.Context) error {
	if s.Proc != nil {
		return s.closeBinary(ctx)
	}
	err := s.Server.Close(ctx)
	switch {
	case s.Cluster != nil:
		s.Cluster.Stop()
	case s.NATS != nil:
		natstest.Stop(s.NATS)
	}
	return err
}

// NATSURL is the client URL (a list for a cluster) of the jetstream engine's NATS, for another
// front-end (Options.NATSURL), or "".
func (s *Server) NATSURL() string {
	if s.Cluster != nil {
		return s.Cluster.URL()
	}
	if s.NATS != nil {
		return s.NATS.ClientURL()
	}
	return s.Config.Store
}

// Options change what Start starts.
type Options struct {
	Dir   string      // data directory to reuse (on-disk engines, jetstream's nats-server); empty: a fresh t.TempDir()
	Clock *clock.Fake // nil: a fake clock at the current time
	// Configure, if set, changes the configuration before the server starts (flags as a user sets them).
	Configure func(*config.Config)
	// NATSURL, on a jetstream engine, is the NATS another Server started (Server.NATSURL): this one is
	// then a second front-end over the same store instead of starting a NATS of its own.
	NATSURL string
}

// testMasterKey is the KMS master key of every NATS JetStream front-end the tests start (64 hex digits).
const testMasterKey = "6b696e65736973642074657374206d6173746572206b657920666f72206b6d73"

// Start starts a server on engine e and stops it when the test ends. With KINESISD_TEST_BINARY set
// it starts that binary instead, on Pebble on disk whatever e is, with the flags that give the
// configuration opts.Configure sets (Flags); opts.Clock is then not used. An in-process server runs
// the kinesisd-iceberg of IcebergWriter for channels to S3 Tables; the binary, the one next to it.
func Start(t testing.TB, e Engine, opts Options) *Server {
	t.Helper()
	if bin := Binary(); bin != "" {
		return startBinary(t, bin, opts)
	}
	cfg, err := config.Load([]string{"-listen", "127.0.0.1:0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.InMemory = e.InMemory
	cfg.DataDir = opts.Dir
	if cfg.DataDir == "" && !e.InMemory {
		cfg.DataDir = t.TempDir()
	}
	var nats *natsserver.Server
	var cluster *natstest.Cluster
	if e.JetStream {
		switch {
		case opts.NATSURL != "":
			cfg.Store = opts.NATSURL
		case e.NATSNodes > 1:
			cluster = natstest.StartCluster(t, cfg.DataDir, e.NATSNodes, natstest.Options{})
			nats, cfg.Store = cluster.Servers[0], cluster.URL()
		default:
			nats = natstest.Start(t, cfg.DataDir, natstest.Options{})
			cfg.Store = nats.ClientURL()
		}
		// The in-process nats-server shares two cores with the race detector and the rest of the
		// suite; a write waiting more than the default 5 s there is starvation, not a lost
		// acknowledgement, and these tests are not about that timeout.
		cfg.NATSAckTimeout = 30 * time.Second
		// KMS on NATS JetStream needs every front-end to seal keys with one master key: every test
		// front-end gets the same one (a test key, in a file of its own directory).
		cfg.KMSMasterKeyFile = filepath.Join(t.TempDir(), "kms-master-key")
		if err := os.WriteFile(cfg.KMSMasterKeyFile, []byte(testMasterKey+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg.IcebergWriter = IcebergWriter(t) // channels to S3 Tables run it (Configure may change it)
	if opts.Configure != nil {
		opts.Configure(cfg)
	}
	clk := opts.Clock
	if clk == nil {
		clk = clock.NewFake(time.Now().Truncate(time.Millisecond))
	}
	var log *slog.Logger
	if os.Getenv("KINESISD_TEST_LOG") != "" { // the server's log on stderr, to debug a test
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	s, err := server.Start(context.Background(), cfg, log, clk)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) }) // before the nats-server's cleanup (Start), which comes after
	endpoint := "http://" + s.Addr()
	return &Server{Server: s, Endpoint: endpoint, Client: NewClient(endpoint), Clock: clk, Config: cfg, NATS: nats, Cluster: cluster}
}

// NewClient returns an AWS SDK v2 Kinesis client for endpoint with test credentials and no retries,
// so that tests see each error as the server sent it.
func NewClient(endpoint string) *kinesis.Client {
	// A transport of its own: no connection is shared with another test's server.
	return NewClientTransport(endpoint, &http.Transport{MaxIdleConnsPerHost: 16})
}

// NewClientTransport is NewClient over the transport rt (for example one that trusts a TLS
// certificate, or one that records what went over it).
func NewClientTransport(endpoint string, rt http.RoundTripper) *kinesis.Client {
	return kinesis.New(kinesis.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(endpoint),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""),
		RetryMaxAttempts: 1,
		HTTPClient:       &http.Client{Timeout: time.Minute, Transport: proc.BufferedBodies{Next: rt}}, // the README's HTTP/1.1 workaround
	})
}

// PutN writes n records to stream through c, 100 per PutRecords call, with partition keys prefix-i
// and data "data prefix-i", and returns their sequence numbers in order. Any failure fails t.
func PutN(t testing.TB, c *kinesis.Client, stream, prefix string, n int) []string {
	t.Helper()
	var seqs []string
	for len(seqs) < n {
		batch := min(n-len(seqs), 100)
		entries := make([]types.PutRecordsRequestEntry, batch)
		for i := range entries {
			k := fmt.Sprintf("%s-%d", prefix, len(seqs)+i)
			entries[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String(k), Data: []byte("data " + k)}
		}
		out, err := c.PutRecords(t.Context(), &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: entries})
		if err != nil {
			t.Fatalf("PutRecords: %v", err)
		}
		for _, r := range out.Records {
			if r.ErrorCode != nil {
				t.Fatalf("PutRecords: %s %s", *r.ErrorCode, aws.ToString(r.ErrorMessage))
			}
			seqs = append(seqs, *r.SequenceNumber)
		}
	}
	return seqs
}
