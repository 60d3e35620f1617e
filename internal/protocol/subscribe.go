package protocol

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"iter"
	"net/http"
	"reflect"
	"sync"
	"time"

	"kinesisd/internal/kerr"
	"kinesisd/internal/protocol/awsjson"
	"kinesisd/internal/protocol/cbor"
	"kinesisd/internal/protocol/eventstream"
	"kinesisd/internal/service"
)

// subscribeWriteTimeout bounds the write of one event: a client that stops reading is dropped rather
// than holding its subscription (and the server's shutdown) forever.
const subscribeWriteTimeout = 30 * time.Second

// subscribeStartDelay holds the response back a moment after the request was read. The Go SDK's
// HTTP/1.1 transport still touches the request body after it sent it (an extra read that checks for
// excess bytes) while smithy-go closes that body as soon as the response headers arrive; when the
// response wins that race, the extra read fails with io.EOF (smithy-go's safe body returns it from
// WriteTo) and net/http closes the connection, killing the event stream a moment after it started.
// AWS's network latency hides the race; a local server must leave the transport those microseconds.
const subscribeStartDelay = 10 * time.Millisecond

// subscribeOps is SubscribeToShard: an operation whose answer is an event stream.
func subscribeOps() map[string]opFunc {
	return map[string]opFunc{"SubscribeToShard": subscribeToShard()}
}

// subscription is SubscribeToShard's output as the edge sees it: ServeHTTP hands it to stream.
type subscription struct {
	initial *service.SubscribeToShardOutput
	events  iter.Seq2[service.SubscribeToShardEvent, error]
}

func subscribeToShard() opFunc {
	fields := streamFields(reflect.TypeFor[service.SubscribeToShardInput]())
	return func(ctx context.Context, op string, svc *service.Service, c codec, body []byte, lg *callLog) (any, error) {
		in := new(service.SubscribeToShardInput)
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
		out, events, err := svc.SubscribeToShard(ctx, in)
		if err != nil {
			return nil, err
		}
		return &subscription{initial: out, events: events}, nil
	}
}

// eventPayloadType is the :content-type of event payloads for a request in codec c: the payloads are
// written by the request's own codec, JSON as application/json (what AWS sends), any other codec
// (CBOR) in its own content type.
func eventPayloadType(c codec) string {
	if c.contentType() == awsjson.ContentType {
		return "application/json"
	}
	return c.contentType()
}

// exceptionPayload is the payload of an in-stream exception.
type exceptionPayload struct {
	Message string `json:"message"`
}

// stream answers a subscription: 200 with an event stream of initial-response, then every event, each
// flushed as it is written (HTTP/1.1 chunked, HTTP/2 DATA frames), then either the end of the body
// (a clean end) or an exception message. It calls initialized when the initial response is ready to
// be written (the request's duration ends there), counts itself in kinesisd_subscriptions_open while it
// runs, and counts the records it delivers (in the request line's too).
func (h *Handler) stream(x *exchange, c codec, sub *subscription, initialized func()) {
	w, op, reqID := http.ResponseWriter(x), x.op, x.reqID
	h.metrics.subscriptions.Inc()
	defer h.metrics.subscriptions.Dec() // deferred first: runs after the events are let go
	time.Sleep(subscribeStartDelay)
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", eventstream.ContentType)
	w.WriteHeader(http.StatusOK)
	ew := eventstream.NewWriter(w, rc.Flush)
	// The subscription holds its consumer's shard (the lease) until its events end: a subscription
	// whose initial response cannot be written still runs them, to its first event, so that it lets go.
	ranged := false
	defer func() {
		if !ranged {
			for range sub.events {
				break
			}
		}
	}()
	ct := eventPayloadType(c)
	deadline := func() { rc.SetWriteDeadline(time.Now().Add(subscribeWriteTimeout)) } // unsupported: no deadline
	deadline()
	initial, err := c.encode(sub.initial)
	if err != nil {
		initialized()
		h.log.Error("encode initial response", "request_id", reqID, "err", err)
		return
	}
	initialized() // before the write: a client that has the response sees the duration counted
	if err := ew.Event("initial-response", ct, initial); err != nil {
		h.log.Debug("write event", "request_id", reqID, "err", err)
		return
	}
	ranged = true
	for ev, err := range sub.events {
		deadline()
		if err != nil {
			var ke kerr.Error
			if !errors.As(err, &ke) {
				h.log.Error("internal failure", "request_id", reqID, "operation", op, "err", err)
				ke = kerr.NewInternalFailure("")
			}
			h.metrics.error(op, ke.Code())
			x.code = ke.Code()
			payload, eerr := c.encode(exceptionPayload{Message: ke.Message()})
			if eerr == nil {
				eerr = ew.Exception(ke.Code(), ct, payload)
			}
			if eerr != nil {
				h.log.Debug("write exception", "request_id", reqID, "err", eerr)
			}
			return
		}
		parts, err := eventParts(c, &ev)
		if err != nil {
			h.log.Error("encode event", "request_id", reqID, "err", err)
			return
		}
		if err := ew.EventParts("SubscribeToShardEvent", ct, parts...); err != nil {
			h.log.Debug("write event", "request_id", reqID, "err", err)
			return
		}
		size := dataSize(ev.Records)
		h.metrics.subscribed.add(len(ev.Records), size)
		x.call.add(len(ev.Records), size)
	}
}

// recordsFrame is how a codec writes an event's Records list (the event's first member): the bytes
// that open the event and the list, those between two records, and those that close the list and a
// struct with no other member.
type recordsFrame struct{ open, sep, close []byte }

