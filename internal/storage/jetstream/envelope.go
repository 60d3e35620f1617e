package jetstream

import (
	"encoding/binary"
	"errors"
	"math"

	"kinesisd/internal/storage"
)

// A record is stored as one JetStream message whose payload is this envelope:
//
//	version  1 byte (envelopeV1)
//	maxArr   8 bytes, big-endian int64: the running maximum of ArrivalMilli over the shard's log up to
//	         and including this record (the time index, see timeindex.go)
//	arrival  zigzag varint: ArrivalMilli
//	keyLen   uvarint, then the partition key's bytes
//	data     the rest
//
// A binary envelope rather than NATS headers: a partition key is any Unicode (headers cannot carry
// CR or LF), and headers are text that every read would parse. maxArr has a fixed width so that
// Append can build the envelopes before taking the stream's publish lock and patch only those 8 bytes
// under it.
const (
	envelopeV1     = 1
	maxArrOffset   = 1
	envelopeHeader = 1 + 8 // version and maxArr; the varints follow
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

// appendEnvelope appends r's envelope, with maxArr 0 (setMaxArr fills it in), to dst.
func appendEnvelope(dst []byte, r *storage.Record) []byte {
	dst = append(dst, envelopeV1, 0, 0, 0, 0, 0, 0, 0, 0)
	dst = binary.AppendVarint(dst, r.ArrivalMilli)
	dst = binary.AppendUvarint(dst, uint64(len(r.PartitionKey)))
	dst = append(dst, r.PartitionKey...)
	return append(dst, r.Data...)
}

// setMaxArr sets the running maximum in an envelope built by appendEnvelope.
func setMaxArr(env []byte, maxArr int64) {
	binary.BigEndian.PutUint64(env[maxArrOffset:], uint64(maxArr))
}

// parseEnvelope decodes an envelope. The record's Data aliases p, capped so that appending to it
// cannot write into p beyond it.
func parseEnvelope(p []byte) (r storage.Record, maxArr int64, err error) {
	if len(p) < envelopeHeader || p[0] != envelopeV1 {
		return r, 0, errBadEnvelope
	}
	maxArr = int64(binary.BigEndian.Uint64(p[maxArrOffset:]))
	rest := p[envelopeHeader:]
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
	if len(p) < envelopeHeader || p[0] != envelopeV1 {
		return 0, errBadEnvelope
	}
	return int64(binary.BigEndian.Uint64(p[maxArrOffset:])), nil
}
