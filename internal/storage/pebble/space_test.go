package pebble

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"kinesisd/internal/storage"
	"kinesisd/internal/storage/storagetest"
)

// TestDiskReserve runs the disk-full contract (storagetest.RunDiskFull) with the free space the
// file system reports driven through MemFS's testing hook, then checks what is the Pebble engine's
// own: AppendAt refuses too, and Health and Stats give the figures.
func TestDiskReserve(t *testing.T) {
	const reserve = 256 << 20
	usage := func(fs *vfs.MemFS, full bool) {
		free := uint64(10 << 30)
		if full {
			free = 100 << 20
		}
		fs.TestingSetDiskUsage(vfs.DiskUsage{AvailBytes: free, TotalBytes: 20 << 30})
	}
	open := func(t *testing.T) (*Store, *vfs.MemFS) {
		fs := vfs.NewMem()
		usage(fs, false)
		return mustOpen(t, Options{Dir: "db", FS: fs, DiskReserve: reserve, spaceInterval: 10 * time.Millisecond}), fs
	}
	storagetest.RunDiskFull(t, func(t *testing.T) (storage.Store, func(bool)) {
		s, fs := open(t)
		return s, func(full bool) { usage(fs, full) }
	})

	s, fs := open(t)
	ctx := t.Context()
	ref := storage.ShardRef{StreamID: 1}
	usage(fs, true)
	waitFor(t, "the reserve noticed", func() bool { return s.Health(ctx) != nil })
	err := s.AppendAt(ctx, ref, []storage.Record{{Offset: 5, PartitionKey: "k", Data: []byte("x")}}, 10)
	if !errors.Is(err, storage.ErrNoSpace) {
		t.Errorf("AppendAt below the reserve: %v, want ErrNoSpace", err)
	}
	if err := s.Health(ctx); err == nil || err.Error() != "disk below reserve: 100 MiB free (reserve 256 MiB)" {
		t.Errorf("Health below the reserve: %v", err)
	}
	if st, err := s.Stats(); err != nil || st.DiskFreeBytes != 100<<20 || st.WritesRefused != 1 {
		t.Errorf("Stats below the reserve: %+v, %v; want 100 MiB free, 1 write refused", st, err)
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
