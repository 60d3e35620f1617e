package console

import (
	"bytes"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
)

// KPL aggregated records: the Kinesis Producer Library packs many user records into one Kinesis record
// as the magic bytes F3 89 9A C2, a protobuf AggregatedRecord, and the MD5 of that protobuf:
//
//	message AggregatedRecord {
//	  repeated string partition_key_table = 1;
//	  repeated string explicit_hash_key_table = 2;
//	  repeated Record records = 3;
//	}
//	message Record {
//	  required uint64 partition_key_index = 1;
//	  optional uint64 explicit_hash_key_index = 2;
//	  required bytes data = 3;
//	  repeated Tag tags = 4;
//	}
//
// The few fields are decoded by hand (protobuf's wire format: varint keys, varints and length-delimited
// values), so that the console needs no protobuf library.

// kplMagic starts every KPL aggregated record.
var kplMagic = []byte{0xF3, 0x89, 0x9A, 0xC2}

// UserRecord is one user record of a KPL aggregated record.
type UserRecord struct {
	PartitionKey    string
	ExplicitHashKey string // "" when the record has none
	Data            []byte // shares the aggregated record's memory
}

// errNotAggregated says a record is not a KPL aggregate: it is shown as it is.
var errNotAggregated = errors.New("not a KPL aggregated record")

// Deaggregate returns the user records of a KPL aggregated record, or errNotAggregated when data lacks
// the magic bytes or its checksum does not match (a plain record that happens to start with them), or
// another error when the checksum matches but the protobuf does not parse.
func Deaggregate(data []byte) ([]UserRecord, error) {
	if len(data) < len(kplMagic)+md5.Size || !bytes.HasPrefix(data, kplMagic) {
		return nil, errNotAggregated
	}
	body := data[len(kplMagic) : len(data)-md5.Size]
	sum := md5.Sum(body)
	if !bytes.Equal(sum[:], data[len(data)-md5.Size:]) {
		return nil, errNotAggregated
	}
	var keys, hashKeys []string
	type rec struct {
		pk, ehk  uint64
		hasEHK   bool
		data     []byte
		hasPK    bool
		hasData  bool
		position int
	}
	var recs []rec
	err := fields(body, func(num int, typ int, v uint64, b []byte) error {
		switch {
		case num == 1 && typ == wireBytes:
			keys = append(keys, string(b))
		case num == 2 && typ == wireBytes:
			hashKeys = append(hashKeys, string(b))
		case num == 3 && typ == wireBytes:
			r := rec{position: len(recs)}
			err := fields(b, func(num int, typ int, v uint64, b []byte) error {
				switch {
				case num == 1 && typ == wireVarint:
					r.pk, r.hasPK = v, true
				case num == 2 && typ == wireVarint:
					r.ehk, r.hasEHK = v, true
				case num == 3 && typ == wireBytes:
					r.data, r.hasData = b, true
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("record %d: %w", len(recs), err)
			}
			recs = append(recs, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("KPL aggregated record: %w", err)
	}
	out := make([]UserRecord, 0, len(recs))
	for _, r := range recs {
		if !r.hasPK || !r.hasData {
			return nil, fmt.Errorf("KPL aggregated record: record %d lacks its partition key index or data", r.position)
		}
		if r.pk >= uint64(len(keys)) {
			return nil, fmt.Errorf("KPL aggregated record: record %d: partition key index %d of %d", r.position, r.pk, len(keys))
		}
		u := UserRecord{PartitionKey: keys[r.pk], Data: r.data}
		if r.hasEHK {
			if r.ehk >= uint64(len(hashKeys)) {
				return nil, fmt.Errorf("KPL aggregated record: record %d: explicit hash key index %d of %d", r.position, r.ehk, len(hashKeys))
			}
			u.ExplicitHashKey = hashKeys[r.ehk]
		}
		out = append(out, u)
	}
	return out, nil
}

// Protobuf wire types.
const (
	wireVarint = 0
	wire64     = 1
	wireBytes  = 2
	wire32     = 5
)

// fields calls f for each field of the protobuf message b: its number, wire type and value (v for
// varints and fixed-size values, b for length-delimited ones).
func fields(b []byte, f func(num int, typ int, v uint64, b []byte) error) error {
	for len(b) > 0 {
		key, n := binary.Uvarint(b)
		if n <= 0 {
			return errors.New("bad field key")
		}
		b = b[n:]
		num, typ := key>>3, int(key&7)
		if num == 0 || num > 1<<29-1 {
			return fmt.Errorf("bad field number %d", num)
		}
		var v uint64
		var val []byte
		switch typ {
		case wireVarint:
			if v, n = binary.Uvarint(b); n <= 0 {
				return fmt.Errorf("field %d: bad varint", num)
			}
			b = b[n:]
		case wire64:
			if len(b) < 8 {
				return fmt.Errorf("field %d: truncated", num)
			}
			v, b = binary.LittleEndian.Uint64(b), b[8:]
		case wire32:
			if len(b) < 4 {
				return fmt.Errorf("field %d: truncated", num)
			}
			v, b = uint64(binary.LittleEndian.Uint32(b)), b[4:]
		case wireBytes:
			size, n := binary.Uvarint(b)
			if n <= 0 || size > uint64(len(b)-n) {
				return fmt.Errorf("field %d: bad length", num)
			}
			val, b = b[n:n+int(size)], b[n+int(size):]
		default:
			return fmt.Errorf("field %d: unsupported wire type %d", num, typ)
		}
		if err := f(int(num), typ, v, val); err != nil {
			return err
		}
	}
	return nil
}
