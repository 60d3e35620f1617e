package pebble

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/cockroachdb/pebble/v2"

	"kinesisd/internal/storage"
)

var _ storage.Checkpointer = (*Store)(nil)

// Checkpoint implements storage.Checkpointer with Pebble's DB.Checkpoint: tables, blob files and
// the MANIFEST are hard-linked into dir where the file system allows it (so a checkpoint on the same
// file system costs little space at first, and then the space of the files the store later deletes),
// copied otherwise; the WAL is copied after being flushed and synced (WithFlushedWAL), so that every
// write acknowledged before the call is in the copy. Pebble refuses a dir that exists; an existing
// empty dir is removed first, so that an operator may create it with the permissions wanted.
func (s *Store) Checkpoint(ctx context.Context, dir string) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.leave()
	if names, err := s.fs.List(dir); err == nil {
		if len(names) > 0 {
			return fmt.Errorf("checkpoint: %s is not empty", dir)
		}
		if err := s.fs.Remove(dir); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
	} else if _, serr := s.fs.Stat(dir); !errors.Is(serr, os.ErrNotExist) {
		return fmt.Errorf("checkpoint: %s: %w", dir, err)
	}
	if err := s.db.Checkpoint(dir, pebble.WithFlushedWAL()); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}
