package eventstream

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
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

	r      countingReader
	dec    *eventstream.Decoder
	direct bool // NewDirectReader: decoded here, not by dec
	buf    []byte
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
	if r.direct {
		return r.nextDirect()
	}
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

// Limits of the framing, as the SDK's decoder enforces them.
const (
	maxHeaders = 128 << 10
	maxPayload = 16 << 20
)

// NewDirectReader returns a Reader that decodes the framing itself rather than with the SDK's decoder,
// for `kinesisd bench`, whose subscriptions read gigabytes a second: each message is read whole into
// one buffer (with ReusePayload, one buffer for the stream) and checked with one CRC pass over it,
// instead of passing through the SDK's hashing reader a piece at a time. It checks what the SDK's
// decoder checks (the lengths, the prelude's and the message's CRC, the headers' encoding); its
// Message fields come from headers of the string type only (a header of another type is checked and
// skipped). Tests read with NewReader, so that what the server writes is checked by the SDK itself.
func NewDirectReader(r io.Reader) *Reader {
	return &Reader{r: countingReader{r: bufio.NewReaderSize(r, 64<<10)}, direct: true}
}

// nextDirect is Next for a direct Reader.
func (r *Reader) nextDirect() (Message, error) {
	var prelude [12]byte
	if n, err := io.ReadFull(&r.r, prelude[:]); err != nil {
		if err == io.EOF && n == 0 {
			return Message{}, io.EOF
		}
		return Message{}, io.ErrUnexpectedEOF
	}
	total := binary.BigEndian.Uint32(prelude[0:])
	headers := binary.BigEndian.Uint32(prelude[4:])
	if crc := crc32.ChecksumIEEE(prelude[:8]); crc != binary.BigEndian.Uint32(prelude[8:]) {
		return Message{}, fmt.Errorf("eventstream: prelude checksum %08x, want %08x", binary.BigEndian.Uint32(prelude[8:]), crc)
	}
	if total < minMessage || headers > maxHeaders || uint64(headers) > uint64(total)-minMessage ||
		total-minMessage-headers > maxPayload {
		return Message{}, fmt.Errorf("eventstream: message of %d bytes with %d of headers", total, headers)
	}
	var buf []byte
	if r.ReusePayload {
		buf = r.buf
	}
	if cap(buf) < int(total) {
		buf = make([]byte, total)
		if r.ReusePayload {
			r.buf = buf
		}
	}
	buf = buf[:total]
	copy(buf, prelude[:])
	if _, err := io.ReadFull(&r.r, buf[len(prelude):]); err != nil {
		return Message{}, io.ErrUnexpectedEOF
	}
	end := total - 4
	if crc := crc32.ChecksumIEEE(buf[:end]); crc != binary.BigEndian.Uint32(buf[end:]) {
		return Message{}, fmt.Errorf("eventstream: message checksum %08x, want %08x", binary.BigEndian.Uint32(buf[end:]), crc)
	}
	var m Message
	var code, message, eventType, exceptionType string
	h := buf[len(prelude) : len(prelude)+int(headers)]
	for len(h) > 0 {
		name, value, rest, err := nextHeader(h)
		if err != nil {
			return Message{}, err
		}
		h = rest
		if value == nil {
			continue
		}
		switch string(name) {
		case MessageTypeHeader:
			m.MessageType = string(value)
		case ContentTypeHeader:
			m.ContentType = string(value)
		case EventTypeHeader:
			eventType = string(value)
		case ExceptionTypeHeader:
			exceptionType = string(value)
		case ErrorCodeHeader:
			code = string(value)
		case ErrorMessageHeader:
			message = string(value)
		}
	}
	switch m.MessageType {
	case EventMessageType:
		m.Type = eventType
	case ExceptionMessageType:
		m.Type = exceptionType
	case ErrorMessageType:
		m.Type, m.ErrorMessage = code, message
	}
	if payload := buf[len(prelude)+int(headers) : end]; len(payload) > 0 {
		m.Payload = payload
	}
	return m, nil
}

// headerSizes are the value sizes of the fixed-size header types (bool true and false, byte, int16,
// int32, int64, timestamp, uuid); -1 marks the types with a 2-byte length (bytes, string).
var headerSizes = [...]int{0, 0, 1, 2, 4, 8, -1, -1, 8, 16}

// stringType is the header type of strings.
const stringType = 7

// nextHeader splits the first header off h: its name and, when it is a string, its value (nil for any
// other type).
func nextHeader(h []byte) (name, value, rest []byte, err error) {
	bad := func() ([]byte, []byte, []byte, error) {
		return nil, nil, nil, errors.New("eventstream: malformed headers")
	}
	if len(h) < 1 || len(h) < 1+int(h[0])+1 {
		return bad()
	}
	name, h = h[1:1+int(h[0])], h[1+int(h[0]):]
	typ := h[0]
	h = h[1:]
	if int(typ) >= len(headerSizes) {
		return bad()
	}
	size := headerSizes[typ]
	if size < 0 {
		if len(h) < 2 {
			return bad()
		}
		size, h = int(binary.BigEndian.Uint16(h)), h[2:]
	}
	if len(h) < size {
		return bad()
	}
	if typ == stringType {
		value = h[:size:size]
	}
	return name, value, h[size:], nil
}
