// Package cbor is the application/x-amz-cbor-1.1 codec, as the AWS SDK for Java v2 speaks it: request
// bodies into the service's inputs, outputs and errors out.
//
// The Java SDK writes with Jackson's CBORGenerator: indefinite-length maps and arrays, definite text
// and byte strings (text over 3996 chars in indefinite chunks), shortest-form integers, blobs as byte
// strings and timestamps as tag 1 holding epoch milliseconds (members.go). Replies
// are written the same way: AWS's own replies are indefinite-length maps too (see testdata/README.md).
package cbor

import (
	"errors"
	"io"
	"strings"
	"sync"

	fxcbor "github.com/fxamacker/cbor/v2"

	"kinesisd/internal/kerr"
)

// ContentType is the media type of the CBOR protocol.
const ContentType = "application/x-amz-cbor-1.1"

// Codec reads requests and writes replies in CBOR. Its zero value is not ready: use New.
type Codec struct {
	dec   fxcbor.DecMode
	plans sync.Map // reflect.Type → encodeFunc, built on first use
}

// New returns a Codec.
func New() *Codec {
	dec, err := fxcbor.DecOptions{
		DupMapKey:       fxcbor.DupMapKeyQuiet,     // the last one wins, as with JSON
		IndefLength:     fxcbor.IndefLengthAllowed, // Jackson writes every map and array this way
		UTF8:            fxcbor.UTF8RejectInvalid,  // text must be text
		TagsMd:          fxcbor.TagsAllowed,        // tag 1 on timestamps
		MaxNestedLevels: 32,
	}.DecMode()
	if err != nil {
		panic(err) // constant options
	}
	return &Codec{dec: dec}
}

// Decode reads body into v, a pointer to an operation's input. Members v does not know are ignored, as
// with JSON. An empty body, malformed CBOR or a member of the wrong type is a SerializationException,
// worded as the JSON codec words the same mistake.
func (c *Codec) Decode(body []byte, v any) error {
	if len(body) == 0 {
		return kerr.NewSerialization("")
	}
	err := c.dec.Unmarshal(body, members.Value(v))
	if err == nil {
		return nil
	}
	var typeErr *fxcbor.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr):
		return kerr.NewSerialization(typeMismatch(typeErr.CBORType, typeErr.GoType))
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), strings.HasPrefix(err.Error(), "cbor:"):
		// Malformed or truncated CBOR, data after the item, invalid UTF-8, a limit of the decoder
		// (nesting, lengths): AWS says no more than the exception's name.
		return kerr.NewSerialization("")
	}
	// A member's own decoder (a timestamp) phrases its error as the service does.
	return kerr.NewSerialization(err.Error())
}

// javaClass names a CBOR value's kind as the Java service names the class it parsed (the JSON codec's
// names; a byte string is a Java byte[], "[B").
var javaClass = map[string]string{
	"UTF-8 text string": "class java.lang.String",
	"positive integer":  "class com.amazon.coral.value.json.numbers.TruncatingBigNumber",
	"negative integer":  "class com.amazon.coral.value.json.numbers.TruncatingBigNumber",
	"primitives":        "class com.amazon.coral.value.json.numbers.TruncatingBigNumber", // a float (bool is one too)
	"byte string":       "class [B",
}

// typeMismatch phrases "a CBOR value of kind from where Go type goType was expected" as the JSON codec
// phrases the same mistake.
func typeMismatch(from, goType string) string {
	goType = strings.TrimLeft(goType, "*")
	switch from {
	case "array":
		return "Start of list found where not expected"
	case "map":
		return "Start of structure or map found where not expected."
	}
	class, ok := javaClass[from]
	if !ok {
		return ""
	}
	switch {
	case goType == "[]uint8" || goType == "service.Blob":
		return class + " can not be converted to a Blob"
	case goType == "string":
		return class + " can not be converted to an String"
	case strings.HasPrefix(goType, "int"):
		return class + " can not be converted to an Integer" // every integer member of the model is an Integer
	case goType == "bool":
		return class + " can not be converted to an Boolean"
	case strings.HasPrefix(goType, "[]"):
		return "Expected list or null"
	case strings.HasPrefix(goType, "map["):
		return "Expected map or null"
	}
	return "Expected null"
}

// EncodeError writes the error body: a map of __type and message, indefinite-length as AWS writes it;
// an empty message is left out, as with JSON (kinesalite's replies to an empty body, byte for byte).
func EncodeError(code, message string) []byte {
	b := make([]byte, 0, 32+len(code)+len(message))
	b = append(b, 0xbf)
	b = appendText(b, "__type")
	b = appendText(b, code)
	if message != "" {
		b = appendText(b, "message")
		b = appendText(b, message)
	}
	return append(b, 0xff)
}

// Parses reports whether body is one well-formed CBOR data item, and a map or an array: a body the
// service parses, before it looks at the operation or the signature. Anything else is answered
// SerializationException without a message.
func (c *Codec) Parses(body []byte) bool {
	return Composite(body) && c.dec.Wellformed(body) == nil
}

// Composite reports whether body starts with a map or an array (major types 5 and 4), from its first
// byte alone: a body that does not cannot parse, whatever follows.
func Composite(body []byte) bool {
	return len(body) > 0 && (body[0]>>5 == 4 || body[0]>>5 == 5)
}
