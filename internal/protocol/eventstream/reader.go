package eventstream

import (
	"bufio"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// Message is one message read back: its :message-type, its name (the :event-type of an event, the
// :exception-type of an exception, the :error-code of an error), its :content-type, the
// :error-message of an error, and its payload.
type Message struct {
	MessageType  string
	Type         string
	ContentType  string
	ErrorMessage string
	Payload      []byte
}

// Reader reads messages one at a time, with the AWS SDK's own decoder (the one its clients use),
// from a client's side of an event stream: tests and `kinesisd bench`. It reads ahead of the message
// it returns (the stream is its own). It is not safe for concurrent use.
type Reader struct {
	// ReusePayload makes every message's payload share one buffer, valid until the next call of Next.
	ReusePayload bool

	r   countingReader
	dec *eventstream.Decoder
	buf []byte
}

// countingReader counts the bytes read through it; it buffers, so that the decoder's byte-sized
// reads of headers are not each a read of the stream.
type countingReader struct {
	r *bufio.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}

// NewReader returns a Reader on r.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: countingReader{r: bufio.NewReaderSize(r, 32<<10)}, dec: eventstream.NewDecoder()}
}

// Next reads the next message. At the end of the stream between two messages it returns io.EOF; a
// stream cut inside a message, or a malformed one, is another error. The payload is the caller's.
func (r *Reader) Next() (Message, error) {
	start := r.r.n
	var buf []byte
	if r.ReusePayload {
		buf = r.buf
	}
	m, err := r.dec.Decode(&r.r, buf)
	if err == io.EOF && r.r.n > start {
		err = io.ErrUnexpectedEOF // the SDK's decoder says io.EOF also for a stream cut after a prelude
	}
	if err != nil {
		return Message{}, err
	}
	if r.ReusePayload && cap(m.Payload) > cap(r.buf) {
		r.buf = m.Payload[:0]
	}
	get := func(name string) string {
		if v := m.Headers.Get(name); v != nil {
			if s, ok := v.(eventstream.StringValue); ok {
				return string(s)
			}
			return v.String()
		}
		return ""
	}
	out := Message{MessageType: get(MessageTypeHeader), ContentType: get(ContentTypeHeader), Payload: m.Payload}
	switch out.MessageType {
	case EventMessageType:
		out.Type = get(EventTypeHeader)
	case ExceptionMessageType:
		out.Type = get(ExceptionTypeHeader)
	case ErrorMessageType:
		out.Type, out.ErrorMessage = get(ErrorCodeHeader), get(ErrorMessageHeader)
	}
	return out, nil
}
