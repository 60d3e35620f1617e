// Package awsjson is the AWS JSON 1.1 codec: request bodies into the service's inputs, outputs and errors out.
package awsjson

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"

	"kinesisd/internal/kerr"
)

// ContentType is the media type of AWS JSON 1.1.
const ContentType = "application/x-amz-json-1.1"

// Decode reads body into v. An empty body, malformed JSON or a member of the wrong JSON type is a
// SerializationException with the Java service's wording.
func Decode(body []byte, v any) error {
	if len(body) == 0 {
		return kerr.NewSerialization("")
	}
	err := json.Unmarshal(body, v)
	if err == nil {
		return nil
	}
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	var b64Err base64.CorruptInputError
	switch {
	case errors.As(err, &typeErr):
		return kerr.NewSerialization(typeMismatch(typeErr.Value, typeErr.Type))
	case errors.As(err, &syntaxErr):
		return kerr.NewSerialization("")
	case errors.As(err, &b64Err):
		return kerr.NewSerialization("Base64 value can not be converted to a Blob: Invalid Base64 character")
	}
	// A member's own decoder (a timestamp) phrases its error as the service does.
	return kerr.NewSerialization(err.Error())
}

var (
	blobType = reflect.TypeFor[[]byte]()
	froms    = map[string]string{
		"string": "class java.lang.String",
		"number": "class com.amazon.coral.value.json.numbers.TruncatingBigNumber",
		"bool":   "class java.lang.Boolean",
	}
)

// typeMismatch phrases "JSON value of kind value where Go type t was expected" as AWS does.
func typeMismatch(value string, t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if len(value) > 7 && value[:7] == "number " {
		value = "number" // "number 1.5": a float where an integer was expected
	}
	switch value {
	case "array":
		return "Start of list found where not expected"
	case "object":
		return "Start of structure or map found where not expected."
	}
	from := froms[value]
	switch {
	case t == blobType:
		return from + " can not be converted to a Blob"
	case t.Kind() == reflect.String:
		return from + " can not be converted to an String"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		return from + " can not be converted to an Integer" // every integer member of the model is an Integer
	case t.Kind() == reflect.Bool:
		return from + " can not be converted to an Boolean"
	case t.Kind() == reflect.Slice:
		return "Expected list or null"
	case t.Kind() == reflect.Map:
		return "Expected map or null"
	}
	return "Expected null"
}

// Encode writes v as JSON. A nil v (an operation without output) is an empty body.
func Encode(v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	return json.Marshal(v)
}

// EncodeError writes the AWS JSON error body; an empty message is left out, as AWS leaves it out.
func EncodeError(code, message string) []byte {
	b, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message,omitempty"`
	}{code, message})
	return b
}
