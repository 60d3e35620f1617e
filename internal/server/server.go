// Package server wires a Config into a running kinesisd: the store, the service, the HTTP listeners, shutdown.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // served only with -pprof-listen
	"os"
	"sync"
	"sync/atomic"
	"time"

	"kinesisd/internal/backup"
	"kinesisd/internal/clock"
	"kinesisd/internal/config"
	"kinesisd/internal/identity"
	"kinesisd/internal/protocol"
	"kinesisd/internal/service"
	"kinesisd/internal/sigv4"
	"kinesisd/internal/storage"
	"kinesisd/internal/storage/jetstream"
	"kinesisd/internal/storage/pebble"
)

// Server is a running kinesisd.
type Server struct {
	fronts  []front // the API listeners: first -listen, then -tls-listen if set
	svc     *service.Service
	store   storage.Store
	log     *slog.Logger
	done    chan error         // each front's Serve result
	stop    context.CancelFunc // stops the background loops
	pprof   *http.Server       // with -pprof-listen
	loops   sync.WaitGroup
	tlsCert string          // the certificate file served, when TLS is on
	tlsTemp string          // the temporary directory of a generated certificate (-in-memory), removed at Close
	auth    *sigv4.Verifier // with -credentials: admin requests are verified with it too
	engine  string          // pebble or jetstream, for /health
	started time.Time
	closing atomic.Bool  // set when Close begins: /health answers 503
	console http.Handler // the web console (console.go); nil when it is off

	closeOnce sync.Once
	closeErr  error
}

// front is one listener with its HTTP server.
type front struct {
	srv *http.Server
	ln  net.Listener
	tls bool
}

// Start opens the store, builds the service and starts serving on cfg.Listen (and cfg.TLSListen). clk
// may be nil (the real clock); tests pass a fake one.
func Start(ctx context.Context, cfg *config.Config, log *slog.Logger, clk clock.Clock) (*Server, error) {
	return start(ctx, cfg, log, clk, nil)
}

// exitOnFatal is the storage engine's Fatal hook of a kinesisd process: an engine that cannot go on
// (a write-ahead log write or sync failed, say) would otherwise leave every writer waiting forever, so
// the process logs why and ends at once, for its supervisor to start it again on what is durable.
func exitOnFatal(log *slog.Logger) func(error) {
	return func(err error) {
		log.Error("storage engine failed; exiting so that a supervisor restarts kinesisd on what is durable", "err", err)
		os.Exit(1)
	}
}

