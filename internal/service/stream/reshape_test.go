package stream

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"kinesisd/internal/service/hashkey"
	"kinesisd/internal/storage"
)

// checkLayout checks what every stream document must hold after a change: shard indices unique and
// below NextShard, every parent and adjacent parent an existing closed shard, closed shards closed at
// or after their start, and the open shards (the routing table) covering [0, 2^128−1] contiguously. It
// returns the open shards in hash-key order.
func checkLayout(t *testing.T, st *Stream) []Open {
	t.Helper()
	d := &st.Doc
	seen := map[uint32]bool{}
	for _, sh := range d.Shards {
		if seen[sh.Index] || sh.Index >= d.NextShard {
			t.Fatalf("shard %d twice or not below NextShard %d", sh.Index, d.NextShard)
		}
		seen[sh.Index] = true
		for _, p := range []*uint32{sh.Parent, sh.AdjacentParent} {
			if p == nil {
				continue
			}
			if ps := st.Shard(*p); ps == nil || !ps.Closed {
				t.Fatalf("shard %d: parent %d missing or open", sh.Index, *p)
			}
		}
		if sh.Closed && (sh.EndOffset < sh.StartOffset || sh.ClosedMilli == 0) {
			t.Fatalf("shard %d closed at %d (start %d), at %d ms", sh.Index, sh.EndOffset, sh.StartOffset, sh.ClosedMilli)
		}
	}
	open := st.OpenShards()
	if len(open) != d.OpenCount() || len(open) == 0 {
		t.Fatalf("%d shards routed, %d open", len(open), d.OpenCount())
	}
	if open[0].Start != (hashkey.Key{}) || open[len(open)-1].End != hashkey.Max {
		t.Fatalf("open shards cover %v..%v", open[0].Start, open[len(open)-1].End)
	}
	for i := 1; i < len(open); i++ {
		if open[i-1].End.Inc() != open[i].Start {
			t.Fatalf("open shard %d ends at %v, the next (%d) starts at %v", open[i-1].Index, open[i-1].End, open[i].Index, open[i].Start)
		}
	}
	return open
}

func u32(v uint32) *uint32 { return &v }

// checkShard checks one shard of st against want's index, parents, range and state.
func checkShard(t *testing.T, st *Stream, want Shard) {
	t.Helper()
	sh := st.Shard(want.Index)
	if sh == nil {
		t.Fatalf("no shard %d", want.Index)
	}
	if fmt.Sprint(ptr(sh.Parent), ptr(sh.AdjacentParent), sh.StartHash, sh.EndHash, sh.Closed, sh.EndOffset, sh.CreatedMilli, sh.ClosedMilli, sh.StartOffset) !=
		fmt.Sprint(ptr(want.Parent), ptr(want.AdjacentParent), want.StartHash, want.EndHash, want.Closed, want.EndOffset, want.CreatedMilli, want.ClosedMilli, want.StartOffset) {
		t.Errorf("shard %d: parent %s adjacent %s, %s..%s, closed %v at %d (%d ms), created %d, start %d; want parent %s adjacent %s, %s..%s, closed %v at %d (%d ms), created %d, start %d",
			want.Index, ptr(sh.Parent), ptr(sh.AdjacentParent), sh.StartHash, sh.EndHash, sh.Closed, sh.EndOffset, sh.ClosedMilli, sh.CreatedMilli, sh.StartOffset,
			ptr(want.Parent), ptr(want.AdjacentParent), want.StartHash, want.EndHash, want.Closed, want.EndOffset, want.ClosedMilli, want.CreatedMilli, want.StartOffset)
	}
}

func ptr(p *uint32) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprint(*p)
}

