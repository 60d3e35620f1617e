package protocol

import (
	"io"

	"kinesisd/internal/protocol/awsjson"
	"kinesisd/internal/protocol/cbor"
	"kinesisd/internal/service"
)

// codec is one wire format of the API: the request's content type picks it, and the response is
// written in the same one.
type codec interface {
	contentType() string
	decode(body []byte, v any) error
	encode(v any) ([]byte, error)
	encodeError(code, message string) []byte
	// parses reports whether a body is well formed in the codec's format and a map or a list at the
	// top: what the service parses before the operation and the signature.
	parses(body []byte) bool
	// composite is the part of parses the first byte decides, cheap enough for every request.
	composite(body []byte) bool
	// writeGetRecords writes what encode(out) returns to w a piece at a time through buf (empty, with
	// room for a few records), and returns buf, grown if it needed more room, and w's first error.
	writeGetRecords(w io.Writer, buf []byte, out *service.GetRecordsOutput) ([]byte, error)
}

// codecs are the formats by content type.
var codecs = map[string]codec{
	awsjson.ContentType: jsonCodec,
	cbor.ContentType:    cborCodec,
}

// jsonCodec is AWS JSON 1.1.
var jsonCodec codec = awsJSON{}

type awsJSON struct{}

func (awsJSON) contentType() string                     { return awsjson.ContentType }
func (awsJSON) decode(body []byte, v any) error         { return awsjson.Decode(body, v) }
func (awsJSON) encode(v any) ([]byte, error)            { return awsjson.Encode(v) }
func (awsJSON) encodeError(code, message string) []byte { return awsjson.EncodeError(code, message) }
func (awsJSON) parses(body []byte) bool                 { return awsjson.Parses(body) }
func (awsJSON) composite(body []byte) bool              { return awsjson.Composite(body) }
func (awsJSON) writeGetRecords(w io.Writer, buf []byte, out *service.GetRecordsOutput) ([]byte, error) {
	return awsjson.WriteGetRecords(w, buf, out)
}

// cborCodec is application/x-amz-cbor-1.1, the Java SDK's default for Kinesis.
var cborCodec codec = awsCBOR{cbor.New()}

type awsCBOR struct{ c *cbor.Codec }

func (awsCBOR) contentType() string                     { return cbor.ContentType }
func (a awsCBOR) decode(body []byte, v any) error       { return a.c.Decode(body, v) }
func (a awsCBOR) encode(v any) ([]byte, error)          { return a.c.Encode(v) }
func (awsCBOR) encodeError(code, message string) []byte { return cbor.EncodeError(code, message) }
func (a awsCBOR) parses(body []byte) bool               { return a.c.Parses(body) }
func (awsCBOR) composite(body []byte) bool              { return cbor.Composite(body) }
func (a awsCBOR) writeGetRecords(w io.Writer, buf []byte, out *service.GetRecordsOutput) ([]byte, error) {
	return a.c.WriteGetRecords(w, buf, out)
}
