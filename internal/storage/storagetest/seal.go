package storagetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"kinesisd/internal/storage"
)

// mustSeal seals ref and returns its end.
func mustSeal(t *testing.T, s storage.Store, ref storage.ShardRef) uint64 {
	t.Helper()
	end, err := s.Seal(t.Context(), ref)
	if err != nil {
		t.Fatalf("Seal(%v): %v", ref, err)
	}
	return end
}

// below returns the records of rs with offsets below end: what a reader stopping at a sealed log's
// end sees.
func below(rs []storage.Record, end uint64) []storage.Record {
	var out []storage.Record
	for _, r := range rs {
		if r.Offset < end {
			out = append(out, r)
		}
	}
	return out
}

// testSeal: a sealed shard keeps every record appended before, at offsets below its end; later
// appends to it are refused with a *SealedError naming it, while the other shards of the same call
// are appended; sealing again returns the same end; an empty shard can be sealed too.
func testSeal(t *testing.T, s storage.Store) {
	ctx := t.Context()
	a, b, empty := shardRef(1, 0), shardRef(1, 1), shardRef(1, 2)
	before := mustAppend(t, s, a, recs("a", 5, 16)...)
	mustAppend(t, s, b, recs("b", 2, 16)...)
	next := mustNext(t, s, a)
	end := mustSeal(t, s, a)
	if end < next {
		t.Fatalf("Seal end %d below NextOffset %d", end, next)
	}
	checkRecords(t, "sealed shard below its end", below(readAll(t, s, a, 0), end), before)

	late, other := recs("late", 3, 16), recs("b2-", 4, 16)
	err := s.Append(ctx, []storage.Append{{Shard: a, Records: late}, {Shard: b, Records: other}})
	var se *storage.SealedError
	if !errors.As(err, &se) || !errors.Is(err, storage.ErrSealed) {
		t.Fatalf("Append to a sealed shard and an open one: %v; want a *SealedError", err)
	}
	if !se.Sealed(a) || se.Sealed(b) || len(se.Shards) != 1 {
		t.Fatalf("SealedError names %v; want only %v", se.Shards, a)
	}
	gotB := readAll(t, s, b, 0)
	checkRecords(t, "open shard of the refused call", gotB[2:], other)
	checkRecords(t, "sealed shard after a refused append", below(readAll(t, s, a, 0), end), before)

	if again := mustSeal(t, s, a); again != end {
		t.Errorf("second Seal = %d, first %d", again, end)
	}
	if err := s.Append(ctx, []storage.Append{{Shard: a, Records: recs("x", 1, 8)}}); !errors.Is(err, storage.ErrSealed) {
		t.Errorf("Append of one record to a sealed shard: %v; want ErrSealed", err)
	}

	emptyEnd := mustSeal(t, s, empty)
	err = s.Append(ctx, []storage.Append{{Shard: empty, Records: recs("e", 1, 8)}})
	if !errors.As(err, &se) || !se.Sealed(empty) {
		t.Errorf("Append to a sealed empty shard: %v; want a *SealedError", err)
	}
	if got := below(readAll(t, s, empty, 0), emptyEnd); len(got) != 0 {
		t.Errorf("sealed empty shard holds %d records below its end %d", len(got), emptyEnd)
	}
}

// testSealConcurrent seals a shard while writers append to it and to another shard. Every record an
// Append acknowledged (no error, or a *SealedError not naming its shard) must be below the end and
// readable; every record refused must not be below the end; the other shard loses nothing.
func testSealConcurrent(t *testing.T, s storage.Store) {
	const writers = 6
	ctx := t.Context()
	a, b := shardRef(2, 0), shardRef(2, 1)
	var mu sync.Mutex
	var ackedA, ackedB, refused []storage.Record
	started := make(chan struct{}, writers*4)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for c := 0; ; c++ {
				ra := recs(fmt.Sprintf("a-w%d-c%d-", w, c), 3, 32)
				rb := recs(fmt.Sprintf("b-w%d-c%d-", w, c), 2, 32)
				err := s.Append(ctx, []storage.Append{{Shard: a, Records: ra}, {Shard: b, Records: rb}})
				var se *storage.SealedError
				switch {
				case err == nil:
				case errors.As(err, &se) && se.Sealed(a) && !se.Sealed(b):
				default:
					t.Errorf("writer %d: Append: %v", w, err)
					return
				}
				mu.Lock()
				ackedB = append(ackedB, rb...)
				if err == nil {
					ackedA = append(ackedA, ra...)
				} else {
					refused = append(refused, ra...)
				}
				mu.Unlock()
				select {
				case started <- struct{}{}:
				default:
				}
				if err != nil {
					return // the seal reached this writer
				}
			}
		})
	}
	for range writers * 2 {
		<-started
	}
	end := mustSeal(t, s, a)
	wg.Wait()
	if t.Failed() {
		return
	}

	gotA := map[uint64]string{}
	for _, r := range below(readAll(t, s, a, 0), end) {
		gotA[r.Offset] = string(r.Data)
	}
	for _, r := range ackedA {
		if r.Offset >= end {
			t.Fatalf("acknowledged record at offset %d, at or past the seal's end %d", r.Offset, end)
		}
		if gotA[r.Offset] != string(r.Data) {
			t.Fatalf("acknowledged record at offset %d not readable below the end %d", r.Offset, end)
		}
	}
	for _, r := range refused {
		for _, d := range gotA {
			if d == string(r.Data) {
				t.Fatalf("a refused record is readable below the end %d", end)
			}
		}
	}
	if len(gotA) != len(ackedA) {
		t.Errorf("%d records below the end, %d acknowledged", len(gotA), len(ackedA))
	}
	gotB := map[string]bool{}
	for _, r := range readAll(t, s, b, 0) {
		gotB[string(r.Data)] = true
	}
	for _, r := range ackedB {
		if !gotB[string(r.Data)] {
			t.Fatalf("record of the open shard at offset %d lost", r.Offset)
		}
	}
	t.Logf("sealed at %d: %d records acknowledged before, %d refused; %d on the open shard", end, len(ackedA), len(refused), len(ackedB))
}

// testReopenSealed: a sealed shard stays sealed, at the same end, across a restart.
func testReopenSealed(t *testing.T, reopen func() storage.Store) {
	s := reopen()
	ref := shardRef(3, 0)
	before := mustAppend(t, s, ref, recs("r", 4, 16)...)
	end := mustSeal(t, s, ref)
	s = reopen()
	if got := mustSeal(t, s, ref); got != end {
		t.Errorf("Seal after reopening = %d, before %d", got, end)
	}
	if err := s.Append(t.Context(), []storage.Append{{Shard: ref, Records: recs("x", 1, 8)}}); !errors.Is(err, storage.ErrSealed) {
		t.Errorf("Append to a sealed shard after reopening: %v; want ErrSealed", err)
	}
	checkRecords(t, "sealed shard after reopening", below(readAll(t, s, ref, 0), end), before)
}
