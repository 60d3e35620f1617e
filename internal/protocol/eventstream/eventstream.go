// Package eventstream writes application/vnd.amazon.eventstream messages (SubscribeToShard's answer),
// with headers encoded by the AWS SDK's own encoder, so that the bytes are the ones the SDKs decode.
package eventstream

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// ContentType is the media type of an event-stream response body.
const ContentType = "application/vnd.amazon.eventstream"

// Header names and :message-type values of the framing (aws-sdk-go-v2 eventstreamapi).
const (
	MessageTypeHeader   = ":message-type"
	EventTypeHeader     = ":event-type"
	ExceptionTypeHeader = ":exception-type"
	ContentTypeHeader   = ":content-type"
	ErrorCodeHeader     = ":error-code"
	ErrorMessageHeader  = ":error-message"

	EventMessageType     = "event"
	ExceptionMessageType = "exception"
	ErrorMessageType     = "error"
)

// Writer writes messages to w one at a time, calling flush after each so that it leaves the server at
// once (an HTTP/1.1 chunk or an HTTP/2 DATA frame per message). It is not safe for concurrent use.
//
// The headers are encoded by the AWS SDK's encoder (eventstream.EncodeHeaders); the prelude, the
// CRCs and the payload are written here, so that a payload can be given in parts (EventParts): a large
// part shared between subscriptions goes to w as it is, never copied into a message buffer, and its
// CRC, when known, is combined rather than computed again.
type Writer struct {
	w     io.Writer
	flush func() error
	buf   []byte // the message's own bytes being gathered for the next write

	// The headers of the last event written, kept: every event of a subscription has the same ones.
	lastType, lastContent string
	lastHeaders           []byte
}

// NewWriter returns a Writer on w; flush may be nil.
func NewWriter(w io.Writer, flush func() error) *Writer {
	return &Writer{w: w, flush: flush}
}

// Part is a piece of a payload. Shared, when set, says that CRC is the CRC-32 (IEEE) of Bytes, so the
// writer need not read them to compute the message's CRC.
type Part struct {
	Bytes  []byte
	CRC    uint32
	Shared bool
}

// SharedPart is a Part whose bytes are shared with other messages and whose CRC-32 (IEEE) is crc.
func SharedPart(b []byte, crc uint32) Part { return Part{Bytes: b, CRC: crc, Shared: true} }

// Event writes an event message: eventType names the event (initial-response, SubscribeToShardEvent),
// contentType is the payload's media type.
func (w *Writer) Event(eventType, contentType string, payload []byte) error {
	return w.EventParts(eventType, contentType, Part{Bytes: payload})
}

// EventParts writes an event message whose payload is parts, in order: the same bytes as Event with
// the parts joined.
func (w *Writer) EventParts(eventType, contentType string, parts ...Part) error {
	if eventType != w.lastType || contentType != w.lastContent || w.lastHeaders == nil {
		h, err := encodeHeaders(EventMessage(eventType, contentType, nil).Headers)
		if err != nil {
			return err
		}
		w.lastType, w.lastContent, w.lastHeaders = eventType, contentType, h
	}
	return w.write(w.lastHeaders, parts)
}

// Exception writes a modelled in-stream exception: code is its shape name (ResourceInUseException),
// payload its members ({"message":…}) in contentType.
func (w *Writer) Exception(code, contentType string, payload []byte) error {
	return w.writeMessage(ExceptionMessage(code, contentType, payload))
}

// Error writes an unmodelled error message, carried in headers only.
func (w *Writer) Error(code, message string) error {
	return w.writeMessage(ErrorMessage(code, message))
}

func (w *Writer) writeMessage(m eventstream.Message) error {
	h, err := encodeHeaders(m.Headers)
	if err != nil {
		return err
	}
	return w.write(h, []Part{{Bytes: m.Payload}})
}

func encodeHeaders(h eventstream.Headers) ([]byte, error) {
	var b bytes.Buffer
	if err := eventstream.EncodeHeaders(&b, h); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// directWrite is the size from which a shared part is written to w on its own rather than gathered
// with the message's other bytes.
const directWrite = 4 << 10

// write frames one message: total length, headers length, prelude CRC, headers, payload, message CRC
// (big-endian, CRC-32 IEEE over everything before it).
func (w *Writer) write(headers []byte, parts []Part) error {
	total := uint64(minMessage + len(headers))
	for _, p := range parts {
		total += uint64(len(p.Bytes))
	}
	if total > math.MaxUint32 {
		return fmt.Errorf("eventstream: message of %d bytes", total)
	}
	b := binary.BigEndian.AppendUint32(w.buf[:0], uint32(total))
	b = binary.BigEndian.AppendUint32(b, uint32(len(headers)))
	b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
	b = append(b, headers...)
	crc := crc32.ChecksumIEEE(b)
	for _, p := range parts {
		if !p.Shared {
			crc = crc32.Update(crc, crc32.IEEETable, p.Bytes)
			b = append(b, p.Bytes...)
			continue
		}
		crc = crcCombine(crc, p.CRC, len(p.Bytes))
		if len(p.Bytes) < directWrite {
			b = append(b, p.Bytes...)
			continue
		}
		if _, err := w.w.Write(b); err != nil {
			w.buf = b
			return err
		}
		b = b[:0]
		if _, err := w.w.Write(p.Bytes); err != nil {
			w.buf = b
			return err
		}
	}
	b = binary.BigEndian.AppendUint32(b, crc)
	w.buf = b[:0]
	if _, err := w.w.Write(b); err != nil {
		return err
	}
	if w.flush == nil {
		return nil
	}
	return w.flush()
}

// minMessage is the framing of a message without headers or payload: prelude (12 bytes) and CRC (4).
const minMessage = 16

// EventMessage is the message Writer.Event writes.
func EventMessage(eventType, contentType string, payload []byte) eventstream.Message {
	var m eventstream.Message
	m.Headers.Set(EventTypeHeader, eventstream.StringValue(eventType))
	m.Headers.Set(ContentTypeHeader, eventstream.StringValue(contentType))
	m.Headers.Set(MessageTypeHeader, eventstream.StringValue(EventMessageType))
	m.Payload = payload
	return m
}

// ExceptionMessage is the message Writer.Exception writes.
func ExceptionMessage(code, contentType string, payload []byte) eventstream.Message {
	var m eventstream.Message
	m.Headers.Set(ExceptionTypeHeader, eventstream.StringValue(code))
	m.Headers.Set(ContentTypeHeader, eventstream.StringValue(contentType))
	m.Headers.Set(MessageTypeHeader, eventstream.StringValue(ExceptionMessageType))
	m.Payload = payload
	return m
}

// ErrorMessage is the message Writer.Error writes.
func ErrorMessage(code, message string) eventstream.Message {
	var m eventstream.Message
	m.Headers.Set(ErrorCodeHeader, eventstream.StringValue(code))
	m.Headers.Set(ErrorMessageHeader, eventstream.StringValue(message))
	m.Headers.Set(MessageTypeHeader, eventstream.StringValue(ErrorMessageType))
	return m
}
