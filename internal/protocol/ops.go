package protocol

import (
	"context"
	"encoding/base64"
	"reflect"

	"kinesisd/internal/bufpool"
	"kinesisd/internal/protocol/awsjson"
	"kinesisd/internal/protocol/cbor"
	"kinesisd/internal/protocol/keytext"
	"kinesisd/internal/service"
)

// operations maps each X-Amz-Target operation name to its handler: the groups of ops_*.go merged. Each
// handler runs on the Service of the caller's account and region, which the edge passes it.
func operations(bufs *bufpool.Pool, m *metrics) map[string]opFunc {
	ops := streamOps(bufs, m)
	for _, group := range []map[string]opFunc{reshardOps(), consumerOps(), resourceOps(), subscribeOps(), queueOps(), channelOps()} {
		for name, f := range group {
			ops[name] = f
		}
	}
	return ops
}

// streamOps are the stream and record operations.
func streamOps(bufs *bufpool.Pool, m *metrics) map[string]opFunc {
	return map[string]opFunc{
		"CreateStream":          unit((*service.Service).CreateStream),
		"DeleteStream":          unit((*service.Service).DeleteStream),
		"DescribeStreamSummary": call((*service.Service).DescribeStreamSummary),
		"DescribeStream":        call((*service.Service).DescribeStream),
		"ListStreams":           call((*service.Service).ListStreams),
		"ListShards":            call((*service.Service).ListShards),
		"PutRecord":             putRecord(m.data("PutRecord")),
		"PutRecords":            putRecords(bufs, m.data("PutRecords")),
		"GetShardIterator":      call((*service.Service).GetShardIterator),
		"GetRecords":            getRecords(bufs, m.data("GetRecords")),
	}
}

// putRecord is PutRecord, counting the record it wrote in written.
func putRecord(written dataCounter) opFunc {
	fields := streamFields(reflect.TypeFor[service.PutRecordInput]())
	return func(ctx context.Context, op string, svc *service.Service, c codec, body []byte, lg *callLog) (any, error) {
		in := new(service.PutRecordInput)
		err := c.decode(body, in)
		if lg != nil {
			lg.stream = streamOf(in, fields)
		}
		if err != nil {
			return nil, err
		}
		if svc, err = svc.Authorize(ctx, op, in); err != nil {
			return nil, err
		}
		out, err := svc.PutRecord(ctx, in)
		if err != nil {
			return nil, err
		}
		written.addStream(in.StreamRef, 1, len(in.Data))
		lg.add(1, len(in.Data))
		return out, nil
	}
}

// putRecords decodes with the codecs' PutRecords fast paths: JSON into a pooled buffer that is
// recycled once the records are stored, CBOR with the records' data left in the body, which the
// handler recycles once the operation has returned (the store keeps no reference to either:
// storage.Store.Append). It encodes the reply without reflection, and counts the records written
// (not those that failed) in written.
func putRecords(bufs *bufpool.Pool, written dataCounter) opFunc {
	fields := streamFields(reflect.TypeFor[service.PutRecordsInput]())
	return func(ctx context.Context, op string, svc *service.Service, c codec, body []byte, lg *callLog) (any, error) {
		in := new(service.PutRecordsInput)
		mem := keytext.GetMemory() // in's records: no longer used once this returns
		defer mem.Free()
		var err error
		switch c := c.(type) {
		case awsJSON:
			data := bufs.Get(base64.StdEncoding.DecodedLen(len(body)))
			defer bufs.Put(data)
			err = awsjson.DecodePutRecords(body, in, data, mem)
		case awsCBOR:
			err = c.c.DecodePutRecords(body, in, mem)
		default:
			err = c.decode(body, in)
		}
		if lg != nil {
			lg.stream = streamOf(in, fields)
		}
		if err != nil {
			return nil, err
		}
		if svc, err = svc.Authorize(ctx, op, in); err != nil {
			return nil, err
		}
		out, err := svc.PutRecords(ctx, in)
		if err != nil {
			return nil, err
		}
		countPut(written, lg, in, out)
		switch c.(type) {
		case awsJSON:
			resp := awsjson.AppendPutRecords(bufs.Get(awsjson.PutRecordsLen(out)), out)
			out.Release() // encoded: the results' memory goes back to the service
			return encoded(resp), nil
		case awsCBOR:
			resp := cbor.AppendPutRecords(bufs.Get(cbor.PutRecordsLen(out)), out)
			out.Release()
			return encoded(resp), nil
		}
		return out, nil
	}
}

