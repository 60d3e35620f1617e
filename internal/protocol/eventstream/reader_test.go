package eventstream

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// wantMessages are the messages writerTests write, as Reader reads them back.
var wantMessages = []Message{
	{MessageType: "event", Type: "initial-response", ContentType: "application/json", Payload: []byte("{}")},
	{MessageType: "event", Type: "SubscribeToShardEvent", ContentType: "application/json",
		Payload: []byte(`{"Records":[],"ContinuationSequenceNumber":"49000000000000000000000000000000000000000000000000000001","MillisBehindLatest":0}`)},
	{MessageType: "exception", Type: "ResourceInUseException", ContentType: "application/json", Payload: []byte(`{"message":"taken over"}`)},
	{MessageType: "error", Type: "InternalError", ErrorMessage: "boom"},
	{MessageType: "event", Type: "x", ContentType: "application/cbor"},
}

// written is every writerTests message, one after another.
func written(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf, nil)
	for _, tt := range writerTests {
		if err := tt.write(w); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func equalMessage(a, b Message) bool {
	return a.MessageType == b.MessageType && a.Type == b.Type && a.ContentType == b.ContentType &&
		a.ErrorMessage == b.ErrorMessage && bytes.Equal(a.Payload, b.Payload)
}

// readers are the two ways to read a stream: with the SDK's decoder and directly.
var readers = []struct {
	name string
	open func(io.Reader) *Reader
}{{"sdk", NewReader}, {"direct", NewDirectReader}}

// TestReader reads what Writer wrote, message by message, then io.EOF; a stream cut anywhere inside a
// message is an error other than io.EOF, and so is a bad CRC or length. Both readers alike.
func TestReader(t *testing.T) {
	b := written(t)
	for _, rd := range readers {
		t.Run(rd.name, func(t *testing.T) {
			for _, reuse := range []bool{false, true} {
				r := rd.open(bytes.NewReader(b))
				r.ReusePayload = reuse
				for i, want := range wantMessages {
					got, err := r.Next()
					if err != nil {
						t.Fatalf("reuse %v, message %d: %v", reuse, i, err)
					}
					if !equalMessage(got, want) {
						t.Errorf("reuse %v, message %d: %+v, want %+v", reuse, i, got, want)
					}
				}
				if _, err := r.Next(); err != io.EOF {
					t.Fatalf("reuse %v, after the last message: %v, want io.EOF", reuse, err)
				}
			}
			first := len(specMessage(writerTests[0].headers, []byte(writerTests[0].payload)))
			for _, cut := range []int{1, 11, 12, 13, first - 1} {
				r := rd.open(bytes.NewReader(b[:cut]))
				if _, err := r.Next(); err == nil || err == io.EOF {
					t.Errorf("stream cut after %d bytes: %v, want an error other than io.EOF", cut, err)
				}
			}
			for _, at := range []int{first - 1, 9, 3} { // the first message's CRC, the prelude's, its length
				corrupt := bytes.Clone(b)
				corrupt[at] ^= 1
				if _, err := rd.open(bytes.NewReader(corrupt)).Next(); err == nil {
					t.Errorf("a message with byte %d flipped was read", at)
				}
			}
		})
	}
}

// TestReaderPayloadReuse: with ReusePayload a payload is valid until the next message only; without,
// it is the caller's for good.
func TestReaderPayloadReuse(t *testing.T) {
	b := written(t)
	for _, rd := range readers {
		r := rd.open(bytes.NewReader(b))
		first, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
		if !equalMessage(first, wantMessages[0]) {
			t.Errorf("%s: the first payload changed under the second message: %q", rd.name, first.Payload)
		}
	}
}

// addReaderSeeds seeds a reader's fuzz target: a written stream, half of it, each writer test's message
// and a prelude that claims more than there is.
func addReaderSeeds(f *testing.F) {
	b := written(f)
	f.Add(b)
	f.Add(b[:len(b)/2])
	for _, tt := range writerTests {
		f.Add(specMessage(tt.headers, []byte(tt.payload)))
	}
	f.Add([]byte{0, 0, 0, 16, 0, 0, 0, 0})
}

// FuzzReader reads any bytes without panicking; every message it reads, written again by Writer as
// its kind, reads back the same.
func FuzzReader(f *testing.F) {
	addReaderSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) { rewriteAll(t, b, NewReader(bytes.NewReader(b))) })
}

// FuzzDirectReader: the direct reader reads any bytes without panicking, and every message it reads,
// written again by Writer, reads back the same through the SDK's decoder.
func FuzzDirectReader(f *testing.F) {
	addReaderSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewDirectReader(bytes.NewReader(b))
		r.ReusePayload = true
		rewriteAll(t, b, r)
	})
}

// rewriteAll reads up to 64 messages of b with r and writes each again with Writer: the SDK's decoder
// must read back the same message. The message types Writer cannot write as read are skipped.
func rewriteAll(t *testing.T, b []byte, r *Reader) {
	for range 64 {
		m, err := r.Next()
		if err != nil {
			if len(b) == 0 && !errors.Is(err, io.EOF) {
				t.Fatalf("empty stream: %v", err)
			}
			return
		}
		var buf bytes.Buffer
		w := NewWriter(&buf, nil)
		switch m.MessageType {
		case EventMessageType:
			err = w.Event(m.Type, m.ContentType, m.Payload)
		case ExceptionMessageType:
			err = w.Exception(m.Type, m.ContentType, m.Payload)
		case ErrorMessageType:
			if len(m.Payload) > 0 || m.ContentType != "" {
				continue // an error message carries headers only: Writer writes no payload
			}
			err = w.Error(m.Type, m.ErrorMessage)
		default:
			continue
		}
		if err != nil {
			continue // a name too long for a header value, say: the encoder refuses it
		}
		again, err := NewReader(&buf).Next()
		if err != nil || !equalMessage(again, m) {
			t.Fatalf("%+v written again reads back %+v, %v", m, again, err)
		}
	}
}
