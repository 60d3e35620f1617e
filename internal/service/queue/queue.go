// Package queue is the delivery state of one queue on one shard: the records in flight, visible again or dead, and the point below which every record is settled.
package queue

import (
	"encoding/binary"
	"errors"
	"slices"
)

// A queue keeps one Shard per shard of its stream, as one document under compare-and-set. Its
// records fall into three ranges of offsets:
//
//	[0, Cursor)      settled: acknowledged, acknowledged as dead letters, or expired
//	[Cursor, Next)   delivered at least once: those not settled are Entries (in flight, visible
//	                 again, or dead letters); the offsets between them are acknowledged (or were
//	                 never used: offsets need not be dense)
//	[Next, …)        never delivered: the next receive reads them from the stream
//
// Cursor is the lowest Entry's offset, or Next when there is none, so the acknowledged set past the
// cursor is implicit and collapses into it as the entries below go: a queue that keeps up holds
// only what is in flight, and one that lags holds nothing for the records it has not read.

// Entry is one delivered record that is not settled.
type Entry struct {
	Offset   uint64
	Deadline int64  // Unix ms: in flight until then, visible (again) from then on
	Receives uint32 // receives since it was delivered first or last restored
	Nonce    uint64 // the receive that holds it: its receipt handle names this one
	First    int64  // Unix ms of its first receive
	Dead     bool   // a dead letter: only the dead-letter operations see it
}

// Shard is a queue's state on one shard.
type Shard struct {
	Next    uint64  // the first offset never delivered
	Seq     uint64  // the last nonce handed out: each receive takes the next
	Expired uint64  // records that left the queue unsettled at the end of retention
	Entries []Entry // delivered and unsettled, in offset order, all below Next
}

// Cursor is the offset below which every record is settled.
func (s *Shard) Cursor() uint64 {
	if len(s.Entries) > 0 {
		return s.Entries[0].Offset
	}
	return s.Next
}

// Expire drops the records below horizon (the first offset within retention): the entries there
// leave the queue and are counted in Expired, and reading resumes at horizon at the earliest. It
// returns how many entries left.
func (s *Shard) Expire(horizon uint64) int {
	n := 0
	for n < len(s.Entries) && s.Entries[n].Offset < horizon {
		n++
	}
	s.Entries = slices.Delete(s.Entries, 0, n)
	s.Expired += uint64(n)
	s.Next = max(s.Next, horizon)
	return n
}

// Settle turns the entries that have been received maxReceive times and whose visibility ended by
// now into dead letters, visible to the dead-letter receive at once. maxReceive 0: dead-lettering
// is off.
func (s *Shard) Settle(now int64, maxReceive int) {
	if maxReceive <= 0 {
		return
	}
	for i := range s.Entries {
		e := &s.Entries[i]
		if !e.Dead && e.Deadline <= now && e.Receives >= uint32(maxReceive) {
			e.Dead, e.Deadline = true, now
		}
	}
}

// Visible returns the indexes of up to limit entries visible at now: dead letters when dead is set,
// the others otherwise.
func (s *Shard) Visible(now int64, dead bool, limit int) []int {
	var out []int
	for i := range s.Entries {
		if len(out) >= limit {
			break
		}
		if e := &s.Entries[i]; e.Dead == dead && e.Deadline <= now {
			out = append(out, i)
		}
	}
	return out
}

// Receive hands entry i to a new receive that holds it until deadline, and returns the nonce its
// receipt handle carries: handles of earlier receives of the record no longer name it.
func (s *Shard) Receive(i int, now, deadline int64) uint64 {
	s.Seq++
	e := &s.Entries[i]
	e.Receives++
	e.Nonce, e.Deadline = s.Seq, deadline
	if e.First == 0 {
		e.First = now
	}
	return s.Seq
}

// Deliver records the first delivery of the record at offset (at or past Next) to a receive that
// holds it until deadline, moves Next past it, and returns the nonce of its receipt handle.
func (s *Shard) Deliver(offset uint64, now, deadline int64) uint64 {
	s.Seq++
	s.Entries = append(s.Entries, Entry{Offset: offset, Deadline: deadline, Receives: 1, Nonce: s.Seq, First: now})
	s.Next = offset + 1
	return s.Seq
}

