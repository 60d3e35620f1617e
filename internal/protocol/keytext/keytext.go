// Package keytext copies the partition keys and explicit hash keys of a PutRecords request, which a
// codec finds as spans of the request body, into one string per request.
package keytext

import (
	"strings"

	"kinesisd/internal/service"
)

// Span is where a key's text lies in a request body (End exclusive); Start -1 for none (absent or
// null).
type Span struct{ Start, End int }

// None is the span of a key that is absent or null.
func None() Span { return Span{-1, -1} }

// Spans are the key spans of a request's records, in record order. The zero value holds none.
//
// Spans is a value, and Add returns it as append does, so that the slice of Make with a constant size
// stays on the caller's stack (a method on a pointer would make it escape).
type Spans struct {
	keys   []Span
	hashes []Span // made at the first ExplicitHashKey: most requests have none
}

// Make returns empty Spans with room for n records.
func Make(n int) Spans { return Spans{keys: make([]Span, 0, n)} }

// Add returns s with a record's partition key and explicit hash key added.
func (s Spans) Add(key, hash Span) Spans {
	if hash.Start >= 0 && s.hashes == nil {
		s.hashes = nones(len(s.keys), cap(s.keys))
	}
	if s.hashes != nil {
		s.hashes = append(s.hashes, hash)
	}
	s.keys = append(s.keys, key)
	return s
}

// nones returns n spans of none, with room for c.
func nones(n, c int) []Span {
	spans := make([]Span, n, c)
	for i := range spans {
		spans[i] = None()
	}
	return spans
}

// Set sets the PartitionKey and ExplicitHashKey of recs[i] to the texts in body of the ith record
// added (nil for none); recs holds a record for each one added. The partition keys share one string,
// and the hash keys another. The string headers the records point to are m's (nil: new ones).
func (s Spans) Set(body []byte, recs []service.PutRecordsRequestEntry, m *Memory) {
	var keys, hashes *[]string
	if m != nil {
		keys, hashes = &m.keys, &m.hashes
	}
	strs := texts(body, s.keys, keys)
	for i := range strs {
		if s.keys[i].Start >= 0 {
			recs[i].PartitionKey = &strs[i]
		}
	}
	strs = texts(body, s.hashes, hashes)
	for i := range strs {
		if s.hashes[i].Start >= 0 {
			recs[i].ExplicitHashKey = &strs[i]
		}
	}
}

// texts copies the texts of body at spans into one string of their exact length (strings.Builder
// hands its buffer over as the string) and returns them cut from it: two allocations for a request's
// keys rather than two a record.
// The headers go into *reuse when given (it keeps the array, grown as needed).
func texts(body []byte, spans []Span, reuse *[]string) []string {
	if len(spans) == 0 {
		return nil
	}
	size := 0
	for _, sp := range spans {
		size += sp.End - sp.Start
	}
	var b strings.Builder
	b.Grow(size)
	for _, sp := range spans {
		if sp.Start >= 0 {
			b.Write(body[sp.Start:sp.End])
		}
	}
	all, at := b.String(), 0
	var strs []string
	if reuse != nil && cap(*reuse) >= len(spans) {
		strs = (*reuse)[:len(spans)]
	} else {
		strs = make([]string, len(spans))
		if reuse != nil {
			*reuse = strs
		}
	}
	for i, sp := range spans {
		strs[i] = all[at : at+sp.End-sp.Start]
		at += sp.End - sp.Start
	}
	return strs
}
