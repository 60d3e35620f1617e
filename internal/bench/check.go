package bench

import (
	"cmp"
	"encoding/base64"
	"fmt"
	"hash/maphash"
	"math/bits"
	"slices"
	"strings"
)

// seqNum is a decimal sequence number as a 192-bit value, most significant word first, so that the
// read-back check keeps 24 bytes per acknowledged record instead of a 56-digit string.
type seqNum [3]uint64

// parseSeq reads a decimal sequence number of 1 to 57 digits (AWS's have 56; 10^57 < 2^192).
func parseSeq(b []byte) (seqNum, bool) {
	var n seqNum
	if len(b) == 0 || len(b) > 57 {
		return n, false
	}
	// Up to 19 digits at a time into one word (10^19 < 2^64), then n = n·10^k + chunk over the three
	// words: 3 multiplications per chunk instead of 3 per digit (this ran for every acknowledged
	// record, on the cores the server under test uses).
	for len(b) > 0 {
		k := len(b) % 19
		if k == 0 {
			k = 19
		}
		var chunk uint64
		for _, c := range b[:k] {
			if c < '0' || c > '9' {
				return n, false
			}
			chunk = chunk*10 + uint64(c-'0')
		}
		carry := chunk
		for i := 2; i >= 0; i-- {
			hi, lo := bits.Mul64(n[i], pow10[k])
			lo, c := bits.Add64(lo, carry, 0)
			n[i], carry = lo, hi+c
		}
		b = b[k:]
	}
	return n, true
}

