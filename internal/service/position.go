package service

import (
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

// recordSeq is the sequence number of the record at offset off of shard index. Sequence numbers run one
// above offsets, so that a shard's StartingSequenceNumber (seqnum.Format(index, 0) for a shard starting
// at offset 0) sorts before every record of the shard and belongs to none.
func recordSeq(index uint32, off uint64) string { return seqnum.Format(index, off+1) }

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
