package cbor_test

import (
	"bytes"
	"io"
	"math/big"
	"net/http"
	"testing"
	"time"

	fxcbor "github.com/fxamacker/cbor/v2"

	"kinesisd/internal/clock"
	"kinesisd/internal/config"
	"kinesisd/internal/kinesistest"
	"kinesisd/internal/protocol/eventstream"
)

// SubscribeToShard as the Java SDK v2 (KCL's enhanced fan-out) asks for it: a CBOR request over
// HTTP/2, answered with an event stream whose payloads are CBOR in the request's content type.

// subscribeEvent is a SubscribeToShardEvent as the Java SDK reads it from CBOR.
type subscribeEvent struct {
	Records []struct {
		SequenceNumber              string
		ApproximateArrivalTimestamp javaTime
		Data                        []byte // a text string fails to decode: blobs must be byte strings
		PartitionKey                string
	}
	ContinuationSequenceNumber *string
	MillisBehindLatest         *int64
}

// eventReader reads an event stream in the background, so that a test can wait for a message with
// a timeout.
type eventReader struct {
	msgs chan eventstream.Message
	err  chan error
}

func readEvents(body io.Reader) *eventReader {
	r := &eventReader{msgs: make(chan eventstream.Message), err: make(chan error, 1)}
	go func() {
		er := eventstream.NewReader(body)
		for {
			m, err := er.Next()
			if err != nil {
				r.err <- err
				close(r.msgs)
				return
			}
			r.msgs <- m
		}
	}()
	return r
}

// next returns the next message; it fails the test at the stream's end or after 10 s.
func (r *eventReader) next(t *testing.T) eventstream.Message {
	t.Helper()
	select {
	case m, ok := <-r.msgs:
		if !ok {
			t.Fatalf("event stream ended: %v", <-r.err)
		}
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10 s")
	}
	return eventstream.Message{}
}

// event reads the next message as a CBOR SubscribeToShardEvent.
func (r *eventReader) event(t *testing.T) subscribeEvent {
	t.Helper()
	m := r.next(t)
	if m.MessageType != "event" || m.Type != "SubscribeToShardEvent" || m.ContentType != "application/x-amz-cbor-1.1" {
		t.Fatalf("message %s %s %s: %s", m.MessageType, m.Type, m.ContentType, diag(m.Payload))
	}
	jacksonShaped(t, m.Payload)
	var ev subscribeEvent
	if err := fxcbor.Unmarshal(m.Payload, &ev); err != nil {
		t.Fatalf("read event %s: %v", diag(m.Payload), err)
	}
	if ev.ContinuationSequenceNumber == nil || !seqShape.MatchString(*ev.ContinuationSequenceNumber) || ev.MillisBehindLatest == nil {
		t.Fatalf("event without continuation or MillisBehindLatest: %s", diag(m.Payload))
	}
	return ev
}

func seqBelow(a, b string) bool {
	x, _ := new(big.Int).SetString(a, 10)
	y, _ := new(big.Int).SetString(b, 10)
	return x.Cmp(y) < 0
}

