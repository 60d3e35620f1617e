package service

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
