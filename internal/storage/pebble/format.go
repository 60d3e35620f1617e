package pebble

import (
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// formatVersion is the version of kinesisd's on-disk format (its keys and values, on top of
// Pebble's own format, which Pebble versions itself). Open refuses a store of a greater version,
// written by a newer kinesisd that may have changed what keys mean; raise it with any change that an
// older kinesisd would misread, and teach Open to upgrade the versions below it.
const formatVersion = 1

// checkFormat reads the store's format version: a new store (no version counter, no key) and a
// store made before the version existed (data but no key) are version 1 and get the key; a greater
// version is refused.
func (s *Store) checkFormat() error {
	v, closer, err := s.db.Get(formatKey)
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		err = s.apply(func() error { return s.db.Set(formatKey, encodeU64(formatVersion), s.wopts) })
		if err != nil {
			return fmt.Errorf("pebble: write the format version: %w", err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("pebble: read the format version: %w", err)
	}
	defer closer.Close()
	got, err := decodeU64(v)
	if err != nil {
		return fmt.Errorf("pebble: read the format version: %w", err)
	}
	if got > formatVersion {
		return fmt.Errorf("data directory %s has format version %d; this kinesisd reads up to %d: upgrade kinesisd", s.dir, got, formatVersion)
	}
	return nil
}
