package bench

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/maphash"

	"github.com/fxamacker/cbor/v2"
)

// PutRecords in CBOR (-cbor), as the Java SDK v2, the KPL and the KCL send it
// (application/x-amz-cbor-1.1): the body is a CBOR map whose records carry their data as byte
// strings, so a request is built once and per request only the stamp bytes at the front of each
// record change, in place. The read-back check still compares GetRecords' base64 data, so with it on
// each record's base64 is hashed from a scratch buffer.

// newPutBodyCBOR builds {"StreamName": …, "Records": [{"Data": h'…', "PartitionKey": …}, …]} in CBOR.
func newPutBodyCBOR(stream string, data [][]byte, keys []string) *putBody {
	b := &putBody{data: data, dataAt: make([]int, len(data)), hashes: make([]uint64, len(data)), cbor: true}
	buf := cborHead(nil, 5, 2)
	buf = cborText(buf, "StreamName")
	buf = cborText(buf, stream)
	buf = cborText(buf, "Records")
	buf = cborHead(buf, 4, uint64(len(data)))
	for i, d := range data {
		buf = cborHead(buf, 5, 2)
		buf = cborText(buf, "Data")
		buf = cborHead(buf, 2, uint64(len(d)))
		b.dataAt[i] = len(buf)
		buf = append(buf, d...)
		buf = cborText(buf, "PartitionKey")
		buf = cborText(buf, keys[i])
	}
	b.buf = buf
	// The records' data now lives in the body: stamping writes there.
	for i, d := range data {
		b.data[i] = b.buf[b.dataAt[i] : b.dataAt[i]+len(d) : b.dataAt[i]+len(d)]
	}
	return b
}

// cborHead appends the head of a CBOR item of major type major and argument n.
func cborHead(b []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(b, m|byte(n))
	case n <= 0xff:
		return append(b, m|24, byte(n))
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(b, m|25), uint16(n))
	case n <= 0xffffffff:
		return binary.BigEndian.AppendUint32(append(b, m|26), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, m|27), n)
}

func cborText(b []byte, s string) []byte { return append(cborHead(b, 3, uint64(len(s))), s...) }

// stampCBOR writes (worker, request, index) into the front of every record, in the body itself, and,
// when hash is set, rehashes each record's base64 (what GetRecords will return) through scratch.
func (b *putBody) stampCBOR(seed maphash.Seed, worker, request uint32, hash bool) {
	var st [stampLen]byte
	binary.BigEndian.PutUint32(st[0:], worker)
	binary.BigEndian.PutUint32(st[4:], request)
	for i, d := range b.data {
		binary.BigEndian.PutUint32(st[8:], uint32(i))
		copy(d, st[:])
		if hash {
			b.scratch = base64.StdEncoding.AppendEncode(b.scratch[:0], d)
			b.hashes[i] = hashData(seed, b.scratch)
		}
	}
}

// cborPutResponse is a PutRecords response as CBOR carries it.
type cborPutResponse struct {
	Records []struct {
		SequenceNumber string
		ShardId        string
		ErrorCode      string
		ErrorMessage   string
	}
}

// parsePutRecordsCBOR reads a CBOR PutRecords response into results, reusing its entries.
func parsePutRecordsCBOR(body []byte, results []putResult) ([]putResult, error) {
	var r cborPutResponse
	if err := cbor.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("PutRecords response: %w", err)
	}
	results = results[:0]
	for _, e := range r.Records {
		results = append(results, putResult{seq: nonEmpty(e.SequenceNumber), shard: nonEmpty(e.ShardId),
			code: nonEmpty(e.ErrorCode), msg: nonEmpty(e.ErrorMessage)})
	}
	return results, nil
}

// nonEmpty is s as bytes, nil when empty (as the JSON scanner leaves an absent member).
func nonEmpty(s string) []byte {
	if s == "" {
		return nil
	}
	return []byte(s)
}
