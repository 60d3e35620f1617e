package faults_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"kinesisd/internal/kinesistest/proc"
)

// walWritten starts kinesisd on a new data directory, writes records to stream "wal" (less than a
// memtable, so that they are all in the newest WAL), kills it with SIGKILL once the writes are
// acknowledged, and returns the directory, the ledger and the newest WAL file.
func walWritten(t *testing.T) (string, *ledger, string) {
	t.Helper()
	dir := t.TempDir()
	p := proc.Start(t, bin, dir, "-throughput-limits=false")
	c := proc.NewClient(p.Endpoint, 30*time.Second)
	createStream(t, c, "wal", 2)
	l := newLedger()
	for range 40 {
		if err := l.put(t.Context(), c, "wal", 500, 200); err != nil {
			t.Fatal(err)
		}
	}
	p.Kill()
	return dir, l, newestWAL(t, dir)
}

// newestWAL is the highest-numbered non-empty write-ahead log file (NNNNNN.log) in dir.
func newestWAL(t *testing.T, dir string) string {
	t.Helper()
	logs, err := filepath.Glob(filepath.Join(dir, "*.log"))
	if err != nil {
		t.Fatal(err)
	}
	newest, newestNum := "", -1
	for _, l := range logs {
		n, err := strconv.Atoi(strings.TrimSuffix(filepath.Base(l), ".log"))
		if err != nil || n <= newestNum {
			continue
		}
		if fi, err := os.Stat(l); err == nil && fi.Size() > 0 {
			newest, newestNum = l, n
		}
	}
	if newest == "" {
		t.Fatalf("no write-ahead log in %s (%v)", dir, logs)
	}
	return newest
}

// flip inverts n bytes of file at offset.
func flip(t *testing.T, file string, offset int64, n int) {
	t.Helper()
	f, err := os.OpenFile(file, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, n)
	if _, err := f.ReadAt(b, offset); err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] ^= 0xff
	}
	if _, err := f.WriteAt(b, offset); err != nil {
		t.Fatal(err)
	}
}

func fileSize(t *testing.T, file string) int64 {
	t.Helper()
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// Sixteen bytes flipped in the middle of the newest WAL after a kill -9: corruption followed by valid
// data is no torn write. kinesisd must refuse to start, exit non-zero and say at ERROR that the
// write-ahead log is corrupt, naming the file and the offset; with -accept-wal-loss it starts, logs
// what it dropped, and serves the records before the corruption (and, the loss accepted, later
// starts need the flag no more).
func TestCorruptWALRefusesToStart(t *testing.T) {
	dir, l, wal := walWritten(t)
	size := fileSize(t, wal)
	flip(t, wal, size/2, 16)
	t.Logf("flipped 16 bytes at offset %d of %s (%d bytes), %d records acknowledged", size/2, filepath.Base(wal), size, l.len())

	p := proc.Launch(t, bin, dir, "-throughput-limits=false")
	if err := p.Ready(30 * time.Second); err == nil {
		t.Fatalf("kinesisd started on a write-ahead log corrupted in the middle; log:\n%s", p.Log())
	}
	if !p.WaitExit(30 * time.Second) {
		t.Fatalf("kinesisd neither started nor exited within 30s; log:\n%s", p.Log())
	}
	if p.ExitCode() == 0 {
		t.Errorf("exit status 0 (%v) on a corrupt write-ahead log", p.ExitErr())
	}
	var named []string
	for _, line := range p.Grep("level=ERROR") {
		low := strings.ToLower(line)
		if strings.Contains(low, "write-ahead log") && strings.Contains(low, "corrupt") && strings.Contains(line, filepath.Base(wal)) && strings.Contains(low, "offset") {
			named = append(named, line)
		}
	}
	if len(named) == 0 {
		t.Errorf("no ERROR saying the write-ahead log is corrupt with file %s and offset; log:\n%s", filepath.Base(wal), p.Log())
	} else {
		t.Logf("exit %d: %s", p.ExitCode(), named[0])
	}

	p = proc.Launch(t, bin, dir, "-throughput-limits=false", "-accept-wal-loss")
	if err := p.Ready(30 * time.Second); err != nil {
		t.Fatalf("with -accept-wal-loss: %v", err)
	}
	var dropped []string
	for _, line := range p.Grep(filepath.Base(wal)) {
		if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
			dropped = append(dropped, line)
		}
	}
	if len(dropped) == 0 {
		t.Errorf("with -accept-wal-loss: no WARN or ERROR naming %s and what was dropped; log:\n%s", filepath.Base(wal), p.Log())
	} else {
		t.Logf("with -accept-wal-loss: %s", dropped[0])
	}
	c := proc.NewClient(p.Endpoint, 30*time.Second)
	found := readAll(t, c, "wal")
	kept := 0
	for id, f := range found {
		if a, ok := l.acked[id]; !ok || a != f {
			t.Errorf("record %s stored as %v, acknowledged as %v (%v)", id, f, a, ok)
		}
		kept++
	}
	t.Logf("with -accept-wal-loss: %d of %d acknowledged records kept", kept, l.len())
	if kept == 0 || kept >= l.len() {
		t.Errorf("kept %d of %d records: want those before the corruption, not those after it", kept, l.len())
	}
	if err := p.Stop(30 * time.Second); err != nil {
		t.Errorf("SIGTERM: %v", err)
	}
	p = proc.Launch(t, bin, dir, "-throughput-limits=false")
	if err := p.Ready(30 * time.Second); err != nil {
		t.Errorf("after the loss was accepted once, a start without -accept-wal-loss: %v", err)
	}
}

// A WAL cut short in its last record (20 bytes) is what a crash in the middle of a write leaves: kinesisd starts
// normally and serves every record but those of the last write.
func TestTornWALTailStarts(t *testing.T) {
	dir, l, wal := walWritten(t)
	size := fileSize(t, wal)
	if err := os.Truncate(wal, size-20); err != nil {
		t.Fatal(err)
	}
	p := proc.Start(t, bin, dir, "-throughput-limits=false")
	c := proc.NewClient(p.Endpoint, 30*time.Second)
	found := readAll(t, c, "wal")
	for id, f := range found {
		if a, ok := l.acked[id]; !ok || a != f {
			t.Errorf("record %s stored as %v, acknowledged as %v (%v)", id, f, a, ok)
		}
	}
	// Each PutRecords is one atomic write of 500 records, in the WAL one batch of about 100 bytes (a span
	// key per shard pointing into the record log): the last one is cut, the others are whole.
	if len(found) < l.len()-500 {
		t.Errorf("%d of %d records after a torn tail: more lost than the last write", len(found), l.len())
	}
	t.Logf("torn tail (last 20 bytes of %s cut): %d of %d records kept", filepath.Base(wal), len(found), l.len())
}
