package pebble

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"kinesisd/internal/storage"
)

// Key layout. Every key starts with a one-byte space tag:
//
//	'm' key                                  → metadata document    (valueFormat, version u64, document)
//	'v'                                      → last metadata version handed out (valueFormat, u64)
//	'f'                                      → kinesisd's on-disk format version (valueFormat, u64; format.go)
//	'l'                                      → the record log's synced position when the batch was built (valueFormat, segment u64, position u64; spans.go)
//	's' stream u64 shard u32 0x00            → trim floor           (valueFormat, offset u64)
//	's' stream u64 shard u32 0x01 offset u64 → record               (valueFormat, arrival i64, uvarint len(pk), pk, data)
//	's' stream u64 shard u32 0x02 offset u64 → time-index checkpoint (valueFormat, max arrival i64)
//	's' stream u64 shard u32 0x03            → seal                 (valueFormat, end u64)
//	's' stream u64 shard u32 0x04 offset u64 → span                 (valueFormat, segment u64, position u64, length u32, last offset u64; spans.go)
//
// Record keys are what kinesisd wrote before the record log (format version 1): a store upgraded
// from it reads them still, below every span of the shard; new records are spans.
//
// Integers are big-endian so that byte order is numeric order: a shard's records are contiguous and in
// offset order, and everything a stream owns (records, floors, index) lies in one range, so that
// DropStream is a single range deletion. The kind byte between shard and offset is what keeps the
// floor and the time index inside the stream's range without mixing them into the record range.
const (
	spaceMeta    = 'm'
	spaceVersion = 'v'
	spaceFormat  = 'f'
	spaceLog     = 'l'
	spaceShard   = 's'

	kindFloor  = 0x00
	kindRecord = 0x01
	kindIndex  = 0x02
	kindSeal   = 0x03
	kindSpan   = 0x04

	shardPrefixLen = 1 + 8 + 4          // space, stream, shard
	kindPrefixLen  = shardPrefixLen + 1 // … kind
	offsetKeyLen   = kindPrefixLen + 8  // … offset

	// valueFormat leads every value, so that a later encoding can be told apart from this one.
	valueFormat = 1
	// recordHeaderLen is the fixed part of a record value: format byte and arrival time.
	recordHeaderLen = 1 + 8
)

// errCorrupt marks a value this code cannot decode.
var errCorrupt = errors.New("pebble: corrupt value")

// versionKey is the key of the metadata version counter.
var versionKey = []byte{spaceVersion}

// formatKey is the key of the on-disk format version.
var formatKey = []byte{spaceFormat}

// logSyncedKey is the key of the record log's synced position (spans.go).
var logSyncedKey = []byte{spaceLog}

func metaKey(key string) []byte {
	b := make([]byte, 0, 1+len(key))
	return append(append(b, spaceMeta), key...)
}

// prefixEnd returns the smallest key greater than every key starting with p, or nil if there is none.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// putKindPrefix writes 's' stream shard kind into b, which must hold kindPrefixLen bytes.
func putKindPrefix(b []byte, ref storage.ShardRef, kind byte) {
	b[0] = spaceShard
	binary.BigEndian.PutUint64(b[1:9], ref.StreamID)
	binary.BigEndian.PutUint32(b[9:13], ref.Shard)
	b[13] = kind
}

// putOffsetKey writes the key of (ref, kind, offset) into b, which must hold offsetKeyLen bytes.
func putOffsetKey(b []byte, ref storage.ShardRef, kind byte, offset uint64) {
	putKindPrefix(b, ref, kind)
	binary.BigEndian.PutUint64(b[kindPrefixLen:offsetKeyLen], offset)
}

func offsetKey(ref storage.ShardRef, kind byte, offset uint64) []byte {
	b := make([]byte, offsetKeyLen)
	putOffsetKey(b, ref, kind, offset)
	return b
}

func recordKey(ref storage.ShardRef, offset uint64) []byte { return offsetKey(ref, kindRecord, offset) }
func indexKey(ref storage.ShardRef, offset uint64) []byte  { return offsetKey(ref, kindIndex, offset) }

