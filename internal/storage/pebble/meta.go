package pebble

import (
	"context"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"kinesisd/internal/storage"
)

// Metadata versions come from one store-wide counter, persisted in the same batch as each write, so
// a version is never handed out twice: after a delete and a re-create, a writer still holding a version
// of the old document gets ErrConflict instead of overwriting the new one.

// loadVersion reads the metadata version counter (0 in a new database).
func (s *Store) loadVersion() (uint64, error) {
	v, closer, err := s.db.Get(versionKey)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("pebble: read version counter: %w", err)
	}
	defer closer.Close()
	return decodeU64(v)
}

// currentVersion returns the version of key, 0 if absent.
func (s *Store) currentVersion(k []byte) (uint64, error) {
	v, closer, err := s.db.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer closer.Close()
	version, _, err := decodeMeta(v)
	return version, err
}

// GetMeta implements storage.Store.
func (s *Store) GetMeta(ctx context.Context, key string) ([]byte, uint64, error) {
	if err := s.enter(ctx); err != nil {
		return nil, 0, err
	}
	defer s.leave()
	v, closer, err := s.db.Get(metaKey(key))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, 0, fmt.Errorf("get %q: %w", key, storage.ErrNotFound)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("get %q: %w", key, err)
	}
	defer closer.Close()
	version, doc, err := decodeMeta(v)
	if err != nil {
		return nil, 0, fmt.Errorf("get %q: %w", key, err)
	}
	return append([]byte(nil), doc...), version, nil
}

// PutMeta implements storage.Store.
func (s *Store) PutMeta(ctx context.Context, key string, value []byte, version uint64) (uint64, error) {
	if err := s.enter(ctx); err != nil {
		return 0, err
	}
	defer s.leave()
	k := metaKey(key)
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	cur, err := s.currentVersion(k)
	if err != nil {
		return 0, fmt.Errorf("put %q: %w", key, err)
	}
	if cur != version {
		return 0, fmt.Errorf("put %q at version %d (current %d): %w", key, version, cur, storage.ErrConflict)
	}
	next := s.lastVersion + 1
	b := s.db.NewBatch()
	defer b.Close()
	if err := errors.Join(b.Set(k, encodeMeta(next, value), nil), b.Set(versionKey, encodeU64(next), nil)); err != nil {
		return 0, fmt.Errorf("put %q: %w", key, err)
	}
	if err := s.commit(b); err != nil {
		return 0, fmt.Errorf("put %q: %w", key, err)
	}
	s.lastVersion = next
	return next, nil
}

// DeleteMeta implements storage.Store.
func (s *Store) DeleteMeta(ctx context.Context, key string, version uint64) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.leave()
	k := metaKey(key)
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	cur, err := s.currentVersion(k)
	switch {
	case err != nil:
		return fmt.Errorf("delete %q: %w", key, err)
	case cur == 0:
		return fmt.Errorf("delete %q: %w", key, storage.ErrNotFound)
	case cur != version:
		return fmt.Errorf("delete %q at version %d (current %d): %w", key, version, cur, storage.ErrConflict)
	}
	if err := s.apply(func() error { return s.db.Delete(k, s.wopts) }); err != nil {
		return fmt.Errorf("delete %q: %w", key, err)
	}
	return nil
}

// ListMeta implements storage.Store.
func (s *Store) ListMeta(ctx context.Context, prefix string) ([]storage.MetaEntry, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.leave()
	lo := metaKey(prefix)
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(lo)})
	if err != nil {
		return nil, fmt.Errorf("list %q: %w", prefix, err)
	}
	var out []storage.MetaEntry
	for ok := it.First(); ok; ok = it.Next() {
		var v []byte
		if v, err = it.ValueAndErr(); err != nil {
			break
		}
		version, doc, derr := decodeMeta(v)
		if derr != nil {
			err = derr
			break
		}
		out = append(out, storage.MetaEntry{
			Key:     string(it.Key()[1:]),
			Value:   append([]byte(nil), doc...),
			Version: version,
		})
	}
	if err = errors.Join(err, it.Close()); err != nil {
		return nil, fmt.Errorf("list %q: %w", prefix, err)
	}
	return out, nil
}
