package stream

import (
	"bytes"
	"runtime"
	"testing"
	"time"
)

// waitBlockedInGate waits until n goroutines are blocked taking a stream's write gate exclusively
// (their stacks show them waiting in sync.RWMutex.Lock, or in the Mutex before it, under
// States.lockExclusive). It fails the test if one of dones closes first: that call returned while it
// should have been waiting. Only a goroutine provably asleep on the gate counts, so a broken gate fails
// the test for certain (by its call returning, or by never blocking) rather than by chance.
func waitBlockedInGate(t *testing.T, n int, dones ...<-chan struct{}) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	buf := make([]byte, 1<<20)
	for {
		for _, done := range dones {
			select {
			case <-done:
				t.Fatal("returned while the writes were held")
			default:
			}
		}
		k := 0
		for g := range bytes.SplitSeq(buf[:runtime.Stack(buf, true)], []byte("\n\n")) {
			header, _, _ := bytes.Cut(g, []byte("\n"))
			if (bytes.Contains(header, []byte("[sync.RWMutex.Lock")) || bytes.Contains(header, []byte("[sync.Mutex.Lock"))) &&
				bytes.Contains(g, []byte("stream.(*States).lockExclusive")) {
				k++
			}
		}
		if k >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d calls blocked on the write gate after 30 s", k, n)
		}
		time.Sleep(time.Millisecond) // polling for a state, not asserting after a pause
	}
}

// TestHoldWritesBlocksResharding: while a Writes is held, ApplyDue and Reshard of the stream wait (they
// are asleep on its gate and have not returned; the store still shows the change pending); the holder
// still loads the old shards; after Release both proceed, the due split takes effect before Reshard's
// change, and the gates map is empty again.
func TestHoldWritesBlocksResharding(t *testing.T) {
	const delay = 10 * time.Second
	e := newEnv(t, func(c *Config) { c.UpdateDelay = delay })
	e.create(t, "s", 1)
	e.create(t, "other", 1)
	scheduleSplit(t, e, "s", 0)
	e.clk.Advance(delay)

	w := e.s.HoldWrites("s")
	w2 := e.s.HoldWrites("s") // the gate is shared between writers
	if got := e.s.gates.len(); got != 1 {
		t.Fatalf("%d gates with two writers of one stream, want 1", got)
	}

	applyDone, reshardDone := make(chan struct{}), make(chan struct{})
	var applied, resharded *Stream
	var applyErr, reshardErr error
	go func() {
		defer close(applyDone)
		applied, applyErr = e.s.ApplyDue(t.Context(), "s")
	}()
	go func() {
		defer close(reshardDone)
		resharded, reshardErr = e.s.Reshard(t.Context(), "s", func(d *Doc) error {
			d.Tags = append(d.Tags, Tag{"resharded", "1"})
			d.Schedule(Change{Kind: ChangeMerge, Shard: 1, Adjacent: 2}, e.now())
			return nil
		})
	}()
	waitBlockedInGate(t, 2, applyDone, reshardDone)

	// Another stream's gate is free meanwhile.
	if st, err := e.s.ApplyDue(t.Context(), "other"); err != nil || st == nil {
		t.Fatalf("ApplyDue of another stream: %v, %v", st, err)
	}
	st, err := w.Load(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Doc.Pending) != 1 || len(st.Doc.Shards) != 1 || !st.PendingDue() {
		t.Errorf("Writes.Load while blocked: pending %v, %d shards; want the old shard", st.Doc.Pending, len(st.Doc.Shards))
	}
	if sd := e.stored(t, "s"); len(sd.Pending) != 1 || len(sd.Shards) != 1 {
		t.Errorf("stored while held: pending %v, %d shards; want unchanged", sd.Pending, len(sd.Shards))
	}
	select {
	case <-applyDone:
		t.Fatal("ApplyDue returned while the writes were held")
	case <-reshardDone:
		t.Fatal("Reshard returned while the writes were held")
	default:
	}

	w.Release()
	select {
	case <-applyDone:
		t.Fatal("ApplyDue returned while one of two writers still held the gate")
	case <-reshardDone:
		t.Fatal("Reshard returned while one of two writers still held the gate")
	default:
	}
	w2.Release()
	<-applyDone
	<-reshardDone
	if applyErr != nil || reshardErr != nil {
		t.Fatalf("ApplyDue: %v; Reshard: %v", applyErr, reshardErr)
	}
	if applied == nil || resharded == nil {
		t.Fatalf("ApplyDue = %v, Reshard = %v", applied, resharded)
	}
	final := e.load(t, "s")
	if len(final.Doc.Shards) != 3 || final.Shard(0) == nil || !final.Shard(0).Closed ||
		len(final.Doc.Pending) != 1 || final.Doc.Pending[0].Kind != ChangeMerge || len(final.Doc.Tags) != 1 {
		t.Errorf("after Release: %d shards, pending %v, tags %v; want the split applied and the merge pending", len(final.Doc.Shards), final.Doc.Pending, final.Doc.Tags)
	}
	if got := e.s.gates.len(); got != 0 {
		t.Errorf("%d gates after every handle was released, want 0", got)
	}
}