// kindBounds returns the key range [lower, upper) holding every key of kind for ref.
func kindBounds(ref storage.ShardRef, kind byte) (lower, upper []byte) {
	lower = make([]byte, kindPrefixLen)
	putKindPrefix(lower, ref, kind)
	upper = make([]byte, kindPrefixLen)
	putKindPrefix(upper, ref, kind+1)
	return lower, upper
}

// sealKey is the key of a sealed shard's end (seal.go).
func sealKey(ref storage.ShardRef) []byte {
	b := make([]byte, kindPrefixLen)
	putKindPrefix(b, ref, kindSeal)
	return b
}

func floorKey(ref storage.ShardRef) []byte {
	b := make([]byte, kindPrefixLen)
	putKindPrefix(b, ref, kindFloor)
	return b
}

// streamBounds returns the key range [lower, upper) holding everything of stream id. upper is never
// nil: for the largest id it is the first key after the 's' space.
func streamBounds(id uint64) (lower, upper []byte) {
	lower = make([]byte, 9)
	lower[0] = spaceShard
	binary.BigEndian.PutUint64(lower[1:], id)
	return lower, prefixEnd(lower)
}

// keyOffset returns the offset of a record or index key.
func keyOffset(key []byte) (uint64, error) {
	if len(key) != offsetKeyLen {
		return 0, fmt.Errorf("%w: key %x", errCorrupt, key)
	}
	return binary.BigEndian.Uint64(key[kindPrefixLen:]), nil
}

// recordValueLen is the encoded size of r's value.
func recordValueLen(r *storage.Record) int {
	return recordHeaderLen + uvarintLen(uint64(len(r.PartitionKey))) + len(r.PartitionKey) + len(r.Data)
}

// putRecordValue encodes r into b, which must hold exactly recordValueLen(r) bytes.
func putRecordValue(b []byte, r *storage.Record) {
	b[0] = valueFormat
	binary.BigEndian.PutUint64(b[1:9], uint64(r.ArrivalMilli))
	n := recordHeaderLen + binary.PutUvarint(b[recordHeaderLen:], uint64(len(r.PartitionKey)))
	n += copy(b[n:], r.PartitionKey)
	copy(b[n:], r.Data)
}

// decodeRecordValue splits a record value into its parts; pk and data alias v.
func decodeRecordValue(v []byte) (arrival int64, pk, data []byte, err error) {
	arrival, err = decodeArrival(v)
	if err != nil {
		return 0, nil, nil, err
	}
	n, w := binary.Uvarint(v[recordHeaderLen:])
	if w <= 0 || n > uint64(len(v)-recordHeaderLen-w) {
		return 0, nil, nil, fmt.Errorf("%w: record partition key length", errCorrupt)
	}
	rest := v[recordHeaderLen+w:]
	return arrival, rest[:n], rest[n:], nil
}

// decodeArrival reads only the arrival time of a record value.
func decodeArrival(v []byte) (int64, error) {
	if len(v) < recordHeaderLen+1 || v[0] != valueFormat {
		return 0, fmt.Errorf("%w: record header", errCorrupt)
	}
	return int64(binary.BigEndian.Uint64(v[1:9])), nil
}

// encodeU64 encodes a value holding one unsigned integer (floor, index checkpoint, version counter).
func encodeU64(x uint64) []byte {
	b := make([]byte, 9)
	b[0] = valueFormat
	binary.BigEndian.PutUint64(b[1:], x)
	return b
}

func decodeU64(v []byte) (uint64, error) {
	if len(v) != 9 || v[0] != valueFormat {
		return 0, fmt.Errorf("%w: %x", errCorrupt, v)
	}
	return binary.BigEndian.Uint64(v[1:]), nil
}

// encodeMeta encodes a metadata document with its version.
func encodeMeta(version uint64, doc []byte) []byte {
	b := make([]byte, 9, 9+len(doc))
	b[0] = valueFormat
	binary.BigEndian.PutUint64(b[1:], version)
	return append(b, doc...)
}

// decodeMeta returns the version and document (aliasing v) of a metadata value.
func decodeMeta(v []byte) (version uint64, doc []byte, err error) {
	if len(v) < 9 || v[0] != valueFormat {
		return 0, nil, fmt.Errorf("%w: metadata header", errCorrupt)
	}
	return binary.BigEndian.Uint64(v[1:9]), v[9:], nil
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// noArrival is the running maximum of an empty log.
const noArrival = math.MinInt64