func TestSubscribeToShardOverCBOR(t *testing.T) {
	clk := clock.NewFake(time.UnixMilli(fixtureMS))
	s := kinesistest.Start(t, kinesistest.Engines[1], kinesistest.Options{Clock: clk, Configure: func(c *config.Config) {
		c.SubscribeHeartbeat = 100 * time.Millisecond
	}})
	c := newJavaClient(s.Endpoint)
	var h2c http.Protocols // Netty's HTTP/2, here with prior knowledge on the plain port
	h2c.SetUnencryptedHTTP2(true)
	java := &javaClient{endpoint: s.Endpoint, http: &http.Client{Transport: &http.Transport{Protocols: &h2c}}}

	ok(t, c, clk, "CreateStream", obj{{"StreamName", "efo"}, {"ShardCount", 1}}, nil)
	var sum struct{ StreamDescriptionSummary struct{ StreamARN string } }
	ok(t, c, clk, "DescribeStreamSummary", obj{{"StreamName", "efo"}}, &sum)
	var reg struct{ Consumer consumerOut }
	ok(t, c, clk, "RegisterStreamConsumer", obj{{"StreamARN", sum.StreamDescriptionSummary.StreamARN}, {"ConsumerName", "kcl"}}, &reg)
	arn := reg.Consumer.ConsumerARN

	// The request as the Java SDK writes it: members in model order, StartingPosition a structure.
	subscribe := obj{{"ConsumerARN", arn}, {"ShardId", "shardId-000000000000"}, {"StartingPosition", obj{{"Type", "LATEST"}}}}
	resp := java.send(t, "SubscribeToShard", subscribe)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 || resp.Header.Get("Content-Type") != "application/vnd.amazon.eventstream" {
		t.Fatalf("SubscribeToShard: %d over %s, Content-Type %q", resp.StatusCode, resp.Proto, resp.Header.Get("Content-Type"))
	}
	events := readEvents(resp.Body)

	initial := events.next(t)
	if initial.MessageType != "event" || initial.Type != "initial-response" || initial.ContentType != "application/x-amz-cbor-1.1" {
		t.Fatalf("first message %+v, want a CBOR initial-response", initial)
	}
	jacksonShaped(t, initial.Payload)
	var empty map[string]any
	if err := fxcbor.Unmarshal(initial.Payload, &empty); err != nil || len(empty) != 0 {
		t.Fatalf("initial-response payload %s: %v", diag(initial.Payload), err)
	}
	opening := events.event(t)
	if len(opening.Records) != 0 || *opening.MillisBehindLatest != 0 {
		t.Fatalf("opening event %+v", opening)
	}

	// A second subscription within 5 s is refused with an ordinary CBOR error reply.
	c.call(t, "SubscribeToShard", subscribe).wantError(t, "ResourceInUseException", 400,
		"Another active subscription exists for this consumer: 000000000000:efo:shardId-000000000000:kcl")

	// Records written during the subscription: blobs as byte strings, arrival as tag 1 + milliseconds.
	clk.Advance(1234 * time.Millisecond)
	at := clk.Now()
	blob := []byte{0, 1, 0xff, 0xf3, 0x89, 0x9a, 0xc2}
	var puts struct {
		FailedRecordCount int
		Records           []struct{ ShardId, SequenceNumber string }
	}
	ok(t, c, clk, "PutRecords", obj{{"Records", list{
		obj{{"Data", blob}, {"PartitionKey", "a"}},
		obj{{"Data", []byte{}}, {"PartitionKey", "b"}},
	}}, {"StreamName", "efo"}}, &puts)
	var got []string
	var last subscribeEvent
	for len(got) < 2 {
		last = events.event(t)
		for _, r := range last.Records {
			want := [][]byte{blob, {}}[len(got)]
			if !bytes.Equal(r.Data, want) || r.Data == nil || !r.ApproximateArrivalTimestamp.Time().Equal(at) {
				t.Errorf("record %d: data % x at %v, want % x at %v", len(got), r.Data, r.ApproximateArrivalTimestamp.Time(), want, at)
			}
			got = append(got, r.SequenceNumber)
		}
	}
	if len(got) != 2 || got[0] != puts.Records[0].SequenceNumber || got[1] != puts.Records[1].SequenceNumber ||
		*last.ContinuationSequenceNumber != got[1] {
		t.Fatalf("records %v continuation %s, want %+v", got, *last.ContinuationSequenceNumber, puts.Records)
	}

	// Idle: a heartbeat event whose continuation has moved past the last record.
	idle := events.event(t)
	if len(idle.Records) != 0 || !seqBelow(got[1], *idle.ContinuationSequenceNumber) {
		t.Errorf("idle event: %d records, continuation %s after record %s", len(idle.Records), *idle.ContinuationSequenceNumber, got[1])
	}

	// The consumer goes: the stream ends with a CBOR exception message.
	ok(t, c, clk, "DeregisterStreamConsumer", obj{{"ConsumerARN", arn}}, nil)
	for {
		m := events.next(t)
		if m.MessageType == "event" {
			continue // a heartbeat before the consumer's end was seen
		}
		if m.MessageType != "exception" || m.Type != "ResourceNotFoundException" || m.ContentType != "application/x-amz-cbor-1.1" {
			t.Fatalf("last message %s %s %s: %s", m.MessageType, m.Type, m.ContentType, diag(m.Payload))
		}
		jacksonShaped(t, m.Payload)
		var e map[string]string
		if err := fxcbor.Unmarshal(m.Payload, &e); err != nil || e["message"] == "" {
			t.Fatalf("exception payload %s: %v", diag(m.Payload), err)
		}
		break
	}
	select {
	case _, more := <-events.msgs:
		if more {
			t.Fatal("a message after the exception")
		}
		if err := <-events.err; err != io.EOF {
			t.Fatalf("stream after the exception: %v, want its end", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("stream still open after the exception")
	}
}
