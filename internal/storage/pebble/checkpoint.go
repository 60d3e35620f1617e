package pebble

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"kinesisd/internal/storage"
)

var _ storage.Checkpointer = (*Store)(nil)

// Checkpoint implements storage.Checkpointer with Pebble's DB.Checkpoint and a copy of the record log
// (checkpointRecords): tables, blob files and
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
	// No segment may go between Pebble's checkpoint and the copy of the segments its span keys
	// point into.
	s.records.pin()
	defer s.records.unpin()
	if err := s.db.Checkpoint(dir, pebble.WithFlushedWAL()); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := s.checkpointRecords(dir); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// checkpointRecords copies the record log's segments into dir: hard links where the file system
// allows (segments are never written again once a newer one is active), a copy of the active one.
// Every byte a span key of the checkpoint points at was synced before Pebble's checkpoint began.
func (s *Store) checkpointRecords(dir string) error {
	src, dst := s.fs.PathJoin(s.dir, logDirName), s.fs.PathJoin(dir, logDirName)
	if err := s.fs.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	ids, active := s.records.segments()
	for _, id := range ids {
		from, to := s.fs.PathJoin(src, segmentName(id)), s.fs.PathJoin(dst, segmentName(id))
		copyFile := vfs.LinkOrCopy
		if id == active {
			copyFile = vfs.Copy
		}
		if err := copyFile(s.fs, from, to); err != nil {
			return err
		}
	}
	for _, d := range []string{dst, dir} {
		f, err := s.fs.OpenDir(d)
		if err != nil {
			return err
		}
		if err := errors.Join(f.Sync(), f.Close()); err != nil {
			return err
		}
	}
	return nil
}
