package bench

import (
	"cmp"
	"encoding/base64"
	"encoding/binary"
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
	if len(b) == 0 || len(b) > 57 {
		return seqNum{}, false
	}
	// The first len%8 digits one at a time, the rest 8 at a time (digits8), gathered into chunks of
	// at most 19 digits (10^19 < 2^64), each added as n = n·10^k + chunk over the three words. This
	// runs for every record acknowledged and every record read back, on the cores the server under
	// test uses: a 56-digit number is 7 groups and 4 chunks.
	head := len(b) % 8
	var chunk uint64
	for _, c := range b[:head] {
		if c < '0' || c > '9' {
			return seqNum{}, false
		}
		chunk = chunk*10 + uint64(c-'0')
	}
	k := head             // digits in chunk
	var n0, n1, n2 uint64 // the words of n, in registers
	for b = b[head:]; len(b) > 0; b = b[8:] {
		g, ok := digits8(b)
		if !ok {
			return seqNum{}, false
		}
		if k+8 > 19 {
			n0, n1, n2 = mulAdd(n0, n1, n2, pow10[k], chunk)
			chunk, k = 0, 0
		}
		chunk, k = chunk*1e8+g, k+8
	}
	n0, n1, n2 = mulAdd(n0, n1, n2, pow10[k], chunk)
	return seqNum{n0, n1, n2}, true
}

// digits8 reads the 8 decimal digits at the front of b (which has at least 8 bytes) with a few
// operations on one word (SWAR), or reports false if one of the 8 bytes is not a digit.
func digits8(b []byte) (uint64, bool) {
	v := binary.LittleEndian.Uint64(b) // b[0], the most significant digit, in the low byte
	// A byte is a digit, 0x30 to 0x39, when its high nibble is 3 and so is that of the byte plus 6.
	// A byte plus 6 carries into the next only when it is 0xfa or more, itself not a digit.
	const hi = 0xf0f0f0f0f0f0f0f0
	if v&hi|(v+0x0606060606060606)&hi>>4 != 0x3333333333333333 {
		return 0, false
	}
	v -= 0x3030303030303030
	v = v*10 + v>>8 // byte pairs 0-1, 2-3, 4-5, 6-7: two digits each, in the even bytes
	v = ((v&0x000000ff000000ff)*(100+1000000<<32) + (v>>16&0x000000ff000000ff)*(1+10000<<32)) >> 32
	return v, true
}

// mulAdd returns n·m + a, n and the result given as three words, most significant first. The
// result must fit in 192 bits (as a number of at most 57 digits does).
func mulAdd(n0, n1, n2, m, a uint64) (uint64, uint64, uint64) {
	hi, lo := bits.Mul64(n2, m)
	lo, c := bits.Add64(lo, a, 0)
	n2, a = lo, hi+c
	hi, lo = bits.Mul64(n1, m)
	lo, c = bits.Add64(lo, a, 0)
	n1, a = lo, hi+c
	return n0*m + a, n1, n2
}

// pow10[k] is 10^k, k ≤ 19.
var pow10 = func() (p [20]uint64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// compare returns -1, 0 or +1 as a is less than, equal to or greater than b. The read-back compares
// every record's sequence number a few times: the words are compared without a loop.
func (a seqNum) compare(b seqNum) int {
	switch {
	case a[0] != b[0]:
		return cmp.Compare(a[0], b[0])
	case a[1] != b[1]:
		return cmp.Compare(a[1], b[1])
	}
	return cmp.Compare(a[2], b[2])
}

// ack is what the check keeps of one acknowledged (or read) record: 32 bytes, not its data.
type ack struct {
	seq  seqNum
	hash uint64 // hashData of the record's data in canonical base64
}

// hashData is the record hash the check compares, of the record's data in base64 as the request
// carried it (the standard alphabet, padded: canonical, one text per byte string). Hashing the text
// rather than the bytes spares the read-back decoding every record, which would cost the client more
// than the server spends sending it; a record whose text differs is decoded (JSON escapes, then
// base64) and re-encoded before it is called a mismatch (see shardReader.rehash). maphash, the runtime's AES-based hash, runs at several GB/s.
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