// Find returns the index of the entry a receipt handle names, offset and nonce, as a dead letter
// or not; -1 when the handle names no unsettled record any more (acknowledged, received again since,
// dead-lettered, restored or expired).
func (s *Shard) Find(offset, nonce uint64, dead bool) int {
	i, ok := slices.BinarySearchFunc(s.Entries, offset, func(e Entry, off uint64) int {
		switch {
		case e.Offset < off:
			return -1
		case e.Offset > off:
			return 1
		}
		return 0
	})
	if !ok || s.Entries[i].Nonce != nonce || s.Entries[i].Dead != dead {
		return -1
	}
	return i
}

// Ack settles entry i.
func (s *Shard) Ack(i int) { s.Entries = slices.Delete(s.Entries, i, i+1) }

// Restore makes dead letter i an ordinary record again, visible at once with no receives.
func (s *Shard) Restore(i int, now int64) {
	e := &s.Entries[i]
	e.Dead, e.Receives, e.Deadline = false, 0, now
}

// NextDeadline returns the earliest deadline after now among the entries (0: none): when a record
// in flight becomes visible again.
func (s *Shard) NextDeadline(now int64) int64 {
	var d int64
	for i := range s.Entries {
		if dl := s.Entries[i].Deadline; dl > now && (d == 0 || dl < d) {
			d = dl
		}
	}
	return d
}

// The stored form, compact because a queue's document is rewritten at every receive and
// acknowledgement: a version byte, then unsigned varints Next, Seq, Expired, the entry count and
// the base time (the least First), then per entry the offset's distance from the previous entry's
// (from 0 for the first), First less the base, Deadline less First (signed), Receives, Nonce and a
// flags byte (bit 0: dead letter). About 12 bytes per entry in flight.
const version = 1

// ErrCorrupt is Decode's error for bytes that are not a Shard's stored form.
var ErrCorrupt = errors.New("queue: corrupt shard state")

// Encode returns the stored form of s.
func (s *Shard) Encode() []byte {
	base := int64(0)
	for i, e := range s.Entries {
		if i == 0 || e.First < base {
			base = e.First
		}
	}
	b := make([]byte, 0, 32+14*len(s.Entries))
	b = append(b, version)
	b = binary.AppendUvarint(b, s.Next)
	b = binary.AppendUvarint(b, s.Seq)
	b = binary.AppendUvarint(b, s.Expired)
	b = binary.AppendUvarint(b, uint64(len(s.Entries)))
	b = binary.AppendVarint(b, base)
	prev := uint64(0)
	for _, e := range s.Entries {
		b = binary.AppendUvarint(b, e.Offset-prev)
		prev = e.Offset
		b = binary.AppendUvarint(b, uint64(e.First-base))
		b = binary.AppendVarint(b, e.Deadline-e.First)
		b = binary.AppendUvarint(b, uint64(e.Receives))
		b = binary.AppendUvarint(b, e.Nonce)
		var flags byte
		if e.Dead {
			flags |= 1
		}
		b = append(b, flags)
	}
	return b
}

// Decode reads a stored form. It refuses anything Encode cannot have written: entries out of order
// or at or past Next, nonces past Seq, trailing bytes.
func Decode(b []byte) (*Shard, error) {
	r := reader{b: b}
	if r.byte() != version {
		return nil, ErrCorrupt
	}
	s := &Shard{Next: r.uvarint(), Seq: r.uvarint(), Expired: r.uvarint()}
	n := r.uvarint()
	base := r.varint()
	if r.bad || n > uint64(len(r.b))/6 { // an entry takes at least 6 bytes
		return nil, ErrCorrupt
	}
	if n > 0 {
		s.Entries = make([]Entry, 0, n)
	}
	prev := uint64(0)
	for i := uint64(0); i < n; i++ {
		delta := r.uvarint()
		off := prev + delta
		if off < prev || (i > 0 && delta == 0) {
			return nil, ErrCorrupt
		}
		prev = off
		first := r.uvarint()
		e := Entry{Offset: off, First: base + int64(first)}
		e.Deadline = e.First + r.varint()
		recv := r.uvarint()
		e.Nonce = r.uvarint()
		flags := r.byte()
		if recv > 1<<32-1 || flags > 1 || e.Nonce > s.Seq || off >= s.Next || first > 1<<62 {
			return nil, ErrCorrupt
		}
		e.Receives, e.Dead = uint32(recv), flags&1 != 0
		s.Entries = append(s.Entries, e)
	}
	if r.bad || len(r.b) != 0 {
		return nil, ErrCorrupt
	}
	return s, nil
}

// reader reads varints off b, noting any failure in bad.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) byte() byte {
	if len(r.b) == 0 {
		r.bad = true
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.bad = true
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.bad = true
		return 0
	}
	r.b = r.b[n:]
	return v
}