// TestSplitAfterUpdateDelay: a split recorded by Reshard leaves the stream UPDATING with its old shards
// (the parent open, taking writes) until UpdateDelay has passed; then Load makes it take effect: the
// parent closes at the end of its log (records appended while UPDATING included) and is sealed in the
// store, its children open over the two halves with the parent as their parent, the stream is ACTIVE
// again with nothing pending, and the stored document says so.
func TestSplitAfterUpdateDelay(t *testing.T) {
	const delay = 10 * time.Second
	e := newEnv(t, func(c *Config) { c.UpdateDelay = delay })
	d := e.create(t, "s", 1)
	parent := storage.ShardRef{StreamID: d.ID, Shard: 0}
	e.appendRecords(t, parent, 3)

	mid := hashkey.Midpoint(hashkey.Key{}, hashkey.Max)
	requested := e.now()
	st, err := e.s.Reshard(t.Context(), "s", func(d *Doc) error {
		d.Schedule(Change{Kind: ChangeSplit, Shard: 0, HashKey: mid.String()}, requested)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Doc.Status != StatusUpdating || st.Doc.StatusMilli != requested || len(st.Doc.Pending) != 1 || len(st.Doc.Shards) != 1 || len(st.OpenShards()) != 1 {
		t.Fatalf("after Reshard: %s at %d, pending %v, %d shards; want UPDATING with the old shard", st.Doc.Status, st.Doc.StatusMilli, st.Doc.Pending, len(st.Doc.Shards))
	}
	if got := e.s.gates.len(); got != 0 {
		t.Errorf("%d gates after Reshard", got)
	}

	e.clk.Advance(delay - time.Millisecond)
	end := e.appendRecords(t, parent, 2) // the parent takes writes while UPDATING
	st = e.load(t, "s")
	if st.Doc.Status != StatusUpdating || len(st.Doc.Pending) != 1 || len(st.Doc.Shards) != 1 || st.Shard(0).Closed || st.PendingDue() {
		t.Fatalf("1 ms before the delay: %s, pending %v, %d shards; want UPDATING, the old shard", st.Doc.Status, st.Doc.Pending, len(st.Doc.Shards))
	}

	e.clk.Advance(time.Millisecond)
	applied := e.now()
	st = e.load(t, "s")
	if st.Doc.Status != StatusActive || st.Doc.StatusMilli != applied || len(st.Doc.Pending) != 0 || st.Doc.NextShard != 3 {
		t.Fatalf("after the delay: %s at %d, pending %v, NextShard %d; want ACTIVE at %d, nothing pending, 3", st.Doc.Status, st.Doc.StatusMilli, st.Doc.Pending, st.Doc.NextShard, applied)
	}
	checkShard(t, st, Shard{Index: 0, StartHash: "0", EndHash: hashkey.Max.String(), Closed: true, EndOffset: end, ClosedMilli: applied})
	checkShard(t, st, Shard{Index: 1, Parent: u32(0), StartHash: "0", EndHash: mid.Dec().String(), CreatedMilli: applied})
	checkShard(t, st, Shard{Index: 2, Parent: u32(0), StartHash: mid.String(), EndHash: hashkey.Max.String(), CreatedMilli: applied})
	open := checkLayout(t, st)
	if len(open) != 2 || open[0].Index != 1 || open[1].Index != 2 {
		t.Errorf("open shards %+v, want 1 and 2", open)
	}
	if recs, err := e.store.Read(t.Context(), parent, 0, 100, 1<<20); err != nil || len(recs) != 5 || recs[4].Offset >= end {
		t.Errorf("parent's records: %d, %v; want 5 below its end %d", len(recs), err, end)
	}
	err = e.store.Append(t.Context(), []storage.Append{{Shard: parent, Records: []storage.Record{{PartitionKey: "k", Data: []byte("x")}}}})
	if !errors.Is(err, storage.ErrSealed) {
		t.Errorf("append to the closed parent: %v, want ErrSealed", err)
	}
	if sd := e.stored(t, "s"); sd.Status != StatusActive || len(sd.Pending) != 0 || len(sd.Shards) != 3 {
		t.Errorf("stored: %s, pending %v, %d shards; want the split saved", sd.Status, sd.Pending, len(sd.Shards))
	}
	if got := e.s.gates.len(); got != 0 {
		t.Errorf("%d gates after Load applied the change", got)
	}
}

// TestSplitNoDelay: with UpdateDelay 0 the split takes effect inside Reshard, which returns the stream
// with its children open.
func TestSplitNoDelay(t *testing.T) {
	e := newEnv(t, nil)
	d := e.create(t, "s", 2)
	end := e.appendRecords(t, storage.ShardRef{StreamID: d.ID, Shard: 1}, 4)
	r := hashkey.SplitEvenly(2)[1]
	key := r[0].Inc().Inc() // a split near the start: children of sizes 2 and the rest
	st, err := e.s.Reshard(t.Context(), "s", func(d *Doc) error {
		d.Schedule(Change{Kind: ChangeSplit, Shard: 1, HashKey: key.String()}, e.now())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Doc.Status != StatusActive || len(st.Doc.Pending) != 0 {
		t.Fatalf("Reshard: %s, pending %v; want ACTIVE, applied", st.Doc.Status, st.Doc.Pending)
	}
	now := e.now()
	checkShard(t, st, Shard{Index: 0, StartHash: "0", EndHash: hashkey.SplitEvenly(2)[0][1].String()})
	checkShard(t, st, Shard{Index: 1, StartHash: r[0].String(), EndHash: r[1].String(), Closed: true, EndOffset: end, ClosedMilli: now})
	checkShard(t, st, Shard{Index: 2, Parent: u32(1), StartHash: r[0].String(), EndHash: key.Dec().String(), CreatedMilli: now})
	checkShard(t, st, Shard{Index: 3, Parent: u32(1), StartHash: key.String(), EndHash: r[1].String(), CreatedMilli: now})
	checkLayout(t, st)
	if sd := e.stored(t, "s"); len(sd.Pending) != 0 || len(sd.Shards) != 4 {
		t.Errorf("stored: pending %v, %d shards", sd.Pending, len(sd.Shards))
	}
}

// TestMerge: a merge closes both parents at their logs' ends and opens one child over both ranges, whose
// parent is the lower shard and adjacent parent the upper.
func TestMerge(t *testing.T) {
	e := newEnv(t, nil)
	d := e.create(t, "s", 3)
	end1 := e.appendRecords(t, storage.ShardRef{StreamID: d.ID, Shard: 1}, 3)
	end2 := e.appendRecords(t, storage.ShardRef{StreamID: d.ID, Shard: 2}, 1)
	st, err := e.s.Reshard(t.Context(), "s", func(d *Doc) error {
		d.Schedule(Change{Kind: ChangeMerge, Shard: 1, Adjacent: 2}, e.now())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	now := e.now()
	r := hashkey.SplitEvenly(3)
	checkShard(t, st, Shard{Index: 1, StartHash: r[1][0].String(), EndHash: r[1][1].String(), Closed: true, EndOffset: end1, ClosedMilli: now})
	checkShard(t, st, Shard{Index: 2, StartHash: r[2][0].String(), EndHash: r[2][1].String(), Closed: true, EndOffset: end2, ClosedMilli: now})
	checkShard(t, st, Shard{Index: 3, Parent: u32(1), AdjacentParent: u32(2), StartHash: r[1][0].String(), EndHash: hashkey.Max.String(), CreatedMilli: now})
	if open := checkLayout(t, st); len(open) != 2 || open[0].Index != 0 || open[1].Index != 3 {
		t.Errorf("open shards %+v, want 0 and 3", open)
	}
	if st.Doc.Status != StatusActive || len(st.Doc.Pending) != 0 {
		t.Errorf("%s, pending %v", st.Doc.Status, st.Doc.Pending)
	}
}

// TestRescale: UpdateShardCount's change turns any even layout into n open shards starting at
// UniformStarts(n), sizes within one of each other, covering the space contiguously, through splits
// and merges whose parents are closed at their logs' ends.
func TestRescale(t *testing.T) {
	for _, tc := range []struct{ from, to int }{
		{1, 2}, {1, 5}, {2, 1}, {3, 3}, {3, 2}, {4, 7}, {5, 8}, {7, 3}, {8, 1}, {10, 13}, {6, 12}, {12, 6},
	} {
		t.Run(fmt.Sprintf("%d to %d", tc.from, tc.to), func(t *testing.T) {
			e := newEnv(t, nil)
			d := e.create(t, "s", tc.from)
			ends := map[uint32]uint64{}
			for i := range tc.from {
				ends[uint32(i)] = e.appendRecords(t, storage.ShardRef{StreamID: d.ID, Shard: uint32(i)}, i+1)
			}
			st, err := e.s.Reshard(t.Context(), "s", func(d *Doc) error {
				d.Schedule(Change{Kind: ChangeRescale, Count: tc.to}, e.now())
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if st.Doc.Status != StatusActive || len(st.Doc.Pending) != 0 {
				t.Fatalf("%s, pending %v", st.Doc.Status, st.Doc.Pending)
			}
			open := checkLayout(t, st)
			if len(open) != tc.to {
				t.Fatalf("%d open shards, want %d", len(open), tc.to)
			}
			starts := hashkey.UniformStarts(tc.to)
			var lo, hi hashkey.Key
			for i, o := range open {
				if o.Start != starts[i] {
					t.Errorf("open shard %d starts at %v, want %v", i, o.Start, starts[i])
				}
				w := o.End.Sub(o.Start)
				if i == 0 || w.Less(lo) {
					lo = w
				}
				if i == 0 || hi.Less(w) {
					hi = w
				}
			}
			if (hashkey.Key{Lo: 1}).Less(hi.Sub(lo)) {
				t.Errorf("open shard sizes from %v to %v", lo.Inc(), hi.Inc())
			}
			for i, end := range ends {
				sh := st.Shard(i)
				if tc.from == tc.to {
					if sh.Closed {
						t.Errorf("shard %d closed by a rescale to the same layout", i)
					}
					continue
				}
				if !sh.Closed || sh.EndOffset != end {
					t.Errorf("original shard %d: closed %v at %d, want closed at %d", i, sh.Closed, sh.EndOffset, end)
				}
			}
			// Each key is routed to the open shard holding it.
			for _, k := range []hashkey.Key{{}, hashkey.Max, hashkey.Of("a"), hashkey.Of("b")} {
				if o := st.Route(k); o == nil || k.Less(o.Start) || o.End.Less(k) {
					t.Errorf("Route(%v) = %+v", k, o)
				}
			}
		})
	}
}

// TestWarm: warm throughput's change splits the widest open shards at their midpoints until the stream
// has Count open shards (none when it has as many already), and ends UPDATING.
func TestWarm(t *testing.T) {
	for _, tc := range []struct{ from, count, want int }{{1, 4, 4}, {3, 5, 5}, {2, 2, 2}, {4, 2, 4}, {1, 3, 3}} {
		t.Run(fmt.Sprintf("%d to %d", tc.from, tc.count), func(t *testing.T) {
			e := newEnv(t, nil)
			e.create(t, "s", tc.from)
			st, err := e.s.Reshard(t.Context(), "s", func(d *Doc) error {
				d.Schedule(Change{Kind: ChangeWarm, Count: tc.count}, e.now())
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if st.Doc.Status != StatusActive || len(st.Doc.Pending) != 0 {
				t.Fatalf("%s, pending %v", st.Doc.Status, st.Doc.Pending)
			}
			open := checkLayout(t, st)
			if len(open) != tc.want {
				t.Fatalf("%d open shards, want %d", len(open), tc.want)
			}
			if got := len(st.Doc.Shards); got != tc.from+2*(tc.want-tc.from) {
				t.Errorf("%d shards, want %d (one split per new shard)", got, tc.from+2*(tc.want-tc.from))
			}
			for _, sh := range st.Doc.Shards {
				if sh.Parent == nil {
					continue
				}
				p := st.Shard(*sh.Parent)
				ps, pe := hashkey.MustParse(p.StartHash), hashkey.MustParse(p.EndHash)
				mid := hashkey.Midpoint(ps, pe)
				if s := hashkey.MustParse(sh.StartHash); s != ps && s != mid {
					t.Errorf("shard %d starts at %v: not a half of its parent %d (%v..%v)", sh.Index, s, p.Index, ps, pe)
				}
			}
		})
	}
	// From 1 to 4: the quarters.
	e := newEnv(t, nil)
	e.create(t, "q", 1)
	st, err := e.s.Reshard(t.Context(), "q", func(d *Doc) error {
		d.Schedule(Change{Kind: ChangeWarm, Count: 4}, e.now())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range checkLayout(t, st) {
		if want := hashkey.UniformStarts(4)[i]; o.Start != want {
			t.Errorf("quarter %d starts at %v, want %v", i, o.Start, want)
		}
	}
}

// TestEncryptAfterUpdateDelay: a pending encryption change leaves records written under the old type
// until the update ends, then sets the type and key and starts the history just after that moment.
func TestEncryptAfterUpdateDelay(t *testing.T) {
	const delay = 5 * time.Second
	e := newEnv(t, func(c *Config) { c.UpdateDelay = delay })
	e.create(t, "s", 1)
	if _, err := e.s.Reshard(t.Context(), "s", func(d *Doc) error {
		d.Schedule(Change{Kind: ChangeEncrypt, Encryption: "KMS", KeyID: "alias/k"}, e.now())
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	st := e.load(t, "s")
	if st.Doc.Encryption != EncryptionNone || st.EncryptionAt(e.now()+1) != EncryptionNone {
		t.Fatalf("while UPDATING: encryption %s", st.Doc.Encryption)
	}
	e.clk.Advance(delay)
	at := e.now()
	st = e.load(t, "s")
	if st.Doc.Encryption != "KMS" || st.Doc.KeyID != "alias/k" || len(st.Doc.Pending) != 0 || st.Doc.Status != StatusActive {
		t.Fatalf("after the delay: %s %s, pending %v, %s", st.Doc.Encryption, st.Doc.KeyID, st.Doc.Pending, st.Doc.Status)
	}
	if st.EncryptionAt(at) != EncryptionNone || st.EncryptionAt(at+1) != "KMS" || st.ArrivalMilli(e.clk.Now()) != at+1 {
		t.Errorf("history %v: at %d %s, at %d %s, arrival %d", st.Doc.EncryptionChanges,
			at, st.EncryptionAt(at), at+1, st.EncryptionAt(at+1), st.ArrivalMilli(e.clk.Now()))
	}
}

// TestReshardAppliesDueFirst: a change recorded by Reshard sees the document with the due pending
// change already applied (here: it merges the children of the split that was pending), and so does
// Mutate's; both changes end up saved.
func TestReshardAppliesDueFirst(t *testing.T) {
	const delay = 10 * time.Second
	e := newEnv(t, func(c *Config) { c.UpdateDelay = delay })
	e.create(t, "s", 1)
	scheduleSplit(t, e, "s", 0)
	e.clk.Advance(delay)
	st, err := e.s.Reshard(t.Context(), "s", func(d *Doc) error {
		if len(d.Pending) != 0 || d.OpenCount() != 2 || d.ShardAt(2) < 0 {
			return fmt.Errorf("change sees pending %v, %d open shards; want the split applied", d.Pending, d.OpenCount())
		}
		d.Schedule(Change{Kind: ChangeMerge, Shard: 1, Adjacent: 2}, e.now())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Doc.Status != StatusUpdating || len(st.Doc.Pending) != 1 || len(st.Doc.Shards) != 3 {
		t.Fatalf("after Reshard: %s, pending %v, %d shards; want UPDATING, the merge pending over the split", st.Doc.Status, st.Doc.Pending, len(st.Doc.Shards))
	}
	e.clk.Advance(delay)
	st, err = e.s.Mutate(t.Context(), "s", func(d *Doc) error {
		if len(d.Pending) != 0 || d.OpenCount() != 1 {
			return fmt.Errorf("Mutate's change sees pending %v, %d open; want the merge applied", d.Pending, d.OpenCount())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	checkShard(t, st, Shard{Index: 3, Parent: u32(1), AdjacentParent: u32(2), StartHash: "0", EndHash: hashkey.Max.String(), CreatedMilli: e.now()})
	checkLayout(t, st)
}
