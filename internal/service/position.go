package service

import (
	"slices"
	"unsafe"

	"kinesisd/internal/service/seqnum"
	"kinesisd/internal/service/stream"
)

// Positions in a shard: the iterator types, sequence numbers and where a read starts, and the shards
// that follow a closed one.

// seqStart is the offset a read positioned at sequence number (offset, tick) starts at, for
// AT_SEQUENCE_NUMBER and AFTER_SEQUENCE_NUMBER. Sequence number n with tick 0 is the record at offset
// n-1 (n = 0: before the shard's first record), so AT it starts at n-1 and AFTER it at n. A ticked
// number (an idle SubscribeToShard continuation) is a point after that record and before the next:
// AT and AFTER it both start at n, so that resuming from it delivers nothing twice.
func seqStart(typ string, offset, tick uint64) uint64 {
	if typ == atSequenceNumber && offset > 0 && tick == 0 {
		return offset - 1
	}
	return offset
}

// Sequence numbers are in AWS's layout (seqnum.Pos): the shard's creation field, the sequence index,
// a spare byte for continuations, the record's arrival second and the shard index. The sequence index
// of a record is its offset plus one, so that a shard's StartingSequenceNumber (sequence index
// StartOffset) sorts before every record of the shard and belongs to none. Numbers of the first form
// (seqnum.Legacy), handed out before, are read wherever a number is taken (parseSeq).

// recordSeq is the sequence number of the record at offset off of the shard with index and SeqCreated
// created, which arrived at arrivalMilli.
func recordSeq(index uint32, created int64, off uint64, arrivalMilli int64) string {
	return recordPos(index, created, off, arrivalMilli).Format()
}

// recordPos is what recordSeq's number holds.
func recordPos(index uint32, created int64, off uint64, arrivalMilli int64) seqnum.Pos {
	return seqnum.Pos{Shard: index, ShardCreated: created, Offset: off + 1, RecordTime: arrivalMilli / 1000}
}

// seqText holds the sequence numbers (recordSeq's) of the records of one call back to back, so that
// they take one buffer rather than one allocation each: 10,000 in a GetRecords, 500 in a PutRecords.
// The buffer may come from a reply's pooled memory (replymem.go): numbers hands it out as a string
// without copying, so it must not be rewritten while the reply is in use (only its Release does).
type seqText struct{ b []byte }

// grow makes room for n more numbers.
func (t *seqText) grow(n int) { t.b = slices.Grow(t.b, n*seqnum.Len) }

// add appends recordSeq(index, created, off, arrivalMilli).
func (t *seqText) add(index uint32, created int64, off uint64, arrivalMilli int64) {
	t.b = recordPos(index, created, off, arrivalMilli).Append(t.b)
}

// numbers returns the numbers added, in order: every number has seqnum.Len digits, the i-th is
// numbers()[i*seqnum.Len:][:seqnum.Len]. The string shares t's buffer (later adds do not change it:
// they write past its end, or into a new buffer).
func (t *seqText) numbers() string { return unsafe.String(unsafe.SliceData(t.b), len(t.b)) }

// startingSeq is the StartingSequenceNumber of sh.
func startingSeq(sh *stream.Shard) string {
	return seqnum.Pos{Shard: sh.Index, ShardCreated: sh.SeqCreated, Offset: sh.StartOffset, RecordTime: sh.SeqCreated}.Format()
}

// endingSeq is the EndingSequenceNumber of a closed shard: at its last record's place (its start if it
// has none) with the second it closed, so at or above the last record's number and below every number
// of its children.
func endingSeq(sh *stream.Shard) string {
	return seqnum.Pos{Shard: sh.Index, ShardCreated: sh.SeqCreated, Offset: max(sh.EndOffset, sh.StartOffset), RecordTime: sh.ClosedMilli / 1000}.Format()
}

// parseSeq reads a sequence number of either form; ok is false for anything else.
func parseSeq(s string) (seqnum.Pos, bool) {
	p, _, err := seqnum.Decode(s)
	return p, err == nil
}

// Shard iterator types.
const (
	atSequenceNumber    = "AT_SEQUENCE_NUMBER"
	afterSequenceNumber = "AFTER_SEQUENCE_NUMBER"
	trimHorizon         = "TRIM_HORIZON"
	latest              = "LATEST"
	atTimestamp         = "AT_TIMESTAMP"
)

// children returns the shards whose parent or adjacent parent is index.
func children(st *stream.Stream, index uint32) []ChildShard {
	var out []ChildShard
	for _, sh := range st.Doc.Shards {
		isChild := (sh.Parent != nil && *sh.Parent == index) || (sh.AdjacentParent != nil && *sh.AdjacentParent == index)
		if !isChild {
			continue
		}
		parents := []string{stream.ShardID(*sh.Parent)}
		if sh.AdjacentParent != nil {
			parents = append(parents, stream.ShardID(*sh.AdjacentParent))
		}
		out = append(out, ChildShard{
			ShardId:      stream.ShardID(sh.Index),
			ParentShards: parents,
			HashKeyRange: HashKeyRange{StartingHashKey: sh.StartHash, EndingHashKey: sh.EndHash},
		})
	}
	return out
}
