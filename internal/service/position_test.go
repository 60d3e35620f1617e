package service

import (
	"math"
	"testing"

	"kinesisd/internal/service/seqnum"
)

// TestSeqTextMatchesRecordSeq: the numbers seqText cuts from one string are recordSeq's, whatever the
// shard, its creation, the offset and the arrival (extremes included).
func TestSeqTextMatchesRecordSeq(t *testing.T) {
	type rec struct {
		index        uint32
		created      int64
		off          uint64
		arrivalMilli int64
	}
	recs := []rec{{0, 0, 0, 0}, {3, 1764000000, 41, 1764000000123}, {math.MaxUint32, math.MaxInt64, math.MaxUint64 - 1, math.MaxInt64},
		{7, -5, 1 << 48, -1}, {15, 1764000000, 1<<48 - 1, 1764000001999}}
	var seqs seqText
	seqs.grow(len(recs))
	for _, r := range recs {
		seqs.add(r.index, r.created, r.off, r.arrivalMilli)
	}
	numbers := seqs.numbers()
	if len(numbers) != len(recs)*seqnum.Len {
		t.Fatalf("%d bytes for %d numbers", len(numbers), len(recs))
	}
	for i, r := range recs {
		if got, want := numbers[i*seqnum.Len:(i+1)*seqnum.Len], recordSeq(r.index, r.created, r.off, r.arrivalMilli); got != want {
			t.Errorf("%+v: %s, recordSeq %s", r, got, want)
		}
	}
}
