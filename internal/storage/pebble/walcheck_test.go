package pebble

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"kinesisd/internal/storage"
	"kinesisd/internal/storage/storagetest"
)

// walLoadBatch is bigLoad's records per Append.
const walLoadBatch = 2

// bigLoad appends batches of walLoadBatch records of 1 KiB from 4 goroutines (PutRecords-like batches, which
// span many WAL blocks: the case Pebble's own check misses) until n records are acknowledged, then 3
// more batches one after the other (each built once the one before was acknowledged, so that the
// last ones vouch for everything before them), and returns a crash clone of fs (what a kill -9 or a
// power cut leaves: everything acknowledged was synced) with the acknowledged records.
//
// Since the record log (datalog.go) a batch in the WAL is a span key and the engine's LogData, about
// 100 bytes whatever the records: walLoadBatch records a call make the WAL span many 32 KiB blocks.
func bigLoad(t *testing.T, fs *vfs.MemFS, n int) (*vfs.MemFS, []storagetest.Acked) {
	t.Helper()
	s := mustOpen(t, Options{Dir: "db", FS: fs})
	var (
		mu    sync.Mutex
		acked []storagetest.Acked
		wg    sync.WaitGroup
	)
	appendBatch := func(w, c int) error {
		ref := storage.ShardRef{StreamID: 1, Shard: uint32(w % 2)}
		rs := make([]storage.Record, walLoadBatch)
		for j := range rs {
			data := []byte(strings.Repeat(fmt.Sprintf("w%d c%d r%d ", w, c, j), 200)[:1024])
			rs[j] = storage.Record{ArrivalMilli: int64(c), PartitionKey: "k", Data: data}
		}
		if err := s.Append(t.Context(), []storage.Append{{Shard: ref, Records: rs}}); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for _, r := range rs {
			acked = append(acked, storagetest.Acked{Shard: ref, Record: r})
		}
		return nil
	}
	for w := range 4 {
		wg.Go(func() {
			for c := 0; ; c++ {
				mu.Lock()
				done := len(acked) >= n
				mu.Unlock()
				if done {
					return
				}
				if err := appendBatch(w, c); err != nil {
					t.Errorf("Append: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	for c := range 3 {
		if err := appendBatch(9, c); err != nil {
			t.Fatal(err)
		}
	}
	crashed := fs.CrashClone(vfs.CrashCloneCfg{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return crashed, slices.Clone(acked)
}

// newestWAL returns the path of the newest write-ahead log in fs's db directory and its contents.
func newestWAL(t *testing.T, fs vfs.FS) (string, []byte) {
	t.Helper()
	names, err := fs.List("db")
	if err != nil {
		t.Fatal(err)
	}
	var wals []string
	for _, n := range names {
		if strings.HasSuffix(n, ".log") && !strings.HasPrefix(n, "CORRUPT") {
			wals = append(wals, n)
		}
	}
	slices.Sort(wals)
	path := "db/" + wals[len(wals)-1]
	f, err := fs.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return path, b
}

func writeFile(t *testing.T, fs vfs.FS, path string, b []byte) {
	t.Helper()
	f, err := fs.Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(f.Sync(), f.Close()); err != nil {
		t.Fatal(err)
	}
}

// TestWALCorruption: 16 bytes flipped in the middle of the newest WAL after a crash, with
// acknowledged records after them, make Open fail with storage.ErrCorrupt naming the file and
// offset; AcceptWALLoss opens the store with what precedes the damage, keeps a copy of the file, and
// the store then reopens without it. A torn tail (garbage or zeros to the end of the file) opens
// without loss.
func TestWALCorruption(t *testing.T) {
	const n = 4000 // records of 1 KiB in batches of 100: about 4 MB, inside the first memtable's WAL
	fs, acked := bigLoad(t, vfs.NewCrashableMem(), n)
	path, clean := newestWAL(t, fs)
	t.Logf("%d records acknowledged; newest WAL %s, %d bytes", len(acked), path, len(clean))

	t.Run("FlipInTheMiddle", func(t *testing.T) {
		crashed := fs.CrashClone(vfs.CrashCloneCfg{})
		b := slices.Clone(clean)
		mid := len(b) / 2
		for i := mid; i < mid+16; i++ {
			b[i] ^= 0xff
		}
		writeFile(t, crashed, path, b)

		_, err := Open(Options{Dir: "db", FS: crashed, Logger: testLogger(t)})
		if !errors.Is(err, storage.ErrCorrupt) {
			t.Fatalf("Open after a flip in the middle of the WAL: %v, want storage.ErrCorrupt", err)
		}
		for _, want := range []string{"write-ahead log is corrupt", path, "offset"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("Open's error %q does not say %q", err, want)
			}
		}
		t.Logf("Open: %v", err)
		openErr := err.Error()

		s := mustOpen(t, Options{Dir: "db", FS: crashed, AcceptWALLoss: true})
		lost, err := storagetest.Lost(t.Context(), s, acked)
		if err != nil {
			t.Fatal(err)
		}
		// What the damage cut is gone, and no more: the lost records are at most those of the batches
		// after the damage, as Open's error counted them, and of the batches between the damage and the
		// end of its WAL block (the scan goes on from the next block). Not a suffix of each shard's
		// offsets: calls commit in parallel, so a span may be in the WAL before a lower span of the same
		// shard.
		var batchesAfter, recordsAfter, bytesAfter int
		if _, err := fmt.Sscanf(openErr[strings.Index(openErr, "before "):], "before %d batches (%d records, %d bytes)",
			&batchesAfter, &recordsAfter, &bytesAfter); err != nil || batchesAfter == 0 {
			t.Fatalf("Open's error %q does not count what follows the damage: %v", openErr, err)
		}
		inBlock := walBlockSize / (bytesAfter / batchesAfter) * walLoadBatch
		if len(lost) == 0 || len(lost) > recordsAfter+inBlock {
			t.Errorf("with AcceptWALLoss: %d of %d acknowledged records lost, want some and at most %d after the damage and %d in its block",
				len(lost), len(acked), recordsAfter, inBlock)
		}
		st, err := s.Stats()
		if err != nil || st.Corruptions != 1 {
			t.Errorf("Stats after accepting the loss: %+v, %v; want Corruptions 1", st, err)
		}
		t.Logf("AcceptWALLoss: %d of %d acknowledged records lost", len(lost), len(acked))
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		names, _ := crashed.List("db")
		if !slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, "CORRUPT-") }) {
			t.Errorf("no copy of the corrupt WAL kept in %v", names)
		}
		mustOpen(t, Options{Dir: "db", FS: crashed}).Close() // the damage is gone: a plain reopen works
	})

	for _, tail := range []struct {
		name string
		fill func(b []byte)
	}{
		{"TornTailGarbage", func(b []byte) {
			r := rand.New(rand.NewPCG(3, 4))
			for i := range b {
				b[i] = byte(r.Uint32())
			}
		}},
		{"TornTailZeros", func(b []byte) { clear(b) }},
	} {
		t.Run(tail.name, func(t *testing.T) {
			crashed := fs.CrashClone(vfs.CrashCloneCfg{})
			// Garbage after everything written: what a write cut short leaves, with nothing after it.
			b := append(slices.Clone(clean), make([]byte, 100<<10)...)
			tail.fill(b[len(clean):])
			writeFile(t, crashed, path, b)
			s := mustOpen(t, Options{Dir: "db", FS: crashed})
			lost, err := storagetest.Lost(t.Context(), s, acked)
			if err != nil {
				t.Fatal(err)
			}
			if len(lost) > 0 {
				t.Errorf("%d of %d acknowledged records lost after a torn tail", len(lost), len(acked))
			}
		})
	}
}