// countPut counts the records of in that out reports written (those without an ErrorCode), and their
// data bytes, in written and lg.
func countPut(written dataCounter, lg *callLog, in *service.PutRecordsInput, out *service.PutRecordsOutput) {
	n, size := 0, 0
	for i := range in.Records {
		if out.FailedRecordCount == 0 || i < len(out.Records) && out.Records[i].ErrorCode == "" {
			n++
			size += len(in.Records[i].Data)
		}
	}
	written.addStream(in.StreamRef, n, size)
	lg.add(n, size)
}

// dataSize is the data bytes of recs.
func dataSize(recs []service.Record) int {
	size := 0
	for i := range recs {
		size += len(recs[i].Data)
	}
	return size
}

// getRecords has the handler write its reply a piece at a time (getRecordsReply). It counts the
// records returned in read.
func getRecords(bufs *bufpool.Pool, read dataCounter) opFunc {
	fields := streamFields(reflect.TypeFor[service.GetRecordsInput]())
	return func(ctx context.Context, op string, svc *service.Service, c codec, body []byte, lg *callLog) (any, error) {
		in := new(service.GetRecordsInput)
		err := c.decode(body, in)
		if lg != nil {
			lg.stream = streamOf(in, fields)
		}
		if err != nil {
			return nil, err
		}
		if svc, err = svc.Authorize(ctx, op, in); err != nil {
			return nil, err
		}
		out, err := svc.GetRecords(ctx, in)
		if err != nil {
			return out, err
		}
		size := dataSize(out.Records)
		read.add(len(out.Records), size)
		lg.add(len(out.Records), size)
		return getRecordsReply{out}, nil
	}
}

// getRecordsReply is a GetRecords output that the handler writes a piece at a time
// (codec.writeGetRecords) rather than encoded whole: a reply of 10 MiB of data is 14 MB of JSON,
// which four readers at once would otherwise hold in memory on top of their records.
type getRecordsReply struct{ out *service.GetRecordsOutput }

// getRecordsPiece is the buffer of a getRecordsReply: written each time it is three-quarters
// full. Large enough that the writes cost little (a few dozen per full reply), small enough to be
// negligible beside the records.
const getRecordsPiece = 256 << 10

// encoded is an output already in its wire form, in a buffer from the handler's pool: the handler
// puts it back once written.
type encoded []byte

// call adapts an operation with output, a method expression such as (*service.Service).ListStreams.
func call[In, Out any](f func(*service.Service, context.Context, *In) (*Out, error)) opFunc {
	fields := streamFields(reflect.TypeFor[In]())
	return func(ctx context.Context, op string, svc *service.Service, c codec, body []byte, lg *callLog) (any, error) {
		in := new(In)
		err := c.decode(body, in)
		if lg != nil {
			lg.stream = streamOf(in, fields)
		}
		if err != nil {
			return nil, err
		}
		if svc, err = svc.Authorize(ctx, op, in); err != nil {
			return nil, err
		}
		out, err := f(svc, ctx, in)
		if err != nil {
			return nil, err
		}
		return out, nil
	}
}

// unit adapts an operation without output, a method expression such as (*service.Service).CreateStream.
func unit[In any](f func(*service.Service, context.Context, *In) error) opFunc {
	fields := streamFields(reflect.TypeFor[In]())
	return func(ctx context.Context, op string, svc *service.Service, c codec, body []byte, lg *callLog) (any, error) {
		in := new(In)
		err := c.decode(body, in)
		if lg != nil {
			lg.stream = streamOf(in, fields)
		}
		if err != nil {
			return nil, err
		}
		if svc, err = svc.Authorize(ctx, op, in); err != nil {
			return nil, err
		}
		return nil, f(svc, ctx, in)
	}
}
