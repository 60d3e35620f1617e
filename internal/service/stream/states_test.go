package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"kinesisd/internal/clock"
	"kinesisd/internal/kerr"
	"kinesisd/internal/service/hashkey"
	"kinesisd/internal/storage"
	"kinesisd/internal/storage/pebble"
)

const testAccount = "123456789012"

// testEnv is States over an in-memory Pebble store and a fake clock.
type testEnv struct {
	s     *States
	store *pebble.Store
	clk   *clock.Fake

	mu     sync.Mutex
	purged []uint64 // the ids cfg.Purged was called with
}

// newEnv returns a testEnv whose Config is set by edit (Store, Clock, Account and Purged are filled in).
func newEnv(t *testing.T, edit func(*Config)) *testEnv {
	t.Helper()
	store, err := pebble.Open(pebble.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	e := &testEnv{store: store, clk: clock.NewFake(time.UnixMilli(1_700_000_000_000))}
	cfg := Config{Store: store, Clock: e.clk, Account: testAccount}
	if edit != nil {
		edit(&cfg)
	}
	cfg.Purged = func(_ context.Context, id uint64) {
		e.mu.Lock()
		e.purged = append(e.purged, id)
		e.mu.Unlock()
	}
	e.s = New(cfg)
	return e
}

func (e *testEnv) now() int64 { return e.clk.Now().UnixMilli() }

// newDoc is an ACTIVE stream's document whose shards 0..n−1 cover ranges.
func newDoc(name string, now int64, ranges [][2]hashkey.Key) *Doc {
	d := &Doc{
		Name: name, ID: NewID(), CreatedMilli: now, Status: StatusActive, StatusMilli: now,
		Mode: ModeProvisioned, RetentionHours: 24, MaxRecordKiB: 1024, Encryption: EncryptionNone,
		NextShard: uint32(len(ranges)),
	}
	for i, r := range ranges {
		d.Shards = append(d.Shards, Shard{Index: uint32(i), StartHash: r[0].String(), EndHash: r[1].String()})
	}
	return d
}

// create saves an ACTIVE stream of n evenly divided shards and returns its document.
func (e *testEnv) create(t *testing.T, name string, n int) *Doc {
	t.Helper()
	d := newDoc(name, e.now(), hashkey.SplitEvenly(n))
	if err := e.s.Create(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	return d
}

// appendRecords appends n records to shard and returns the end of its log then.
func (e *testEnv) appendRecords(t *testing.T, shard storage.ShardRef, n int) uint64 {
	t.Helper()
	recs := make([]storage.Record, n)
	for i := range recs {
		recs[i] = storage.Record{ArrivalMilli: e.now(), PartitionKey: "pk", Data: []byte(fmt.Sprint(i))}
	}
	if err := e.store.Append(t.Context(), []storage.Append{{Shard: shard, Records: recs}}); err != nil {
		t.Fatal(err)
	}
	end, err := e.store.NextOffset(t.Context(), shard)
	if err != nil {
		t.Fatal(err)
	}
	return end
}

// stored is the document the store holds for name.
func (e *testEnv) stored(t *testing.T, name string) Doc {
	t.Helper()
	raw, _, err := e.store.GetMeta(t.Context(), e.s.key(name))
	if err != nil {
		t.Fatal(err)
	}
	var d Doc
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func (e *testEnv) load(t *testing.T, name string) *Stream {
	t.Helper()
	st, err := e.s.Load(t.Context(), name)
	if err != nil {
		t.Fatalf("Load %s: %v", name, err)
	}
	return st
}

// TestCreateLoad: Create saves the document that Load returns (with a version, routing built); a second
// Create of the name conflicts; Load and Peek of a missing name return nil without an error.
func TestCreateLoad(t *testing.T) {
	e := newEnv(t, nil)
	d := newDoc("s", e.now(), hashkey.SplitEvenly(3))
	d.Tags = []Tag{{"k", "v"}}
	if err := e.s.Create(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	st := e.load(t, "s")
	if st == nil {
		t.Fatal("Load: nil after Create")
	}
	want := decodeDoc(t, d).Doc // what Create saved, as Decode reads it
	if !reflect.DeepEqual(st.Doc, want) {
		t.Errorf("Load = %+v, want %+v", st.Doc, want)
	}
	if st.Version == 0 || len(st.OpenShards()) != 3 || !st.Live() || st.PendingDue() {
		t.Errorf("Load: version %d, %d open shards, live %v, due %v", st.Version, len(st.OpenShards()), st.Live(), st.PendingDue())
	}
	if err := e.s.Create(t.Context(), newDoc("s", e.now(), hashkey.SplitEvenly(1))); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("second Create: %v, want ErrConflict", err)
	}
	if got := e.load(t, "s"); !reflect.DeepEqual(got.Doc, want) {
		t.Errorf("the refused Create changed the document: %+v", got.Doc)
	}
	if st, err := e.s.Load(t.Context(), "missing"); st != nil || err != nil {
		t.Errorf("Load missing = %v, %v; want nil, nil", st, err)
	}
	if st, err := e.s.Peek(t.Context(), "missing"); st != nil || err != nil {
		t.Errorf("Peek missing = %v, %v; want nil, nil", st, err)
	}
	// Another account's States over the same store does not see the stream.
	other := New(Config{Store: e.store, Clock: e.clk, Account: "210987654321"})
	if st, err := other.Load(t.Context(), "s"); st != nil || err != nil {
		t.Errorf("other account's Load = %v, %v; want nil, nil", st, err)
	}
}

// TestCreatingBecomesActive: a CREATING stream is CREATING (not live) until CreateDelay has passed since
// its status was set, then ACTIVE; settling never changes the Stream an earlier Load returned.
func TestCreatingBecomesActive(t *testing.T) {
	const delay = 5 * time.Second
	e := newEnv(t, func(c *Config) { c.CreateDelay = delay })
	d := newDoc("s", e.now(), hashkey.SplitEvenly(1))
	d.Status = StatusCreating
	if err := e.s.Create(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	st0 := e.load(t, "s")
	if st0.Doc.Status != StatusCreating || st0.Live() {
		t.Fatalf("at once: %s, live %v; want CREATING, not live", st0.Doc.Status, st0.Live())
	}
	e.clk.Advance(delay - time.Millisecond)
	if st := e.load(t, "s"); st.Doc.Status != StatusCreating {
		t.Fatalf("1 ms before the delay: %s, want CREATING", st.Doc.Status)
	}
	e.clk.Advance(time.Millisecond)
	st := e.load(t, "s")
	if st.Doc.Status != StatusActive || !st.Live() {
		t.Fatalf("after the delay: %s, live %v; want ACTIVE, live", st.Doc.Status, st.Live())
	}
	if st0.Doc.Status != StatusCreating {
		t.Errorf("settling changed an earlier Load's Stream to %s", st0.Doc.Status)
	}
	if len(st.OpenShards()) != 1 {
		t.Errorf("settled stream routes to %d shards, want 1", len(st.OpenShards()))
	}
}

// TestDeletingPurged: a DELETING stream stays (not live) until DeleteDelay has passed; then the first
// read purges it: Load returns nil, the document and the records are gone from the store, and Purged is
// called once with the stream's id, however many reads follow.
func TestDeletingPurged(t *testing.T) {
	const delay = 3 * time.Second
	e := newEnv(t, func(c *Config) { c.DeleteDelay = delay })
	d := e.create(t, "s", 2)
	keep := e.create(t, "keep", 1)
	ref := storage.ShardRef{StreamID: d.ID, Shard: 1}
	e.appendRecords(t, ref, 4)
	keepRef := storage.ShardRef{StreamID: keep.ID, Shard: 0}
	e.appendRecords(t, keepRef, 2)

	st, err := e.s.Mutate(t.Context(), "s", func(d *Doc) error {
		d.Status, d.StatusMilli = StatusDeleting, e.now()
		return nil
	})
	if err != nil || st.Doc.Status != StatusDeleting || st.Live() {
		t.Fatalf("Mutate to DELETING = %v, %v", st, err)
	}
	e.clk.Advance(delay - time.Millisecond)
	if st := e.load(t, "s"); st == nil || st.Doc.Status != StatusDeleting {
		t.Fatalf("1 ms before the delay: %v, want DELETING", st)
	}
	if len(e.purged) != 0 {
		t.Fatalf("purged before the delay: %v", e.purged)
	}
	e.clk.Advance(time.Millisecond)
	if st := e.load(t, "s"); st != nil {
		t.Fatalf("after the delay: Load = %+v, want nil", st.Doc)
	}
	for range 3 {
		if st := e.load(t, "s"); st != nil {
			t.Fatal("Load after the purge: not nil")
		}
		if st, err := e.s.Peek(t.Context(), "s"); st != nil || err != nil {
			t.Fatalf("Peek after the purge = %v, %v", st, err)
		}
		if err := e.s.Scan(t.Context(), func(st *Stream) bool {
			if st.Doc.Name == "s" {
				t.Error("Scan sees the purged stream")
			}
			return true
		}); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(e.purged, []uint64{d.ID}) {
		t.Errorf("Purged called with %v, want once with %d", e.purged, d.ID)
	}
	if _, _, err := e.store.GetMeta(t.Context(), e.s.key("s")); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("GetMeta after the purge: %v, want ErrNotFound", err)
	}
	if recs, err := e.store.Read(t.Context(), ref, 0, 100, 1<<20); err != nil || len(recs) != 0 {
		t.Errorf("Read after the purge = %d records, %v; want none", len(recs), err)
	}
	if recs, err := e.store.Read(t.Context(), keepRef, 0, 100, 1<<20); err != nil || len(recs) != 2 {
		t.Errorf("the other stream's records: %d, %v; want 2", len(recs), err)
	}
}

// TestMutateRetries: a Mutate whose compare-and-set loses to another change reads again and applies its
// change to the new document: both changes are saved. Deterministic: the second Mutate runs inside the
// first one's change.
func TestMutateRetries(t *testing.T) {
	e := newEnv(t, nil)
	e.create(t, "s", 1)
	calls := 0
	st, err := e.s.Mutate(t.Context(), "s", func(d *Doc) error {
		calls++
		if calls == 1 {
			if _, err := e.s.Mutate(t.Context(), "s", func(d *Doc) error {
				d.Tags = append(d.Tags, Tag{"inner", "1"})
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		d.Tags = append(d.Tags, Tag{"outer", "1"})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 2 {
		t.Errorf("change called %d times, want 2 (one retry after the conflict)", calls)
	}
	want := []Tag{{"inner", "1"}, {"outer", "1"}}
	if !slices.Equal(st.Doc.Tags, want) {
		t.Errorf("Mutate returned tags %v, want %v", st.Doc.Tags, want)
	}
	if got := e.stored(t, "s").Tags; !slices.Equal(got, want) {
		t.Errorf("stored tags %v, want %v", got, want)
	}
}

// TestMutateConcurrent: concurrent Mutates of one stream all take effect.
func TestMutateConcurrent(t *testing.T) {
	e := newEnv(t, nil)
	e.create(t, "s", 1)
	const n = 8
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if _, err := e.s.Mutate(t.Context(), "s", func(d *Doc) error {
				d.Tags = append(d.Tags, Tag{fmt.Sprint(i), "v"})
				return nil
			}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got := e.load(t, "s").Doc.Tags
	keys := make([]string, len(got))
	for i, tg := range got {
		keys[i] = tg.Key
	}
	slices.Sort(keys)
	if want := []string{"0", "1", "2", "3", "4", "5", "6", "7"}; !slices.Equal(keys, want) {
		t.Errorf("tags %v, want %v", keys, want)
	}
}

// TestMutateRefused: a change that returns an error writes nothing (same version, same document) and
// Mutate returns its error as it is.
func TestMutateRefused(t *testing.T) {
	e := newEnv(t, nil)
	e.create(t, "s", 1)
	_, v0, err := e.store.GetMeta(t.Context(), e.s.key("s"))
	if err != nil {
		t.Fatal(err)
	}
	before := e.stored(t, "s")
	refusal := kerr.NewLimitExceeded("no")
	st, err := e.s.Mutate(t.Context(), "s", func(d *Doc) error {
		d.Tags = append(d.Tags, Tag{"k", "v"})
		d.Status = StatusDeleting
		return refusal
	})
	if st != nil || err != refusal {
		t.Fatalf("Mutate = %v, %v; want nil, the change's error", st, err)
	}
	if _, v1, _ := e.store.GetMeta(t.Context(), e.s.key("s")); v1 != v0 {
		t.Errorf("version %d after a refused change, want %d", v1, v0)
	}
	if after := e.stored(t, "s"); !reflect.DeepEqual(after, before) {
		t.Errorf("stored document changed by a refused change: %+v", after)
	}
}

// TestMutateNotFound: Mutate of a stream that does not exist returns the API's
// ResourceNotFoundException for this account, without calling the change.
func TestMutateNotFound(t *testing.T) {
	e := newEnv(t, nil)
	st, err := e.s.Mutate(t.Context(), "nope", func(d *Doc) error {
		t.Error("change called for a missing stream")
		return nil
	})
	var nf *kerr.ResourceNotFound
	if st != nil || !errors.As(err, &nf) {
		t.Fatalf("Mutate = %v, %v; want ResourceNotFoundException", st, err)
	}
	if want := "Stream nope under account " + testAccount + " not found."; nf.Message() != want {
		t.Errorf("message %q, want %q", nf.Message(), want)
	}
	if got := e.s.NotFound("nope"); got.Error() != err.Error() {
		t.Errorf("NotFound = %v, Mutate's error %v", got, err)
	}
}

// TestMutateCopy: a change edits a private copy: editing the document's slices, pointers and nested
// slices leaves the Stream an earlier Load returned (the cached one) exactly as it was, while the
// stream Mutate returns, and later Loads, carry the change.
func TestMutateCopy(t *testing.T) {
	e := newEnv(t, nil)
	d := newDoc("s", e.now(), hashkey.SplitEvenly(1))
	zero := uint32(0)
	d.Shards[0].Closed, d.Shards[0].EndOffset = true, 0
	d.Shards = append(d.Shards,
		Shard{Index: 1, Parent: &zero, StartHash: "0", EndHash: "99"},
		Shard{Index: 2, Parent: &zero, StartHash: "100", EndHash: hashkey.Max.String()})
	d.NextShard = 3
	d.Tags = []Tag{{"k", "1"}}
	d.ShardCountUpdates = []int64{10, 20}
	d.Consumers = []Consumer{{Name: "c", Status: StatusActive, Tags: []Tag{{"ck", "1"}}}}
	if err := e.s.Create(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	st0 := e.load(t, "s")
	snapshot, err := st0.Doc.Clone()
	if err != nil {
		t.Fatal(err)
	}
	st1, err := e.s.Mutate(t.Context(), "s", func(d *Doc) error {
		d.Tags[0].Value = "2"
		d.ShardCountUpdates[0] = 99
		*d.Shards[1].Parent = 7
		d.Shards[2].StartOffset = 42
		d.Consumers[0].Tags[0].Value = "2"
		d.Shards = d.Shards[:2]
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(st0.Doc, snapshot) {
		t.Errorf("the change touched the earlier Stream:\n%+v\nwas\n%+v", st0.Doc, snapshot)
	}
	if len(st0.OpenShards()) != 2 {
		t.Errorf("the earlier Stream routes to %d shards, want 2", len(st0.OpenShards()))
	}
	for _, st := range []*Stream{st1, e.load(t, "s")} {
		if st.Version <= st0.Version || st.Doc.Tags[0].Value != "2" || st.Doc.ShardCountUpdates[0] != 99 ||
			*st.Doc.Shards[1].Parent != 7 || len(st.Doc.Shards) != 2 || st.Doc.Consumers[0].Tags[0].Value != "2" {
			t.Errorf("stream after Mutate: version %d (was %d), %+v", st.Version, st0.Version, st.Doc)
		}
	}
}

// TestScan: Scan calls fn with every stream of the account in name order, settled but with due pending
// changes left as they are (nothing saved), and stops when fn returns false.
func TestScan(t *testing.T) {
	const delay = 10 * time.Second
	e := newEnv(t, func(c *Config) { c.UpdateDelay = delay })
	for _, name := range []string{"c", "a", "d", "b"} {
		e.create(t, name, 1)
	}
	other := New(Config{Store: e.store, Clock: e.clk, Account: "999999999999"})
	if err := other.Create(t.Context(), newDoc("other", e.now(), hashkey.SplitEvenly(1))); err != nil {
		t.Fatal(err)
	}
	scheduleSplit(t, e, "b", 0)
	e.clk.Advance(delay)

	var names []string
	err := e.s.Scan(t.Context(), func(st *Stream) bool {
		names = append(names, st.Doc.Name)
		if st.Doc.Name == "b" {
			if st.Doc.Status != StatusActive || len(st.Doc.Pending) != 1 || len(st.Doc.Shards) != 1 || !st.PendingDue() {
				t.Errorf("Scan's b: %s, pending %v, %d shards; want ACTIVE (settled) with the split pending", st.Doc.Status, st.Doc.Pending, len(st.Doc.Shards))
			}
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "b", "c", "d"}; !slices.Equal(names, want) {
		t.Errorf("Scan saw %v, want %v", names, want)
	}
	if d := e.stored(t, "b"); len(d.Pending) != 1 || d.Status != StatusUpdating || len(d.Shards) != 1 {
		t.Errorf("stored b after Scan: %s, pending %v, %d shards; want unchanged", d.Status, d.Pending, len(d.Shards))
	}
	if e.s.gates.len() != 0 {
		t.Errorf("%d gates after Scan", e.s.gates.len())
	}

	names = nil
	if err := e.s.Scan(t.Context(), func(st *Stream) bool {
		names = append(names, st.Doc.Name)
		return st.Doc.Name != "b"
	}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "b"}; !slices.Equal(names, want) {
		t.Errorf("Scan stopping at b saw %v, want %v", names, want)
	}
}

// TestEach: Each calls fn with every stream as Load returns it, due pending changes applied (and
// saved), and stops at fn's first error, which it returns.
func TestEach(t *testing.T) {
	const delay = 10 * time.Second
	e := newEnv(t, func(c *Config) { c.UpdateDelay = delay })
	for _, name := range []string{"a", "b", "c"} {
		e.create(t, name, 1)
	}
	scheduleSplit(t, e, "b", 0)
	e.clk.Advance(delay)

	var names []string
	stop := errors.New("stop")
	err := e.s.Each(t.Context(), func(st *Stream) error {
		names = append(names, st.Doc.Name)
		if st.Doc.Name == "b" {
			if len(st.Doc.Pending) != 0 || len(st.Doc.Shards) != 3 || len(st.OpenShards()) != 2 {
				t.Errorf("Each's b: pending %v, %d shards, %d open; want the split applied", st.Doc.Pending, len(st.Doc.Shards), len(st.OpenShards()))
			}
			return stop
		}
		return nil
	})
	if err != stop {
		t.Errorf("Each = %v, want fn's error", err)
	}
	if want := []string{"a", "b"}; !slices.Equal(names, want) {
		t.Errorf("Each saw %v, want %v", names, want)
	}
	if d := e.stored(t, "b"); len(d.Pending) != 0 || len(d.Shards) != 3 {
		t.Errorf("stored b after Each: pending %v, %d shards; want the split saved", d.Pending, len(d.Shards))
	}
	if e.s.gates.len() != 0 {
		t.Errorf("%d gates after Each", e.s.gates.len())
	}
}

// scheduleSplit records a split of shard at its midpoint on stream name through Reshard, and returns
// the key.
func scheduleSplit(t *testing.T, e *testEnv, name string, shard uint32) hashkey.Key {
	t.Helper()
	var key hashkey.Key
	if _, err := e.s.Reshard(t.Context(), name, func(d *Doc) error {
		sh := d.Shards[d.ShardAt(shard)]
		key = hashkey.Midpoint(hashkey.MustParse(sh.StartHash), hashkey.MustParse(sh.EndHash))
		d.Schedule(Change{Kind: ChangeSplit, Shard: shard, HashKey: key.String()}, e.now())
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return key
}

// barrierStore holds the first n GetMeta calls, each after its read, until all n have read: n readers
// then certainly act on the same document.
type barrierStore struct {
	storage.Store
	n       int
	mu      sync.Mutex
	arrived int
	all     chan struct{}
}

func (b *barrierStore) GetMeta(ctx context.Context, key string) ([]byte, uint64, error) {
	v, ver, err := b.Store.GetMeta(ctx, key)
	b.mu.Lock()
	if b.arrived++; b.arrived == b.n {
		close(b.all)
	}
	b.mu.Unlock()
	<-b.all
	return v, ver, err
}

// TestPurgeOnceConcurrent: readers that all read the DELETING document past DeleteDelay (held together
// by a barrier after their reads) all see the stream gone, and Purged is called once: the first purge
// wins the document's delete, the others find it gone and leave the hook alone.
func TestPurgeOnceConcurrent(t *testing.T) {
	const readers = 8
	e := newEnv(t, func(c *Config) { c.DeleteDelay = time.Second })
	d := e.create(t, "s", 1)
	if _, err := e.s.Mutate(t.Context(), "s", func(d *Doc) error {
		d.Status, d.StatusMilli = StatusDeleting, e.now()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(time.Second)
	if len(e.purged) != 0 {
		t.Fatal("purged before the readers came")
	}
	var mu sync.Mutex
	var purged []uint64
	s := New(Config{
		Store: &barrierStore{Store: e.store, n: readers, all: make(chan struct{})}, Clock: e.clk, Account: testAccount,
		DeleteDelay: time.Second,
		Purged: func(_ context.Context, id uint64) {
			mu.Lock()
			purged = append(purged, id)
			mu.Unlock()
		},
	})
	var wg sync.WaitGroup
	for i := range readers {
		wg.Go(func() {
			var st *Stream
			var err error
			if i%2 == 0 {
				st, err = s.Load(t.Context(), "s")
			} else {
				st, err = s.Peek(t.Context(), "s")
			}
			if st != nil || err != nil {
				t.Errorf("reader %d: %v, %v; want nil, nil", i, st, err)
			}
		})
	}
	wg.Wait()
	if !slices.Equal(purged, []uint64{d.ID}) {
		t.Errorf("Purged called with %v, want once with %d", purged, d.ID)
	}
}

// TestRecreateAfterPurge: a stream created again under a purged stream's name is read as the new
// document (new id, new shards), never as the decoding cached for the old one.
func TestRecreateAfterPurge(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.DeleteDelay = time.Second })
	old := e.create(t, "s", 1)
	e.load(t, "s") // cached
	if _, err := e.s.Mutate(t.Context(), "s", func(d *Doc) error {
		d.Status, d.StatusMilli = StatusDeleting, e.now()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(time.Second)
	if st := e.load(t, "s"); st != nil {
		t.Fatal("not purged")
	}
	nu := e.create(t, "s", 3)
	st := e.load(t, "s")
	if st == nil || st.Doc.ID != nu.ID || st.Doc.ID == old.ID || len(st.OpenShards()) != 3 {
		t.Fatalf("recreated stream read as %+v", st)
	}
}

// TestPurgeDropsCache: a purged stream leaves no decoded document behind in the cache, so that a
// long-running server whose clients create and delete streams under ever new names (test suites do)
// keeps memory bounded.
func TestPurgeDropsCache(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.DeleteDelay = time.Second })
	for i := range 20 {
		name := fmt.Sprintf("s%d", i)
		e.create(t, name, 2)
		if _, err := e.s.Mutate(t.Context(), name, func(d *Doc) error {
			d.Status, d.StatusMilli = StatusDeleting, e.now()
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	e.clk.Advance(time.Second)
	for i := range 20 {
		if st := e.load(t, fmt.Sprintf("s%d", i)); st != nil {
			t.Fatal("not purged")
		}
	}
	e.s.mu.Lock()
	n := len(e.s.cache)
	e.s.mu.Unlock()
	if n != 0 {
		t.Errorf("%d decoded documents cached after every stream was purged, want 0", n)
	}
}
