// Package natstest starts in-process nats-server nodes with JetStream on loopback ports, for tests only.
package natstest

import (
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// MaxPayload is the max_payload of the servers started here: what the jetstream engine needs (a 10 MiB
// record plus its key and headers), rounded up.
const MaxPayload = 12 << 20

// Options change what Start starts.
type Options struct {
	// MaxPayload overrides the server's max_payload (0: MaxPayload). Tests of the engine's refusal
	// of a too-small setting lower it.
	MaxPayload int32
	// SyncAlways makes the server fsync every write (sync_interval: always), as a single-server
	// deployment must for acknowledged writes to survive a machine crash.
	SyncAlways bool
	// Port is the client port on 127.0.0.1 (0: a free one).
	Port int
}

// Start starts a single nats-server with JetStream keeping its data in dir (created if needed) on a
// free loopback port, and shuts it down when the test ends. It returns the server; its ClientURL is
// what a client connects to.
func Start(t testing.TB, dir string, opts Options) *server.Server {
	t.Helper()
	s, err := New(dir, opts)
	if err != nil {
		t.Fatalf("nats-server: %v", err)
	}
	t.Cleanup(func() { Stop(s) })
	return s
}

// New starts a server like Start does, for callers that manage its life themselves (Stop).
func New(dir string, opts Options) (*server.Server, error) {
	payload := opts.MaxPayload
	if payload == 0 {
		payload = MaxPayload
	}
	port := opts.Port
	if port == 0 {
		port = server.RANDOM_PORT
	}
	so := &server.Options{
		ServerName: "kinesisd-test",
		Host:       "127.0.0.1",
		Port:       port,
		JetStream:  true,
		StoreDir:   dir,
		MaxPayload: payload,
		SyncAlways: opts.SyncAlways,
		NoLog:      true,
		NoSigs:     true,
	}
	s, err := server.NewServer(so)
	if err != nil {
		return nil, err
	}
	go s.Start()
	if !s.ReadyForConnections(30 * time.Second) {
		Stop(s)
		return nil, errors.New("nats-server not ready for connections within 30s")
	}
	return s, nil
}

// Stop shuts s down and waits until it is down.
func Stop(s *server.Server) {
	s.Shutdown()
	s.WaitForShutdown()
}
