package eventstream

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"
	"testing"

	awses "github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	smithyes "github.com/aws/smithy-go/eventstream"
)

// specHeader is one string header, for the independent encoder below.
type specHeader struct{ name, value string }

// specMessage frames a message by the format as written down (KINESIS-FACTS.md, "SubscribeToShard on
// the wire"), independently of the SDK: total length, headers length, prelude CRC, headers (name
// length, name, type 7, value length, value), payload, message CRC; big-endian, CRC-32 IEEE.
func specMessage(headers []specHeader, payload []byte) []byte {
	var hb bytes.Buffer
	for _, h := range headers {
		hb.WriteByte(byte(len(h.name)))
		hb.WriteString(h.name)
		hb.WriteByte(7)
		binary.Write(&hb, binary.BigEndian, uint16(len(h.value)))
		hb.WriteString(h.value)
	}
	var m bytes.Buffer
	binary.Write(&m, binary.BigEndian, uint32(16+hb.Len()+len(payload)))
	binary.Write(&m, binary.BigEndian, uint32(hb.Len()))
	binary.Write(&m, binary.BigEndian, crc32.ChecksumIEEE(m.Bytes()))
	m.Write(hb.Bytes())
	m.Write(payload)
	binary.Write(&m, binary.BigEndian, crc32.ChecksumIEEE(m.Bytes()))
	return m.Bytes()
}

var writerTests = []struct {
	name    string
	write   func(w *Writer) error
	headers []specHeader
	payload string
}{
	{
		name:  "initial-response",
		write: func(w *Writer) error { return w.Event("initial-response", "application/json", []byte("{}")) },
		headers: []specHeader{{":event-type", "initial-response"}, {":content-type", "application/json"},
			{":message-type", "event"}},
		payload: "{}",
	},
	{
		name: "SubscribeToShardEvent",
		write: func(w *Writer) error {
			return w.Event("SubscribeToShardEvent", "application/json",
				[]byte(`{"Records":[],"ContinuationSequenceNumber":"49000000000000000000000000000000000000000000000000000001","MillisBehindLatest":0}`))
		},
		headers: []specHeader{{":event-type", "SubscribeToShardEvent"}, {":content-type", "application/json"},
			{":message-type", "event"}},
		payload: `{"Records":[],"ContinuationSequenceNumber":"49000000000000000000000000000000000000000000000000000001","MillisBehindLatest":0}`,
	},
	{
		name: "exception",
		write: func(w *Writer) error {
			return w.Exception("ResourceInUseException", "application/json", []byte(`{"message":"taken over"}`))
		},
		headers: []specHeader{{":exception-type", "ResourceInUseException"}, {":content-type", "application/json"},
			{":message-type", "exception"}},
		payload: `{"message":"taken over"}`,
	},
	{
		name:    "error",
		write:   func(w *Writer) error { return w.Error("InternalError", "boom") },
		headers: []specHeader{{":error-code", "InternalError"}, {":error-message", "boom"}, {":message-type", "error"}},
	},
	{
		name:    "empty payload event",
		write:   func(w *Writer) error { return w.Event("x", "application/cbor", nil) },
		headers: []specHeader{{":event-type", "x"}, {":content-type", "application/cbor"}, {":message-type", "event"}},
	},
}

// TestWriterBytes checks each message byte for byte against the independent encoder, that it is
// flushed on its own, and that both decoders the SDKs use read it back.
func TestWriterBytes(t *testing.T) {
	for _, tt := range writerTests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			flushes := 0
			w := NewWriter(&buf, func() error { flushes++; return nil })
			if err := tt.write(w); err != nil {
				t.Fatal(err)
			}
			want := specMessage(tt.headers, []byte(tt.payload))
			if !bytes.Equal(buf.Bytes(), want) {
				t.Fatalf("bytes\n got: %x\nwant: %x", buf.Bytes(), want)
			}
			if flushes != 1 {
				t.Errorf("%d flushes, want 1", flushes)
			}
			checkDecoders(t, buf.Bytes(), tt.headers, []byte(tt.payload))
		})
	}
}

