package cbor

import (
	"io"
	"reflect"

	"kinesisd/internal/service"
)

// A GetRecords reply is up to 10 MiB of data: encoded by reflection into a buffer grown from 512
// bytes, it cost 10 µs a record (copies of the growing buffer, a boxed timestamp per record), ten
// times the JSON reply. WriteGetRecords writes the same bytes as Encode without reflection, a piece at
// a time, as awsjson.WriteGetRecords does.

// Keys of a GetRecords reply, encoded.
var (
	keyRecords            = appendText(nil, "Records")
	keyNextShardIterator  = appendText(nil, "NextShardIterator")
	keyMillisBehindLatest = appendText(nil, "MillisBehindLatest")
	keyChildShards        = appendText(nil, "ChildShards")
	keySequenceNumber     = appendText(nil, "SequenceNumber")
	keyArrival            = appendText(nil, "ApproximateArrivalTimestamp")
	keyData               = appendText(nil, "Data")
	keyPartitionKey       = appendText(nil, "PartitionKey")
	keyEncryptionType     = appendText(nil, "EncryptionType")
)

// childShardsType is the type of GetRecordsOutput.ChildShards, which is encoded by its plan: a reply
// has them once in a shard's life.
var childShardsType = reflect.TypeFor[[]service.ChildShard]()

// WriteGetRecords writes what Encode(out) returns to w, in pieces: buf (empty, with room for a few
// records) is filled to about its capacity, written and reused; a record's data larger than half of
// it is written from the record itself rather than copied. It returns the buffer, grown if it needed
// more room, for its owner to recycle, and w's first error.
func (c *Codec) WriteGetRecords(w io.Writer, buf []byte, out *service.GetRecordsOutput) ([]byte, error) {
	b := append(buf[:0], 0xbf)
	b = append(b, keyRecords...)
	b = append(b, 0x9f)
	var err error
	for i := range out.Records {
		r := &out.Records[i]
		b = append(b, 0xbf)
		b = append(b, keySequenceNumber...)
		b = appendText(b, r.SequenceNumber)
		b = append(b, keyArrival...)
		b = appendTimestamp(b, r.ApproximateArrivalTimestamp.UnixMilli())
		b = append(b, keyData...)
		b = appendHead(b, 0x40, uint64(len(r.Data)))
		if len(r.Data) > cap(b)/2 {
			if b, err = flush(w, b); err != nil {
				return b, err
			}
			if _, err := w.Write(r.Data); err != nil {
				return b, err
			}
		} else {
			b = append(b, r.Data...)
		}
		b = append(b, keyPartitionKey...)
		b = appendText(b, r.PartitionKey)
		if r.EncryptionType != "" {
			b = append(b, keyEncryptionType...)
			b = appendText(b, r.EncryptionType)
		}
		b = append(b, 0xff)
		if len(b) >= cap(b)/4*3 {
			if b, err = flush(w, b); err != nil {
				return b, err
			}
		}
	}
	b = append(b, 0xff)
	if out.NextShardIterator != nil {
		b = append(b, keyNextShardIterator...)
		b = appendText(b, *out.NextShardIterator)
	}
	b = append(b, keyMillisBehindLatest...)
	b = appendInt(b, out.MillisBehindLatest)
	if len(out.ChildShards) > 0 {
		b = append(b, keyChildShards...)
		if b, err = c.plan(childShardsType)(c, b, reflect.ValueOf(out.ChildShards)); err != nil {
			return buf[:0], err
		}
	}
	b = append(b, 0xff)
	return flush(w, b)
}

// flush writes b to w and returns it emptied.
func flush(w io.Writer, b []byte) ([]byte, error) {
	_, err := w.Write(b)
	return b[:0], err
}
