// Package eventstream writes application/vnd.amazon.eventstream messages (SubscribeToShard's answer),
// framed by the AWS SDK's own encoder so that the bytes are the ones the SDKs decode.
package eventstream

import (
	"io"

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
type Writer struct {
	w     io.Writer
	flush func() error
	enc   *eventstream.Encoder
}

// NewWriter returns a Writer on w; flush may be nil.
func NewWriter(w io.Writer, flush func() error) *Writer {
	return &Writer{w: w, flush: flush, enc: eventstream.NewEncoder()}
}

// Event writes an event message: eventType names the event (initial-response, SubscribeToShardEvent),
// contentType is the payload's media type.
func (w *Writer) Event(eventType, contentType string, payload []byte) error {
	return w.write(EventMessage(eventType, contentType, payload))
}

// Exception writes a modelled in-stream exception: code is its shape name (ResourceInUseException),
// payload its members ({"message":…}) in contentType.
func (w *Writer) Exception(code, contentType string, payload []byte) error {
	return w.write(ExceptionMessage(code, contentType, payload))
}

// Error writes an unmodelled error message, carried in headers only.
func (w *Writer) Error(code, message string) error {
	return w.write(ErrorMessage(code, message))
}

func (w *Writer) write(m eventstream.Message) error {
	if err := w.enc.Encode(w.w, m); err != nil {
		return err
	}
	if w.flush == nil {
		return nil
	}
	return w.flush()
}

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
