package jetstream

import (
	"encoding/binary"
	"errors"
	"math"

	"kinesisd/internal/storage"
)

// A record is stored as one JetStream message whose payload is this envelope:
//
//	version  1 byte (envelopeV2; envelopeV1 is still read)
//	maxArr   8 bytes, big-endian int64: the running maximum of ArrivalMilli over the shard's log up to
//	         and including this record (the time index, see timeindex.go)
//	ordinal  8 bytes, big-endian uint64, in envelopeV2 only: the record's number along the shard's
//	         log, from 1, counting the records retention has deleted since (ordinal.go); 0: unknown
//	arrival  zigzag varint: ArrivalMilli
//	keyLen   uvarint, then the partition key's bytes
//	data     the rest
//
// A binary envelope rather than NATS headers: a partition key is any Unicode (headers cannot carry
// CR or LF), and headers are text that every read would parse. maxArr and ordinal have a fixed width
// so that Append can build the envelopes before taking the stream's publish lock and patch only
// those bytes under it. A record written by a kinesisd from before envelopeV2 has no ordinal (0).
const (
	envelopeV1     = 1
	envelopeV2     = 2
	maxArrOffset   = 1
	ordinalOffset  = 1 + 8
	envelopeHeader = 1 + 8 + 8 // version, maxArr and ordinal (envelopeV2); the varints follow
)

// noArrival is the running maximum of a shard with no records: below every ArrivalMilli.
const noArrival = math.MinInt64

var errBadEnvelope = errors.New("jetstream: malformed record envelope")

// envelopeLen is the length of r's envelope.
func envelopeLen(r *storage.Record) int {
	var buf [binary.MaxVarintLen64]byte
	return envelopeHeader + binary.PutVarint(buf[:], r.ArrivalMilli) +
		binary.PutUvarint(buf[:], uint64(len(r.PartitionKey))) + len(r.PartitionKey) + len(r.Data)
}

// appendEnvelope appends r's envelope, with maxArr and ordinal 0 (setMaxArr and setOrdinal fill them
// in), to dst.
func appendEnvelope(dst []byte, r *storage.Record) []byte {
	dst = append(dst, envelopeV2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	dst = binary.AppendVarint(dst, r.ArrivalMilli)
	dst = binary.AppendUvarint(dst, uint64(len(r.PartitionKey)))
	dst = append(dst, r.PartitionKey...)
	return append(dst, r.Data...)
}

// setMaxArr sets the running maximum in an envelope built by appendEnvelope.
func setMaxArr(env []byte, maxArr int64) {
	binary.BigEndian.PutUint64(env[maxArrOffset:], uint64(maxArr))
}

// setOrdinal sets the ordinal in an envelope built by appendEnvelope.
func setOrdinal(env []byte, ordinal uint64) {
	binary.BigEndian.PutUint64(env[ordinalOffset:], ordinal)
}

// headerLen is the length of p's fixed header by its version, or 0 if p is not an envelope.
func headerLen(p []byte) int {
	switch {
	case len(p) >= 1+8 && p[0] == envelopeV1:
		return 1 + 8
	case len(p) >= envelopeHeader && p[0] == envelopeV2:
		return envelopeHeader
	}
	return 0
}

// parseEnvelope decodes an envelope. The record's Data aliases p, capped so that appending to it
// cannot write into p beyond it.
func parseEnvelope(p []byte) (r storage.Record, maxArr int64, err error) {
	h := headerLen(p)
	if h == 0 {
		return r, 0, errBadEnvelope
	}
	maxArr = int64(binary.BigEndian.Uint64(p[maxArrOffset:]))
	rest := p[h:]
	arrival, n := binary.Varint(rest)
	if n <= 0 {
		return r, 0, errBadEnvelope
	}
	rest = rest[n:]
	keyLen, n := binary.Uvarint(rest)
	if n <= 0 || keyLen > uint64(len(rest)-n) {
		return r, 0, errBadEnvelope
	}
	rest = rest[n:]
	r.ArrivalMilli = arrival
	r.PartitionKey = string(rest[:keyLen])
	r.Data = rest[keyLen:len(rest):len(rest)]
	return r, maxArr, nil
}

// envelopeMaxArr reads only the running maximum of an envelope.
func envelopeMaxArr(p []byte) (int64, error) {
	if headerLen(p) == 0 {
		return 0, errBadEnvelope
	}
	return int64(binary.BigEndian.Uint64(p[maxArrOffset:])), nil
}

// envelopeOrdinal reads only the ordinal of an envelope: 0 for one without (envelopeV1) or that is
// not an envelope.
func envelopeOrdinal(p []byte) uint64 {
	if headerLen(p) != envelopeHeader {
		return 0
	}
	return binary.BigEndian.Uint64(p[ordinalOffset:])
}
