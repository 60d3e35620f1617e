// Package ratelimit_test checks the one-second windows from outside, with a fake clock.
package ratelimit_test

import (
	"testing"
	"time"

	"kinesisd/internal/clock"
	"kinesisd/internal/service/ratelimit"
)

// start is a whole second, so that the tests know where the clock's seconds begin.
var start = time.Unix(1_700_000_000, 0)

// TestWindowsResetEachSecond: a key's usage accumulates within one second (at any millisecond of it),
// starts from zero in the next second, and keys are counted apart.
func TestWindowsResetEachSecond(t *testing.T) {
	clk := clock.NewFake(start)
	r := ratelimit.New()
	r.Lock()
	defer r.Unlock()

	w := r.Window("a", clk.Now())
	if w.Count != 0 || w.Bytes != 0 || w.Until != 0 {
		t.Fatalf("new window %+v, want zero", *w)
	}
	w.Count, w.Bytes = 3, 300
	r.Window("b", clk.Now()).Count = 7

	clk.Advance(999 * time.Millisecond) // the last millisecond of the same second
	w = r.Window("a", clk.Now())
	if w.Count != 3 || w.Bytes != 300 {
		t.Fatalf("same second: %+v, want Count 3, Bytes 300", *w)
	}
	w.Count++
	if b := r.Window("b", clk.Now()); b.Count != 7 {
		t.Fatalf("key b: Count %d, want 7 (keys are counted apart)", b.Count)
	}

	clk.Advance(time.Millisecond) // the next second
	if w := r.Window("a", clk.Now()); w.Count != 0 || w.Bytes != 0 {
		t.Fatalf("next second: %+v, want Count 0, Bytes 0", *w)
	}
	if b := r.Window("b", clk.Now()); b.Count != 0 {
		t.Fatalf("key b next second: Count %d, want 0", b.Count)
	}

	// A window skipped for several seconds starts from zero too.
	r.Window("a", clk.Now()).Count = 5
	clk.Advance(5 * time.Second)
	if w := r.Window("a", clk.Now()); w.Count != 0 {
		t.Fatalf("five seconds later: Count %d, want 0", w.Count)
	}
}

// TestUntilSurvivesNewSecond: Until (a refusal lasting past the second it was set in) is kept when the
// window resets its counts for a new second.
func TestUntilSurvivesNewSecond(t *testing.T) {
	clk := clock.NewFake(start)
	r := ratelimit.New()
	r.Lock()
	defer r.Unlock()
	w := r.Window("k", clk.Now())
	until := clk.Now().Add(5 * time.Second).UnixMilli()
	w.Count, w.Bytes, w.Until = 2, 20, until
	for range 3 {
		clk.Advance(time.Second)
		w = r.Window("k", clk.Now())
		if w.Count != 0 || w.Bytes != 0 || w.Until != until {
			t.Fatalf("at %v: %+v, want Count 0, Bytes 0, Until %d", clk.Now(), *w, until)
		}
	}
}

// TestSweep: Windows keeps every key (the same *Window, reset in place) while it holds at most 100,000
// of them; a new key beyond that forgets the keys of past seconds whose Until has passed (they come
// back as new windows), and keeps those used in the current second and those whose Until is still
// ahead.
func TestSweep(t *testing.T) {
	const maxKeys = 100_000
	clk := clock.NewFake(start)
	r := ratelimit.New()
	r.Lock()
	defer r.Unlock()

	// Below the bound nothing is forgotten, however old.
	small := make([]*ratelimit.Window, 10)
	for i := range small {
		small[i] = r.Window(i, clk.Now())
	}
	clk.Advance(time.Hour)
	for i := range small {
		if w := r.Window(i, clk.Now()); w != small[i] {
			t.Fatalf("key %d forgotten with %d keys", i, len(small))
		}
	}

	// maxKeys+1 keys in second T0, plus two whose Until is set.
	clk.Advance(time.Hour)
	t0 := clk.Now()
	old := make([]*ratelimit.Window, maxKeys+1)
	for i := range old {
		old[i] = r.Window(i, t0)
		old[i].Count = 1
	}
	t1 := t0.Add(time.Second)
	keep := r.Window("keep", t0)
	keep.Until = t1.UnixMilli() + 500 // still refusing in T1
	ended := r.Window("ended", t0)
	ended.Until = t1.UnixMilli() // refuses nothing in T1

	// In T1 an existing key is reset in place: no sweep.
	if w := r.Window(0, t1); w != old[0] || w.Count != 0 {
		t.Fatalf("key 0 in T1: same window %v, Count %d; want the same window, reset", w == old[0], w.Count)
	}
	// A new key past the bound sweeps.
	r.Window("new", t1)
	if w := r.Window(0, t1); w != old[0] {
		t.Fatal("key 0, used in T1, was forgotten by the sweep")
	}
	if w := r.Window("keep", t1); w != keep || w.Until != t1.UnixMilli()+500 {
		t.Fatalf("key keep: same window %v, Until %d; want kept with its Until", w == keep, w.Until)
	}
	forgotten := 0
	for i := 1; i < len(old); i++ {
		if r.Window(i, t1) != old[i] {
			forgotten++
		}
	}
	if forgotten != maxKeys {
		t.Fatalf("%d of %d keys of T0 forgotten, want all", forgotten, maxKeys)
	}
	if w := r.Window("ended", t1); w == ended || w.Until != 0 {
		t.Fatalf("key ended: same window %v, Until %d; want forgotten", w == ended, w.Until)
	}
}
