package pebble

import (
	"errors"
	"testing"

	"kinesisd/internal/storage"
)

// TestStats checks the figures follow an Append (the WAL, and so the disk, hold its bytes) and that a
// closed store reports ErrClosed.
func TestStats(t *testing.T) {
	s := mustOpen(t, Options{Dir: t.TempDir()})
	before, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 64<<10)
	recs := []storage.Record{{PartitionKey: "k", Data: data}, {PartitionKey: "k", Data: data}}
	if err := s.Append(t.Context(), []storage.Append{{Shard: storage.ShardRef{StreamID: 1}, Records: recs}}); err != nil {
		t.Fatal(err)
	}
	after, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	grew := 2 * uint64(len(data))
	if after.WALBytes <= before.WALBytes || after.DiskBytes < before.DiskBytes+grew || after.MemtableBytes == 0 {
		t.Errorf("after appending %d bytes: %+v (before %+v)", grew, after, before)
	}
	if after.DiskBytes < after.WALBytes {
		t.Errorf("DiskBytes %d < WALBytes %d", after.DiskBytes, after.WALBytes)
	}
	s.Close()
	if _, err := s.Stats(); !errors.Is(err, storage.ErrClosed) {
		t.Errorf("Stats after Close: %v, want ErrClosed", err)
	}
}