// start is Start with the engine's Fatal hook (nil: the engine panics, as tests want).
func start(ctx context.Context, cfg *config.Config, log *slog.Logger, clk clock.Clock, fatal func(error)) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tlsSet, err := loadTLS(cfg)
	if err != nil {
		return nil, err
	}
	var auth *sigv4.Verifier
	var keys identity.Keys
	if cfg.Credentials != "" {
		keys, err = identity.LoadKeys(cfg.Credentials, cfg.AccountID)
		if err != nil {
			return nil, fmt.Errorf("-credentials: %w", err)
		}
		auth = sigv4.NewVerifier(keys.Secrets(), "", clk) // every valid region: requests run in the region they are signed for
		log.Info("verifying signatures", "keys", len(keys), "accounts", countAccounts(keys), "file", cfg.Credentials)
	}
	if cfg.IsNATS() && cfg.KMSMasterKeyFile == "" {
		return nil, errMasterKeyRequired // before the store is opened: a misconfigured front-end stops at once
	}
	store, err := openStore(ctx, cfg, log, fatal)
	if err != nil {
		return nil, err
	}
	policies, err := loadPolicies(cfg.Policies, keys)
	if err != nil {
		store.Close()
		return nil, err
	}
	keyring, err := openKeyring(ctx, cfg, store, clk, log, policies)
	if err != nil {
		store.Close()
		return nil, err
	}
	sinks, err := openChannelSinks(ctx, cfg, log)
	if err != nil {
		store.Close()
		return nil, err
	}
	svc, err := newService(ctx, cfg, service.Config{
		Policies: policies, Keys: keyring,
		ChannelObjects: sinks.objects, ChannelTables: sinks.tables, ChannelsOff: sinks.off, TablesOff: sinks.tabsOff, ChannelLeases: cfg.IsNATS(), SparseOffsets: cfg.IsNATS(),
		Store: store, Clock: clk, Logger: log, Account: cfg.AccountID, Region: cfg.Region,
		CreateDelay: cfg.CreateStreamDelay, DeleteDelay: cfg.DeleteStreamDelay, UpdateDelay: cfg.UpdateStreamDelay,
		ShardLimit: cfg.ShardLimit, ThroughputLimits: cfg.ThroughputLimits, APIRateLimits: cfg.APIRateLimits,
		ConsumerDelay: cfg.ConsumerDelay, OnDemandWindow: cfg.OnDemandWindow,
		SubscribeLifetime: cfg.SubscribeLifetime, SubscribeHeartbeat: cfg.SubscribeHeartbeat, SubscribeTakeover: cfg.SubscribeTakeover,
	}, log)
	if err != nil {
		store.Close()
		return nil, err
	}
	if err := createInitStreams(ctx, svc, cfg.InitStreams, cfg.CreateStreamDelay, log); err != nil {
		store.Close()
		return nil, err
	}
	requestMemory := int64(cfg.MaxRequestMemoryMiB) << 20
	if requestMemory == 0 { // derived from -memory-limit, so that the two do not fight
		requestMemory = protocol.DefaultMaxRequestMemory(cfg.MemoryLimitMiB)
	}
	handler := protocol.New(svc, protocol.Options{Log: log, Auth: auth, Account: cfg.AccountID, Region: cfg.Region, Keys: keys,
		ReadTimeout: cfg.ReadTimeout, MaxRequestMemory: requestMemory, LogRequests: cfg.LogRequests, CORSOrigins: cfg.CORSOrigins, KMS: keyring})
	if sr, ok := store.(storage.StatsReporter); ok {
		if err := handler.Register(newStoreCollector(sr)); err != nil {
			store.Close()
			return nil, fmt.Errorf("register storage metrics: %w", err)
		}
	}
	if err := handler.Register(protocol.NewChannelCollector(svc)); err != nil {
		store.Close()
		return nil, fmt.Errorf("register channel metrics: %w", err)
	}
	s := &Server{svc: svc, store: store, log: log, auth: auth, engine: "pebble", started: time.Now()}
	s.console = newConsole(cfg, svc, handler, auth, keys, log)
	if cfg.IsNATS() {
		s.engine = "jetstream"
	}
	// -listen is HTTPS when TLS is on without a separate -tls-listen port; plain otherwise.
	listens := []struct {
		flag, addr string
		tls        bool
	}{{"listen", cfg.Listen, tlsSet != nil && cfg.TLSListen == ""}}
	if cfg.TLSListen != "" {
		listens = append(listens, struct {
			flag, addr string
			tls        bool
		}{"tls-listen", cfg.TLSListen, true})
	}
	for _, l := range listens {
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			for _, f := range s.fronts {
				f.ln.Close()
			}
			store.Close()
			return nil, fmt.Errorf("-%s: %w", l.flag, err)
		}
		var tc *tls.Config
		if l.tls {
			tc = tlsSet.config
		}
		loopback := loopbackOnly(l.addr)
		if auth == nil && !loopback {
			log.Warn("listening beyond this machine without -credentials", "flag", "-"+l.flag, "address", l.addr, "warning", errNotLoopback.Error())
		}
		// Without -credentials a loopback port answers only requests addressed to a loopback name: a
		// web page whose name an attacker points at 127.0.0.1 (DNS rebinding) gets nothing. With
		// -credentials such a page cannot sign its requests.
		srv := newHTTPServer(s.routes(handler, auth == nil && loopback), log, tc)
		srv.RegisterOnShutdown(svc.EndSubscriptions) // open subscriptions end, so Shutdown need not wait for them
		s.fronts = append(s.fronts, front{srv: srv, ln: ln, tls: l.tls})
	}
	if tlsSet != nil {
		s.tlsCert, s.tlsTemp = tlsSet.certFile, tlsSet.tempDir
	}
	s.done = make(chan error, len(s.fronts))
	for _, f := range s.fronts {
		go func() {
			if f.tls {
				s.done <- f.srv.ServeTLS(f.ln, "", "")
			} else {
				s.done <- f.srv.Serve(f.ln)
			}
		}()
	}
	if cfg.PprofListen != "" {
		s.pprof = &http.Server{Addr: cfg.PprofListen, Handler: http.DefaultServeMux} // net/http/pprof registers there
		s.loops.Go(func() {
			if err := s.pprof.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
				log.Error("pprof server", "err", err)
			}
		})
	}
	loopCtx, stop := context.WithCancel(context.Background())
	s.stop = stop
	s.loops.Go(func() { svc.RunRetention(loopCtx, cfg.RetentionInterval) })
	s.loops.Go(func() { svc.RunChannels(loopCtx); sinks.close() }) // channel delivery (channels.go)
	return s, nil
}