// checkDecoders decodes one message with the aws-sdk-go-v2 decoder and with smithy-go's (the one the
// Kinesis client uses) and checks headers and payload.
func checkDecoders(t *testing.T, b []byte, headers []specHeader, payload []byte) {
	t.Helper()
	am, err := awses.NewDecoder().Decode(bytes.NewReader(b), nil)
	if err != nil {
		t.Fatalf("aws decoder: %v", err)
	}
	sm, err := smithyes.NewDecoder().Decode(bytes.NewReader(b), nil)
	if err != nil {
		t.Fatalf("smithy decoder: %v", err)
	}
	if !bytes.Equal(am.Payload, payload) || !bytes.Equal(sm.Payload, payload) {
		t.Errorf("payload: aws %q, smithy %q, want %q", am.Payload, sm.Payload, payload)
	}
	if len(am.Headers) != len(headers) || len(sm.Headers) != len(headers) {
		t.Fatalf("headers: aws %d, smithy %d, want %d", len(am.Headers), len(sm.Headers), len(headers))
	}
	for _, h := range headers {
		if v := am.Headers.Get(h.name); v == nil || v.String() != h.value {
			t.Errorf("aws decoder: header %s = %v, want %q", h.name, v, h.value)
		}
		if v := sm.Headers.Get(h.name); v == nil || v.String() != h.value {
			t.Errorf("smithy decoder: header %s = %v, want %q", h.name, v, h.value)
		}
	}
}

// TestWriterStopsOnWriteError: a failed write is reported and nothing is flushed.
func TestWriterStopsOnWriteError(t *testing.T) {
	w := NewWriter(failingWriter{}, func() error { t.Error("flushed after a failed write"); return nil })
	if err := w.Event("x", "application/json", []byte("{}")); err == nil {
		t.Fatal("no error from a failing writer")
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }

// FuzzRoundTrip writes a message of each kind from fuzzed strings and payload and checks that the
// independent encoder agrees and both SDK decoders read back what was written.
func FuzzRoundTrip(f *testing.F) {
	f.Add(uint8(0), "initial-response", "application/json", []byte("{}"))
	f.Add(uint8(0), "SubscribeToShardEvent", "application/json", []byte(`{"Records":[],"MillisBehindLatest":0}`))
	f.Add(uint8(1), "ResourceInUseException", "application/json", []byte(`{"message":"x"}`))
	f.Add(uint8(2), "InternalError", "boom", []byte(nil))
	f.Add(uint8(0), "", "", []byte{0, 0, 0, 16})
	f.Fuzz(func(t *testing.T, kind uint8, a, b string, payload []byte) {
		if len(a) > 1000 || len(b) > 1000 || len(payload) > 1<<16 {
			return
		}
		var buf bytes.Buffer
		w := NewWriter(&buf, nil)
		var headers []specHeader
		switch kind % 3 {
		case 0:
			headers = []specHeader{{":event-type", a}, {":content-type", b}, {":message-type", "event"}}
			if err := w.Event(a, b, payload); err != nil {
				t.Fatal(err)
			}
		case 1:
			headers = []specHeader{{":exception-type", a}, {":content-type", b}, {":message-type", "exception"}}
			if err := w.Exception(a, b, payload); err != nil {
				t.Fatal(err)
			}
		default:
			payload = nil
			headers = []specHeader{{":error-code", a}, {":error-message", b}, {":message-type", "error"}}
			if err := w.Error(a, b); err != nil {
				t.Fatal(err)
			}
		}
		if want := specMessage(headers, payload); !bytes.Equal(buf.Bytes(), want) {
			t.Fatalf("bytes\n got: %x\nwant: %x", buf.Bytes(), want)
		}
		checkDecoders(t, buf.Bytes(), headers, payload)
	})
}
