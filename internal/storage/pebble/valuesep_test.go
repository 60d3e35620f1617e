package pebble

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"kinesisd/internal/storage"
)

// appendSized appends n records with data of size bytes to ref, in calls of 50.
func appendSized(t *testing.T, s *Store, ref storage.ShardRef, n, size int) []storage.Record {
	t.Helper()
	var all []storage.Record
	for len(all) < n {
		rs := make([]storage.Record, min(50, n-len(all)))
		for i := range rs {
			tag := fmt.Sprintf("r%06d|", len(all)+i)
			rs[i] = storage.Record{ArrivalMilli: int64(len(all) + i), PartitionKey: "pk",
				Data: bytes.Repeat([]byte(tag), size/len(tag)+1)[:size]}
		}
		if err := s.Append(t.Context(), []storage.Append{{Shard: ref, Records: rs}}); err != nil {
			t.Fatal(err)
		}
		all = append(all, rs...)
	}
	return all
}

// TestValueSeparation proves that large values really go to blob files (which takes the right format
// major version, columnar blocks and the policy together), that small ones stay in sstables, and that
// records read back the same either way.
func TestValueSeparation(t *testing.T) {
	tests := []struct {
		name      string
		size      int
		wantBlobs bool
	}{
		{"large values", 4 << 10, true},
		{"at the threshold", valueSepMinSize, true}, // the value holds the record's header too
		{"small values", 100, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustOpen(t, Options{InMemory: true})
			ref := storage.ShardRef{StreamID: 1, Shard: 0}
			want := appendSized(t, s, ref, 200, tt.size)
			if err := s.db.Flush(); err != nil {
				t.Fatal(err)
			}
			m := s.db.Metrics()
			t.Logf("format %s, table format %s, blob files %d, blob values %d bytes, flushed to blobs %d bytes",
				s.db.FormatMajorVersion(), s.db.TableFormat(), m.BlobFiles.LiveCount, m.BlobFiles.ValueSize,
				m.Levels[0].BlobBytesFlushed)
			if got := m.BlobFiles.LiveCount > 0; got != tt.wantBlobs {
				t.Fatalf("live blob files: %d, want some: %v", m.BlobFiles.LiveCount, tt.wantBlobs)
			}
			if tt.wantBlobs && m.BlobFiles.ValueSize < uint64(200*tt.size) {
				t.Errorf("blob files hold %d bytes of values, want at least %d", m.BlobFiles.ValueSize, 200*tt.size)
			}
			got, err := s.Read(t.Context(), ref, 0, 1000, 1<<30)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("read %d records, want %d", len(got), len(want))
			}
			for i := range got {
				if got[i].Offset != want[i].Offset || !bytes.Equal(got[i].Data, want[i].Data) {
					t.Fatalf("record %d differs after flush", i)
				}
			}
		})
	}
}

// TestTrimReclaimsSpace: after trimming everything, the background compaction leaves no live blob file
// and no table bytes for the records.
func TestTrimReclaimsSpace(t *testing.T) {
	compacted := make(chan error, 16)
	s := mustOpen(t, Options{Dir: t.TempDir(), onCompacted: func(_, _ []byte, err error) { compacted <- err }})
	refs := []storage.ShardRef{{StreamID: 1, Shard: 0}, {StreamID: 1, Shard: 1}}
	for _, ref := range refs {
		appendSized(t, s, ref, 500, 4<<10)
	}
	if err := s.db.Flush(); err != nil {
		t.Fatal(err)
	}
	before := s.db.Metrics()
	if before.BlobFiles.LiveCount == 0 {
		t.Fatal("no blob files before the trim")
	}
	for _, ref := range refs {
		if err := s.Trim(t.Context(), ref, 1<<62); err != nil {
			t.Fatal(err)
		}
	}
	for range refs { // one compaction per shard, unless the two requests were taken together
		select {
		case err := <-compacted:
			if err != nil {
				t.Fatalf("compaction: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("no compaction 30s after the trims")
		}
		if s.db.Metrics().BlobFiles.LiveCount == 0 {
			break
		}
	}
	after := s.db.Metrics()
	t.Logf("blob files %d → %d (%d → %d bytes); tables %d → %d bytes", before.BlobFiles.LiveCount,
		after.BlobFiles.LiveCount, before.BlobFiles.LiveSize, after.BlobFiles.LiveSize,
		before.Total().TablesSize, after.Total().TablesSize)
	if after.BlobFiles.LiveCount != 0 || after.BlobFiles.ReferencedValueSize != 0 {
		t.Errorf("after trim and compaction: %d live blob files, %d referenced bytes", after.BlobFiles.LiveCount,
			after.BlobFiles.ReferencedValueSize)
	}
	if after.Total().TablesSize > before.Total().TablesSize/4 {
		t.Errorf("tables shrank only from %d to %d bytes", before.Total().TablesSize, after.Total().TablesSize)
	}
}
