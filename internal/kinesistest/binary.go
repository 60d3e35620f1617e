package kinesistest

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"kinesisd/internal/config"
	"kinesisd/internal/kinesistest/proc"
)

// BinaryEnv names the variable that, set to the path of a built kinesisd, makes Start run that binary
// instead of an in-process server: the same API test bodies then run against the real process.
const BinaryEnv = "KINESISD_TEST_BINARY"

// Binary is the kinesisd binary Start runs ($KINESISD_TEST_BINARY), or "" when servers run in process.
func Binary() string { return os.Getenv(BinaryEnv) }

// BinaryEngine is the one engine of a run against the binary: its default, Pebble on disk.
var BinaryEngine = Engine{Name: "binary"}

// RunEngines are the engines "every engine" means in this run: Engines in process, or BinaryEngine
// alone when KINESISD_TEST_BINARY names a binary.
func RunEngines() []Engine {
	if Binary() != "" {
		return []Engine{BinaryEngine}
	}
	return Engines
}

// tlsLine is the line the binary logs after "listening on" when it serves HTTPS.
var tlsLine = regexp.MustCompile(`msg="TLS certificate ([^"]+)" https=(\S+)`)

// startBinary starts bin on Pebble on disk with the flags that give the configuration opts.Configure
// sets, whatever engine the test named, and stops it (SIGTERM) when the test ends.
func startBinary(t testing.TB, bin string, opts Options) *Server {
	t.Helper()
	cfg, err := config.Load([]string{"-listen", "127.0.0.1:0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = opts.Dir
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	if opts.Configure != nil {
		opts.Configure(cfg)
	}
	if cfg.InMemory || cfg.IsNATS() {
		t.Fatalf("%s runs the binary on Pebble on disk; the test configured -in-memory=%t -store=%s", BinaryEnv, cfg.InMemory, cfg.Store)
	}
	args := Flags(cfg)
	// The flags must give the binary exactly the configuration the test built: a Config field that
	// Flags does not know fails here instead of being silently left at its default.
	back, err := config.Load(args, nil)
	if err != nil {
		t.Fatalf("flags %q: %v", args, err)
	}
	if !reflect.DeepEqual(back, cfg) {
		t.Fatalf("flags %q give\n%+v\nnot the test's configuration\n%+v\n(a Config field missing from kinesistest.Flags?)", args, *back, *cfg)
	}
	p := proc.Start(t, bin, cfg.DataDir, args...)
	s := &Server{Endpoint: p.Endpoint, Client: NewClient(p.Endpoint), Config: cfg, Proc: p}
	s.addr = strings.TrimPrefix(p.Endpoint, "http://")
	if cfg.TLS || cfg.TLSListen != "" || cfg.TLSCert != "" {
		// Logged right after "listening on"; the log is read concurrently, so wait for the line.
		deadline := time.Now().Add(10 * time.Second)
		for {
			if m := tlsLine.FindStringSubmatch(strings.Join(p.Grep("TLS certificate"), "\n")); m != nil {
				s.tlsCert, s.tlsAddr = m[1], m[2]
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("kinesisd logged no TLS certificate line; log:\n%s", p.Log())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	t.Cleanup(func() {
		s.Close(context.Background())
		if t.Failed() || os.Getenv("KINESISD_TEST_LOG") != "" {
			t.Logf("kinesisd log (last 40 lines):\n%s", p.LogTail(40))
		}
	})
	return s
}

// Flags are the command-line flags that give kinesisd the configuration c: every flag of the server
// but -version, each with its value written out, so that no KINESISD_* variable of the test's
// environment changes what the binary runs with.
func Flags(c *config.Config) []string {
	d := func(v time.Duration) string { return v.String() }
	b := strconv.FormatBool
	i := strconv.Itoa
	var init []string
	for _, s := range c.InitStreams {
		init = append(init, s.String())
	}
	return []string{
		"-listen=" + c.Listen,
		"-data=" + c.DataDir,
		"-in-memory=" + b(c.InMemory),
		"-store=" + c.Store,
		"-nats-creds=" + c.NATSCreds,
		"-nats-tls-ca=" + c.NATSTLSCA,
		"-nats-replicas=" + i(c.NATSReplicas),
		"-nats-ack-timeout=" + d(c.NATSAckTimeout),
		"-nats-prefix=" + c.NATSPrefix,
		"-account-id=" + c.AccountID,
		"-region=" + c.Region,
		"-log-level=" + c.LogLevel,
		"-create-stream-delay=" + d(c.CreateStreamDelay),
		"-delete-stream-delay=" + d(c.DeleteStreamDelay),
		"-update-stream-delay=" + d(c.UpdateStreamDelay),
		"-shard-limit=" + i(c.ShardLimit),
		"-throughput-limits=" + b(c.ThroughputLimits),
		"-api-rate-limits=" + b(c.APIRateLimits),
		"-retention-interval=" + d(c.RetentionInterval),
		"-consumer-delay=" + d(c.ConsumerDelay),
		"-on-demand-window=" + d(c.OnDemandWindow),
		"-subscribe-lifetime=" + d(c.SubscribeLifetime),
		"-subscribe-heartbeat=" + d(c.SubscribeHeartbeat),
		"-subscribe-takeover=" + d(c.SubscribeTakeover),
		"-pprof-listen=" + c.PprofListen,
		"-memory-limit=" + i(c.MemoryLimitMiB),
		"-tls=" + b(c.TLS),
		"-tls-cert=" + c.TLSCert,
		"-tls-key=" + c.TLSKey,
		"-credentials=" + c.Credentials,
		"-cors-origins=" + strings.Join(c.CORSOrigins, ","),
		"-policies=" + c.Policies,
		"-kms-master-key-file=" + c.KMSMasterKeyFile,
		"-kms-rate=" + i(c.KMSRate),
		"-kms-opt-out=" + strings.Join(c.KMSOptOut, ","),
		"-kms-deletion-day=" + d(c.KMSDeletionDay),
		"-tls-listen=" + c.TLSListen,
		"-log-format=" + c.LogFormat,
		"-log-requests=" + b(c.LogRequests),
		"-disk-reserve=" + i(c.DiskReserveMiB),
		"-tail-cache-mib=" + i(c.TailCacheMiB),
		"-accept-wal-loss=" + b(c.AcceptWALLoss),
		"-read-timeout=" + d(c.ReadTimeout),
		"-max-request-memory=" + i(c.MaxRequestMemoryMiB),
		"-init-streams=" + strings.Join(init, ","),
		"-s3-endpoint=" + c.S3Endpoint,
		"-s3-credentials=" + c.S3Credentials,
		"-iceberg-catalog=" + c.IcebergCatalog,
		"-iceberg-writer=" + c.IcebergWriter,
		"-console=" + c.Console,
	}
}

// Addr is the address of the API port.
func (s *Server) Addr() string {
	if s.Proc != nil {
		return s.addr
	}
	return s.Server.Addr()
}

// TLSAddr is the address that serves HTTPS ("" without TLS).
func (s *Server) TLSAddr() string {
	if s.Proc != nil {
		return s.tlsAddr
	}
	return s.Server.TLSAddr()
}

// TLSCertFile is the certificate HTTPS serves ("" without TLS).
func (s *Server) TLSCertFile() string {
	if s.Proc != nil {
		return s.tlsCert
	}
	return s.Server.TLSCertFile()
}

// closeBinary stops the process with SIGTERM, waiting until ctx's deadline (30 s without one), and
// returns its exit error: nil once it has shut down cleanly. It may be called again.
func (s *Server) closeBinary(ctx context.Context) error {
	wait := 30 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		wait = time.Until(dl)
	}
	if err := s.Proc.Stop(wait); err != nil {
		return fmt.Errorf("stop kinesisd: %w", err)
	}
	return nil
}
