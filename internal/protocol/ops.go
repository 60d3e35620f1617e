package protocol

import (
	"context"

	"kinesisd/internal/protocol/awsjson"
	"kinesisd/internal/service"
)

// operations maps each X-Amz-Target operation name to its handler: the groups of ops_*.go merged.
func operations(svc *service.Service) map[string]opFunc {
	ops := streamOps(svc)
	for _, group := range []map[string]opFunc{reshardOps(svc), consumerOps(svc), resourceOps(svc), subscribeOps(svc)} {
		for name, f := range group {
			ops[name] = f
		}
	}
	return ops
}

// streamOps are the stream and record operations.
func streamOps(svc *service.Service) map[string]opFunc {
	return map[string]opFunc{
		"CreateStream":          unit(svc.CreateStream),
		"DeleteStream":          unit(svc.DeleteStream),
		"DescribeStreamSummary": call(svc.DescribeStreamSummary),
		"DescribeStream":        call(svc.DescribeStream),
		"ListStreams":           call(svc.ListStreams),
		"ListShards":            call(svc.ListShards),
		"PutRecord":             call(svc.PutRecord),
		"PutRecords":            putRecords(svc),
		"GetShardIterator":      call(svc.GetShardIterator),
		"GetRecords":            getRecords(svc),
	}
}

// putRecords decodes JSON with the PutRecords fast path.
func putRecords(svc *service.Service) opFunc {
	return func(ctx context.Context, c codec, body []byte) (any, error) {
		in := new(service.PutRecordsInput)
		var err error
		if c == jsonCodec {
			err = awsjson.DecodePutRecords(body, in)
		} else {
			err = c.decode(body, in)
		}
		if err != nil {
			return nil, err
		}
		return svc.PutRecords(ctx, in)
	}
}

// getRecords encodes JSON with the GetRecords fast path.
func getRecords(svc *service.Service) opFunc {
	return func(ctx context.Context, c codec, body []byte) (any, error) {
		in := new(service.GetRecordsInput)
		if err := c.decode(body, in); err != nil {
			return nil, err
		}
		out, err := svc.GetRecords(ctx, in)
		if err != nil || c != jsonCodec {
			return out, err
		}
		b, err := awsjson.EncodeGetRecords(out)
		return encoded(b), err
	}
}

// encoded is an output already in its wire form.
type encoded []byte

// call adapts an operation with output.
func call[In, Out any](f func(context.Context, *In) (*Out, error)) opFunc {
	return func(ctx context.Context, c codec, body []byte) (any, error) {
		in := new(In)
		if err := c.decode(body, in); err != nil {
			return nil, err
		}
		out, err := f(ctx, in)
		if err != nil {
			return nil, err
		}
		return out, nil
	}
}

// unit adapts an operation without output.
func unit[In any](f func(context.Context, *In) error) opFunc {
	return func(ctx context.Context, c codec, body []byte) (any, error) {
		in := new(In)
		if err := c.decode(body, in); err != nil {
			return nil, err
		}
		return nil, f(ctx, in)
	}
}