// countAccounts is the number of accounts the keys belong to.
func countAccounts(keys identity.Keys) int {
	accounts := map[string]bool{}
	for _, k := range keys {
		accounts[k.Account] = true
	}
	return len(accounts)
}

// routes answers GET and HEAD /health and GET /metrics before anything else; then, when loopbackHosts
// is set, refuses a request whose Host is not a loopback name (protocol.LoopbackHost); then answers
// the admin requests and, when it is on, the web console's GET and HEAD requests under /console/;
// everything else goes to api, which checks it by the Kinesis API's rules.
func (s *Server) routes(api *protocol.Handler, loopbackHosts bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/health" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			s.serveHealth(w, r)
		case r.URL.Path == "/metrics" && r.Method == http.MethodGet:
			api.ServeHTTP(w, r)
		case loopbackHosts && !protocol.LoopbackHost(r.Host):
			api.RefuseHost(w, r)
		case r.URL.Path == backup.Path:
			s.serveBackup(w, r)
		case s.console != nil && isConsole(r):
			s.console.ServeHTTP(w, r)
		default:
			api.ServeHTTP(w, r)
		}
	})
}

// newHTTPServer serves handler over HTTP/1.1 and HTTP/2: cleartext HTTP/2 with prior knowledge when
// tc is nil (the JavaScript SDK v3 uses it for every call), HTTP/2 by ALPN over TLS otherwise.
func newHTTPServer(handler http.Handler, log *slog.Logger, tc *tls.Config) *http.Server {
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	if tc != nil {
		protocols.SetHTTP2(true)
	} else {
		protocols.SetUnencryptedHTTP2(true)
	}
	return &http.Server{
		Handler:           handler,
		Protocols:         &protocols,
		TLSConfig:         tc,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       5 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		HTTP2: &http.HTTP2Config{
			// Large PutRecords bodies: let a stream and a connection carry several MiB in flight.
			MaxReceiveBufferPerStream:     8 << 20,
			MaxReceiveBufferPerConnection: 32 << 20,
		},
	}
}

func openStore(ctx context.Context, cfg *config.Config, log *slog.Logger, fatal func(error)) (storage.Store, error) {
	switch {
	case cfg.IsNATS():
		return openJetStream(ctx, cfg, log)
	case cfg.Store == "pebble":
		dir := cfg.DataDir
		if cfg.InMemory {
			dir = "" // nothing on disk, not even the directory
		}
		reserve := int64(cfg.DiskReserveMiB) << 20
		if cfg.InMemory {
			reserve = 0 // no disk to watch
		}
		st, err := pebble.Open(pebble.Options{
			Dir: dir, InMemory: cfg.InMemory, Logger: log, Fatal: fatal,
			DiskReserve: reserve, AcceptWALLoss: cfg.AcceptWALLoss, TailCache: tailCache(cfg.TailCacheMiB),
		})
		if err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		return st, nil
	}
	return nil, fmt.Errorf("-store: unknown engine %q", cfg.Store)
}

// tailCache is pebble.Options.TailCache for -tail-cache-mib (0: off).
func tailCache(mib int) int64 {
	if mib == 0 {
		return -1
	}
	return int64(mib) << 20
}

