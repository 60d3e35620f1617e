package pebble

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"kinesisd/internal/storage"
	"kinesisd/internal/storage/storagetest"
)

// setFormat writes version under the format key of the closed store in dir, or deletes the key
// (version 0), with Pebble directly.
func setFormat(t *testing.T, dir string, version uint64) {
	t.Helper()
	db, err := pebble.Open(dir, &pebble.Options{FormatMajorVersion: pebble.FormatValueSeparation})
	if err != nil {
		t.Fatal(err)
	}
	if version == 0 {
		err = db.Delete(formatKey, pebble.Sync)
	} else {
		err = db.Set(formatKey, encodeU64(version), pebble.Sync)
	}
	if err = errors.Join(err, db.Close()); err != nil {
		t.Fatal(err)
	}
}

// TestFormatVersion: a new store gets the format version; a store without the key (made before it
// existed) and a store of version 1 open and get it; a store of a greater version is refused with a
// message that says to upgrade.
func TestFormatVersion(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, Options{Dir: dir})
	if _, err := s.PutMeta(t.Context(), "doc", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	s.Close()

	setFormat(t, dir, 0) // as made by an earlier kinesisd
	s = mustOpen(t, Options{Dir: dir})
	if v, _, err := s.db.Get(formatKey); err != nil {
		t.Errorf("format key after opening a store without it: %v", err)
	} else if got, _ := decodeU64(v); got != formatVersion {
		t.Errorf("format version %d, want %d", got, formatVersion)
	}
	if _, _, err := s.GetMeta(t.Context(), "doc"); err != nil {
		t.Errorf("GetMeta on the upgraded store: %v", err)
	}
	s.Close()

	setFormat(t, dir, 3)
	_, err := Open(Options{Dir: dir, Logger: testLogger(t)})
	want := fmt.Sprintf("data directory %s has format version 3; this kinesisd reads up to 2: upgrade kinesisd", dir)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Open of a format 3 store: %v, want %q", err, want)
	}
	setFormat(t, dir, 1)
	mustOpen(t, Options{Dir: dir}) // refused Open released the directory
}

// TestCheckpoint takes a checkpoint while appends run: a store opened on it holds every record
// acknowledged before Checkpoint was called, and the metadata; a non-empty directory is refused.
func TestCheckpoint(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, Options{Dir: dir})
	if _, err := s.PutMeta(t.Context(), "doc", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	shards := []storage.ShardRef{{StreamID: 1, Shard: 0}, {StreamID: 1, Shard: 1}, {StreamID: 2, Shard: 0}}
	load := storagetest.StartLoad(t, s, shards, 4, 0)
	if err := load.WaitAcked(2000); err != nil {
		t.Fatal(err)
	}
	acked := load.Acked()
	backup := filepath.Join(t.TempDir(), "backup")
	if err := s.Checkpoint(t.Context(), backup); err != nil {
		t.Fatal(err)
	}
	if err := load.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := s.Checkpoint(t.Context(), backup); err == nil {
		t.Error("Checkpoint into a non-empty directory succeeded")
	}
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.Mkdir(empty, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := s.Checkpoint(t.Context(), empty); err != nil {
		t.Errorf("Checkpoint into an empty directory: %v", err)
	}

	b := mustOpen(t, Options{Dir: backup})
	lost, err := storagetest.Lost(t.Context(), b, acked)
	if err != nil {
		t.Fatal(err)
	}
	if len(lost) > 0 {
		t.Errorf("%d of %d records acknowledged before Checkpoint are not in it", len(lost), len(acked))
	}
	if _, _, err := b.GetMeta(t.Context(), "doc"); err != nil {
		t.Errorf("metadata in the checkpoint: %v", err)
	}
	t.Logf("%d acknowledged records before the checkpoint, all in it", len(acked))
}

// TestHealth: nil while open, "closed" after Close.
func TestHealth(t *testing.T) {
	s := mustOpen(t, Options{InMemory: true})
	if err := s.Health(t.Context()); err != nil {
		t.Errorf("Health of an open store: %v", err)
	}
	s.Close()
	if err := s.Health(context.Background()); err == nil || err.Error() != "closed" {
		t.Errorf("Health after Close: %v, want closed", err)
	}
}