// pow10[k] is 10^k, k ≤ 19.
var pow10 = func() (p [20]uint64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

func (a seqNum) compare(b seqNum) int {
	for i := range a {
		if c := cmp.Compare(a[i], b[i]); c != 0 {
			return c
		}
	}
	return 0
}

// ack is what the check keeps of one acknowledged (or read) record: 32 bytes, not its data.
type ack struct {
	seq  seqNum
	hash uint64 // hashData of the record's data in canonical base64
}

// hashData is the record hash the check compares, of the record's data in base64 as the request
// carried it (the standard alphabet, padded: canonical, one text per byte string). Hashing the text
// rather than the bytes spares the read-back decoding every record, which would cost the client more
// than the server spends sending it; a record whose text differs is decoded and re-encoded before it
// is called a mismatch (see canonical). maphash, the runtime's AES-based hash, runs at several GB/s.
// The seed is per run.
func hashData(seed maphash.Seed, b64 []byte) uint64 { return maphash.Bytes(seed, b64) }

// canonical re-encodes base64 text in the standard padded form, or reports false if it is not base64.
func canonical(b64 []byte) ([]byte, bool) {
	data, err := base64.StdEncoding.AppendDecode(nil, b64)
	if err != nil {
		return nil, false
	}
	return base64.StdEncoding.AppendEncode(nil, data), true
}

// checkCounts is the outcome of comparing the records read with the records acknowledged.
type checkCounts struct {
	Passed        bool  `json:"passed"`
	Acked         int64 `json:"acked"`          // records PutRecords acknowledged, warm-up included
	Read          int64 `json:"read"`           // records GetRecords returned
	Matched       int64 `json:"matched"`        // acknowledged and read once with the bytes sent
	Missing       int64 `json:"missing"`        // acknowledged, never read
	Mismatched    int64 `json:"mismatched"`     // read with other bytes than were sent
	Duplicates    int64 `json:"duplicates"`     // read again right after themselves
	OutOfOrder    int64 `json:"out_of_order"`   // read after a greater sequence number of the shard
	DuplicateAcks int64 `json:"duplicate_acks"` // one (shard, sequence number) acknowledged twice
	BadSeqs       int64 `json:"bad_seqs"`       // sequence numbers that are not decimal numbers
	Extra         int64 `json:"extra"`          // read but not acknowledged by this run
	StrictExtra   bool  `json:"strict_extra"`   // whether Extra fails the check
}

func (c *checkCounts) add(o checkCounts) {
	c.Acked += o.Acked
	c.Read += o.Read
	c.Matched += o.Matched
	c.Missing += o.Missing
	c.Mismatched += o.Mismatched
	c.Duplicates += o.Duplicates
	c.OutOfOrder += o.OutOfOrder
	c.DuplicateAcks += o.DuplicateAcks
	c.BadSeqs += o.BadSeqs
	c.Extra += o.Extra
}

// judge sets Passed: every acknowledged record was read exactly once, in order, with its bytes. Extra
// records fail the check only when strict: when the run created the stream and every PutRecords call
// got an answer, nothing else can have written to it.
func (c *checkCounts) judge(strict bool) {
	c.StrictExtra = strict
	c.Passed = c.Missing == 0 && c.Mismatched == 0 && c.Duplicates == 0 && c.OutOfOrder == 0 &&
		c.DuplicateAcks == 0 && c.BadSeqs == 0 && c.Matched == c.Acked && (!strict || c.Extra == 0)
}

// problems describes what failed the check, for the READ-BACK CHECK FAILED line.
func (c *checkCounts) problems() string {
	var p []string
	for _, f := range []struct {
		n    int64
		what string
	}{
		{c.Missing, "missing"}, {c.Mismatched, "with other bytes than sent"}, {c.Duplicates, "read twice"},
		{c.OutOfOrder, "out of order"}, {c.DuplicateAcks, "acknowledged twice with one sequence number"},
		{c.BadSeqs, "with unreadable sequence numbers"},
	} {
		if f.n > 0 {
			p = append(p, fmt.Sprintf("%d %s", f.n, f.what))
		}
	}
	if c.StrictExtra && c.Extra > 0 {
		p = append(p, fmt.Sprintf("%d read but not sent by this run", c.Extra))
	}
	return fmt.Sprintf("%d acknowledged, %d read, %d matched: %s", c.Acked, c.Read, c.Matched, strings.Join(p, ", "))
}

// shardCheck compares one shard's records, as GetRecords returns them (in sequence number order), with
// the records acknowledged for it, without holding the records read: a merge of two sorted lists.
type shardCheck struct {
	acked []ack // sorted by sequence number, without duplicates
	next  int   // acked[next] is the first not yet read
	last  seqNum
	seen  bool // last is set
	c     checkCounts
}

// newShardCheck sorts acked (which it takes over) and counts the sequence numbers in it twice.
func newShardCheck(acked []ack) *shardCheck {
	slices.SortFunc(acked, func(a, b ack) int { return a.seq.compare(b.seq) })
	s := &shardCheck{c: checkCounts{Acked: int64(len(acked))}}
	s.acked = slices.CompactFunc(acked, func(a, b ack) bool {
		if a.seq == b.seq {
			s.c.DuplicateAcks++
			return true
		}
		return false
	})
	return s
}

// see takes the next record read from the shard.
func (s *shardCheck) see(seq seqNum, hash uint64) {
	s.c.Read++
	if s.seen {
		switch seq.compare(s.last) {
		case 0:
			s.c.Duplicates++
			return
		case -1:
			s.c.OutOfOrder++
			return
		}
	}
	s.last, s.seen = seq, true
	for s.next < len(s.acked) && s.acked[s.next].seq.compare(seq) < 0 {
		s.c.Missing++
		s.next++
	}
	if s.next < len(s.acked) && s.acked[s.next].seq == seq {
		if s.acked[s.next].hash == hash {
			s.c.Matched++
		} else {
			s.c.Mismatched++
		}
		s.next++
		return
	}
	s.c.Extra++
}

// want returns the hash acknowledged for seq, if seq is the next acknowledged sequence number not
// yet read at or after the last one read. It does not consume anything.
func (s *shardCheck) want(seq seqNum) (uint64, bool) {
	i := s.next
	for i < len(s.acked) && s.acked[i].seq.compare(seq) < 0 {
		i++ // records see will count missing
	}
	if i < len(s.acked) && s.acked[i].seq == seq {
		return s.acked[i].hash, true
	}
	return 0, false
}

// badSeq counts a record read whose sequence number could not be parsed.
func (s *shardCheck) badSeq() {
	s.c.Read++
	s.c.BadSeqs++
}

// finish returns the counts; acknowledged records not read by now are missing.
func (s *shardCheck) finish() checkCounts {
	c := s.c
	c.Missing += int64(len(s.acked) - s.next)
	return c
}