// recordsFrames are the frames of the codecs whose events are written around shared records; an
// event in any other codec is encoded whole.
var recordsFrames = map[string]recordsFrame{
	awsjson.ContentType: {open: []byte(`{"Records":[`), sep: []byte(","), close: []byte("]}")},
	cbor.ContentType:    {open: []byte("\xbf\x67Records\x9f"), close: []byte("\xff\xff")},
}

// sharedRecords is a batch's records in one codec: the list's elements, joined, and their CRC-32.
type sharedRecords struct {
	b   []byte
	crc uint32
}

// batchEncodings are a batch's records in each codec that has encoded them, kept with the batch
// (service.RecordBatch.Edge) for as long as the service keeps the batch, so that a batch is encoded
// once per codec for every subscription that delivers it.
type batchEncodings struct {
	mu     sync.Mutex
	byType map[string]*batchEncoding // by content type
}

// batchEncoding is a batch's records in one codec, encoded once.
type batchEncoding struct {
	once sync.Once
	recs sharedRecords
	err  error
}

// batchEncoded returns what encode makes of b's records in the codec of contentType, calling encode
// only once per batch and codec. The value is shared: never change it.
func batchEncoded(b *service.RecordBatch, contentType string, encode func([]service.Record) (sharedRecords, error)) (sharedRecords, error) {
	all := b.Edge(func() any { return &batchEncodings{byType: make(map[string]*batchEncoding, 1)} }).(*batchEncodings)
	all.mu.Lock()
	e := all.byType[contentType]
	if e == nil {
		e = &batchEncoding{}
		all.byType[contentType] = e
	}
	all.mu.Unlock()
	e.once.Do(func() { e.recs, e.err = encode(b.Records()) })
	return e.recs, e.err
}

// eventAppender is a codec that writes SubscribeToShardEvent itself, without reflection (AWS JSON):
// the elements of a Records list, which many subscriptions share, and a whole event; recordsLen and
// eventLen size their buffers (as awsjson.RecordsLen does).
type eventAppender interface {
	recordsLen(recs []service.Record) int
	appendRecords(b []byte, recs []service.Record) []byte
	eventLen(ev *service.SubscribeToShardEvent) int
	appendEvent(b []byte, ev *service.SubscribeToShardEvent) ([]byte, error)
}

func (awsJSON) recordsLen(recs []service.Record) int { return awsjson.RecordsLen(recs) }
func (awsJSON) appendRecords(b []byte, recs []service.Record) []byte {
	return awsjson.AppendRecords(b, recs)
}
func (awsJSON) eventLen(ev *service.SubscribeToShardEvent) int { return awsjson.SubscribeEventLen(ev) }
func (awsJSON) appendEvent(b []byte, ev *service.SubscribeToShardEvent) ([]byte, error) {
	return awsjson.AppendSubscribeEvent(b, ev)
}

// encodeEvent is c.encode(ev), by the codec's own writer when it has one.
func encodeEvent(c codec, ev *service.SubscribeToShardEvent) ([]byte, error) {
	if a, ok := c.(eventAppender); ok {
		return a.appendEvent(make([]byte, 0, a.eventLen(ev)), ev)
	}
	return c.encode(ev)
}

// eventParts is the payload of a SubscribeToShardEvent in codec c, in parts whose concatenation is
// c.encode(ev). Records from shared batches (ev.Batches) are encoded once per batch and codec, for
// every subscription that delivers them, and go out as shared parts; the subscription encodes only its
// own members (continuation, MillisBehindLatest, ChildShards) around them.
func eventParts(c codec, ev *service.SubscribeToShardEvent) ([]eventstream.Part, error) {
	frame, ok := recordsFrames[c.contentType()]
	batches := ev.Batches()
	if !ok || len(batches) == 0 {
		payload, err := encodeEvent(c, ev)
		return []eventstream.Part{{Bytes: payload}}, err
	}
	own := *ev
	own.Records = []service.Record{}
	rest, err := encodeEvent(c, &own)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(rest, frame.open) {
		return nil, fmt.Errorf("encode event: %q does not start with its records", rest[:min(len(rest), 32)])
	}
	parts := make([]eventstream.Part, 0, 2*len(batches)+1)
	parts = append(parts, eventstream.Part{Bytes: rest[:len(frame.open)]})
	encode := func(recs []service.Record) (sharedRecords, error) {
		if a, ok := c.(eventAppender); ok {
			b := a.appendRecords(make([]byte, 0, a.recordsLen(recs)), recs)
			return sharedRecords{b: b, crc: crc32.ChecksumIEEE(b)}, nil
		}
		whole, err := c.encode(struct {
			Records []service.Record `json:"Records"`
		}{recs})
		if err != nil {
			return sharedRecords{}, err
		}
		if !bytes.HasPrefix(whole, frame.open) || !bytes.HasSuffix(whole, frame.close) || len(whole) < len(frame.open)+len(frame.close) {
			return sharedRecords{}, fmt.Errorf("encode records: unexpected framing %q", whole[:min(len(whole), 32)])
		}
		b := whole[len(frame.open) : len(whole)-len(frame.close)]
		return sharedRecords{b: b, crc: crc32.ChecksumIEEE(b)}, nil
	}
	for i, b := range batches {
		recs, err := batchEncoded(b, c.contentType(), encode)
		if err != nil {
			return nil, err
		}
		if i > 0 && len(frame.sep) > 0 {
			parts = append(parts, eventstream.Part{Bytes: frame.sep})
		}
		parts = append(parts, eventstream.SharedPart(recs.b, recs.crc))
	}
	return append(parts, eventstream.Part{Bytes: rest[len(frame.open):]}), nil
}
