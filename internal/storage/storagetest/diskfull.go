package storagetest

import (
	"errors"
	"testing"
	"time"

	"kinesisd/internal/storage"
)

// DiskFullTimeout bounds how long RunDiskFull waits for an engine to notice that its disk filled up
// or has room again: the contract says "within seconds".
const DiskFullTimeout = 10 * time.Second

// RunDiskFull runs the disk-full part of the contract (storage.ErrNoSpace) against the engine built
// by open, which returns a new, empty store and a knob that makes the engine's disk look below its
// reserve (true) or above it (false). Below the reserve, Append refuses with ErrNoSpace and writes
// nothing, while Read, NextOffset and metadata go on; Health (if the engine reports it) says why and
// Stats count the refusals; once space is back, Append works again by itself.
func RunDiskFull(t *testing.T, open func(t *testing.T) (s storage.Store, setFull func(full bool))) {
	t.Helper()
	s, setFull := open(t)
	t.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, storage.ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	ctx := t.Context()
	ref := shardRef(1, 0)
	appendOne := func() error {
		return s.Append(ctx, []storage.Append{{Shard: ref, Records: []storage.Record{rec("full", 100, 1000)}}})
	}
	if err := appendOne(); err != nil {
		t.Fatal(err)
	}

	setFull(true)
	eventually(t, "Append refused with ErrNoSpace", func() bool { return errors.Is(appendOne(), storage.ErrNoSpace) })
	next := mustNext(t, s, ref)
	for range 3 {
		if err := appendOne(); !errors.Is(err, storage.ErrNoSpace) {
			t.Fatalf("Append below the reserve: %v, want ErrNoSpace", err)
		}
	}
	if n := mustNext(t, s, ref); n != next {
		t.Errorf("NextOffset moved from %d to %d over refused appends: something was written", next, n)
	}
	if got := readAll(t, s, ref, 0); len(got) == 0 {
		t.Error("Read below the reserve: no records")
	}
	if _, err := s.PutMeta(ctx, "diskfull", []byte("v"), 0); err != nil {
		t.Errorf("PutMeta below the reserve: %v", err)
	}
	if h, ok := s.(storage.HealthReporter); ok {
		if err := h.Health(ctx); err == nil {
			t.Error("Health below the reserve: nil")
		}
	}
	if sr, ok := s.(storage.StatsReporter); ok {
		if st, err := sr.Stats(); err != nil || st.WritesRefused < 3 {
			t.Errorf("Stats below the reserve: %+v, %v; want WritesRefused ≥ 3", st, err)
		}
	}

	setFull(false)
	eventually(t, "Append working again", func() bool { return appendOne() == nil })
	if h, ok := s.(storage.HealthReporter); ok {
		if err := h.Health(ctx); err != nil {
			t.Errorf("Health with space back: %v", err)
		}
	}
}

// eventually polls cond every 5 ms until it holds, failing t after DiskFullTimeout.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(DiskFullTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, DiskFullTimeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
