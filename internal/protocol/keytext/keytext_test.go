package keytext

import (
	"strings"
	"testing"

	"kinesisd/internal/service"
)

// body holds the keys the tests cut spans of: "pk1" at 0, "é" at 3, "12" at 5, "340" at 7.
const body = "pk1é12340"

var (
	pk1  = Span{0, 3}
	e    = Span{3, 5}
	h12  = Span{5, 7}
	h340 = Span{7, 10}
	void = Span{4, 4} // an empty key: a span of no bytes, not none
)

// want is a key as Set should leave it: nil for none.
func want(s string) *string { return &s }

func TestSet(t *testing.T) {
	tests := []struct {
		name         string
		keys, hashes []Span // a record each
		wantKeys     []*string
		wantHashes   []*string
	}{
		{name: "no records"},
		{
			name:       "keys, no hash keys",
			keys:       []Span{pk1, e, pk1},
			hashes:     []Span{None(), None(), None()},
			wantKeys:   []*string{want("pk1"), want("é"), want("pk1")},
			wantHashes: []*string{nil, nil, nil},
		},
		{
			name:       "absent and empty keys",
			keys:       []Span{None(), void, pk1, None()},
			hashes:     []Span{None(), None(), None(), None()},
			wantKeys:   []*string{nil, want(""), want("pk1"), nil},
			wantHashes: []*string{nil, nil, nil, nil},
		},
		{
			name:       "a hash key at the first record",
			keys:       []Span{pk1, e},
			hashes:     []Span{h12, None()},
			wantKeys:   []*string{want("pk1"), want("é")},
			wantHashes: []*string{want("12"), nil},
		},
		{
			name:       "hash keys from a later record",
			keys:       []Span{pk1, e, pk1, e},
			hashes:     []Span{None(), None(), h340, void},
			wantKeys:   []*string{want("pk1"), want("é"), want("pk1"), want("é")},
			wantHashes: []*string{nil, nil, want("340"), want("")},
		},
		{
			name:       "only hash keys",
			keys:       []Span{None(), None()},
			hashes:     []Span{h340, h12},
			wantKeys:   []*string{nil, nil},
			wantHashes: []*string{want("340"), want("12")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// From the zero value and from Make (room for fewer records than added: Add grows it).
			for _, s := range []Spans{{}, Make(1), Make(500)} {
				for i := range tt.keys {
					s = s.Add(tt.keys[i], tt.hashes[i])
				}
				recs := make([]service.PutRecordsRequestEntry, len(tt.keys))
				s.Set([]byte(body), recs, nil)
				for i, r := range recs {
					checkKey(t, "PartitionKey", i, r.PartitionKey, tt.wantKeys[i])
					checkKey(t, "ExplicitHashKey", i, r.ExplicitHashKey, tt.wantHashes[i])
				}
			}
		})
	}
}

func checkKey(t *testing.T, what string, i int, got, want *string) {
	t.Helper()
	switch {
	case got == nil && want == nil:
	case got == nil || want == nil:
		t.Errorf("record %d: %s %v, want %v", i, what, deref(got), deref(want))
	case *got != *want:
		t.Errorf("record %d: %s %q, want %q", i, what, *got, *want)
	}
}

func deref(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

// TestSetCopies: the keys are copies; changing the body afterwards does not change them.
func TestSetCopies(t *testing.T) {
	b := []byte(body)
	s := Spans{}.Add(pk1, h12)
	recs := make([]service.PutRecordsRequestEntry, 1)
	s.Set(b, recs, nil)
	copy(b, strings.Repeat("x", len(b)))
	if *recs[0].PartitionKey != "pk1" || *recs[0].ExplicitHashKey != "12" {
		t.Errorf("keys %q, %q after the body changed, want pk1, 12", *recs[0].PartitionKey, *recs[0].ExplicitHashKey)
	}
}

// TestAllocs: a request's partition keys cost two allocations whatever their number (one string for
// all, and the slice of strings the records point into), its hash keys two more, and Add within the
// room of Make none but the hash spans' slice at the first hash key.
func TestAllocs(t *testing.T) {
	const n = 500
	b := []byte(strings.Repeat(body, n))
	key := func(i int) Span { return Span{i * len(body), i*len(body) + 3} }
	hash := func(i int) Span { return Span{i*len(body) + 7, i*len(body) + 10} }
	tests := []struct {
		name             string
		hashFrom         int // the first record with a hash key; n: none
		wantAdd, wantSet float64
	}{
		{"no hash keys", n, 0, 2},
		{"hash keys from the first record", 0, 1, 4},
		{"hash keys from the middle", n / 2, 1, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			room := Make(n)
			var s Spans
			add := testing.AllocsPerRun(20, func() {
				s = room // Add appends into room's slice, from its start each run
				for i := range n {
					h := None()
					if i >= tt.hashFrom {
						h = hash(i)
					}
					s = s.Add(key(i), h)
				}
			})
			if add != tt.wantAdd {
				t.Errorf("Add of %d records: %v allocations, want %v", n, add, tt.wantAdd)
			}
			recs := make([]service.PutRecordsRequestEntry, n)
			set := testing.AllocsPerRun(20, func() { s.Set(b, recs, nil) })
			if set != tt.wantSet {
				t.Errorf("Set of %d records: %v allocations, want %v", n, set, tt.wantSet)
			}
			for i, r := range recs {
				if r.PartitionKey == nil || *r.PartitionKey != "pk1" {
					t.Fatalf("record %d: PartitionKey %v, want pk1", i, deref(r.PartitionKey))
				}
				if i >= tt.hashFrom && (r.ExplicitHashKey == nil || *r.ExplicitHashKey != "340") || i < tt.hashFrom && r.ExplicitHashKey != nil {
					t.Fatalf("record %d: ExplicitHashKey %v", i, deref(r.ExplicitHashKey))
				}
			}
		})
	}
}
