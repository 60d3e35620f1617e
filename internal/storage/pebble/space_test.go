package pebble

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"kinesisd/internal/storage"
)

// TestDiskReserve drives the free space that the file system reports (MemFS's testing hook): below
// the reserve Append and AppendAt refuse with storage.ErrNoSpace and write nothing, reads and
// metadata go on, Health and Stats say so; once space is back, appends resume by themselves.
func TestDiskReserve(t *testing.T) {
	const reserve = 256 << 20
	fs := vfs.NewMem()
	fs.TestingSetDiskUsage(vfs.DiskUsage{AvailBytes: 10 << 30, TotalBytes: 20 << 30})
	s := mustOpen(t, Options{Dir: "db", FS: fs, DiskReserve: reserve, spaceInterval: 10 * time.Millisecond})
	ctx := t.Context()
	ref := storage.ShardRef{StreamID: 1}
	appendOne := func() error {
		return s.Append(ctx, []storage.Append{{Shard: ref, Records: []storage.Record{{PartitionKey: "k", Data: []byte("data")}}}})
	}
	if err := appendOne(); err != nil {
		t.Fatal(err)
	}

	fs.TestingSetDiskUsage(vfs.DiskUsage{AvailBytes: 100 << 20, TotalBytes: 20 << 30})
	waitFor(t, "writes refused", func() bool { return errors.Is(appendOne(), storage.ErrNoSpace) })
	next, err := s.NextOffset(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := appendOne(); !errors.Is(err, storage.ErrNoSpace) {
		t.Fatalf("Append below the reserve: %v, want ErrNoSpace", err)
	}
	err = s.AppendAt(ctx, ref, []storage.Record{{Offset: next + 5, PartitionKey: "k", Data: []byte("x")}}, next+10)
	if !errors.Is(err, storage.ErrNoSpace) {
		t.Errorf("AppendAt below the reserve: %v, want ErrNoSpace", err)
	}
	if n, err := s.NextOffset(ctx, ref); err != nil || n != next {
		t.Errorf("NextOffset after refused writes: %d, %v; want %d (nothing written)", n, err, next)
	}
	if rs, err := s.Read(ctx, ref, 0, 10, 1<<20); err != nil || len(rs) == 0 {
		t.Errorf("Read below the reserve: %d records, %v", len(rs), err)
	}
	if _, err := s.PutMeta(ctx, "doc", []byte("v"), 0); err != nil {
		t.Errorf("PutMeta below the reserve: %v", err)
	}
	if err := s.Health(ctx); err == nil || !strings.Contains(err.Error(), "disk below reserve: 100 MiB free") {
		t.Errorf("Health below the reserve: %v", err)
	}
	st, err := s.Stats()
	if err != nil || st.DiskFreeBytes != 100<<20 || st.WritesRefused < 2 {
		t.Errorf("Stats below the reserve: %+v, %v", st, err)
	}

	fs.TestingSetDiskUsage(vfs.DiskUsage{AvailBytes: 1 << 30, TotalBytes: 20 << 30})
	waitFor(t, "writes resumed", func() bool { return appendOne() == nil })
	if err := s.Health(ctx); err != nil {
		t.Errorf("Health with space back: %v", err)
	}
}

// TestDiskReserveEarlyCheck: an append burst larger than the headroom the last reading showed makes
// Append read the free space again at once, without waiting for the interval.
func TestDiskReserveEarlyCheck(t *testing.T) {
	fs := vfs.NewMem()
	fs.TestingSetDiskUsage(vfs.DiskUsage{AvailBytes: (1 << 20) + 64<<10, TotalBytes: 1 << 30})
	s := mustOpen(t, Options{Dir: "db", FS: fs, DiskReserve: 1 << 20, spaceInterval: time.Hour})
	fs.TestingSetDiskUsage(vfs.DiskUsage{AvailBytes: 512 << 10, TotalBytes: 1 << 30})
	data := make([]byte, 100<<10) // past the 64 KiB headroom: the next reading is due
	err := s.Append(t.Context(), []storage.Append{{Shard: storage.ShardRef{StreamID: 1}, Records: []storage.Record{{PartitionKey: "k", Data: data}}}})
	if !errors.Is(err, storage.ErrNoSpace) {
		t.Errorf("Append past the headroom with the disk below the reserve: %v, want ErrNoSpace", err)
	}
}

// TestDiskBytes: Stats.DiskBytes counts what the files take on disk, which is at least the sum of
// their sizes in the directory (preallocated and recycled WAL files included).
func TestDiskBytes(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, Options{Dir: dir})
	data := make([]byte, 256<<10)
	for range 20 {
		if err := s.Append(t.Context(), []storage.Append{{Shard: storage.ShardRef{StreamID: 1}, Records: []storage.Record{{PartitionKey: "k", Data: data}}}}); err != nil {
			t.Fatal(err)
		}
	}
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	var sizes int64
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		fi, err := os.Stat(filepath.Join(dir, e.Name()))
		if err == nil && !fi.IsDir() {
			sizes += fi.Size()
		}
	}
	t.Logf("DiskBytes %d, sum of file sizes %d, free %d", st.DiskBytes, sizes, st.DiskFreeBytes)
	if st.DiskBytes < uint64(sizes) {
		t.Errorf("DiskBytes %d below the files' sizes %d", st.DiskBytes, sizes)
	}
	if st.DiskFreeBytes == 0 {
		t.Error("DiskFreeBytes 0 on a real file system")
	}
}

// waitFor polls cond every 5 ms for up to 10 s (the reserve is read every 10 ms in these tests).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
