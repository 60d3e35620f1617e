package jetstream

import (
	"context"
	"strings"
	"testing"
	"time"

	"kinesisd/internal/storage/jetstream/natstest"
)

// TestHealth: healthy while NATS serves, "NATS unreachable" once the server is gone, "closed" after
// Close.
func TestHealth(t *testing.T) {
	srv, err := natstest.New(t.TempDir(), natstest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { natstest.Stop(srv) })
	s := mustOpen(t, Options{URL: srv.ClientURL(), Prefix: newPrefix()})
	if err := s.Health(t.Context()); err != nil {
		t.Fatalf("Health with NATS up: %v", err)
	}
	natstest.Stop(srv)
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := s.Health(t.Context())
		if err != nil && strings.HasPrefix(err.Error(), "NATS unreachable") {
			t.Logf("Health with NATS down: %v", err)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Health 10s after NATS went down: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.Close()
	if err := s.Health(context.Background()); err == nil || err.Error() != "closed" {
		t.Errorf("Health after Close: %v, want closed", err)
	}
}
