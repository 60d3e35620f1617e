package pebble

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kinesisd/internal/storage"
)

// TestReadCorruption flips one byte in the middle of the record log's segment (.seg: the records) or
// of the flushed table (.sst: the span keys): Read (or, for the table, Open, which reads it) returns
// an error wrapping storage.ErrCorrupt, never panics, and Stats counts the corruption.
func TestReadCorruption(t *testing.T) {
	for _, tt := range []struct {
		ext     string
		dataLen int
		n       int
	}{{".seg", 1 << 10, 2000}, {".sst", 100, 40000}} {
		t.Run(strings.TrimPrefix(tt.ext, "."), func(t *testing.T) {
			dir := t.TempDir()
			s := mustOpen(t, Options{Dir: dir})
			ref := storage.ShardRef{StreamID: 1}
			rs := make([]storage.Record, tt.n)
			for i := range rs {
				rs[i] = storage.Record{PartitionKey: "k", Data: []byte(strings.Repeat(fmt.Sprintf("record %d ", i), tt.dataLen/8)[:tt.dataLen])}
			}
			for len(rs) > 0 { // in calls of at most storage.MaxAppendRecords
				n := min(len(rs), storage.MaxAppendRecords)
				if err := s.Append(t.Context(), []storage.Append{{Shard: ref, Records: rs[:n]}}); err != nil {
					t.Fatal(err)
				}
				rs = rs[n:]
			}
			if err := s.db.Flush(); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			files, _ := filepath.Glob(filepath.Join(dir, "*"+tt.ext))
			if tt.ext == segmentSuffix {
				files, _ = filepath.Glob(filepath.Join(dir, logDirName, "*"+tt.ext))
				files = files[:1] // the first: the one written (a new one is started at each Open)
			}
			if len(files) != 1 {
				t.Fatalf("%s files after one flush: %v", tt.ext, files)
			}
			b, err := os.ReadFile(files[0])
			if err != nil {
				t.Fatal(err)
			}
			b[len(b)/2] ^= 0x40
			if err := os.WriteFile(files[0], b, 0o644); err != nil {
				t.Fatal(err)
			}

			s, err = Open(Options{Dir: dir, Logger: testLogger(t)})
			if err != nil && tt.ext == ".sst" && errors.Is(err, storage.ErrCorrupt) {
				t.Logf("Open: %v", err)
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			t.Cleanup(func() { s.Close() })
			var readErr error
			for from := uint64(0); readErr == nil; {
				got, err := s.Read(t.Context(), ref, from, 100, 1<<20)
				if err != nil {
					readErr = err
					break
				}
				if len(got) == 0 {
					break
				}
				from = got[len(got)-1].Offset + 1
			}
			if !errors.Is(readErr, storage.ErrCorrupt) {
				t.Fatalf("reading a shard with a flipped byte in its %s file: %v, want storage.ErrCorrupt", tt.ext, readErr)
			}
			t.Logf("Read: %v", readErr)
			if st, err := s.Stats(); err != nil || st.Corruptions == 0 {
				t.Errorf("Stats after a corrupt read: %+v, %v", st, err)
			}
		})
	}
}
