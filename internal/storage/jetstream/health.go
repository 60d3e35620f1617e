package jetstream

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"kinesisd/internal/storage"
)

var _ storage.HealthReporter = (*Store)(nil)

// healthProbeEvery is how often Health asks JetStream itself (one account-info request): a
// connection can be up while JetStream has no meta leader (a cluster that lost its quorum), and only
// a request shows that. Between probes Health answers from the connection's status and the last
// probe, so that a health check polled every second costs one round trip every few seconds.
const healthProbeEvery = 5 * time.Second

// healthProbeTimeout bounds the probe: a JetStream that takes longer to answer is reported
// unreachable (writes would be waiting for it too).
const healthProbeTimeout = 2 * time.Second

// health is the cached JetStream probe.
type health struct {
	mu   sync.Mutex // held during a probe: concurrent callers wait for it and share its result
	at   time.Time  // when the last probe ran
	last error      // its result
}

// Health implements storage.HealthReporter: "closed" after Close, "NATS unreachable: …" while the
// connection is down (nats.go reconnects by itself meanwhile) or JetStream does not answer.
func (s *Store) Health(ctx context.Context) error {
	if err := s.enter(ctx); err != nil {
		if errors.Is(err, storage.ErrClosed) {
			return errors.New("closed")
		}
		return err
	}
	defer s.leave()
	switch st := s.nc.Status(); st {
	case nats.CONNECTED:
	case nats.CLOSED:
		return errors.New("closed")
	default:
		if err := s.nc.LastError(); err != nil {
			return fmt.Errorf("NATS unreachable: %s: %v", st, err)
		}
		return fmt.Errorf("NATS unreachable: %s", st)
	}
	s.health.mu.Lock()
	defer s.health.mu.Unlock()
	if time.Since(s.health.at) < healthProbeEvery {
		return s.health.last
	}
	pctx, cancel := context.WithTimeout(ctx, healthProbeTimeout)
	defer cancel()
	_, err := s.js.AccountInfo(pctx)
	if ctx.Err() != nil {
		return ctx.Err() // the caller gave up: no verdict on JetStream
	}
	s.health.at, s.health.last = time.Now(), nil
	if err != nil {
		s.health.last = fmt.Errorf("NATS unreachable: JetStream: %w", err)
	}
	return s.health.last
}