// TestWritesLoadNeverApplies: Writes.Load returns the stream with its due change still pending and the
// old shards (nothing saved), however often it is called; the next Load after Release applies it.
func TestWritesLoadNeverApplies(t *testing.T) {
	const delay = 10 * time.Second
	e := newEnv(t, func(c *Config) { c.UpdateDelay = delay })
	e.create(t, "s", 1)
	scheduleSplit(t, e, "s", 0)
	e.clk.Advance(time.Hour)
	w := e.s.HoldWrites("s")
	for range 3 {
		st, err := w.Load(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if !st.PendingDue() || len(st.Doc.Shards) != 1 || st.Shard(0).Closed || len(st.OpenShards()) != 1 {
			t.Fatalf("Writes.Load: due %v, %d shards; want the change due and not applied", st.PendingDue(), len(st.Doc.Shards))
		}
	}
	if sd := e.stored(t, "s"); len(sd.Pending) != 1 {
		t.Fatalf("stored pending %v after Writes.Load", sd.Pending)
	}
	w.Release()
	if st := e.load(t, "s"); st.PendingDue() || len(st.Doc.Shards) != 3 {
		t.Errorf("Load after Release: due %v, %d shards; want the split applied", st.PendingDue(), len(st.Doc.Shards))
	}
	if got := e.s.gates.len(); got != 0 {
		t.Errorf("%d gates, want 0", got)
	}
}

// TestGatesDropped: the gates map holds a gate only while someone holds or waits for it: it is empty
// after handles of many streams, held at once and concurrently, are released, and after ApplyDue,
// Reshard and Load (with and without a due change, and of a missing stream).
func TestGatesDropped(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.UpdateDelay = time.Second })
	e.create(t, "s", 1)
	var ws []*Writes
	for i := range 50 {
		ws = append(ws, e.s.HoldWrites(string(rune('a'+i%5))))
	}
	if got := e.s.gates.len(); got != 5 {
		t.Fatalf("%d gates for 5 streams held, want 5", got)
	}
	for _, w := range ws {
		w.Release()
	}
	if got := e.s.gates.len(); got != 0 {
		t.Fatalf("%d gates after release, want 0", got)
	}

	done := make(chan struct{})
	for range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 50 {
				w := e.s.HoldWrites("s")
				if _, err := w.Load(t.Context()); err != nil {
					t.Error(err)
				}
				w.Release()
				if _, err := e.s.ApplyDue(t.Context(), "s"); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	for range 8 {
		<-done
	}
	scheduleSplit(t, e, "s", 0)
	e.clk.Advance(time.Second)
	e.load(t, "s")
	if _, err := e.s.ApplyDue(t.Context(), "missing"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Reshard(t.Context(), "missing", func(*Doc) error { return nil }); err == nil {
		t.Fatal("Reshard of a missing stream: no error")
	}
	if got := e.s.gates.len(); got != 0 {
		t.Errorf("%d gates after all users finished, want 0", got)
	}
}
