package protocol

import "kinesisd/internal/protocol/awsjson"

// codec is one wire format of the API: the request's content type picks it, and the response is
// written in the same one.
type codec interface {
	contentType() string
	decode(body []byte, v any) error
	encode(v any) ([]byte, error)
	encodeError(code, message string) []byte
}

// codecs are the formats by content type.
var codecs = map[string]codec{
	awsjson.ContentType: jsonCodec,
}

// jsonCodec is AWS JSON 1.1.
var jsonCodec codec = awsJSON{}

type awsJSON struct{}

func (awsJSON) contentType() string                     { return awsjson.ContentType }
func (awsJSON) decode(body []byte, v any) error         { return awsjson.Decode(body, v) }
func (awsJSON) encode(v any) ([]byte, error)            { return awsjson.Encode(v) }
func (awsJSON) encodeError(code, message string) []byte { return awsjson.EncodeError(code, message) }
