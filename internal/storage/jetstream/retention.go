package jetstream

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"kinesisd/internal/storage"
)

var _ storage.Retainer = (*Store)(nil)

// retentionMargin is how much longer than the retention period JetStream keeps a record (MaxAge): the
// service trims at the period itself, from the record's ArrivalMilli; JetStream's own limit is the
// backstop and must never take a record the service still serves, whatever the clocks of the
// front-ends and the NATS servers say.
const retentionMargin = time.Hour

// SetRetention implements storage.Retainer: the incarnation's JetStream stream gets MaxAge retention +
// retentionMargin, created with it if it does not exist yet, updated otherwise.
func (s *Store) SetRetention(ctx context.Context, id uint64, retention time.Duration) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.leave()
	ctx, cancel := s.timeout(ctx)
	defer cancel()
	st, err := s.stream(id)
	if err != nil {
		return err
	}
	want := retention + retentionMargin
	st.maxAge.Store(int64(want))
	st.ready.Store(false) // ensureStream creates it with the MaxAge, or finds it
	if err := s.ensureStream(ctx, st); err != nil {
		return fmt.Errorf("set retention: %w", err)
	}
	stream, err := s.js.Stream(ctx, st.name)
	if err != nil {
		return fmt.Errorf("set retention of %s: %w", st.name, err)
	}
	cfg := stream.CachedInfo().Config
	if cfg.MaxAge == want {
		return nil
	}
	cfg.MaxAge = want
	if _, err := s.js.UpdateStream(ctx, cfg); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("set retention of %s: %w", st.name, err)
	}
	return nil
}
