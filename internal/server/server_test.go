// Package server_test starts kinesisd the way main does, on the NATS JetStream engine.
package server_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"kinesisd/internal/config"
	"kinesisd/internal/kinesistest"
	"kinesisd/internal/server"
	"kinesisd/internal/storage/jetstream/natstest"
)

// onMessage is a slog handler that closes a channel at the first record with the message msg.
type onMessage struct {
	msg  string
	once *sync.Once
	seen chan struct{}
}

func newOnMessage(msg string) onMessage {
	return onMessage{msg: msg, once: new(sync.Once), seen: make(chan struct{})}
}

func (h onMessage) Enabled(context.Context, slog.Level) bool { return true }
func (h onMessage) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h onMessage) WithGroup(string) slog.Handler            { return h }
func (h onMessage) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.once.Do(func() { close(h.seen) })
	}
	return nil
}

const retrying = "NATS JetStream unavailable; retrying"

// TestStartWaitsForNATS: with nothing on the NATS address yet, Start says so and keeps trying; once a
// nats-server comes up there, Start returns a server that works.
func TestStartWaitsForNATS(t *testing.T) {
	port := natstest.FreePort(t)
	cfg, err := config.Load([]string{"-listen", "127.0.0.1:0", "-store", fmt.Sprintf("nats://127.0.0.1:%d", port),
		"-kms-master-key-file", filepath.Join(t.TempDir(), "kms-master-key")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	logs := newOnMessage(retrying)
	started := make(chan error, 1)
	dir := t.TempDir()
	go func() {
		<-logs.seen
		srv, err := natstest.New(dir, natstest.Options{Port: port})
		if err == nil {
			t.Cleanup(func() { natstest.Stop(srv) })
		}
		started <- err
	}()
	// Bounded, so that a Start that never logs the line (and so never sees a nats-server come up)
	// fails the test instead of hanging it.
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	s, err := server.Start(ctx, cfg, slog.New(logs), nil)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer s.Close(context.Background())
	if err := <-started; err != nil {
		t.Fatalf("nats-server: %v", err)
	}
	c := kinesistest.NewClient("http://" + s.Addr())
	if _, err := c.CreateStream(t.Context(), &kinesis.CreateStreamInput{StreamName: aws.String("late"), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutRecord(t.Context(), &kinesis.PutRecordInput{StreamName: aws.String("late"), PartitionKey: aws.String("k"), Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
}

// TestStartGivesUp: Start stops retrying when its context ends, and says why; a NATS server that
// cannot hold 10 MiB records ends the start at once.
func TestStartGivesUp(t *testing.T) {
	cfg, err := config.Load([]string{"-listen", "127.0.0.1:0", "-store", fmt.Sprintf("nats://127.0.0.1:%d", natstest.FreePort(t)),
		"-kms-master-key-file", filepath.Join(t.TempDir(), "kms-master-key")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	logs := newOnMessage(retrying)
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-logs.seen
		cancel()
	}()
	if s, err := server.Start(ctx, cfg, slog.New(logs), nil); err == nil || !strings.Contains(err.Error(), "gave up") {
		if s != nil {
			s.Close(context.Background())
		}
		t.Errorf("Start with NATS unreachable and the context ended = %v; want an error that says it gave up", err)
	}

	small := natstest.Start(t, t.TempDir(), natstest.Options{MaxPayload: 1 << 20})
	cfg.Store = small.ClientURL()
	if s, err := server.Start(t.Context(), cfg, nil, nil); err == nil || !strings.Contains(err.Error(), "max_payload") {
		if s != nil {
			s.Close(context.Background())
		}
		t.Errorf("Start on a server with max_payload 1 MiB = %v; want a max_payload error", err)
	}
}

// TestInMemoryTLSTempDirRemoved: with -in-memory, a generated certificate lives in a temporary
// directory that Close removes.
func TestInMemoryTLSTempDirRemoved(t *testing.T) {
	cfg, err := config.Load([]string{"-in-memory", "-tls", "-listen", "127.0.0.1:0"}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	s, err := server.Start(t.Context(), cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(s.TLSCertFile())
	if _, err := os.Stat(s.TLSCertFile()); err != nil {
		t.Fatalf("no certificate while serving: %v", err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("%s still there after Close: %v", dir, err)
	}
}