// openJetStream opens the NATS JetStream engine. While NATS cannot be reached (or its JetStream is not
// available yet, as in a cluster that is still starting) it says so and tries again, backing off up
// to 30 s between attempts, until it connects or ctx ends; any other problem (max_payload too small,
// credentials, a server too old) ends the start at once.
func openJetStream(ctx context.Context, cfg *config.Config, log *slog.Logger) (storage.Store, error) {
	opts := jetstream.Options{
		URL: cfg.Store, Prefix: cfg.NATSPrefix, Replicas: cfg.NATSReplicas, AckTimeout: cfg.NATSAckTimeout,
		CredsFile: cfg.NATSCreds, TLSCAFile: cfg.NATSTLSCA, Logger: log,
	}
	backoff := 500 * time.Millisecond
	for attempt := 1; ; attempt++ {
		st, err := jetstream.Open(ctx, opts)
		if err == nil {
			return st, nil
		}
		if !errors.Is(err, jetstream.ErrUnavailable) {
			return nil, fmt.Errorf("open store: %w", err)
		}
		log.Error("NATS JetStream unavailable; retrying", "servers", jetstream.RedactURL(cfg.Store),
			"attempt", attempt, "retry_in", backoff.String(), "err", err)
		if sleepCtx(ctx, backoff) != nil {
			return nil, fmt.Errorf("open store: gave up after %d attempts: %w", attempt, err)
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// newService builds the service over the open store. The service reads (or creates) the iterator key
// there; on NATS JetStream a cluster that is still electing the bucket's leader may not answer in
// time, and that is retried with backoff as openJetStream retries an unreachable NATS, until ctx ends.
func newService(ctx context.Context, cfg *config.Config, sc service.Config, log *slog.Logger) (*service.Service, error) {
	backoff := 500 * time.Millisecond
	for attempt := 1; ; attempt++ {
		svc, err := service.New(ctx, sc)
		if err == nil || !cfg.IsNATS() || !errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			return svc, err
		}
		log.Error("NATS JetStream did not answer; retrying", "attempt", attempt, "retry_in", backoff.String(), "err", err)
		if err := sleepCtx(ctx, backoff); err != nil {
			return nil, fmt.Errorf("gave up after %d attempts: %w", attempt, err)
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Addr is the address of -listen, with the port chosen when it asked for port 0.
func (s *Server) Addr() string { return s.fronts[0].ln.Addr().String() }

// TLSAddr is the address of the HTTPS port (-listen itself when TLS is on without -tls-listen), or "".
func (s *Server) TLSAddr() string {
	for _, f := range s.fronts {
		if f.tls {
			return f.ln.Addr().String()
		}
	}
	return ""
}

// TLSCertFile is the certificate the HTTPS port serves (a client's CA bundle for a generated one), or "".
func (s *Server) TLSCertFile() string { return s.tlsCert }

// Close stops accepting requests, waits for those in flight (until ctx ends), and closes the store, so
// that every acknowledged record is on disk. Calls after the first return the first one's result.
func (s *Server) Close(ctx context.Context) error {
	s.closeOnce.Do(func() { s.closeErr = s.close(ctx) })
	return s.closeErr
}

func (s *Server) close(ctx context.Context) error {
	s.closing.Store(true)
	s.stop()
	if s.pprof != nil {
		s.pprof.Close()
	}
	var err error
	for _, f := range s.fronts {
		ferr := f.srv.Shutdown(ctx)
		if errors.Is(ferr, context.DeadlineExceeded) || errors.Is(ferr, context.Canceled) {
			f.srv.Close()
		}
		err = errors.Join(err, ferr)
	}
	for range s.fronts {
		if serr := <-s.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
	}
	s.loops.Wait()
	s.svc.WaitScaling() // a running ON_DEMAND split finishes before the store closes
	removeTemp(s.tlsTemp)
	return errors.Join(err, s.store.Close())
}

// Run serves until ctx ends (SIGINT/SIGTERM in main), then shuts down cleanly.
func Run(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	begun := time.Now()
	s, err := start(ctx, cfg, log, nil, exitOnFatal(log))
	if err != nil {
		return err
	}
	store, where := cfg.Store, cfg.DataDir
	switch {
	case cfg.IsNATS():
		store, where = "jetstream", jetstream.RedactURL(cfg.Store)
	case cfg.InMemory:
		where = "memory"
	}
	log.Info("listening on "+s.Addr(), "store", store, "data", where, "tls", s.TLSAddr() == s.Addr(),
		"startup", time.Since(begun).Round(time.Microsecond).String())
	if s.TLSCertFile() != "" {
		log.Info("TLS certificate "+s.TLSCertFile(), "https", s.TLSAddr())
	}
	select {
	case <-ctx.Done():
	case err := <-s.done:
		s.done <- err
		log.Error("server stopped", "err", err)
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return s.Close(shutdownCtx)
}
