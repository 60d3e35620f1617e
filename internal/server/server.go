// Package server wires a Config into a running kinesisd: the store, the service, the HTTP listeners, shutdown.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // served only with -pprof-listen
	"sync"
	"time"

	"kinesisd/internal/clock"
	"kinesisd/internal/config"
	"kinesisd/internal/protocol"
	"kinesisd/internal/service"
	"kinesisd/internal/storage"
	"kinesisd/internal/storage/pebble"
)

// Server is a running kinesisd.
type Server struct {
	http  *http.Server
	ln    net.Listener
	store storage.Store
	log   *slog.Logger
	done  chan error
	stop  context.CancelFunc // stops the background loops
	pprof *http.Server       // with -pprof-listen
	loops sync.WaitGroup

	closeOnce sync.Once
	closeErr  error
}

// Start opens the store, builds the service and starts serving on cfg.Listen. clk may be nil (the
// real clock); tests pass a fake one.
func Start(ctx context.Context, cfg *config.Config, log *slog.Logger, clk clock.Clock) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	store, err := openStore(cfg, log)
	if err != nil {
		return nil, err
	}
	svc, err := service.New(ctx, service.Config{
		Store: store, Clock: clk, Logger: log, Account: cfg.AccountID, Region: cfg.Region,
		CreateDelay: cfg.CreateStreamDelay, DeleteDelay: cfg.DeleteStreamDelay, UpdateDelay: cfg.UpdateStreamDelay,
		ShardLimit: cfg.ShardLimit, ThroughputLimits: cfg.ThroughputLimits, APIRateLimits: cfg.APIRateLimits,
		ConsumerDelay: cfg.ConsumerDelay, OnDemandWindow: cfg.OnDemandWindow,
		SubscribeLifetime: cfg.SubscribeLifetime, SubscribeHeartbeat: cfg.SubscribeHeartbeat, SubscribeTakeover: cfg.SubscribeTakeover,
	})
	if err != nil {
		store.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("-listen: %w", err)
	}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true) // h2c with prior knowledge: the JavaScript SDK v3 uses it for every call
	s := &Server{
		http: &http.Server{
			Handler:           protocol.New(svc, log),
			Protocols:         &protocols,
			ReadHeaderTimeout: 30 * time.Second,
			IdleTimeout:       5 * time.Minute,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
			HTTP2: &http.HTTP2Config{
				// Large PutRecords bodies: let a stream and a connection carry several MiB in flight.
				MaxReceiveBufferPerStream:     8 << 20,
				MaxReceiveBufferPerConnection: 32 << 20,
			},
		},
		ln:    ln,
		store: store,
		log:   log,
		done:  make(chan error, 1),
	}
	s.http.RegisterOnShutdown(svc.EndSubscriptions) // open subscriptions end, so Shutdown need not wait for them
	go func() { s.done <- s.http.Serve(ln) }()
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
	return s, nil
}

func openStore(cfg *config.Config, log *slog.Logger) (storage.Store, error) {
	switch cfg.Store {
	case "pebble":
		dir := cfg.DataDir
		if cfg.InMemory {
			dir = "" // nothing on disk, not even the directory
		}
		st, err := pebble.Open(pebble.Options{Dir: dir, InMemory: cfg.InMemory, Logger: log})
		if err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		return st, nil
	}
	return nil, fmt.Errorf("-store: unknown engine %q", cfg.Store)
}

// Addr is the address the API listens on, with the port chosen when -listen asked for port 0.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops accepting requests, waits for those in flight (until ctx ends), and closes the store, so
// that every acknowledged record is on disk. Calls after the first return the first one's result.
func (s *Server) Close(ctx context.Context) error {
	s.closeOnce.Do(func() { s.closeErr = s.close(ctx) })
	return s.closeErr
}

func (s *Server) close(ctx context.Context) error {
	s.stop()
	if s.pprof != nil {
		s.pprof.Close()
	}
	s.loops.Wait()
	err := s.http.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		s.http.Close()
	}
	if serr := <-s.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return errors.Join(err, s.store.Close())
}

// Run serves until ctx ends (SIGINT/SIGTERM in main), then shuts down cleanly.
func Run(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	start := time.Now()
	s, err := Start(ctx, cfg, log, nil)
	if err != nil {
		return err
	}
	where := cfg.DataDir
	if cfg.InMemory {
		where = "memory"
	}
	log.Info("listening on "+s.Addr(), "store", cfg.Store, "data", where,
		"startup", time.Since(start).Round(time.Microsecond).String())
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
