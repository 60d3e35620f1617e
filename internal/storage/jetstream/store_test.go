package jetstream

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/nats-io/nats-server/v2/server"

	"kinesisd/internal/storage"
	"kinesisd/internal/storage/jetstream/natstest"
	"kinesisd/internal/storage/storagetest"
)

// testLogger logs warnings and errors into the test's output.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func mustOpen(t *testing.T, opts Options) *Store {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	s, err := Open(t.Context(), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, storage.ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// prefixes hands out a distinct prefix per store, so that the stores of parallel subtests share one
// nats-server without seeing each other's data.
var prefixes atomic.Int64

func newPrefix() string { return fmt.Sprintf("T%d", prefixes.Add(1)) }

// TestConformance runs the storage contract against one in-process nats-server, each store under its
// own prefix.
func TestConformance(t *testing.T) {
	srv := natstest.Start(t, t.TempDir(), natstest.Options{})
	storagetest.Run(t, func(t *testing.T) storage.Store {
		return mustOpen(t, Options{URL: srv.ClientURL(), Prefix: newPrefix()})
	})
}

// TestReopen runs the restart part of the contract twice: reopening the store on the same server,
// and restarting the nats-server itself (same store directory) before each reopen.
func TestReopen(t *testing.T) {
	t.Run("Store", func(t *testing.T) {
		srv := natstest.Start(t, t.TempDir(), natstest.Options{})
		var mu sync.Mutex
		byDir := map[string]string{}
		storagetest.RunReopen(t, func(t *testing.T, dir string) storage.Store {
			mu.Lock()
			p, ok := byDir[dir]
			if !ok {
				p = newPrefix()
				byDir[dir] = p
			}
			mu.Unlock()
			return mustOpen(t, Options{URL: srv.ClientURL(), Prefix: p})
		})
	})
	t.Run("Server", func(t *testing.T) {
		var mu sync.Mutex
		servers := map[string]*server.Server{}
		storagetest.RunReopen(t, func(t *testing.T, dir string) storage.Store {
			mu.Lock()
			old := servers[dir]
			mu.Unlock()
			if old != nil {
				natstest.Stop(old)
			}
			srv, err := natstest.New(filepath.Join(dir, "nats"), natstest.Options{})
			if err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			servers[dir] = srv
			mu.Unlock()
			t.Cleanup(func() { natstest.Stop(srv) })
			return mustOpen(t, Options{URL: srv.ClientURL()})
		})
	})
}

// TestOpenRefuses: a server whose max_payload cannot carry a 10 MiB record is refused with a message
// that says what to change; an unreachable one with ErrUnavailable.
func TestOpenRefuses(t *testing.T) {
	small := natstest.Start(t, t.TempDir(), natstest.Options{MaxPayload: 1 << 20})
	_, err := Open(t.Context(), Options{URL: small.ClientURL()})
	if err == nil || !strings.Contains(err.Error(), "max_payload") || errors.Is(err, ErrUnavailable) {
		t.Errorf("Open on a server with max_payload 1 MiB = %v; want a max_payload error", err)
	}
	_, err = Open(t.Context(), Options{URL: "nats://127.0.0.1:1"})
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("Open on a closed port = %v; want ErrUnavailable", err)
	}
	_, err = Open(t.Context(), Options{URL: small.ClientURL(), Prefix: "bad.prefix"})
	if err == nil || !strings.Contains(err.Error(), "prefix") {
		t.Errorf("Open with prefix bad.prefix = %v", err)
	}
}
