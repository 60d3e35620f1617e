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
//
// Version 2 added the record log (datalog.go): new records are spans, and record keys are only read.
// A version 1 store is upgraded on Open (its version key rewritten); a kinesisd that reads only
// version 1 refuses it from then on.
const formatVersion = 2

// checkFormat reads the store's format version: a new store (no version counter, no key) and a
// store made before the version existed (data but no key) get the key of this version (nothing
// written before version 2 needs changing); a lower version is upgraded, a greater one refused.
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
	if got < formatVersion {
		err = s.apply(func() error { return s.db.Set(formatKey, encodeU64(formatVersion), s.wopts) })
		if err != nil {
			return fmt.Errorf("pebble: upgrade the format version: %w", err)
		}
		s.log.Info("data directory upgraded", "dir", s.dir, "from_format", got, "to_format", formatVersion)
	}
	return nil
}
